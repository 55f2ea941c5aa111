"""SecretCipher: access-key secrets encrypted at rest, AES-256-GCM.

Secret access keys cannot be hashed: checking a SigV4 signature needs the
secret itself. So the store keeps them encrypted, under a key kept apart
from the database: ``SEALBOX_SECRET_KEY`` in the environment, else the file
``secret.key`` in the data dir, created mode 0600 on first use. A stolen
database (a backup, a PostgreSQL dump) then holds no usable secret.

Rotation: the keys are a list, and the FIRST one encrypts new secrets;
every key decrypts whichever ciphertext names it. Both the variable and
the file hold base64 keys, one per line or comma-separated. To rotate
(``docs/several-nodes.md``): first ``OLD,NEW`` on every node (NEW only
decrypts), then ``NEW,OLD`` on every node (NEW encrypts), then ``sealbox
rotate-secrets`` (everything re-encrypted under NEW), then drop OLD. The
first step keeps nodes restarted at different moments able to read what
the others write.

Ciphertext layout (bytes): ``b"\\x01"`` (format) + key id (8 bytes, a hash
of the key, so the list's order does not matter for decryption) + nonce
(12 random bytes, one per secret) + AES-GCM ciphertext and tag. The caller
passes a ``context`` (the access key id) as associated data, so a
ciphertext moved onto another row does not decrypt.

Nothing here puts a key or a plaintext into a repr or an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_KEY_ENV = "SEALBOX_SECRET_KEY"
SECRET_KEY_FILE = "secret.key"
KEY_BYTES = 32
_FORMAT = 1
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
_HEADER = 1 + _KEY_ID_BYTES + _NONCE_BYTES


class SecretError(Exception):
    """A ciphertext that cannot be decrypted; says which key, never the secret."""


class UnknownSecretKey(SecretError):
    """The ciphertext was made with a key that is not in the list (dropped too
    early from a rotation, or the wrong ``SEALBOX_SECRET_KEY``)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"secret encrypted with key {key_id}, which is not among the configured "
            f"keys ({SECRET_KEY_ENV} or {SECRET_KEY_FILE})"
        )
        self.key_id = key_id


class SecretTampered(SecretError):
    """The ciphertext does not authenticate: altered, truncated, or moved from
    another row (its context differs)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"encrypted secret (key {key_id}) failed authentication")
        self.key_id = key_id


class BadSecretKey(ValueError):
    """A configured key is not base64 of 32 bytes, or its file is readable by others."""


def key_id(key: bytes) -> str:
    """The public name of a key: hex of 8 bytes of a hash of it."""
    return hashlib.sha256(b"sealbox secret key id\x00" + key).digest()[:_KEY_ID_BYTES].hex()


def new_key() -> str:
    """A fresh key, base64, as ``SEALBOX_SECRET_KEY`` and ``secret.key`` hold it."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def parse_keys(text: str, *, source: str) -> list[bytes]:
    """Keys from base64 text, one per line or comma-separated, the encrypting one first.

    Blank lines and lines starting with ``#`` are skipped. ``source`` names
    where the text came from, for the error message (which never quotes it).
    """
    keys = []
    for n, item in enumerate(re.split(r"[,\n]", text), 1):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        try:
            key = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise BadSecretKey(f"{source}: entry {n} is not the base64 of {KEY_BYTES} bytes")
        keys.append(key)
    if not keys:
        raise BadSecretKey(f"{source}: no key")
    return keys


class SecretCipher:
    """Encrypts with the first key, decrypts with any; see the module docstring."""

    __slots__ = ("_aeads", "_newest")

    def __init__(self, keys: Sequence[bytes]) -> None:
        """``keys``, each 32 bytes; the first encrypts."""
        if not keys:
            raise BadSecretKey("no key given")
        aeads: dict[bytes, AESGCM] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise BadSecretKey(f"a key is {len(key)} bytes, not {KEY_BYTES}")
            aeads[bytes.fromhex(key_id(key))] = AESGCM(key)
        self._aeads = aeads
        self._newest = bytes.fromhex(key_id(keys[0]))

    def __repr__(self) -> str:
        return f"SecretCipher(newest={self._newest.hex()}, keys={len(self._aeads)})"

    @property
    def newest_key_id(self) -> str:
        """The id of the key that encrypts (the first of the list)."""
        return self._newest.hex()

    @property
    def key_ids(self) -> frozenset[str]:
        """The ids of every key this cipher decrypts with."""
        return frozenset(kid.hex() for kid in self._aeads)

    def encrypt(self, plaintext: str, *, context: bytes = b"") -> bytes:
        """Encrypt under the first key with a fresh nonce."""
        return self.encrypt_bytes(plaintext.encode(), context=context)

    def encrypt_bytes(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        """``encrypt`` for bytes (objects' data keys: store/data_keys.py)."""
        nonce = os.urandom(_NONCE_BYTES)
        ct = self._aeads[self._newest].encrypt(nonce, plaintext, context)
        return bytes([_FORMAT]) + self._newest + nonce + ct

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> str:
        """The plaintext; raises ``UnknownSecretKey`` or ``SecretTampered``."""
        return self.decrypt_bytes(blob, context=context).decode()

    def decrypt_bytes(self, blob: bytes, *, context: bytes = b"") -> bytes:
        """``decrypt`` for bytes."""
        blob = bytes(blob)  # PostgreSQL gives memoryview
        kid = blob[1 : 1 + _KEY_ID_BYTES]
        if len(blob) < _HEADER + 16 or blob[0] != _FORMAT:
            raise SecretTampered(kid.hex())
        aead = self._aeads.get(kid)
        if aead is None:
            raise UnknownSecretKey(kid.hex())
        try:
            return aead.decrypt(blob[1 + _KEY_ID_BYTES : _HEADER], blob[_HEADER:], context)
        except InvalidTag:
            raise SecretTampered(kid.hex()) from None

    def key_id_of(self, blob: bytes) -> str:
        """The id of the key a ciphertext was made with."""
        return bytes(blob)[1 : 1 + _KEY_ID_BYTES].hex()

    def is_current(self, blob: bytes) -> bool:
        """True if the ciphertext is under the first key (no re-encryption needed)."""
        return bytes(blob)[1 : 1 + _KEY_ID_BYTES] == self._newest


def cipher_source(data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """Where ``load_cipher`` takes the keys from, for messages."""
    env = os.environ if env is None else env
    if env.get(SECRET_KEY_ENV, "").strip():
        return SECRET_KEY_ENV
    return str(Path(data_dir) / SECRET_KEY_FILE)


def load_cipher(data_dir: Path, env: Mapping[str, str] | None = None) -> SecretCipher:
    """The cipher from ``SEALBOX_SECRET_KEY``, else from ``<data_dir>/secret.key``,
    which is created (mode 0600, one new key) when absent.

    The file is written whole under a temporary name and linked into place,
    so workers starting together agree on one key and none reads half a
    file. An existing file readable by group or others is refused, as ssh
    refuses such a private key.
    """
    env = os.environ if env is None else env
    text = env.get(SECRET_KEY_ENV, "")
    if text.strip():
        return SecretCipher(parse_keys(text, source=SECRET_KEY_ENV))
    path = Path(data_dir) / SECRET_KEY_FILE
    if not path.exists():
        _create_key_file(path)
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadSecretKey(
            f"{path} is accessible by other users (mode {stat.S_IMODE(mode):o}); chmod 600 it"
        )
    return SecretCipher(parse_keys(path.read_text(), source=str(path)))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(new_key() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process made it first: use theirs
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
