"""The policy half of the IdentityStore on ``PostgresMetaStore``: inline and
managed policies, attachments, and the one read policy evaluation makes,
with the lookups both halves share. ``postgres_identity.py`` (users, access
keys, groups, and the schema) builds on it; its module docstring states the
transactions and locking both follow.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import errors

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
from sealbox.store.rows import to_timestamp as _ts
from sealbox.store.sql import ATTACHED_ONLY, POLICY_COLS

if TYPE_CHECKING:
    import psycopg


_POLICIES_FOR_USER = """
WITH u AS (SELECT user_id FROM iam_users WHERE name_key = %s),
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


def _policy(row: tuple[Any, ...]) -> ManagedPolicy:
    pid, name, path, doc, desc, created, updated, count, version = row
    return ManagedPolicy(pid, name, path, doc, desc, created, updated, int(count), version)


# Transaction-level advisory locks, per schema as postgres.py's migration lock.
_ADVISORY = "SELECT pg_advisory_xact_lock(hashtext(%s || current_schema()))"


class PostgresPolicyMixin(PolicyMethods):
    """Policies, and the lookups users and groups share, on the PostgreSQL MetaStore."""

    iam_quotas: IamQuotas = IAM_QUOTAS

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[psycopg.Cursor[Any]]: ...

        def _write(self) -> AbstractContextManager[psycopg.Cursor[Any]]: ...

    # -- lookups -----------------------------------------------------------------
    @staticmethod
    def _user_id(c: psycopg.Cursor[Any], name: str, lock: str = "") -> str:
        """The user's id; ``lock`` ("FOR UPDATE", "FOR KEY SHARE") locks the row."""
        check_name("userName", name, USER_NAME)
        row = c.execute(
            f"SELECT user_id FROM iam_users WHERE name_key = %s {lock}", (name.lower(),)
        ).fetchone()
        if row is None:
            raise NoSuchEntity("user", name)
        return str(row[0])

    @staticmethod
    def _group_id(c: psycopg.Cursor[Any], name: str, lock: str = "") -> str:
        check_name("groupName", name, GROUP_NAME)
        row = c.execute(
            f"SELECT group_id FROM iam_groups WHERE name_key = %s {lock}", (name.lower(),)
        ).fetchone()
        if row is None:
            raise NoSuchEntity("group", name)
        return str(row[0])

    def _owner_id(self, c: psycopg.Cursor[Any], kind: str, name: str, lock: str = "") -> str:
        return self._user_id(c, name, lock) if kind == "user" else self._group_id(c, name, lock)

    @staticmethod
    def _policy_id(
        c: psycopg.Cursor[Any], policy_arn: str, lock: str = "", *, attachable: bool = False
    ) -> str:
        parts = split_policy_arn(policy_arn)
        row = None
        if parts is not None:
            row = c.execute(
                "SELECT policy_id FROM iam_policies WHERE name_key = %s AND name = %s "
                f"AND path = %s {lock}",
                (parts[1].lower(), parts[1], parts[0]),
            ).fetchone()
        if row is None:
            raise no_policy(policy_arn, attachable=attachable)
        return str(row[0])

    @staticmethod
    def _advisory_lock(c: psycopg.Cursor[Any], name: str) -> None:
        """Take the advisory lock ``name`` (of this schema) until the transaction ends."""
        c.execute(_ADVISORY, (f"sealbox.iam.{name}.",))

    def _create(
        self, kind: str, sql: str, params: tuple[Any, ...], name: str, quota: int, quota_name: str
    ) -> None:
        """Insert a user, group or policy row under the account-wide quota."""
        table = {"user": "iam_users", "group": "iam_groups", "policy": "iam_policies"}[kind]
        try:
            with self._write() as c:
                self._advisory_lock(c, f"create.{kind}")
                if c.execute(
                    f"SELECT 1 FROM {table} WHERE name_key = %s", (name.lower(),)
                ).fetchone():
                    raise EntityAlreadyExists(kind, name)
                row = c.execute(f"SELECT count(*) FROM {table}").fetchone()
                if row is not None and row[0] >= quota:
                    raise LimitExceeded(quota_name, quota)
                c.execute(sql, params)
        except errors.UniqueViolation:
            raise EntityAlreadyExists(kind, name) from None

    # -- inline policies -----------------------------------------------------------
    def _put_inline(self, kind: str, owner: str, policy_name: str, document: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        check_document(document)
        table, col = f"iam_{kind}_policies", f"{kind}_id"
        quota = inline_size_quota(self.iam_quotas, kind)
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, "FOR UPDATE")
            others = c.execute(
                f"SELECT document FROM {table} WHERE {col} = %s AND name <> %s", (oid, policy_name)
            ).fetchall()
            check_inline_size(quota, kind, owner, document, (d for (d,) in others))
            c.execute(
                f"INSERT INTO {table} ({col}, name, document) VALUES (%s,%s,%s) "
                f"ON CONFLICT ({col}, name) DO UPDATE SET document = excluded.document",
                (oid, policy_name, document),
            )

    def _inline(self, kind: str, owner: str, policy_name: str | None) -> list[tuple[str, str]]:
        sql = f"SELECT name, document FROM iam_{kind}_policies WHERE {kind}_id = %s"
        with self._read() as c:
            oid = self._owner_id(c, kind, owner)
            if policy_name is None:
                return c.execute(sql + " ORDER BY name", (oid,)).fetchall()
            check_name("policyName", policy_name, POLICY_NAME)
            rows = c.execute(sql + " AND name = %s", (oid, policy_name)).fetchall()
        if not rows:
            raise no_inline_policy(kind, policy_name)
        return rows

    def _delete_inline(self, kind: str, owner: str, policy_name: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, "FOR UPDATE")
            c.execute(
                f"DELETE FROM iam_{kind}_policies WHERE {kind}_id = %s AND name = %s",
                (oid, policy_name),
            )
            if c.rowcount == 0:
                raise no_inline_policy(kind, policy_name)

    # -- managed policies ----------------------------------------------------------
    def create_policy(
        self, name: str, document: str, *, path: str = "/", description: str = "", now: datetime
    ) -> ManagedPolicy:
        check_new_policy(self.iam_quotas, name, document, path, description)
        at = _ts(now)
        policy = ManagedPolicy(new_id("ANPA"), name, path, document, description, at, at)
        self._create(
            "policy",
            "INSERT INTO iam_policies (policy_id, name, name_key, path, document, description, "
            "default_version, created, updated) VALUES (%s,%s,%s,%s,%s,%s,'v1',%s,%s)",
            (policy.policy_id, name, name.lower(), path, document, description, at, at),
            name,
            self.iam_quotas.policies_per_account,
            "PoliciesPerAccount",
        )
        return policy

    def get_policy(self, policy_arn: str) -> ManagedPolicy:
        parts = split_policy_arn(policy_arn)
        row = None
        if parts is not None:
            with self._read() as c:
                row = c.execute(
                    f"SELECT {POLICY_COLS} FROM iam_policies p "
                    "WHERE name_key = %s AND name = %s AND path = %s",
                    (parts[1].lower(), parts[1], parts[0]),
                ).fetchone()
        if row is None:
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
        if "\x00" in path_prefix + after:
            return []
        with self._read() as c:
            rows = c.execute(
                f"SELECT {POLICY_COLS} FROM iam_policies p "
                "WHERE name_key > %s AND left(path, %s) = %s"
                + (ATTACHED_ONLY if only_attached else "")
                + " ORDER BY name_key LIMIT %s",
                (after.lower(), len(path_prefix), path_prefix, max(limit, 0)),
            ).fetchall()
        return [_policy(r) for r in rows]

    def delete_policy(self, policy_arn: str) -> None:
        with self._write() as c:
            pid = self._policy_id(c, policy_arn, "FOR UPDATE")
            row = c.execute(
                "SELECT EXISTS (SELECT 1 FROM iam_user_attachments WHERE policy_id = %s)"
                " OR EXISTS (SELECT 1 FROM iam_group_attachments WHERE policy_id = %s)",
                (pid, pid),
            ).fetchone()
            if row is not None and row[0]:
                raise DeleteConflict("policy", policy_arn, ("detach the policy from all entities",))
            c.execute("DELETE FROM iam_policies WHERE policy_id = %s", (pid,))

    def _attach(self, kind: str, owner: str, policy_arn: str) -> None:
        table, col = f"iam_{kind}_attachments", f"{kind}_id"
        quota = attached_quota(self.iam_quotas, kind)
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, "FOR UPDATE")
            pid = self._policy_id(c, policy_arn, "FOR KEY SHARE", attachable=True)
            if c.execute(
                f"SELECT 1 FROM {table} WHERE {col} = %s AND policy_id = %s", (oid, pid)
            ).fetchone():
                return
            row = c.execute(f"SELECT count(*) FROM {table} WHERE {col} = %s", (oid,)).fetchone()
            if row is not None and row[0] >= quota:
                raise attached_limit(kind, quota)
            c.execute(f"INSERT INTO {table} ({col}, policy_id) VALUES (%s,%s)", (oid, pid))

    def _detach(self, kind: str, owner: str, policy_arn: str) -> None:
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, "FOR UPDATE")
            pid = self._policy_id(c, policy_arn)
            c.execute(
                f"DELETE FROM iam_{kind}_attachments WHERE {kind}_id = %s AND policy_id = %s",
                (oid, pid),
            )
            if c.rowcount == 0:
                raise no_policy(policy_arn)

    def _attached(self, kind: str, owner: str) -> list[AttachedPolicy]:
        with self._read() as c:
            oid = self._owner_id(c, kind, owner)
            rows = c.execute(
                f"SELECT p.name, p.path FROM iam_{kind}_attachments a JOIN iam_policies p "
                f"ON p.policy_id = a.policy_id WHERE a.{kind}_id = %s ORDER BY p.name_key",
                (oid,),
            ).fetchall()
        return [AttachedPolicy(n, arn("policy", p, n)) for n, p in rows]

    # -- evaluation ----------------------------------------------------------------
    def policies_for_user(self, user_name: str) -> list[str]:
        if not USER_NAME.fullmatch(user_name):
            return []
        with self._read() as c:
            rows = c.execute(_POLICIES_FOR_USER, (user_name.lower(),)).fetchall()
        return unique_documents(rows)
