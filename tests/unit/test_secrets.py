"""SecretCipher: AES-256-GCM for access-key secrets, with key rotation, and
where its key comes from (SEALBOX_SECRET_KEY, else <data dir>/secret.key)."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from sealbox.store.secrets import (
    SECRET_KEY_ENV,
    SECRET_KEY_FILE,
    BadSecretKey,
    SecretCipher,
    SecretTampered,
    UnknownSecretKey,
    key_id,
    load_cipher,
    new_key,
    parse_keys,
)

K1, K2, K3 = (bytes([i]) * 32 for i in (1, 2, 3))
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_round_trip_with_context() -> None:
    c = SecretCipher([K1])
    blob = c.encrypt(SECRET, context=b"AKIA1")
    assert c.decrypt(blob, context=b"AKIA1") == SECRET


def test_ciphertext_holds_no_plaintext_and_differs_each_time() -> None:
    c = SecretCipher([K1])
    a, b = c.encrypt(SECRET), c.encrypt(SECRET)
    assert a != b  # a fresh nonce per secret
    for blob in (a, b):
        assert SECRET.encode() not in blob
        assert SECRET.encode()[:8] not in blob
    # format byte + 8-byte key id + 12-byte nonce + ciphertext + 16-byte tag
    assert len(a) == 1 + 8 + 12 + len(SECRET) + 16
    assert a[1:9].hex() == key_id(K1) == c.key_id_of(a)


def test_other_context_does_not_decrypt() -> None:
    c = SecretCipher([K1])
    blob = c.encrypt(SECRET, context=b"AKIA1")
    with pytest.raises(SecretTampered) as e:
        c.decrypt(blob, context=b"AKIA2")
    assert e.value.key_id == key_id(K1)


@pytest.mark.parametrize("where", [0, 1, 9, 21, -1])
def test_altered_ciphertext_does_not_decrypt(where: int) -> None:
    c = SecretCipher([K1])
    blob = bytearray(c.encrypt(SECRET))
    blob[where] ^= 0x01
    with pytest.raises((SecretTampered, UnknownSecretKey)):
        c.decrypt(bytes(blob))


@pytest.mark.parametrize("length", [0, 1, 9, 21, 36])
def test_truncated_ciphertext_does_not_decrypt(length: int) -> None:
    c = SecretCipher([K1])
    with pytest.raises(SecretTampered):
        c.decrypt(c.encrypt(SECRET)[:length])


def test_rotation_encrypts_with_the_first_key_and_decrypts_with_any() -> None:
    old = SecretCipher([K1]).encrypt(SECRET, context=b"k")
    both = SecretCipher([K2, K1])
    assert both.newest_key_id == key_id(K2)
    assert both.decrypt(old, context=b"k") == SECRET
    assert not both.is_current(old)
    new = both.encrypt(SECRET, context=b"k")
    assert both.is_current(new) and both.key_id_of(new) == key_id(K2)
    # The key id in the ciphertext picks the key, whatever the list's order.
    assert SecretCipher([K2, K3, K1]).decrypt(old, context=b"k") == SECRET
    assert SecretCipher([K2]).decrypt(new, context=b"k") == SECRET
    assert both.key_ids == {key_id(K1), key_id(K2)}
    # A key added last only decrypts (the first step of a rotation).
    assert SecretCipher([K1, K2]).key_id_of(SecretCipher([K1, K2]).encrypt(SECRET)) == key_id(K1)


def test_dropped_key_is_named_not_shown() -> None:
    blob = SecretCipher([K1]).encrypt(SECRET)
    with pytest.raises(UnknownSecretKey) as e:
        SecretCipher([K2]).decrypt(blob)
    assert e.value.key_id == key_id(K1)
    assert key_id(K1) in str(e.value)
    assert b64(K1) not in str(e.value) and SECRET not in str(e.value)


def test_repr_shows_no_key() -> None:
    c = SecretCipher([K2, K1])
    text = repr(c) + str(c)
    for k in (K1, K2):
        assert b64(k) not in text and k.hex() not in text
    assert key_id(K2) in text


@pytest.mark.parametrize("keys", [[], [b"short"], [K1, b"x" * 33]])
def test_bad_key_lists_are_refused(keys: list[bytes]) -> None:
    with pytest.raises(BadSecretKey):
        SecretCipher(keys)


def test_parse_keys_lines_commas_and_comments() -> None:
    text = f"# rotated 2024-05\n{b64(K1)}\n\n {b64(K2)} , {b64(K3)}\n"
    assert parse_keys(text, source="x") == [K1, K2, K3]


@pytest.mark.parametrize(
    "text", ["", "# only a comment", "not base64!", b64(b"x" * 16), b64(K1) + "," + b64(K1)[:-4]]
)
def test_parse_keys_refuses_without_quoting_the_text(text: str) -> None:
    with pytest.raises(BadSecretKey) as e:
        parse_keys(text, source="SOURCE")
    assert "SOURCE" in str(e.value)
    if len(text) > 20:
        assert text not in str(e.value)


def test_new_key_is_32_random_bytes() -> None:
    a, b = new_key(), new_key()
    assert a != b and len(base64.b64decode(a)) == 32


def test_load_cipher_from_env_wins_over_the_file(tmp_path: Path) -> None:
    c = load_cipher(tmp_path, {SECRET_KEY_ENV: f"{b64(K2)},{b64(K1)}"})
    assert c.newest_key_id == key_id(K2)
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_load_cipher_creates_the_key_file_0600_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    c1 = load_cipher(data, {})
    path = data / SECRET_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert len(parse_keys(path.read_text(), source="f")) == 1
    c2 = load_cipher(data, {})
    assert c1.newest_key_id == c2.newest_key_id
    assert c2.decrypt(c1.encrypt(SECRET)) == SECRET
    assert [p.name for p in data.iterdir()] == [SECRET_KEY_FILE]  # no temporary left


def test_load_cipher_reads_a_rotated_key_file(tmp_path: Path) -> None:
    path = tmp_path / SECRET_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, f"{b64(K2)}\n{b64(K1)}\n".encode())
    os.close(fd)
    assert load_cipher(tmp_path, {SECRET_KEY_ENV: "  "}).newest_key_id == key_id(K2)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_load_cipher_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    load_cipher(tmp_path, {})
    (tmp_path / SECRET_KEY_FILE).chmod(0o644)
    with pytest.raises(BadSecretKey, match="chmod 600"):
        load_cipher(tmp_path, {})


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        ids.append(load_cipher(tmp_path, {}).newest_key_id)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_KEY_FILE]
