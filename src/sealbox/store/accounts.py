"""Accounts (issue 17), as AWS has them: each has a root user, its own IAM
users, groups, policies and access keys, and owns buckets (whose names stay
global). The first account, ``ACCOUNT_ID``, is every install's: data from
before accounts belongs to it, and its root is the administrator, the only
principal that may create, list and delete accounts.

This module holds the values and rules; the rows are in ``sql/accounts.py``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sealbox.auth.principal import ACCOUNT_ID
from sealbox.store.identity import AccessKey, DeleteConflict, ValidationError

# The first account's name: it existed before accounts had names.
FIRST_ACCOUNT_NAME = "main"

# An account's name: as an IAM account alias (lower-case letters, digits,
# single hyphens inside), 3 to 63 characters.
ACCOUNT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")


@dataclass(frozen=True)
class Account:
    account_id: str  # 12 digits
    name: str
    created: datetime | None  # None: the first account, from before accounts

    @property
    def is_administrator(self) -> bool:
        return self.account_id == ACCOUNT_ID


@dataclass(frozen=True)
class NewAccount:
    """What ``create_account`` returns: the account and its root's first
    access key, whose secret is shown this once."""

    account: Account
    root_key: AccessKey


def check_account_name(name: str) -> None:
    if len(name) > 63 or not ACCOUNT_NAME.fullmatch(name):
        raise ValidationError(
            "accountName", name,
            "Member must be 3 to 63 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit")


def new_account_id() -> str:
    """Twelve random digits, never the first account's."""
    while True:
        account_id = "".join(secrets.choice("0123456789") for _ in range(12))
        if account_id != ACCOUNT_ID:
            return account_id


def owns_edge(name: str) -> DeleteConflict:
    """The refusal of deleting an account that still has edge configuration
    (its distributions would serve on, in no one's account)."""
    conflict = DeleteConflict("account", name, ("delete its edge configuration",))
    conflict.message = (f"Cannot delete account {name}: it still has CloudFront "
                        "distributions, key groups, public keys or origin access controls; "
                        "delete them first.")
    conflict.args = (conflict.message,)
    return conflict


def owns_buckets(name: str) -> DeleteConflict:
    """The refusal of deleting an account that still owns buckets."""
    conflict = DeleteConflict("account", name, ("delete its buckets",))
    conflict.message = (f"Cannot delete account {name}: it still owns buckets; "
                        "delete its buckets first.")
    conflict.args = (conflict.message,)
    return conflict


class AccountStore(Protocol):
    """The accounts of a MetaStore (``sql/accounts.py``)."""

    def create_account(self, name: str, *, now: datetime) -> NewAccount:
        """A new account and its root's access key; ``EntityAlreadyExists``
        when the name is taken."""
        ...

    def list_accounts(self) -> list[Account]: ...

    def get_account(self, name: str) -> Account:
        """``NoSuchEntity`` when no account has this name."""
        ...

    def delete_account(self, name: str) -> None:
        """Remove an account and every IAM user, group, policy and key of it;
        ``DeleteConflict`` while it owns buckets, and for the first account."""
        ...
