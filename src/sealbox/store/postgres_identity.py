"""The IdentityStore methods of ``PostgresMetaStore``, as a mixin.

Same pool, same transactions, same encodings as ``postgres.py`` (its schema
version 3 holds these tables).

Concurrency, READ COMMITTED: a quota is a count and then an insert, so
writers that count the same things take turns. Changes to what a user owns
(keys, inline policies, attachments, memberships) lock the user's row
``FOR UPDATE`` first, a group's changes the group's row, and ``delete_*``
locks the entity it deletes the same way, so it sees every dependent
committed before it and none can be added after. A row that is only
referred to (the group a user joins, the policy attached) is locked ``FOR
KEY SHARE``, as a foreign key would. Locks are taken user → group →
policy only, so these transactions cannot deadlock. Account-wide quotas,
and the root user's keys (which have no row), take a transaction-level
advisory lock instead. A name taken concurrently fails the unique index
and is reported as ``EntityAlreadyExists``.

Names and keys are ``TEXT COLLATE "C"``, ordered as SQLite orders them.
Names that IAM's patterns allow cannot hold U+0000; documents are checked
to IAM's character set (tab, LF, CR, U+0020–U+00FF) before they get here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg import errors

from sealbox.auth.principal import Credential, Principal, root_principal
from sealbox.store.identity import (
    GROUP_NAME,
    IAM_QUOTAS,
    POLICY_NAME,
    USER_NAME,
    AccessKey,
    AccessKeyStatus,
    AttachedPolicy,
    DeleteConflict,
    EntityAlreadyExists,
    Group,
    IamQuotas,
    LimitExceeded,
    ManagedPolicy,
    NoSecretCipher,
    NoSuchEntity,
    User,
    ValidationError,
    arn,
    check_description,
    check_document,
    check_name,
    check_path,
    new_id,
    new_secret_key,
    policy_size,
    split_policy_arn,
    unique_documents,
)

if TYPE_CHECKING:
    import psycopg

    from sealbox.store.secrets import SecretCipher

_C = 'TEXT COLLATE "C"'
# Schema version 3 of postgres.py.
SCHEMA: tuple[str, ...] = (
    f"""CREATE TABLE iam_users (
        user_id     {_C} PRIMARY KEY,
        name        {_C} NOT NULL,
        name_key    {_C} NOT NULL UNIQUE,
        path        {_C} NOT NULL,
        created     TIMESTAMPTZ(3) NOT NULL
    )""",
    f"""CREATE TABLE iam_groups (
        group_id    {_C} PRIMARY KEY,
        name        {_C} NOT NULL,
        name_key    {_C} NOT NULL UNIQUE,
        path        {_C} NOT NULL,
        created     TIMESTAMPTZ(3) NOT NULL
    )""",
    f"""CREATE TABLE iam_group_members (
        group_id    {_C} NOT NULL REFERENCES iam_groups (group_id),
        user_id     {_C} NOT NULL REFERENCES iam_users (user_id),
        PRIMARY KEY (group_id, user_id)
    )""",
    "CREATE INDEX iam_group_members_by_user ON iam_group_members (user_id, group_id)",
    f"""CREATE TABLE iam_access_keys (
        access_key_id   {_C} PRIMARY KEY,
        user_id         {_C} REFERENCES iam_users (user_id),
        secret          BYTEA NOT NULL,
        active          BOOLEAN NOT NULL,
        created         TIMESTAMPTZ(3) NOT NULL
    )""",
    "CREATE INDEX iam_access_keys_by_user ON iam_access_keys (user_id)",
    f"""CREATE TABLE iam_user_policies (
        user_id     {_C} NOT NULL REFERENCES iam_users (user_id),
        name        {_C} NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
    )""",
    f"""CREATE TABLE iam_group_policies (
        group_id    {_C} NOT NULL REFERENCES iam_groups (group_id),
        name        {_C} NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (group_id, name)
    )""",
    f"""CREATE TABLE iam_policies (
        policy_id       {_C} PRIMARY KEY,
        name            {_C} NOT NULL,
        name_key        {_C} NOT NULL UNIQUE,
        path            {_C} NOT NULL,
        document        TEXT NOT NULL,
        description     TEXT NOT NULL,
        default_version TEXT NOT NULL,
        created         TIMESTAMPTZ(3) NOT NULL,
        updated         TIMESTAMPTZ(3) NOT NULL
    )""",
    f"""CREATE TABLE iam_user_attachments (
        user_id     {_C} NOT NULL REFERENCES iam_users (user_id),
        policy_id   {_C} NOT NULL REFERENCES iam_policies (policy_id),
        PRIMARY KEY (user_id, policy_id)
    )""",
    "CREATE INDEX iam_user_attachments_by_policy ON iam_user_attachments (policy_id)",
    f"""CREATE TABLE iam_group_attachments (
        group_id    {_C} NOT NULL REFERENCES iam_groups (group_id),
        policy_id   {_C} NOT NULL REFERENCES iam_policies (policy_id),
        PRIMARY KEY (group_id, policy_id)
    )""",
    "CREATE INDEX iam_group_attachments_by_policy ON iam_group_attachments (policy_id)",
)

_CREDENTIAL = (
    "SELECT k.secret, k.active, u.name, u.path FROM iam_access_keys k "
    "LEFT JOIN iam_users u ON u.user_id = k.user_id WHERE k.access_key_id = %s"
)
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
_ATTACHED = (
    " AND (EXISTS (SELECT 1 FROM iam_user_attachments a WHERE a.policy_id = p.policy_id)"
    " OR EXISTS (SELECT 1 FROM iam_group_attachments a WHERE a.policy_id = p.policy_id))"
)
_POLICY_COLS = (
    "policy_id, name, path, document, description, created, updated, "
    "(SELECT count(*) FROM iam_user_attachments a WHERE a.policy_id = p.policy_id) + "
    "(SELECT count(*) FROM iam_group_attachments a WHERE a.policy_id = p.policy_id), "
    "default_version"
)
# Transaction-level advisory locks, per schema as postgres.py's migration lock.
_ADVISORY = "SELECT pg_advisory_xact_lock(hashtext(%s || current_schema()))"


def _ts(dt: datetime) -> datetime:
    """The UTC instant truncated to the millisecond, as SQLite stores it."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime given to the store; pass a timezone-aware one")
    dt = dt.astimezone(UTC)
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


