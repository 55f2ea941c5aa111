"""The AccountStore, written once for both MetaStores, as a mixin over the
IdentityStore's (``identity.py``): the ``accounts`` table and what an
account's creation and deletion touch. Schema: the "accounts" step of
``schema.py``.

An account's root keys are ``iam_access_keys`` rows without a user and with
the account's id. Deleting an account removes its IAM rows in the same
transaction; it is refused while a bucket's owner is one of its principals
(a bucket's owner is an ARN, whose account field says whose it is).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sealbox.auth.principal import ACCOUNT_ID
from sealbox.store.accounts import (
    FIRST_ACCOUNT_NAME,
    Account,
    NewAccount,
    check_account_name,
    new_account_id,
    owns_buckets,
    owns_edge,
)
from sealbox.store.identity import (
    AccessKey,
    DeleteConflict,
    EntityAlreadyExists,
    NoSuchEntity,
    new_id,
    new_secret_key,
)
from sealbox.store.sql.identity import SqlIdentityMixin

_COLS = "account_id, name, created"

# What an account's deletion removes, dependents first; each ``?`` is the account.
_USERS = "SELECT user_id FROM iam_users WHERE account_id = ?"
_GROUPS = "SELECT group_id FROM iam_groups WHERE account_id = ?"
_DELETE_ACCOUNT = (
    f"DELETE FROM iam_group_members WHERE group_id IN ({_GROUPS})",
    f"DELETE FROM iam_user_attachments WHERE user_id IN ({_USERS})",
    f"DELETE FROM iam_group_attachments WHERE group_id IN ({_GROUPS})",
    f"DELETE FROM iam_user_policies WHERE user_id IN ({_USERS})",
    f"DELETE FROM iam_group_policies WHERE group_id IN ({_GROUPS})",
    "DELETE FROM iam_access_keys WHERE account_id = ?",
    "DELETE FROM iam_users WHERE account_id = ?",
    "DELETE FROM iam_groups WHERE account_id = ?",
    "DELETE FROM iam_policies WHERE account_id = ?",
    # Its signing endpoint's rules (links/rules_store.setting_name).
    "DELETE FROM server_settings WHERE name = 'link-rules/' || ?",
    "DELETE FROM accounts WHERE account_id = ?",
)
# Whether an account still has edge configuration (schema step "edge per account").
_OWNS_EDGE = " UNION ALL ".join(
    f"SELECT 1 FROM {table} WHERE account_id = ?"
    for table in ("cf_distributions", "cf_key_groups", "cf_public_keys",
                  "cf_origin_access_controls"))


class SqlAccountsMixin(SqlIdentityMixin):
    """AccountStore on a SQL MetaStore; see the module docstring."""

    def _account_row(self, row: tuple[Any, ...]) -> Account:
        created = None if row[2] is None else self._d.rows.time_value(row[2])
        return Account(str(row[0]), str(row[1]), created)

    def create_account(self, name: str, *, now: datetime) -> NewAccount:
        check_account_name(name)
        cipher = self._require_cipher()
        key_id, secret = new_id("AKIA", 20), new_secret_key()
        blob = cipher.encrypt(secret, context=key_id.encode())
        stored = self._d.rows.time_param(now)
        try:
            with self._write() as c:
                self._advisory_lock(c, "create.account")
                if self._x(c, "SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                    raise EntityAlreadyExists("account", name)
                account_id = new_account_id()
                while self._x(c, "SELECT 1 FROM accounts WHERE account_id = ?",
                              (account_id,)).fetchone():
                    account_id = new_account_id()
                self._x(c, f"INSERT INTO accounts ({_COLS}) VALUES (?,?,?)",
                        (account_id, name, stored))
                self._x(
                    c,
                    "INSERT INTO iam_access_keys (access_key_id, user_id, secret, active, "
                    "created, account_id) VALUES (?,NULL,?,?,?,?)",
                    (key_id, blob, True, stored, account_id),
                )
        except self._d.unique_violation:
            raise EntityAlreadyExists("account", name) from None
        at = self._at(now)
        return NewAccount(Account(account_id, name, at),
                          AccessKey(key_id, None, "Active", at, secret))

    def list_accounts(self) -> list[Account]:
        with self._read() as c:
            rows = self._x(c, f"SELECT {_COLS} FROM accounts ORDER BY name").fetchall()
        return [self._account_row(r) for r in rows]

    def get_account(self, name: str) -> Account:
        if not self._d.storable(name):
            raise NoSuchEntity("account", name)
        row = self._fetchone(self._d.q(f"SELECT {_COLS} FROM accounts WHERE name = ?"), (name,))
        if row is None:
            raise NoSuchEntity("account", name)
        return self._account_row(row)

    def account_name(self, account_id: str) -> str | None:
        """The name of the account with this id, or None."""
        if not self._d.storable(account_id):
            return None
        row = self._fetchone(self._d.q("SELECT name FROM accounts WHERE account_id = ?"),
                             (account_id,))
        return None if row is None else str(row[0])

    def delete_account(self, name: str) -> None:
        if name == FIRST_ACCOUNT_NAME:
            raise DeleteConflict("account", name, ("keep the administrator's account",))
        with self._write() as c:
            if not self._d.storable(name):
                raise NoSuchEntity("account", name)
            row = self._x(c, f"SELECT account_id FROM accounts WHERE name = ?{self._d.for_update}",
                          (name,)).fetchone()
            if row is None:
                raise NoSuchEntity("account", name)
            account_id = str(row[0])
            if account_id == ACCOUNT_ID:
                raise DeleteConflict("account", name, ("keep the administrator's account",))
            owner_prefix = f"arn:aws:iam::{account_id}:"
            if self._x(c, "SELECT 1 FROM buckets WHERE substr(owner, 1, ?) = ?",
                       (len(owner_prefix), owner_prefix)).fetchone():
                raise owns_buckets(name)
            if self._x(c, _OWNS_EDGE, (account_id,) * 4).fetchone():
                raise owns_edge(name)
            for statement in _DELETE_ACCOUNT:
                self._x(c, statement, (account_id,) * statement.count("?"))
