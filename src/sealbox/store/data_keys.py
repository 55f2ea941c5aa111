"""Objects' data keys: made per object version (or per multipart upload),
kept only wrapped, in the object's record (``Sealing``).

- SSE-S3 (``AES256``): wrapped by the server's keyring (store/secrets.py,
  ``SEALBOX_SECRET_KEY``): the ciphertext names the key id that made it,
  so after a rotation (``NEW,OLD``) the first key wraps new data keys and
  ``OLD`` still unwraps the old ones; no object's bytes are ever rewritten.
  ``sealbox rotate-secrets`` re-wraps them under the first key (a metadata
  write per version, no blob touched), after which ``OLD`` may go.
- SSE-KMS: wrapped by the material of a KMS key of sealbox's own
  (store/kms_keys.py; AES-256-GCM), the key's ARN and the request's
  encryption context bound as associated data, so neither can be changed
  in the record without the unwrap failing. The material is itself kept
  encrypted by the keyring, so a rotation re-encrypts it and no data key.
- SSE-C: wrapped by the customer's key (AES-256-GCM), which is never kept.
  The record keeps a check of it: a random salt and HMAC-SHA256(salt, key),
  compared in constant time, so a wrong key is told apart from a damaged
  record (S3 answers the first 403 AccessDenied).

Nothing here puts a key into a repr, a log or an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.store.meta import SSE_C, SSE_KMS, SSE_S3, Sealing
from sealbox.store.secrets import SecretCipher, SecretError

KEY_BYTES = 32
_KEYRING_CONTEXT = b"sealbox object data key"
_CUSTOMER_AAD = b"sealbox sse-c data key"
_KMS_AAD = b"sealbox sse-kms data key\x00"
_SALT_BYTES = 16
_NONCE_BYTES = 12


class DataKeyError(Exception):
    """A data key that cannot be unwrapped: its keyring key is gone, or its
    record was altered. The server answers 500; the text is for its log."""


class WrongCustomerKey(DataKeyError):
    """The SSE-C key given is not the one the object was written with."""


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def wrap_with_keyring(cipher: SecretCipher, data_key: bytes) -> Sealing:
    """SSE-S3: the data key under the keyring's first key."""
    wrapped = cipher.encrypt_bytes(data_key, context=_KEYRING_CONTEXT)
    return Sealing(SSE_S3, base64.b64encode(wrapped).decode())


def _check(salt: bytes, customer_key: bytes) -> bytes:
    return hmac.new(salt, b"sealbox sse-c key check\x00" + customer_key, hashlib.sha256).digest()


def wrap_with_customer(customer_key: bytes, data_key: bytes) -> Sealing:
    """SSE-C: the data key under the customer's key, and the key's check."""
    nonce = os.urandom(_NONCE_BYTES)
    wrapped = nonce + AESGCM(customer_key).encrypt(nonce, data_key, _CUSTOMER_AAD)
    salt = os.urandom(_SALT_BYTES)
    return Sealing(SSE_C, base64.b64encode(wrapped).decode(),
                   base64.b64encode(salt + _check(salt, customer_key)).decode())


def customer_key_fits(sealing: Sealing, customer_key: bytes) -> bool:
    """Whether ``customer_key`` is the object's SSE-C key (constant time)."""
    stored = base64.b64decode(sealing.check)
    salt, digest = stored[:_SALT_BYTES], stored[_SALT_BYTES:]
    return hmac.compare_digest(_check(salt, customer_key), digest)


def _kms_aad(kms_key: str, context: str) -> bytes:
    return _KMS_AAD + kms_key.encode() + b"\x00" + context.encode()


def wrap_with_kms(material: bytes, kms_key: str, context: str, bucket_key: bool,
                  data_key: bytes) -> Sealing:
    """SSE-KMS: the data key under a KMS key's material, bound to the key's
    ARN (``kms_key``) and the encryption context's JSON (``context``)."""
    nonce = os.urandom(_NONCE_BYTES)
    wrapped = nonce + AESGCM(material).encrypt(nonce, data_key, _kms_aad(kms_key, context))
    return Sealing(SSE_KMS, base64.b64encode(wrapped).decode(), kms_key=kms_key,
                   context=context, bucket_key=bucket_key)


def unwrap_with_kms(sealing: Sealing, material: bytes) -> bytes:
    """An SSE-KMS data key, opened by its KMS key's material."""
    wrapped = base64.b64decode(sealing.wrapped)
    try:
        return AESGCM(material).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:],
                                        _kms_aad(sealing.kms_key, sealing.context))
    except (InvalidTag, ValueError):
        raise DataKeyError("SSE-KMS data key failed authentication") from None


def keyring_key_id(sealing: Sealing, cipher: SecretCipher) -> str | None:
    """The id of the keyring key that wraps an SSE-S3 data key."""
    if sealing.kind != SSE_S3:
        return None
    return cipher.key_id_of(base64.b64decode(sealing.wrapped))


def unwrap(sealing: Sealing, cipher: SecretCipher, customer_key: bytes | None = None) -> bytes:
    """The data key. SSE-C needs ``customer_key``: ``WrongCustomerKey`` when
    it is not the object's; ``DataKeyError`` when nothing opens it."""
    wrapped = base64.b64decode(sealing.wrapped)
    if sealing.kind == SSE_S3:
        try:
            return cipher.decrypt_bytes(wrapped, context=_KEYRING_CONTEXT)
        except SecretError as error:
            raise DataKeyError(f"object data key: {error}") from None
    if sealing.kind != SSE_C or customer_key is None:
        raise DataKeyError(f"no way to open a data key of kind {sealing.kind[:16]!r}")
    if not customer_key_fits(sealing, customer_key):
        raise WrongCustomerKey("the customer key is not the object's")
    try:
        return AESGCM(customer_key).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:],
                                            _CUSTOMER_AAD)
    except InvalidTag:
        raise DataKeyError("SSE-C data key failed authentication") from None


def rewrapped(sealing: Sealing, cipher: SecretCipher) -> Sealing | None:
    """An SSE-S3 sealing wrapped under the keyring's first key, or None when
    it is already (or is SSE-C, which only the customer can re-wrap)."""
    if sealing.kind != SSE_S3:
        return None
    wrapped = base64.b64decode(sealing.wrapped)
    if cipher.is_current(wrapped):
        return None
    return wrap_with_keyring(cipher, unwrap(sealing, cipher))
