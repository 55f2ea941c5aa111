"""The IdentityStore's rules, apart from SQL.

The checks a request passes before the database is asked, the quota
arithmetic, the refusals IAM answers with (worded once, here), and the
public policy methods, which only pick "user" or "group" and call the
mixin's own ``_put_inline``, ``_attach`` and so on. How rows are read,
written and locked is in ``sql/identity.py`` and ``sql/policies.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sealbox.auth.principal import Credential, Principal, root_principal
from sealbox.store.identity import (
    POLICY_NAME,
    AccessKeyStatus,
    AttachedPolicy,
    IamQuotas,
    LimitExceeded,
    NoSuchEntity,
    ValidationError,
    arn,
    check_description,
    check_document,
    check_name,
    check_path,
    policy_size,
)

if TYPE_CHECKING:
    from sealbox.store.secrets import SecretCipher


# -- checks ------------------------------------------------------------------


def check_status(status: AccessKeyStatus | str) -> bool:
    """True for "Active", False for "Inactive"; anything else is refused."""
    if status not in ("Active", "Inactive"):
        raise ValidationError(
            "status", status, "Member must satisfy enum value set: [Active, Inactive]"
        )
    return status == "Active"


def check_new_policy(
    quotas: IamQuotas, name: str, document: str, path: str, description: str
) -> None:
    """A managed policy's name, path, document, description and size."""
    check_name("policyName", name, POLICY_NAME)
    check_path(path)
    check_document(document)
    check_description(description)
    quota = quotas.managed_policy_size
    if policy_size(document) > quota:
        raise LimitExceeded("PolicySize", quota)


def inline_size_quota(quotas: IamQuotas, kind: str) -> int:
    """All of one user's (or group's) inline policies together, in characters."""
    return quotas.user_policy_size if kind == "user" else quotas.group_policy_size


def check_inline_size(
    quota: int, kind: str, owner: str, document: str, others: Iterable[str]
) -> None:
    """``document`` with the owner's other inline policies within ``quota``."""
    if policy_size(document) + sum(policy_size(d) for d in others) > quota:
        raise LimitExceeded(
            f"{kind.capitalize()}PolicySize",
            quota,
            f"Maximum policy size of {quota} bytes exceeded for {kind} {owner}",
        )


def attached_quota(quotas: IamQuotas, kind: str) -> int:
    """Managed policies attached to one user (or group)."""
    return quotas.policies_per_user if kind == "user" else quotas.policies_per_group


def attached_limit(kind: str, quota: int) -> LimitExceeded:
    return LimitExceeded(f"PoliciesPer{kind.capitalize()}", quota)


# -- refusals ----------------------------------------------------------------


def no_access_key(access_key_id: str) -> NoSuchEntity:
    return NoSuchEntity(
        "access key", access_key_id, f"The Access Key with id {access_key_id} cannot be found."
    )


def no_inline_policy(kind: str, policy_name: str) -> NoSuchEntity:
    return NoSuchEntity(
        "policy", policy_name, f"The {kind} policy with name {policy_name} cannot be found."
    )


def no_policy(policy_arn: str, *, attachable: bool = False) -> NoSuchEntity:
    tail = "does not exist or is not attachable." if attachable else "was not found."
    return NoSuchEntity("policy", policy_arn, f"Policy {policy_arn} {tail}")


def not_in_group(user_name: str, group_name: str) -> NoSuchEntity:
    return NoSuchEntity("user", user_name, f"User {user_name} is not in group {group_name}.")


# -- values ------------------------------------------------------------------


def credential(
    cipher: SecretCipher,
    access_key_id: str,
    row: tuple[Any, ...],
) -> Credential:
    """The credential of a ``secret, active, user name, user path, account``
    row; no user name is the account's root user's key."""
    blob, active, name, path, account = row
    secret = cipher.decrypt(blob, context=access_key_id.encode())
    if name is None:
        principal = root_principal(access_key_id, account)
    else:
        principal = Principal("user", name, arn("user", path, name, account), access_key_id)
    return Credential(access_key_id, secret, principal, bool(active))


# -- the public policy methods -----------------------------------------------


class PolicyMethods:
    """IdentityStore's per-user and per-group policy methods, over the
    ``kind``-taking primitives each database's mixin defines."""

    if TYPE_CHECKING:

        def _put_inline(self, kind: str, owner: str, policy_name: str, document: str) -> None: ...

        def _inline(
            self, kind: str, owner: str, policy_name: str | None
        ) -> list[tuple[str, str]]: ...

        def _delete_inline(self, kind: str, owner: str, policy_name: str) -> None: ...

        def _attach(self, kind: str, owner: str, policy_arn: str) -> None: ...

        def _detach(self, kind: str, owner: str, policy_arn: str) -> None: ...

        def _attached(self, kind: str, owner: str) -> list[AttachedPolicy]: ...

    def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        self._put_inline("user", user_name, policy_name, document)

    def get_user_policy(self, user_name: str, policy_name: str) -> str:
        return self._inline("user", user_name, policy_name)[0][1]

    def list_user_policies(self, user_name: str) -> list[str]:
        return [n for n, _ in self._inline("user", user_name, None)]

    def delete_user_policy(self, user_name: str, policy_name: str) -> None:
        self._delete_inline("user", user_name, policy_name)

    def put_group_policy(self, group_name: str, policy_name: str, document: str) -> None:
        self._put_inline("group", group_name, policy_name, document)

    def get_group_policy(self, group_name: str, policy_name: str) -> str:
        return self._inline("group", group_name, policy_name)[0][1]

    def list_group_policies(self, group_name: str) -> list[str]:
        return [n for n, _ in self._inline("group", group_name, None)]

    def delete_group_policy(self, group_name: str, policy_name: str) -> None:
        self._delete_inline("group", group_name, policy_name)

    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        self._attach("user", user_name, policy_arn)

    def detach_user_policy(self, user_name: str, policy_arn: str) -> None:
        self._detach("user", user_name, policy_arn)

    def list_attached_user_policies(self, user_name: str) -> list[AttachedPolicy]:
        return self._attached("user", user_name)

    def attach_group_policy(self, group_name: str, policy_arn: str) -> None:
        self._attach("group", group_name, policy_arn)

    def detach_group_policy(self, group_name: str, policy_arn: str) -> None:
        self._detach("group", group_name, policy_arn)

    def list_attached_group_policies(self, group_name: str) -> list[AttachedPolicy]:
        return self._attached("group", group_name)
