"""The IdentityStore interface: IAM users, access keys, groups and policies.

Implemented by the MetaStores themselves (``sql/identity.py`` and
``sql/policies.py``, written once, are mixins of ``SqliteMetaStore`` and
``PostgresMetaStore``): same database, same transactions, same schema
versions. Methods are synchronous and thread-safe.

Errors are IAM's (``EntityAlreadyExists``, ``NoSuchEntity``,
``LimitExceeded``, ``DeleteConflict``, ``ValidationError``), each carrying
the data and the message IAM answers with, so the API layer renders them
without rewording. Names follow IAM's rules and quotas
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
user, group and managed policy names are unique regardless of case, and
are kept as given.

Secrets: ``create_access_key`` returns the secret once; no later read does,
except ``credential_for``, which the signature check needs. Stored secrets
are encrypted (``secrets.SecretCipher``).

The root user is not an IAM user: it has no row, no groups and no
policies. It may hold access keys in the store (``user_name=None``), as
AWS lets the root user create its own; its bootstrap key from the
environment or the data dir stays outside the store.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from sealbox.auth.principal import ACCOUNT_ID, Credential
from sealbox.store.meta import MetaError

AccessKeyStatus = Literal["Active", "Inactive"]


# -- quotas and names --------------------------------------------------------


@dataclass(frozen=True)
class IamQuotas:
    """IAM's default quotas (reference_iam-quotas.html). Sizes count
    characters other than white space, as IAM does."""

    access_keys_per_user: int = 2
    groups_per_user: int = 10
    policies_per_user: int = 10  # managed policies attached
    policies_per_group: int = 10
    users_per_account: int = 5000
    groups_per_account: int = 300
    policies_per_account: int = 1500  # customer managed policies
    user_policy_size: int = 2048  # all of a user's inline policies together
    group_policy_size: int = 5120  # all of a group's inline policies together
    managed_policy_size: int = 6144


IAM_QUOTAS = IamQuotas()

# IAM's API patterns. Its \w is ASCII: [A-Za-z0-9_].
_NAME_CHARS = r"[A-Za-z0-9_+=,.@-]"
USER_NAME = re.compile(_NAME_CHARS + "{1,64}")
GROUP_NAME = re.compile(_NAME_CHARS + "{1,128}")
POLICY_NAME = re.compile(_NAME_CHARS + "{1,128}")  # managed and inline
PATH = re.compile(r"/|/[\x21-\x7f]{1,510}/")
# Policy documents and descriptions: tab, LF, CR and U+0020 to U+00FF.
DOCUMENT_CHARS = re.compile(r"[\t\n\r\x20-\xff]*")
DESCRIPTION_MAX = 1000
ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_]{16,128}")
_WHITESPACE = re.compile(r"\s+")


def policy_size(document: str) -> int:
    """The size IAM counts against its quotas: characters other than white space."""
    return len(_WHITESPACE.sub("", document))


# -- errors ------------------------------------------------------------------


class IdentityError(MetaError):
    """An IAM refusal: ``code`` is IAM's error code, ``str()`` its message."""

    code: ClassVar[str] = "ServiceFailure"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(IdentityError, ValueError):
    """A name, path or document IAM's patterns or lengths refuse."""

    code = "ValidationError"
    status = 400

    def __init__(self, field_name: str, value: str, constraint: str) -> None:
        shown = value if len(value) <= 256 else value[:256] + "…"
        super().__init__(
            f"1 validation error detected: Value '{shown}' at '{field_name}' failed to "
            f"satisfy constraint: {constraint}"
        )
        self.field_name = field_name
        self.value = value


class EntityAlreadyExists(IdentityError):
    code = "EntityAlreadyExists"
    status = 409

    def __init__(self, kind: str, name: str) -> None:
        message = (
            f"A policy called {name} already exists. Duplicate names are not allowed."
            if kind == "policy"
            else f"{kind.capitalize()} with name {name} already exists."
        )
        super().__init__(message)
        self.kind = kind
        self.name = name


class NoSuchEntity(IdentityError):
    code = "NoSuchEntity"
    status = 404

    def __init__(self, kind: str, name: str, message: str | None = None) -> None:
        super().__init__(message or f"The {kind} with name {name} cannot be found.")
        self.kind = kind
        self.name = name


class LimitExceeded(IdentityError):
    code = "LimitExceeded"
    status = 409

    def __init__(self, quota: str, limit: int, message: str | None = None) -> None:
        super().__init__(message or f"Cannot exceed quota for {quota}: {limit}")
        self.quota = quota
        self.limit = limit


class DeleteConflict(IdentityError):
    """The entity still has dependents; ``blockers`` names them, in the order
    IAM reports them (the message names the first)."""

    code = "DeleteConflict"
    status = 409

    def __init__(self, kind: str, name: str, blockers: tuple[str, ...]) -> None:
        first = blockers[0]
        message = (
            "Cannot delete a policy attached to entities."
            if kind == "policy"
            else f"Cannot delete entity, must {first} first."
        )
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.blockers = blockers