def _policy(row: tuple[Any, ...]) -> ManagedPolicy:
    pid, name, path, doc, desc, created, updated, count, version = row
    return ManagedPolicy(pid, name, path, doc, desc, created, updated, int(count), version)


def _no_key(access_key_id: str) -> NoSuchEntity:
    return NoSuchEntity(
        "access key", access_key_id, f"The Access Key with id {access_key_id} cannot be found."
    )


class PostgresIdentityMixin:
    """IdentityStore on the PostgreSQL MetaStore; see the module docstring."""

    _cipher: SecretCipher | None = None
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
            tail = "does not exist or is not attachable." if attachable else "was not found."
            raise NoSuchEntity("policy", policy_arn, f"Policy {policy_arn} {tail}")
        return str(row[0])

    def _require_cipher(self) -> SecretCipher:
        if self._cipher is None:
            raise NoSecretCipher()
        return self._cipher

    def _create(
        self, kind: str, sql: str, params: tuple[Any, ...], name: str, quota: int, quota_name: str
    ) -> None:
        """Insert a user, group or policy row under the account-wide quota."""
        table = {"user": "iam_users", "group": "iam_groups", "policy": "iam_policies"}[kind]
        try:
            with self._write() as c:
                c.execute(_ADVISORY, (f"sealbox.iam.create.{kind}.",))
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

    # -- users -------------------------------------------------------------------
    def create_user(self, name: str, *, path: str = "/", now: datetime) -> User:
        check_name("userName", name, USER_NAME)
        check_path(path)
        user = User(new_id("AIDA"), name, path, _ts(now))
        self._create(
            "user",
            "INSERT INTO iam_users (user_id, name, name_key, path, created) "
            "VALUES (%s,%s,%s,%s,%s)",
            (user.user_id, name, name.lower(), path, user.created),
            name,
            self.iam_quotas.users_per_account,
            "UsersPerAccount",
        )
        return user

    def get_user(self, name: str) -> User:
        check_name("userName", name, USER_NAME)
        with self._read() as c:
            row = c.execute(
                "SELECT user_id, name, path, created FROM iam_users WHERE name_key = %s",
                (name.lower(),),
            ).fetchone()
        if row is None:
            raise NoSuchEntity("user", name)
        return User(*row)

    def list_users(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[User]:
        if "\x00" in path_prefix + after:
            return []
        with self._read() as c:
            rows = c.execute(
                "SELECT user_id, name, path, created FROM iam_users WHERE name_key > %s "
                "AND left(path, %s) = %s ORDER BY name_key LIMIT %s",
                (after.lower(), len(path_prefix), path_prefix, max(limit, 0)),
            ).fetchall()
        return [User(*r) for r in rows]

    def delete_user(self, name: str) -> None:
        with self._write() as c:
            uid = self._user_id(c, name, "FOR UPDATE")
            row = c.execute(
                "SELECT EXISTS (SELECT 1 FROM iam_access_keys WHERE user_id = %s),"
                " EXISTS (SELECT 1 FROM iam_user_policies WHERE user_id = %s),"
                " EXISTS (SELECT 1 FROM iam_user_attachments WHERE user_id = %s),"
                " EXISTS (SELECT 1 FROM iam_group_members WHERE user_id = %s)",
                (uid,) * 4,
            ).fetchone()
            names = (
                "delete access keys",
                "delete policies",
                "detach all policies",
                "remove user from all groups",
            )
            blockers = tuple(n for n, b in zip(names, row or (), strict=True) if b)
            if blockers:
                raise DeleteConflict("user", name, blockers)
            c.execute("DELETE FROM iam_users WHERE user_id = %s", (uid,))

    # -- access keys -------------------------------------------------------------
    def _lock_owner(self, c: psycopg.Cursor[Any], user_name: str | None) -> str | None:
        if user_name is None:  # the root user has no row to lock
            c.execute(_ADVISORY, ("sealbox.iam.root-keys.",))
            return None
        return self._user_id(c, user_name, "FOR UPDATE")

    def create_access_key(self, user_name: str | None, *, now: datetime) -> AccessKey:
        cipher = self._require_cipher()
        key_id, secret = new_id("AKIA", 20), new_secret_key()
        blob = cipher.encrypt(secret, context=key_id.encode())
        created = _ts(now)
        with self._write() as c:
            uid = self._lock_owner(c, user_name)
            row = c.execute(
                "SELECT count(*) FROM iam_access_keys WHERE user_id IS NOT DISTINCT FROM %s",
                (uid,),
            ).fetchone()
            quota = self.iam_quotas.access_keys_per_user
            if row is not None and row[0] >= quota:
                raise LimitExceeded("AccessKeysPerUser", quota)
            c.execute(
                "INSERT INTO iam_access_keys (access_key_id, user_id, secret, active, created) "
                "VALUES (%s,%s,%s,true,%s)",
                (key_id, uid, blob, created),
            )
        return AccessKey(key_id, user_name, "Active", created, secret)

    def list_access_keys(self, user_name: str | None) -> list[AccessKey]:
        with self._read() as c:
            uid = None if user_name is None else self._user_id(c, user_name)
            rows = c.execute(
                "SELECT access_key_id, active, created FROM iam_access_keys "
                "WHERE user_id IS NOT DISTINCT FROM %s ORDER BY created, access_key_id",
                (uid,),
            ).fetchall()
        return [
            AccessKey(k, user_name, "Active" if active else "Inactive", created)
            for k, active, created in rows
        ]

    def update_access_key(
        self, user_name: str | None, access_key_id: str, status: AccessKeyStatus
    ) -> None:
        if status not in ("Active", "Inactive"):
            raise ValidationError(
                "status", status, "Member must satisfy enum value set: [Active, Inactive]"
            )
        if "\x00" in access_key_id:
            raise _no_key(access_key_id)
        with self._write() as c:
            uid = self._lock_owner(c, user_name)
            c.execute(
                "UPDATE iam_access_keys SET active = %s WHERE access_key_id = %s "
                "AND user_id IS NOT DISTINCT FROM %s",
                (status == "Active", access_key_id, uid),
            )
            if c.rowcount == 0:
                raise _no_key(access_key_id)

    def delete_access_key(self, user_name: str | None, access_key_id: str) -> None:
        if "\x00" in access_key_id:
            raise _no_key(access_key_id)
        with self._write() as c:
            uid = self._lock_owner(c, user_name)
            c.execute(
                "DELETE FROM iam_access_keys WHERE access_key_id = %s "
                "AND user_id IS NOT DISTINCT FROM %s",
                (access_key_id, uid),
            )
            if c.rowcount == 0:
                raise _no_key(access_key_id)

    def credential_for(self, access_key_id: str) -> Credential | None:
        cipher = self._cipher
        if cipher is None:
            raise NoSecretCipher()
        if "\x00" in access_key_id:
            return None
        with self._read() as c:
            row = c.execute(_CREDENTIAL, (access_key_id,)).fetchone()
        if row is None:
            return None
        blob, active, name, path = row
        secret = cipher.decrypt(blob, context=access_key_id.encode())
        if name is None:
            principal = root_principal(access_key_id)
        else:
            principal = Principal("user", name, arn("user", path, name), access_key_id)
        return Credential(access_key_id, secret, principal, bool(active))

    def reencrypt_secrets(self) -> int:
        cipher = self._require_cipher()
        done = 0
        with self._write() as c:
            rows = c.execute(
                "SELECT access_key_id, secret FROM iam_access_keys FOR UPDATE"
            ).fetchall()
            for key_id, blob in rows:
                if cipher.is_current(blob):
                    continue
                ctx = key_id.encode()
                fresh = cipher.encrypt(cipher.decrypt(blob, context=ctx), context=ctx)
                c.execute(
                    "UPDATE iam_access_keys SET secret = %s WHERE access_key_id = %s",
                    (fresh, key_id),
                )
                done += 1
        return done

    # -- groups ------------------------------------------------------------------
    def create_group(self, name: str, *, path: str = "/", now: datetime) -> Group:
        check_name("groupName", name, GROUP_NAME)
        check_path(path)
        group = Group(new_id("AGPA"), name, path, _ts(now))
        self._create(
            "group",
            "INSERT INTO iam_groups (group_id, name, name_key, path, created) "
            "VALUES (%s,%s,%s,%s,%s)",
            (group.group_id, name, name.lower(), path, group.created),
            name,
            self.iam_quotas.groups_per_account,
            "GroupsPerAccount",
        )
        return group

    def get_group(self, name: str) -> Group:
        check_name("groupName", name, GROUP_NAME)
        with self._read() as c:
            row = c.execute(
                "SELECT group_id, name, path, created FROM iam_groups WHERE name_key = %s",
                (name.lower(),),
            ).fetchone()
        if row is None:
            raise NoSuchEntity("group", name)
        return Group(*row)

    def list_groups(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[Group]:
        if "\x00" in path_prefix + after:
            return []
        with self._read() as c:
            rows = c.execute(
                "SELECT group_id, name, path, created FROM iam_groups WHERE name_key > %s "
                "AND left(path, %s) = %s ORDER BY name_key LIMIT %s",
                (after.lower(), len(path_prefix), path_prefix, max(limit, 0)),
            ).fetchall()
        return [Group(*r) for r in rows]

    def delete_group(self, name: str) -> None:
        with self._write() as c:
            gid = self._group_id(c, name, "FOR UPDATE")
            row = c.execute(
                "SELECT EXISTS (SELECT 1 FROM iam_group_members WHERE group_id = %s),"
                " EXISTS (SELECT 1 FROM iam_group_policies WHERE group_id = %s),"
                " EXISTS (SELECT 1 FROM iam_group_attachments WHERE group_id = %s)",
                (gid,) * 3,
            ).fetchone()
            names = ("remove users from group", "delete policies", "detach all policies")
            blockers = tuple(n for n, b in zip(names, row or (), strict=True) if b)
            if blockers:
                raise DeleteConflict("group", name, blockers)
            c.execute("DELETE FROM iam_groups WHERE group_id = %s", (gid,))

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        check_name("groupName", group_name, GROUP_NAME)
        with self._write() as c:
            uid = self._user_id(c, user_name, "FOR UPDATE")
            gid = self._group_id(c, group_name, "FOR KEY SHARE")
            if c.execute(
                "SELECT 1 FROM iam_group_members WHERE group_id = %s AND user_id = %s", (gid, uid)
            ).fetchone():
                return
            row = c.execute(
                "SELECT count(*) FROM iam_group_members WHERE user_id = %s", (uid,)
            ).fetchone()
            quota = self.iam_quotas.groups_per_user
            if row is not None and row[0] >= quota:
                raise LimitExceeded("GroupsPerUser", quota)
            c.execute(
                "INSERT INTO iam_group_members (group_id, user_id) VALUES (%s,%s)", (gid, uid)
            )

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        check_name("groupName", group_name, GROUP_NAME)
        with self._write() as c:
            uid = self._user_id(c, user_name, "FOR UPDATE")
            gid = self._group_id(c, group_name)
            c.execute(
                "DELETE FROM iam_group_members WHERE group_id = %s AND user_id = %s", (gid, uid)
            )
            if c.rowcount == 0:
                raise NoSuchEntity(
                    "user", user_name, f"User {user_name} is not in group {group_name}."
                )

    def list_groups_for_user(self, user_name: str) -> list[Group]:
        with self._read() as c:
            uid = self._user_id(c, user_name)
            rows = c.execute(
                "SELECT g.group_id, g.name, g.path, g.created FROM iam_group_members m "
                "JOIN iam_groups g ON g.group_id = m.group_id WHERE m.user_id = %s "
                "ORDER BY g.name_key",
                (uid,),
            ).fetchall()
        return [Group(*r) for r in rows]

    def list_group_users(self, group_name: str) -> list[User]:
        with self._read() as c:
            gid = self._group_id(c, group_name)
            rows = c.execute(
                "SELECT u.user_id, u.name, u.path, u.created FROM iam_group_members m "
                "JOIN iam_users u ON u.user_id = m.user_id WHERE m.group_id = %s "
                "ORDER BY u.name_key",
                (gid,),
            ).fetchall()
        return [User(*r) for r in rows]

    # -- inline policies -----------------------------------------------------------
    def _put_inline(self, kind: str, owner: str, policy_name: str, document: str) -> None:
        check_name("policyName", policy_name, POLICY_NAME)
        check_document(document)
        table, col = f"iam_{kind}_policies", f"{kind}_id"
        quota = (
            self.iam_quotas.user_policy_size
            if kind == "user"
            else self.iam_quotas.group_policy_size
        )
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, "FOR UPDATE")
            others = c.execute(
                f"SELECT document FROM {table} WHERE {col} = %s AND name <> %s", (oid, policy_name)
            ).fetchall()
            if policy_size(document) + sum(policy_size(d) for (d,) in others) > quota:
                raise LimitExceeded(
                    f"{kind.capitalize()}PolicySize",
                    quota,
                    f"Maximum policy size of {quota} bytes exceeded for {kind} {owner}",
                )
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
            raise NoSuchEntity(
                "policy", policy_name, f"The {kind} policy with name {policy_name} cannot be found."
            )
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
                raise NoSuchEntity(
                    "policy",
                    policy_name,
                    f"The {kind} policy with name {policy_name} cannot be found.",
                )

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

    # -- managed policies ----------------------------------------------------------
    def create_policy(
        self, name: str, document: str, *, path: str = "/", description: str = "", now: datetime
    ) -> ManagedPolicy:
        check_name("policyName", name, POLICY_NAME)
        check_path(path)
        check_document(document)
        check_description(description)
        quota = self.iam_quotas.managed_policy_size
        if policy_size(document) > quota:
            raise LimitExceeded("PolicySize", quota)
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
                    f"SELECT {_POLICY_COLS} FROM iam_policies p "
                    "WHERE name_key = %s AND name = %s AND path = %s",
                    (parts[1].lower(), parts[1], parts[0]),
                ).fetchone()
        if row is None:
            raise NoSuchEntity("policy", policy_arn, f"Policy {policy_arn} was not found.")
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
                f"SELECT {_POLICY_COLS} FROM iam_policies p "
                "WHERE name_key > %s AND left(path, %s) = %s"
                + (_ATTACHED if only_attached else "")
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
        quota = (
            self.iam_quotas.policies_per_user
            if kind == "user"
            else self.iam_quotas.policies_per_group
        )
        with self._write() as c:
            oid = self._owner_id(c, kind, owner, "FOR UPDATE")
            pid = self._policy_id(c, policy_arn, "FOR KEY SHARE", attachable=True)
            if c.execute(
                f"SELECT 1 FROM {table} WHERE {col} = %s AND policy_id = %s", (oid, pid)
            ).fetchone():
                return
            row = c.execute(f"SELECT count(*) FROM {table} WHERE {col} = %s", (oid,)).fetchone()
            if row is not None and row[0] >= quota:
                raise LimitExceeded(f"PoliciesPer{kind.capitalize()}", quota)
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
                raise NoSuchEntity("policy", policy_arn, f"Policy {policy_arn} was not found.")

    def _attached(self, kind: str, owner: str) -> list[AttachedPolicy]:
        with self._read() as c:
            oid = self._owner_id(c, kind, owner)
            rows = c.execute(
                f"SELECT p.name, p.path FROM iam_{kind}_attachments a JOIN iam_policies p "
                f"ON p.policy_id = a.policy_id WHERE a.{kind}_id = %s ORDER BY p.name_key",
                (oid,),
            ).fetchall()
        return [AttachedPolicy(n, arn("policy", p, n)) for n, p in rows]

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

    # -- evaluation ----------------------------------------------------------------
    def policies_for_user(self, user_name: str) -> list[str]:
        if not USER_NAME.fullmatch(user_name):
            return []
        with self._read() as c:
            rows = c.execute(_POLICIES_FOR_USER, (user_name.lower(),)).fetchall()
        return unique_documents(rows)
