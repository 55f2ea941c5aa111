"""The policy half of the IdentityStore on ``SqliteMetaStore``: inline and
managed policies, attachments, and the one read policy evaluation makes,
with the lookups both halves share. ``sqlite_identity.py`` (users, access
keys, groups, and the schema) builds on it; its module docstring states the
transactions and locking both follow.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    arn,
    check_document,
    check_name,
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
from sealbox.store.rows import from_ms, to_ms
from sealbox.store.sql import ATTACHED_ONLY, POLICY_COLS

# Everything evaluation needs, one statement; ordered so the result is stable.
_POLICIES_FOR_USER = """
WITH u AS (SELECT user_id FROM iam_users WHERE name_key = ?),
g AS (SELECT m.group_id, gr.name_key FROM iam_group_members m
      JOIN iam_groups gr ON gr.group_id = m.group_id WHERE m.user_id = (SELECT user_id FROM u))
SELECT 0, '', name, NULL, document FROM iam_user_policies WHERE user_id = (SELECT user_id FROM u)
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


def _policy(row: tuple[Any, ...]) -> ManagedPolicy:
    pid, name, path, doc, desc, created, updated, count, version = row
    return ManagedPolicy(pid, name, path, doc, desc, _dt(created), _dt(updated), count, version)


# The times of sqlite.py (rows.py): integer milliseconds since the epoch.
_ms, _dt = to_ms, from_ms