class NoSecretCipher(RuntimeError):
    """The store was built without a ``SecretCipher`` and was asked for a secret."""

    def __init__(self) -> None:
        super().__init__(
            "this metadata store has no secret cipher: pass cipher=load_cipher(data_dir) "
            "when constructing it, to create or check access keys"
        )


def check_name(field_name: str, value: str, pattern: re.Pattern[str]) -> None:
    if not pattern.fullmatch(value):
        raise ValidationError(
            field_name, value, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )


def check_path(value: str) -> None:
    if len(value) > 512:
        raise ValidationError("path", value, "Member must have length less than or equal to 512")
    check_name("path", value, PATH)


def check_document(document: str, field_name: str = "policyDocument") -> None:
    if not document or not DOCUMENT_CHARS.fullmatch(document):
        raise ValidationError(
            field_name,
            document,
            "Member must be 1 or more characters among tab, LF, CR and U+0020 to U+00FF",
        )


def check_description(text: str) -> None:
    if len(text) > DESCRIPTION_MAX:
        raise ValidationError(
            "description", text, f"Member must have length less than or equal to {DESCRIPTION_MAX}"
        )
    if not DOCUMENT_CHARS.fullmatch(text):
        raise ValidationError(
            "description", text, "Member must be tab, LF, CR and U+0020 to U+00FF characters"
        )


# -- values ------------------------------------------------------------------

_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_id(prefix: str, length: int = 21) -> str:
    """An IAM-shaped id: ``AIDA…`` (user, 21), ``AGPA…`` (group), ``ANPA…``
    (policy), ``AKIA…`` (access key, 20)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length - len(prefix)))


def new_secret_key() -> str:
    """40 characters, AWS's shape for secret access keys."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def arn(kind: str, path: str, name: str, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


def name_key(account: str, name: str) -> str:
    """What makes an IAM name unique: within its account, regardless of case
    (IAM names are ASCII). Stored in ``name_key``, whose unique index thus
    holds each account's names apart; an account's keys sort together,
    between ``account_keys(account)``."""
    return f"{account}/{name.lower()}"


def account_keys(account: str) -> tuple[str, str]:
    """The bounds of an account's ``name_key`` values (exclusive): "/" and
    the character after it, "0", around every name."""
    return f"{account}/", f"{account}0"


@dataclass(frozen=True)
class User:
    user_id: str  # AIDA…
    name: str
    path: str
    created: datetime

    account: str = ACCOUNT_ID

    @property
    def arn(self) -> str:
        return arn("user", self.path, self.name, self.account)


@dataclass(frozen=True)
class Group:
    group_id: str  # AGPA…
    name: str
    path: str
    created: datetime

    account: str = ACCOUNT_ID

    @property
    def arn(self) -> str:
        return arn("group", self.path, self.name, self.account)


@dataclass(frozen=True)
class AccessKey:
    """An access key's metadata. ``secret_key`` is set only on the value
    ``create_access_key`` returns; it is left out of repr and equality."""

    access_key_id: str  # AKIA…, 20 characters
    user_name: str | None  # None: the root user
    status: AccessKeyStatus
    created: datetime
    secret_key: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ManagedPolicy:
    """A customer managed policy. One version for now, ``v1``, the default."""

    policy_id: str  # ANPA…
    name: str
    path: str
    document: str
    description: str
    created: datetime
    updated: datetime
    attachment_count: int = 0
    default_version_id: str = "v1"
    account: str = ACCOUNT_ID

    @property
    def arn(self) -> str:
        return arn("policy", self.path, self.name, self.account)


@dataclass(frozen=True)
class AttachedPolicy:
    """One entry of ListAttached{User,Group}Policies."""

    policy_name: str
    policy_arn: str


def split_policy_arn(policy_arn: str, account: str = ACCOUNT_ID) -> tuple[str, str] | None:
    """(path, name) of a customer managed policy ARN of ``account``, or None."""
    prefix = f"arn:aws:iam::{account}:policy/"
    if not policy_arn.startswith(prefix):
        return None
    path, _, name = policy_arn[len(prefix) - 1 :].rpartition("/")
    path += "/"
    if not POLICY_NAME.fullmatch(name) or not PATH.fullmatch(path):
        return None
    return path, name


def unique_documents(rows: Iterable[Sequence[Any]]) -> list[str]:
    """The documents of ``(…, policy_id or None, document)`` rows, in order,
    each managed policy once (one attached both to a user and to a group)."""
    seen: set[str] = set()
    out = []
    for row in rows:
        pid, doc = row[-2], row[-1]
        if pid is not None:
            if pid in seen:
                continue
            seen.add(pid)
        out.append(doc)
    return out


# -- the interface -----------------------------------------------------------


