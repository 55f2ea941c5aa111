"""KMS keys for SSE-KMS, kept inside sealbox (no external key service).

Each key belongs to one account and has, as in AWS KMS, an id (a UUID),
an ARN (``arn:aws:kms:<region>:<account>:key/<id>``), aliases
(``alias/NAME``, unique per account), a description and a state,
``Enabled`` or ``Disabled``. Its 256-bit material is made here and stored
only encrypted by the server's keyring (store/secrets.py), so ``sealbox
rotate-secrets`` re-encrypts it with the access keys; it never leaves the
server. An object's data key is wrapped by the material
(store/data_keys.py), so disabling a key makes its objects unreadable
until it is enabled again.

Keys are never deleted: an object's data key is only ever wrapped by one
KMS key, and a key that vanished would take its objects with it. Disable
one to stop its use. ``aws/s3`` is the alias of the account's AWS-managed
key, made on the first SSE-KMS request that names no key, as AWS does.

This module holds the values and the rules; the rows are in
``sql/kms_keys.py``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from sealbox.store.identity import IdentityError

ENABLED = "Enabled"
DISABLED = "Disabled"
MANAGED_ALIAS = "alias/aws/s3"  # the account's default key for SSE-KMS
MAX_DESCRIPTION = 8192  # as KMS's CreateKey
MAX_ALIASES = 10  # per key; KMS has none per key, a bound keeps rows small
# KMS's alias names: alias/ and 1 to 250 letters, digits, / _ -; alias/aws/
# is reserved for AWS-managed keys.
_ALIAS = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_KEY_ARN = re.compile(r"arn:aws:kms:([a-z0-9-]{1,64}):(\d{12}):key/(.+)")
_ALIAS_ARN = re.compile(r"arn:aws:kms:([a-z0-9-]{1,64}):(\d{12}):(alias/.+)")
MAX_REFERENCE = 2048  # a key id, ARN or alias as a request names it


class KmsError(IdentityError):
    """A refusal in KMS's words; the admin API renders it as JSON."""

    code: ClassVar[str] = "KMSInternalException"
    status: ClassVar[int] = 500


class KmsNotFound(KmsError):
    code = "NotFoundException"
    status = 404


class KmsAlreadyExists(KmsError):
    code = "AlreadyExistsException"
    status = 409


class KmsInvalid(KmsError):
    code = "ValidationException"
    status = 400


@dataclass(frozen=True)
class KmsKey:
    """One KMS key as stored; ``material`` is the keyring's ciphertext of
    the 32 bytes, never the bytes themselves."""

    key_id: str
    account_id: str
    region: str
    description: str
    state: str
    created: datetime
    aliases: tuple[str, ...] = ()
    material: bytes = field(default=b"", repr=False)

    @property
    def arn(self) -> str:
        return key_arn(self.region, self.account_id, self.key_id)

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED

    @property
    def managed(self) -> bool:
        """The account's ``aws/s3`` key."""
        return MANAGED_ALIAS in self.aliases


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def new_key_id() -> str:
    return str(uuid.uuid4())


def check_alias(alias: str, *, managed: bool = False) -> str:
    """``alias/NAME`` as KMS allows it (``NAME`` alone is taken to mean it);
    ``alias/aws/…`` only for the managed key."""
    name = alias if alias.startswith("alias/") else f"alias/{alias}"
    if len(name) > 256 or not _ALIAS.fullmatch(name):
        raise KmsInvalid("Alias must be alias/ followed by 1 to 250 letters, digits, "
                         f"'/', '_' or '-': {name[:256]!r}")
    if name.startswith("alias/aws/") and not managed:
        raise KmsInvalid(f"Alias {name} cannot begin with alias/aws/: it is reserved for "
                         "AWS managed keys")
    return name


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise KmsInvalid(f"Description must be at most {MAX_DESCRIPTION} characters")
    return description


@dataclass(frozen=True)
class KeyReference:
    """What a request names a key by, read: a key id or an alias, and the
    account an ARN named (None: the caller's)."""

    key_id: str | None
    alias: str | None
    account: str | None


def parse_reference(text: str) -> KeyReference:
    """A key id, key ARN, alias name or alias ARN (KMS's ``KeyId``), or
    ``KmsNotFound`` for anything that can name no key."""
    text = text.strip()
    if not text or len(text) > MAX_REFERENCE:
        raise KmsNotFound("Invalid keyId")
    found = _KEY_ARN.fullmatch(text)
    if found:
        return _by_id(found.group(3), found.group(2), text)
    found = _ALIAS_ARN.fullmatch(text)
    if found:
        return KeyReference(None, found.group(3), found.group(2))
    if text.startswith("alias/"):
        return KeyReference(None, text, None)
    return _by_id(text, None, text)


def _by_id(key_id: str, account: str | None, text: str) -> KeyReference:
    if not _UUID.fullmatch(key_id):
        raise KmsNotFound(f"Invalid keyId {text[:256]}")
    return KeyReference(key_id, None, account)
