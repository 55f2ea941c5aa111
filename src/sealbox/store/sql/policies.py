"""The policy half of the IdentityStore, written once for both MetaStores:
inline and managed policies, attachments, and the one read policy
evaluation makes, with the lookups both halves share. ``identity.py``
(users, access keys, groups) builds on it; its module docstring states the
transactions and locking both follow. Queries are rendered by the store's
dialect (``self._d``); the row locks are PostgreSQL's and empty on SQLite.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sealbox.auth.principal import ACCOUNT_ID
from sealbox.store.identity import (
    GROUP_NAME,
    IAM_QUOTAS,
    POLICY_NAME,
    USER_NAME,
    AttachedPolicy,
    DeleteConflict,
    EntityAlreadyExists,
    IamQuotas,
    LimitExceeded,
    ManagedPolicy,
    NoSuchEntity,
    account_keys,
    arn,
    check_document,
    check_name,
    name_key,
    new_id,
    split_policy_arn,
    unique_documents,
)
from sealbox.store.identity_rules import (
    PolicyMethods,
    attached_limit,
    attached_quota,
    check_inline_size,
    check_new_policy,
    inline_size_quota,
    no_inline_policy,
    no_policy,
)
from sealbox.store.sql.account_view import shared_copy
from sealbox.store.sql.dialect import Dialect
from sealbox.store.sql.queries import ATTACHED_ONLY, POLICY_COLS

# Everything evaluation needs, one statement; ordered so the result is stable.
_POLICIES_FOR_USER = """
WITH u AS (SELECT user_id FROM iam_users WHERE name_key = ?),
g AS (SELECT m.group_id, gr.name_key FROM iam_group_members m
      JOIN iam_groups gr ON gr.group_id = m.group_id WHERE m.user_id = (SELECT user_id FROM u))
SELECT 0 AS src, '' AS grp, name AS pname, NULL AS pid, document
  FROM iam_user_policies WHERE user_id = (SELECT user_id FROM u)
UNION ALL
SELECT 1, '', p.name_key, p.policy_id, p.document FROM iam_user_attachments a
  JOIN iam_policies p ON p.policy_id = a.policy_id WHERE a.user_id = (SELECT user_id FROM u)
UNION ALL
SELECT 2, g.name_key, gp.name, NULL, gp.document FROM g
  JOIN iam_group_policies gp ON gp.group_id = g.group_id
UNION ALL
SELECT 3, g.name_key, p.name_key, p.policy_id, p.document FROM g
  JOIN iam_group_attachments ga ON ga.group_id = g.group_id
  JOIN iam_policies p ON p.policy_id = ga.policy_id