class SqlitePolicyMixin(PolicyMethods):
    """Policies, and the lookups users and groups share, on the SQLite MetaStore."""

    iam_quotas: IamQuotas = IAM_QUOTAS

    if TYPE_CHECKING:

        def _conn(self) -> sqlite3.Connection: ...

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # -- lookups inside a transaction ------------------------------------------
    @staticmethod
    def _user_id(c: sqlite3.Connection, name: str) -> str:
        check_name("userName", name, USER_NAME)
        row = c.execute(
            "SELECT user_id FROM iam_users WHERE name_key = ?", (name.lower(),)
        ).fetchone()
        if row is None:
            raise NoSuchEntity("user", name)
        return str(row[0])

    @staticmethod
    def _group_id(c: sqlite3.Connection, name: str) -> str:
        check_name("groupName", name, GROUP_NAME)
        row = c.execute(
            "SELECT group_id FROM iam_groups WHERE name_key = ?", (name.lower(),)
        ).fetchone()
        if row is None:
            raise NoSuchEntity("group", name)
        return str(row[0])

    @staticmethod
    def _policy_id(c: sqlite3.Connection, policy_arn: str, *, attachable: bool = False) -> str:
        parts = split_policy_arn(policy_arn)
        row = None
        if parts is not None:
            row = c.execute(
                "SELECT policy_id FROM iam_policies WHERE name_key = ? AND name = ? AND path = ?",
                (parts[1].lower(), parts[1], parts[0]),
            ).fetchone()
        if row is None:
            raise no_policy(policy_arn, attachable=attachable)
        return str(row[0])

    # -- inline policies -----------------------------------------------------------
    # ``kind`` is "user" or "group": it names the tables and the owner column.
    def _put_inline(self, kind: str, owner: str, policy_name: str, document: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        check_document(document)
        table, col = f"iam_{kind}_policies", f"{kind}_id"
        quota = inline_size_quota(self.iam_quotas, kind)
        with self._write() as c:
            oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
            others = c.execute(
                f"SELECT document FROM {table} WHERE {col} = ? AND name != ?", (oid, policy_name)
            ).fetchall()
            check_inline_size(quota, kind, owner, document, (d for (d,) in others))
            c.execute(
                f"INSERT INTO {table} ({col}, name, document) VALUES (?,?,?) "
                f"ON CONFLICT ({col}, name) DO UPDATE SET document = excluded.document",
                (oid, policy_name, document),
            )

    def _inline(self, kind: str, owner: str, policy_name: str | None) -> list[tuple[str, str]]:
        c = self._conn()
        oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
        sql = f"SELECT name, document FROM iam_{kind}_policies WHERE {kind}_id = ?"
        if policy_name is None:
            return c.execute(sql + " ORDER BY name", (oid,)).fetchall()
        check_name("policyName", policy_name, POLICY_NAME)
        rows = c.execute(sql + " AND name = ?", (oid, policy_name)).fetchall()
        if not rows:
            raise no_inline_policy(kind, policy_name)
        return rows

    def _delete_inline(self, kind: str, owner: str, policy_name: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        with self._write() as c:
            oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
            cur = c.execute(
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
        at = _dt(_ms(now))
        policy = ManagedPolicy(new_id("ANPA"), name, path, document, description, at, at)
        with self._write() as c:
            if c.execute(
                "SELECT 1 FROM iam_policies WHERE name_key = ?", (name.lower(),)
            ).fetchone():
                raise EntityAlreadyExists("policy", name)
            count_quota = self.iam_quotas.policies_per_account
            if c.execute("SELECT count(*) FROM iam_policies").fetchone()[0] >= count_quota:
                raise LimitExceeded("PoliciesPerAccount", count_quota)
            c.execute(
                "INSERT INTO iam_policies (policy_id, name, name_key, path, document, "
                "description, default_version, created, updated) VALUES (?,?,?,?,?,?,'v1',?,?)",
                (
                    policy.policy_id,
                    name,
                    name.lower(),
                    path,
                    document,
                    description,
                    _ms(now),
                    _ms(now),
                ),
            )
        return policy

    def get_policy(self, policy_arn: str) -> ManagedPolicy:
        c = self._conn()
        pid = self._policy_id(c, policy_arn)
        row = c.execute(
            f"SELECT {POLICY_COLS} FROM iam_policies p WHERE policy_id = ?", (pid,)
        ).fetchone()
        if row is None:  # deleted between the two reads
            raise no_policy(policy_arn)
        return _policy(row)

    def list_policies(
        self,
        *,
        path_prefix: str = "/",
        only_attached: bool = False,
        after: str = "",
        limit: int = 1000,
    ) -> list[ManagedPolicy]:
        rows = self._conn().execute(
            f"SELECT {POLICY_COLS} FROM iam_policies p "
            "WHERE name_key > ? AND substr(path, 1, ?) = ?"
            + (ATTACHED_ONLY if only_attached else "")
            + " ORDER BY name_key LIMIT ?",
            (after.lower(), len(path_prefix), path_prefix, max(limit, 0)),
        )
        return [_policy(r) for r in rows]

    def delete_policy(self, policy_arn: str) -> None:
        with self._write() as c:
            pid = self._policy_id(c, policy_arn)
            attached = c.execute(
                "SELECT 1 FROM iam_user_attachments WHERE policy_id = ? UNION ALL "
                "SELECT 1 FROM iam_group_attachments WHERE policy_id = ? LIMIT 1",
                (pid, pid),
            ).fetchone()
            if attached:
                raise DeleteConflict("policy", policy_arn, ("detach the policy from all entities",))
            c.execute("DELETE FROM iam_policies WHERE policy_id = ?", (pid,))

    def _attach(self, kind: str, owner: str, policy_arn: str) -> None:
        table, col = f"iam_{kind}_attachments", f"{kind}_id"
        quota = attached_quota(self.iam_quotas, kind)
        with self._write() as c:
            oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
            pid = self._policy_id(c, policy_arn, attachable=True)
            if c.execute(
                f"SELECT 1 FROM {table} WHERE {col} = ? AND policy_id = ?", (oid, pid)
            ).fetchone():
                return
            (n,) = c.execute(f"SELECT count(*) FROM {table} WHERE {col} = ?", (oid,)).fetchone()
            if n >= quota:
                raise attached_limit(kind, quota)
            c.execute(f"INSERT INTO {table} ({col}, policy_id) VALUES (?,?)", (oid, pid))

    def _detach(self, kind: str, owner: str, policy_arn: str) -> None:
        with self._write() as c:
            oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
            pid = self._policy_id(c, policy_arn)
            cur = c.execute(
                f"DELETE FROM iam_{kind}_attachments WHERE {kind}_id = ? AND policy_id = ?",
                (oid, pid),
            )
            if cur.rowcount == 0:
                raise no_policy(policy_arn)

    def _attached(self, kind: str, owner: str) -> list[AttachedPolicy]:
        c = self._conn()
        oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
        rows = c.execute(
            f"SELECT p.name, p.path FROM iam_{kind}_attachments a JOIN iam_policies p "
            f"ON p.policy_id = a.policy_id WHERE a.{kind}_id = ? ORDER BY p.name_key",
            (oid,),
        )
        return [AttachedPolicy(n, arn("policy", p, n)) for n, p in rows]

    # -- evaluation ----------------------------------------------------------------
    def policies_for_user(self, user_name: str) -> list[str]:
        if not USER_NAME.fullmatch(user_name):
            return []
        rows = self._conn().execute(_POLICIES_FOR_USER, (user_name.lower(),))
        return unique_documents(rows)