class IdentityStore(Protocol):
    # -- users ---------------------------------------------------------------
    @property
    def account(self) -> str:
        """The account this store acts in (names, quotas, root keys)."""
        ...

    def in_account(self, account: str) -> IdentityStore:
        """The same store acting in ``account``."""
        ...

    def create_user(self, name: str, *, path: str = "/", now: datetime) -> User:
        """Raises ``EntityAlreadyExists`` (any case), ``LimitExceeded``, ``ValidationError``."""

    def get_user(self, name: str) -> User:
        """Raises ``NoSuchEntity``. The name matches regardless of case."""

    def list_users(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[User]:
        """Users whose path starts with ``path_prefix``, ordered by lower-case
        name, those after ``after`` (a previous page's last name) only."""

    def delete_user(self, name: str) -> None:
        """Raises ``NoSuchEntity``, or ``DeleteConflict`` while the user has access
        keys, inline policies, attached policies or groups (IAM refuses too)."""

    # -- access keys -----------------------------------------------------------
    def create_access_key(self, user_name: str | None, *, now: datetime) -> AccessKey:
        """A new Active key, its ``secret_key`` set (the only time it is
        returned). ``None`` is the root user. Raises ``NoSuchEntity``,
        ``LimitExceeded`` (2 keys), ``NoSecretCipher``."""

    def list_access_keys(self, user_name: str | None) -> list[AccessKey]:
        """The user's keys (no secrets), oldest first."""

    def update_access_key(
        self, user_name: str | None, access_key_id: str, status: AccessKeyStatus
    ) -> None:
        """Enable or disable a key of that user; ``NoSuchEntity`` otherwise."""

    def delete_access_key(self, user_name: str | None, access_key_id: str) -> None:
        """Remove a key of that user; ``NoSuchEntity`` otherwise."""

    def credential_for(self, access_key_id: str) -> Credential | None:
        """The hot path of every signed request: one primary-key read giving
        the decrypted secret, the owner's principal and whether the key is
        Active. None for an unknown key. Raises ``NoSecretCipher``, or a
        ``secrets.SecretError`` if the secret cannot be decrypted."""

    def reencrypt_secrets(self) -> int:
        """Re-encrypt every secret not under the cipher's first key (after a
        key rotation); returns how many were rewritten."""

    def secret_key_ids(self) -> set[str]:
        """The ids of the keys the stored access-key secrets are encrypted with."""

    # -- groups ----------------------------------------------------------------
    def create_group(self, name: str, *, path: str = "/", now: datetime) -> Group: ...

    def get_group(self, name: str) -> Group: ...

    def list_groups(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[Group]: ...

    def delete_group(self, name: str) -> None:
        """``DeleteConflict`` while it has members, inline or attached policies."""

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        """Idempotent, as in IAM. ``LimitExceeded`` past 10 groups per user."""

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        """``NoSuchEntity`` if either is missing or the user is not a member."""

    def list_groups_for_user(self, user_name: str) -> list[Group]: ...

    def list_group_users(self, group_name: str) -> list[User]: ...

    # -- inline policies -------------------------------------------------------
    # Documents are kept as text; the access layer owns their format. Names
    # of inline policies are per user or group, compared exactly.
    def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        """Insert or replace. ``LimitExceeded`` when the user's inline policies
        together pass 2048 non-white-space characters."""

    def get_user_policy(self, user_name: str, policy_name: str) -> str: ...

    def list_user_policies(self, user_name: str) -> list[str]: ...

    def delete_user_policy(self, user_name: str, policy_name: str) -> None: ...

    def put_group_policy(self, group_name: str, policy_name: str, document: str) -> None:
        """As ``put_user_policy``, with the group quota (5120)."""

    def get_group_policy(self, group_name: str, policy_name: str) -> str: ...

    def list_group_policies(self, group_name: str) -> list[str]: ...

    def delete_group_policy(self, group_name: str, policy_name: str) -> None: ...

    # -- managed policies ------------------------------------------------------
    def create_policy(
        self, name: str, document: str, *, path: str = "/", description: str = "", now: datetime
    ) -> ManagedPolicy:
        """``EntityAlreadyExists`` (names are unique in the account, any path,
        any case); ``LimitExceeded`` past 6144 characters or 1500 policies."""

    def get_policy(self, policy_arn: str) -> ManagedPolicy: ...

    def list_policies(
        self,
        *,
        path_prefix: str = "/",
        only_attached: bool = False,
        after: str = "",
        limit: int = 1000,
    ) -> list[ManagedPolicy]: ...

    def delete_policy(self, policy_arn: str) -> None:
        """``DeleteConflict`` while attached to a user or group."""

    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        """Idempotent; ``LimitExceeded`` past 10 per user."""

    def detach_user_policy(self, user_name: str, policy_arn: str) -> None: ...

    def list_attached_user_policies(self, user_name: str) -> list[AttachedPolicy]: ...

    def attach_group_policy(self, group_name: str, policy_arn: str) -> None: ...

    def detach_group_policy(self, group_name: str, policy_arn: str) -> None: ...

    def list_attached_group_policies(self, group_name: str) -> list[AttachedPolicy]: ...

    # -- evaluation --------------------------------------------------------------
    def policies_for_user(self, user_name: str) -> list[str]:
        """Every identity policy document that applies to the user, in one
        read: inline, attached, then each group's inline and attached (by
        group name), each managed policy once. An unknown user has none."""