ORDER BY 1, 2, 3
"""


class SqlPolicyMixin(PolicyMethods):
    """Policies, and the lookups users and groups share, on a SQL MetaStore."""

    iam_quotas: IamQuotas = IAM_QUOTAS
    _d: Dialect
    # The account whose users, groups, policies and root keys this store
    # reads and writes (``in_account``); names and quotas are per account.
    _account: str = ACCOUNT_ID

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Any]: ...

        def _write(self) -> AbstractContextManager[Any]: ...

        def _fetchone(self, sql: str, params: tuple[Any, ...]) -> Any: ...

    def in_account(self, account: str) -> Any:
        """This store as an IdentityStore of ``account``: the same
        connections and caches (a shallow copy), with every IAM name, quota
        and root key looked up in that account only."""
        if account == self._account:
            return self
        view = shared_copy(self)
        view._account = account
        return view

    @property
    def account(self) -> str:
        """The account this IdentityStore acts in."""
        return self._account

    def _key(self, name: str) -> str:
        return name_key(self._account, name)

    # -- rows --------------------------------------------------------------------
    def _x(self, c: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """Run ``sql`` (written with ``?``) on ``c``; its cursor."""
        return c.execute(self._d.q(sql), params)

    def _at(self, now: datetime) -> datetime:
        """``now`` as it reads back: truncated to the millisecond."""
        rows = self._d.rows
        return rows.time_value(rows.time_param(now))

    def _policy(self, row: tuple[Any, ...]) -> ManagedPolicy:
        pid, name, path, doc, desc, created, updated, count, version = row
        t = self._d.rows.time_value
        return ManagedPolicy(
            pid, name, path, doc, desc, t(created), t(updated), int(count), version,
            self._account,
        )

    # -- lookups -----------------------------------------------------------------
    def _user_id(self, c: Any, name: str, lock: str = "") -> str:
        """The user's id; ``lock`` (the dialect's ``for_update`` or
        ``for_key_share``) locks the row."""
        check_name("userName", name, USER_NAME)
        row = self._x(
            c, f"SELECT user_id FROM iam_users WHERE name_key = ?{lock}", (self._key(name),)
        ).fetchone()
        if row is None:
            raise NoSuchEntity("user", name)
        return str(row[0])

    def _group_id(self, c: Any, name: str, lock: str = "") -> str:
        check_name("groupName", name, GROUP_NAME)
        row = self._x(
            c, f"SELECT group_id FROM iam_groups WHERE name_key = ?{lock}", (self._key(name),)
        ).fetchone()
        if row is None:
            raise NoSuchEntity("group", name)
        return str(row[0])

    def _owner_id(self, c: Any, kind: str, name: str, lock: str = "") -> str:
        return self._user_id(c, name, lock) if kind == "user" else self._group_id(c, name, lock)

    def _policy_id(
        self, c: Any, policy_arn: str, lock: str = "", *, attachable: bool = False
    ) -> str:
        parts = split_policy_arn(policy_arn, self._account)
        row = None
        if parts is not None:
            row = self._x(
                c,
                f"SELECT policy_id FROM iam_policies WHERE name_key = ? AND name = ? "
                f"AND path = ?{lock}",
                (self._key(parts[1]), parts[1], parts[0]),
            ).fetchone()
        if row is None:
            raise no_policy(policy_arn, attachable=attachable)
        return str(row[0])

    def _advisory_lock(self, c: Any, name: str) -> None:
        """Writers that count and then insert take turns (PostgreSQL; SQLite's
        writers hold its one write lock already), until the transaction ends."""
        self._d.advisory_lock(c, f"sealbox.iam.{self._account}.{name}.")

    def _create(
        self, kind: str, sql: str, params: tuple[Any, ...], name: str, quota: int, quota_name: str
    ) -> None:
        """Insert a user, group or policy row under the account-wide quota."""
        table = {"user": "iam_users", "group": "iam_groups", "policy": "iam_policies"}[kind]
        try:
            with self._write() as c:
                self._advisory_lock(c, f"create.{kind}")
                if self._x(
                    c, f"SELECT 1 FROM {table} WHERE name_key = ?", (self._key(name),)
                ).fetchone():
                    raise EntityAlreadyExists(kind, name)
                row = self._x(
                    c, f"SELECT count(*) FROM {table} WHERE account_id = ?", (self._account,)
                ).fetchone()
                if row is not None and row[0] >= quota:
                    raise LimitExceeded(quota_name, quota)
                self._x(c, sql, params)
        except self._d.unique_violation:
            raise EntityAlreadyExists(kind, name) from None

    # -- inline policies -----------------------------------------------------------
    def _put_inline(self, kind: str, owner: str, policy_name: str, document: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        check_document(document)
        table, col = f"iam_{kind}_policies", f"{kind}_id"
        quota = inline_size_quota(self.iam_quotas, kind)
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, self._d.for_update)
            others = self._x(
                c, f"SELECT document FROM {table} WHERE {col} = ? AND name <> ?", (oid, policy_name)
            ).fetchall()
            check_inline_size(quota, kind, owner, document, (d for (d,) in others))
            self._x(
                c,
                f"INSERT INTO {table} ({col}, name, document) VALUES (?,?,?) "
                f"ON CONFLICT ({col}, name) DO UPDATE SET document = excluded.document",
                (oid, policy_name, document),
            )

    def _inline(self, kind: str, owner: str, policy_name: str | None) -> list[tuple[str, str]]:
        sql = f"SELECT name, document FROM iam_{kind}_policies WHERE {kind}_id = ?"
        with self._read() as c:
            oid = self._owner_id(c, kind, owner)
            if policy_name is None:
                return self._x(c, sql + " ORDER BY name", (oid,)).fetchall()
            check_name("policyName", policy_name, POLICY_NAME)
            rows = self._x(c, sql + " AND name = ?", (oid, policy_name)).fetchall()
        if not rows:
            raise no_inline_policy(kind, policy_name)
        return rows

    def _delete_inline(self, kind: str, owner: str, policy_name: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, self._d.for_update)
            cur = self._x(
                c,
                f"DELETE FROM iam_{kind}_policies WHERE {kind}_id = ? AND name = ?",
                (oid, policy_name),
            )
            if cur.rowcount == 0:
                raise no_inline_policy(kind, policy_name)

    # -- managed policies ----------------------------------------------------------
    def create_policy(
        self, name: str, document: str, *, path: str = "/", description: str = "", now: datetime
    ) -> ManagedPolicy:
        check_new_policy(self.iam_quotas, name, document, path, description)
        at, stored = self._at(now), self._d.rows.time_param(now)
        policy = ManagedPolicy(new_id("ANPA"), name, path, document, description, at, at,
                               account=self._account)
        self._create(
            "policy",
            "INSERT INTO iam_policies (policy_id, name, name_key, path, document, description, "
            "default_version, created, updated, account_id) VALUES (?,?,?,?,?,?,'v1',?,?,?)",
            (policy.policy_id, name, self._key(name), path, document, description, stored, stored,
             self._account),
            name,
            self.iam_quotas.policies_per_account,
            "PoliciesPerAccount",
        )
        return policy

    def get_policy(self, policy_arn: str) -> ManagedPolicy:
        parts = split_policy_arn(policy_arn, self._account)
        row = None
        if parts is not None:
            with self._read() as c:
                row = self._x(
                    c,
                    f"SELECT {POLICY_COLS} FROM iam_policies p "
                    "WHERE name_key = ? AND name = ? AND path = ?",
                    (self._key(parts[1]), parts[1], parts[0]),
                ).fetchone()
        if row is None:
            raise no_policy(policy_arn)
        return self._policy(row)

    def list_policies(
        self,
        *,
        path_prefix: str = "/",
        only_attached: bool = False,
        after: str = "",
        limit: int = 1000,
    ) -> list[ManagedPolicy]:
        if not self._d.storable(path_prefix, after):
            return []
        with self._read() as c:
            rows = self._x(
                c,
                f"SELECT {POLICY_COLS} FROM iam_policies p "
                "WHERE name_key > ? AND name_key < ? AND substr(path, 1, ?) = ?"
                + (ATTACHED_ONLY if only_attached else "")
                + " ORDER BY name_key LIMIT ?",
                (self._key(after), account_keys(self._account)[1], len(path_prefix),
                 path_prefix, max(limit, 0)),
            ).fetchall()
        return [self._policy(r) for r in rows]

    def delete_policy(self, policy_arn: str) -> None:
        with self._write() as c:
            pid = self._policy_id(c, policy_arn, self._d.for_update)
            row = self._x(
                c,
                "SELECT EXISTS (SELECT 1 FROM iam_user_attachments WHERE policy_id = ?)"
                " OR EXISTS (SELECT 1 FROM iam_group_attachments WHERE policy_id = ?)",
                (pid, pid),
            ).fetchone()
            if row is not None and row[0]:
                raise DeleteConflict("policy", policy_arn, ("detach the policy from all entities",))
            self._x(c, "DELETE FROM iam_policies WHERE policy_id = ?", (pid,))

    def _attach(self, kind: str, owner: str, policy_arn: str) -> None:
        table, col = f"iam_{kind}_attachments", f"{kind}_id"
        quota = attached_quota(self.iam_quotas, kind)
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, self._d.for_update)
            pid = self._policy_id(c, policy_arn, self._d.for_key_share, attachable=True)
            if self._x(
                c, f"SELECT 1 FROM {table} WHERE {col} = ? AND policy_id = ?", (oid, pid)
            ).fetchone():
                return
            row = self._x(c, f"SELECT count(*) FROM {table} WHERE {col} = ?", (oid,)).fetchone()
            if row is not None and row[0] >= quota:
                raise attached_limit(kind, quota)
            self._x(c, f"INSERT INTO {table} ({col}, policy_id) VALUES (?,?)", (oid, pid))

    def _detach(self, kind: str, owner: str, policy_arn: str) -> None:
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, self._d.for_update)
            pid = self._policy_id(c, policy_arn)
            cur = self._x(
                c,
                f"DELETE FROM iam_{kind}_attachments WHERE {kind}_id = ? AND policy_id = ?",
                (oid, pid),
            )
            if cur.rowcount == 0:
                raise no_policy(policy_arn)

    def _attached(self, kind: str, owner: str) -> list[AttachedPolicy]:
        with self._read() as c:
            oid = self._owner_id(c, kind, owner)
            rows = self._x(
                c,
                f"SELECT p.name, p.path FROM iam_{kind}_attachments a JOIN iam_policies p "
                f"ON p.policy_id = a.policy_id WHERE a.{kind}_id = ? ORDER BY p.name_key",
                (oid,),
            ).fetchall()
        return [AttachedPolicy(n, arn("policy", p, n, self._account)) for n, p in rows]

    # -- evaluation ----------------------------------------------------------------
    def policies_for_user(self, user_name: str) -> list[str]:
        if not USER_NAME.fullmatch(user_name):
            return []
        with self._read() as c:
            rows = self._x(c, _POLICIES_FOR_USER, (self._key(user_name),)).fetchall()
        return unique_documents(rows)
