"""store/keyring: nodes agree on the keyring and the root credentials
through the metadata store (SQLite here; two-node PostgreSQL runs are in
tests/integration/test_nodes.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbox.store.keyring import (
    KEYRING_CHECK,
    ROOT_CREDENTIALS,
    KeyringMismatch,
    agree,
    is_sealed,
    reseal_settings,
    rotate,
    root_credentials,
    seal,
    unseal,
)
from sealbox.store.secrets import SecretCipher, SecretTampered, key_id
from sealbox.store.sqlite import SqliteMetaStore

K1, K2 = b"1" * 32, b"2" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def open_store(tmp_path: Path, *keys: bytes) -> SqliteMetaStore:
    return SqliteMetaStore(str(tmp_path / "meta.sqlite3"), cipher=SecretCipher(list(keys)))


def test_the_first_keyring_wins_and_another_is_refused_naming_ids_only(tmp_path: Path) -> None:
    first = open_store(tmp_path, K1)
    agree(first, first.secret_cipher, "first")
    other = open_store(tmp_path, K2)
    with pytest.raises(KeyringMismatch) as refused:
        agree(other, other.secret_cipher, "SEALBOX_SECRET_KEY")
    message = str(refused.value)
    assert key_id(K1) in message and key_id(K2) in message
    assert "SEALBOX_SECRET_KEY" in message and "1111" not in message


def test_an_access_key_under_a_key_the_node_lacks_is_refused(tmp_path: Path) -> None:
    both = open_store(tmp_path, K2, K1)
    agree(both, both.secret_cipher, "both")
    both.create_access_key(None, now=NOW)  # under K2
    with pytest.raises(KeyringMismatch, match=key_id(K2)):
        agree(open_store(tmp_path, K1), SecretCipher([K1]), "K1 alone")


def test_text_that_only_looks_sealed_does_not_stop_a_start(tmp_path: Path) -> None:
    store = open_store(tmp_path, K1)
    store.put_server_setting("note", json.dumps({"x": "sealbox-sealed:v1:AAAA"}))
    agree(store, store.secret_cipher, "K1")
    assert not is_sealed("sealbox-sealed:v1:not base64!")


def test_a_sealed_value_opens_only_in_its_own_setting(tmp_path: Path) -> None:
    cipher = SecretCipher([K1])
    sealed = seal(cipher, "s3cret", "link-rules")
    assert "s3cret" not in sealed and unseal(cipher, sealed, "link-rules") == "s3cret"
    with pytest.raises(SecretTampered):
        unseal(cipher, sealed, "other-setting")


def test_reseal_moves_every_sealed_value_to_the_first_key(tmp_path: Path) -> None:
    old = open_store(tmp_path, K1)
    agree(old, old.secret_cipher, "K1")
    old.put_server_setting("link-rules", json.dumps(
        {"Issuers": [{"HS256Secret": seal(old.secret_cipher, "abc", "link-rules")}]}))
    rotated = open_store(tmp_path, K2, K1)
    assert reseal_settings(rotated, rotated.secret_cipher) == 2  # the check and the rules
    assert reseal_settings(rotated, rotated.secret_cipher) == 0
    # Objects' data keys may still be under K1 (the node with K1 first
    # wrapped them): only the whole rotation lets K1 go.
    with pytest.raises(KeyringMismatch, match=key_id(K1)):
        agree(open_store(tmp_path, K2), SecretCipher([K2]), "K2")
    rotate(rotated, rotated.secret_cipher, "K2,K1")
    only_new = open_store(tmp_path, K2)
    agree(only_new, only_new.secret_cipher, "K2")
    document = json.loads(only_new.get_server_setting("link-rules") or "")
    assert unseal(only_new.secret_cipher, document["Issuers"][0]["HS256Secret"],
                  "link-rules") == "abc"
    assert only_new.get_server_setting(KEYRING_CHECK) is not None


def test_root_credentials_are_made_once_and_then_read_by_every_node(tmp_path: Path) -> None:
    store = open_store(tmp_path, K1)
    made = root_credentials(store, store.secret_cipher, tmp_path / "a", env={})
    assert made.generated and (tmp_path / "a" / "root-credentials.json").exists()
    assert made.secret_key not in (store.get_server_setting(ROOT_CREDENTIALS) or "")
    again = root_credentials(store, store.secret_cipher, tmp_path / "b", env={})
    assert (again.access_key, again.secret_key) == (made.access_key, made.secret_key)
    assert not again.generated and not (tmp_path / "b").exists()
    # The environment wins, and is not stored.
    env = {"SEALBOX_ROOT_ACCESS_KEY": "AK", "SEALBOX_ROOT_SECRET_KEY": "SK"}
    assert root_credentials(store, store.secret_cipher, tmp_path, env=env).access_key == "AK"


def test_an_older_data_dirs_root_credentials_are_kept(tmp_path: Path) -> None:
    (tmp_path / "root-credentials.json").write_text(
        json.dumps({"access_key": "SBOLD", "secret_key": "old-secret"}))
    store = open_store(tmp_path, K1)
    found = root_credentials(store, store.secret_cipher, tmp_path, env={})
    assert (found.access_key, found.generated) == ("SBOLD", False)
    assert root_credentials(store, store.secret_cipher, tmp_path / "elsewhere",
                            env={}).access_key == "SBOLD"


def test_a_node_without_the_key_that_wraps_data_keys_is_refused_until_rotated(
        tmp_path: Path) -> None:
    # Objects' SSE-S3 data keys are wrapped by the first key of whichever
    # node wrote them: that key may not be dropped before rotate-secrets.
    old = open_store(tmp_path, K1)
    agree(old, old.secret_cipher, "K1")
    both = open_store(tmp_path, K2, K1)
    agree(both, both.secret_cipher, "K2,K1")
    with pytest.raises(KeyringMismatch, match=key_id(K1)):
        agree(open_store(tmp_path, K2), SecretCipher([K2]), "K2 alone")
    assert rotate(both, both.secret_cipher, "K2,K1")["DataKeys"] == 0
    agree(open_store(tmp_path, K2), SecretCipher([K2]), "K2 alone")
