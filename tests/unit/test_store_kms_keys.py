"""KMS keys in the metadata store (store/sql/kms_keys.py), on SQLite (the
PostgreSQL path runs in tests/integration/test_sse_kms.py): aliases unique
per account, the aws/s3 key made once, states, and the keyring: a node
lacking the key that encrypts a KMS key's material refuses to start, and a
rotation re-encrypts the material so that the old key may go."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbox.store.keyring import KeyringMismatch, agree, rotate
from sealbox.store.kms_keys import (
    DISABLED,
    KmsAlreadyExists,
    KmsNotFound,
    parse_reference,
)
from sealbox.store.secrets import SecretCipher, key_id
from sealbox.store.sqlite import SqliteMetaStore

K1, K2 = b"1" * 32, b"2" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)
A, B = "111111111111", "222222222222"


def open_store(tmp_path: Path, *keys: bytes) -> SqliteMetaStore:
    return SqliteMetaStore(str(tmp_path / "meta.sqlite3"), cipher=SecretCipher(list(keys)))


def test_aliases_are_unique_per_account_and_name_only_their_accounts_key(tmp_path: Path) -> None:
    store = open_store(tmp_path, K1)
    mine = store.create_kms_key(A, "us-east-1", aliases=("reports",), now=NOW)
    theirs = store.create_kms_key(B, "us-east-1", aliases=("reports",), now=NOW)
    with pytest.raises(KmsAlreadyExists):
        store.create_kms_key(A, "us-east-1", aliases=("alias/reports",), now=NOW)
    assert store.find_kms_key(A, parse_reference("alias/reports")).key_id == mine.key_id
    assert store.find_kms_key(B, parse_reference("alias/reports")).key_id == theirs.key_id
    alias_arn = f"arn:aws:kms:us-east-1:{B}:alias/reports"
    assert store.find_kms_key(A, parse_reference(alias_arn)).key_id == theirs.key_id
    with pytest.raises(KmsNotFound):  # a key ARN must name the key's own account
        store.find_kms_key(A, parse_reference(mine.arn.replace(A, B)))
    assert [k.key_id for k in store.list_kms_keys(A)] == [mine.key_id]
    assert len(store.kms_key_material(mine)) == 32 and b"1" * 32 not in mine.material


def test_the_managed_key_is_made_once_and_states_change(tmp_path: Path) -> None:
    store = open_store(tmp_path, K1)
    first = store.managed_kms_key(A, "us-east-1", now=NOW)
    assert first.managed and first.aliases == ("alias/aws/s3",)
    assert store.managed_kms_key(A, "us-east-1", now=NOW).key_id == first.key_id
    disabled = store.set_kms_key_state(A, parse_reference(first.key_id), DISABLED)
    assert not disabled.enabled
    assert not store.find_kms_key(A, parse_reference(first.arn)).enabled
    with pytest.raises(KmsNotFound):  # another account's key is not theirs to change
        store.set_kms_key_state(B, parse_reference(first.key_id), DISABLED)


def test_a_node_lacking_the_materials_key_refuses_and_rotation_frees_it(tmp_path: Path) -> None:
    both = open_store(tmp_path, K2, K1)
    agree(both, both.secret_cipher, "both")
    key = both.create_kms_key(A, "us-east-1", now=NOW)  # under K2
    material = both.kms_key_material(key)
    with pytest.raises(KeyringMismatch, match=key_id(K2)):
        agree(open_store(tmp_path, K1), SecretCipher([K1]), "K1 alone")
    rotated = open_store(tmp_path, K1, K2)  # K1 first now
    counts = rotate(rotated, rotated.secret_cipher, "K1,K2")
    assert counts["KmsKeys"] == 1
    alone = open_store(tmp_path, K1)
    agree(alone, alone.secret_cipher, "K1 alone")
    assert alone.kms_key_material(alone.find_kms_key(A, parse_reference(key.key_id))) == material
