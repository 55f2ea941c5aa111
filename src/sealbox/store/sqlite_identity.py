"""The IdentityStore methods of ``SqliteMetaStore``, as a mixin.

Same file, same write lock, same encodings as ``sqlite.py`` (its schema
version 3 holds these tables). Every write is one ``BEGIN IMMEDIATE``
transaction, so quota checks (count, then insert) cannot race: SQLite has
one writer at a time. Unique names are unique regardless of case through a
``name_key`` column, the lower-cased name (names are ASCII).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

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
    from sealbox.store.secrets import SecretCipher

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# Schema version 3 of sqlite.py. No ";" inside a statement.
SCHEMA = """
CREATE TABLE iam_users (
    user_id     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    path        TEXT NOT NULL,
    created     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE iam_groups (
    group_id    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    path        TEXT NOT NULL,
    created     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE iam_group_members (
    group_id    TEXT NOT NULL REFERENCES iam_groups (group_id),
    user_id     TEXT NOT NULL REFERENCES iam_users (user_id),
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX iam_group_members_by_user ON iam_group_members (user_id, group_id);
CREATE TABLE iam_access_keys (
    access_key_id   TEXT PRIMARY KEY,
    user_id         TEXT REFERENCES iam_users (user_id),
    secret          BLOB NOT NULL,
    active          INTEGER NOT NULL,
    created         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX iam_access_keys_by_user ON iam_access_keys (user_id);
CREATE TABLE iam_user_policies (
    user_id     TEXT NOT NULL REFERENCES iam_users (user_id),
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
CREATE TABLE iam_group_policies (
    group_id    TEXT NOT NULL REFERENCES iam_groups (group_id),
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (group_id, name)
) WITHOUT ROWID;
CREATE TABLE iam_policies (
    policy_id       TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    path            TEXT NOT NULL,
    document        TEXT NOT NULL,
    description     TEXT NOT NULL,
    default_version TEXT NOT NULL,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE iam_user_attachments (
    user_id     TEXT NOT NULL REFERENCES iam_users (user_id),
    policy_id   TEXT NOT NULL REFERENCES iam_policies (policy_id),
    PRIMARY KEY (user_id, policy_id)
) WITHOUT ROWID;
CREATE INDEX iam_user_attachments_by_policy ON iam_user_attachments (policy_id);
CREATE TABLE iam_group_attachments (
    group_id    TEXT NOT NULL REFERENCES iam_groups (group_id),
    policy_id   TEXT NOT NULL REFERENCES iam_policies (policy_id),
    PRIMARY KEY (group_id, policy_id)
) WITHOUT ROWID;
CREATE INDEX iam_group_attachments_by_policy ON iam_group_attachments (policy_id)
"""

# The hot path: the key by primary key, its user by primary key.
_CREDENTIAL = (
    "SELECT k.secret, k.active, u.name, u.path FROM iam_access_keys k "
    "LEFT JOIN iam_users u ON u.user_id = k.user_id WHERE k.access_key_id = ?"
)
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


def _ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass a timezone-aware one")
    return (dt - _EPOCH) // _MS


def _dt(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _user(row: tuple[Any, ...]) -> User:
    return User(row[0], row[1], row[2], _dt(row[3]))


def _group(row: tuple[Any, ...]) -> Group:
    return Group(row[0], row[1], row[2], _dt(row[3]))


def _policy(row: tuple[Any, ...]) -> ManagedPolicy:
    pid, name, path, doc, desc, created, updated, count, version = row
    return ManagedPolicy(pid, name, path, doc, desc, _dt(created), _dt(updated), count, version)


def _key(row: tuple[Any, ...]) -> AccessKey:
    return AccessKey(row[0], row[1], "Active" if row[2] else "Inactive", _dt(row[3]))


def _status(status: str) -> int:
    if status not in ("Active", "Inactive"):
        raise ValidationError(
            "status", status, "Member must satisfy enum value set: [Active, Inactive]"
        )
    return status == "Active"


class SqliteIdentityMixin:
    """IdentityStore on the SQLite MetaStore; see the module docstring."""

    _cipher: SecretCipher | None = None
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
            tail = "does not exist or is not attachable." if attachable else "was not found."
            raise NoSuchEntity("policy", policy_arn, f"Policy {policy_arn} {tail}")
        return str(row[0])

    def _require_cipher(self) -> SecretCipher:
        if self._cipher is None:
            raise NoSecretCipher()
        return self._cipher

    # -- users -------------------------------------------------------------------
    def create_user(self, name: str, *, path: str = "/", now: datetime) -> User:
        check_name("userName", name, USER_NAME)
        check_path(path)
        user = User(new_id("AIDA"), name, path, _dt(_ms(now)))
        with self._write() as c:
            if c.execute("SELECT 1 FROM iam_users WHERE name_key = ?", (name.lower(),)).fetchone():
                raise EntityAlreadyExists("user", name)
            quota = self.iam_quotas.users_per_account
            if c.execute("SELECT count(*) FROM iam_users").fetchone()[0] >= quota:
                raise LimitExceeded("UsersPerAccount", quota)
            c.execute(
                "INSERT INTO iam_users (user_id, name, name_key, path, created) VALUES (?,?,?,?,?)",
                (user.user_id, name, name.lower(), path, _ms(now)),
            )
        return user

    def get_user(self, name: str) -> User:
        check_name("userName", name, USER_NAME)
        row = (
            self._conn()
            .execute(
                "SELECT user_id, name, path, created FROM iam_users WHERE name_key = ?",
                (name.lower(),),
            )
            .fetchone()
        )
        if row is None:
            raise NoSuchEntity("user", name)
        return _user(row)

    def list_users(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[User]:
        rows = self._conn().execute(
            "SELECT user_id, name, path, created FROM iam_users "
            "WHERE name_key > ? AND substr(path, 1, ?) = ? ORDER BY name_key LIMIT ?",
            (after.lower(), len(path_prefix), path_prefix, max(limit, 0)),
        )
        return [_user(r) for r in rows]

    def delete_user(self, name: str) -> None:
        with self._write() as c:
            uid = self._user_id(c, name)
            blockers = []
            for blocker, sql in (
                ("delete access keys", "SELECT 1 FROM iam_access_keys WHERE user_id = ?"),
                ("delete policies", "SELECT 1 FROM iam_user_policies WHERE user_id = ?"),
                ("detach all policies", "SELECT 1 FROM iam_user_attachments WHERE user_id = ?"),
                (
                    "remove user from all groups",
                    "SELECT 1 FROM iam_group_members WHERE user_id = ?",
                ),
            ):
                if c.execute(sql + " LIMIT 1", (uid,)).fetchone():
                    blockers.append(blocker)
            if blockers:
                raise DeleteConflict("user", name, tuple(blockers))
            c.execute("DELETE FROM iam_users WHERE user_id = ?", (uid,))

    # -- access keys -------------------------------------------------------------
    def _owner(self, c: sqlite3.Connection, user_name: str | None) -> str | None:
        return None if user_name is None else self._user_id(c, user_name)

    def create_access_key(self, user_name: str | None, *, now: datetime) -> AccessKey:
        cipher = self._require_cipher()
        key_id, secret = new_id("AKIA", 20), new_secret_key()
        blob = cipher.encrypt(secret, context=key_id.encode())
        with self._write() as c:
            uid = self._owner(c, user_name)
            (count,) = c.execute(
                "SELECT count(*) FROM iam_access_keys WHERE user_id IS ?", (uid,)
            ).fetchone()
            quota = self.iam_quotas.access_keys_per_user
            if count >= quota:
                raise LimitExceeded("AccessKeysPerUser", quota)
            c.execute(
                "INSERT INTO iam_access_keys (access_key_id, user_id, secret, active, created) "
                "VALUES (?,?,?,1,?)",
                (key_id, uid, blob, _ms(now)),
            )
        return AccessKey(key_id, user_name, "Active", _dt(_ms(now)), secret)

    def list_access_keys(self, user_name: str | None) -> list[AccessKey]:
        c = self._conn()
        uid = self._owner(c, user_name)
        rows = c.execute(
            "SELECT access_key_id, ?, active, created FROM iam_access_keys WHERE user_id IS ? "
            "ORDER BY created, access_key_id",
            (user_name, uid),
        )
        return [_key(r) for r in rows]

    def _key_of(self, c: sqlite3.Connection, user_name: str | None, access_key_id: str) -> None:
        uid = self._owner(c, user_name)
        row = c.execute(
            "SELECT 1 FROM iam_access_keys WHERE access_key_id = ? AND user_id IS ?",
            (access_key_id, uid),
        ).fetchone()
        if row is None:
            raise NoSuchEntity(
                "access key",
                access_key_id,
                f"The Access Key with id {access_key_id} cannot be found.",
            )

    def update_access_key(
        self, user_name: str | None, access_key_id: str, status: AccessKeyStatus
    ) -> None:
        active = _status(status)
        with self._write() as c:
            self._key_of(c, user_name, access_key_id)
            c.execute(
                "UPDATE iam_access_keys SET active = ? WHERE access_key_id = ?",
                (active, access_key_id),
            )

    def delete_access_key(self, user_name: str | None, access_key_id: str) -> None:
        with self._write() as c:
            self._key_of(c, user_name, access_key_id)
            c.execute("DELETE FROM iam_access_keys WHERE access_key_id = ?", (access_key_id,))

    def credential_for(self, access_key_id: str) -> Credential | None:
        cipher = self._cipher
        if cipher is None:
            raise NoSecretCipher()
        row = self._conn().execute(_CREDENTIAL, (access_key_id,)).fetchone()
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
            rows = c.execute("SELECT access_key_id, secret FROM iam_access_keys").fetchall()
            for key_id, blob in rows:
                if cipher.is_current(blob):
                    continue
                ctx = key_id.encode()
                fresh = cipher.encrypt(cipher.decrypt(blob, context=ctx), context=ctx)
                c.execute(
                    "UPDATE iam_access_keys SET secret = ? WHERE access_key_id = ?", (fresh, key_id)
                )
                done += 1
        return done

    # -- groups ------------------------------------------------------------------
    def create_group(self, name: str, *, path: str = "/", now: datetime) -> Group:
        check_name("groupName", name, GROUP_NAME)
        check_path(path)
        group = Group(new_id("AGPA"), name, path, _dt(_ms(now)))
        with self._write() as c:
            if c.execute("SELECT 1 FROM iam_groups WHERE name_key = ?", (name.lower(),)).fetchone():
                raise EntityAlreadyExists("group", name)
            quota = self.iam_quotas.groups_per_account
            if c.execute("SELECT count(*) FROM iam_groups").fetchone()[0] >= quota:
                raise LimitExceeded("GroupsPerAccount", quota)
            c.execute(
                "INSERT INTO iam_groups (group_id, name, name_key, path, created) VALUES (?,?,?,?,?)",
                (group.group_id, name, name.lower(), path, _ms(now)),
            )
        return group

    def get_group(self, name: str) -> Group:
        check_name("groupName", name, GROUP_NAME)
        row = (
            self._conn()
            .execute(
                "SELECT group_id, name, path, created FROM iam_groups WHERE name_key = ?",
                (name.lower(),),
            )
            .fetchone()
        )
        if row is None:
            raise NoSuchEntity("group", name)
        return _group(row)

    def list_groups(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[Group]:
        rows = self._conn().execute(
            "SELECT group_id, name, path, created FROM iam_groups "
            "WHERE name_key > ? AND substr(path, 1, ?) = ? ORDER BY name_key LIMIT ?",
            (after.lower(), len(path_prefix), path_prefix, max(limit, 0)),
        )
        return [_group(r) for r in rows]

    def delete_group(self, name: str) -> None:
        with self._write() as c:
            gid = self._group_id(c, name)
            blockers = []
            for blocker, sql in (
                ("remove users from group", "SELECT 1 FROM iam_group_members WHERE group_id = ?"),
                ("delete policies", "SELECT 1 FROM iam_group_policies WHERE group_id = ?"),
                ("detach all policies", "SELECT 1 FROM iam_group_attachments WHERE group_id = ?"),
            ):
                if c.execute(sql + " LIMIT 1", (gid,)).fetchone():
                    blockers.append(blocker)
            if blockers:
                raise DeleteConflict("group", name, tuple(blockers))
            c.execute("DELETE FROM iam_groups WHERE group_id = ?", (gid,))

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        check_name("groupName", group_name, GROUP_NAME)
        with self._write() as c:
            uid = self._user_id(c, user_name)
            gid = self._group_id(c, group_name)
            if c.execute(
                "SELECT 1 FROM iam_group_members WHERE group_id = ? AND user_id = ?", (gid, uid)
            ).fetchone():
                return
            quota = self.iam_quotas.groups_per_user
            (n,) = c.execute(
                "SELECT count(*) FROM iam_group_members WHERE user_id = ?", (uid,)
            ).fetchone()
            if n >= quota:
                raise LimitExceeded("GroupsPerUser", quota)
            c.execute("INSERT INTO iam_group_members (group_id, user_id) VALUES (?,?)", (gid, uid))

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        check_name("groupName", group_name, GROUP_NAME)
        with self._write() as c:
            uid = self._user_id(c, user_name)
            gid = self._group_id(c, group_name)
            cur = c.execute(
                "DELETE FROM iam_group_members WHERE group_id = ? AND user_id = ?", (gid, uid)
            )
            if cur.rowcount == 0:
                raise NoSuchEntity(
                    "user", user_name, f"User {user_name} is not in group {group_name}."
                )

    def list_groups_for_user(self, user_name: str) -> list[Group]:
        c = self._conn()
        uid = self._user_id(c, user_name)
        rows = c.execute(
            "SELECT g.group_id, g.name, g.path, g.created FROM iam_group_members m "
            "JOIN iam_groups g ON g.group_id = m.group_id WHERE m.user_id = ? ORDER BY g.name_key",
            (uid,),
        )
        return [_group(r) for r in rows]

    def list_group_users(self, group_name: str) -> list[User]:
        c = self._conn()
        gid = self._group_id(c, group_name)
        rows = c.execute(
            "SELECT u.user_id, u.name, u.path, u.created FROM iam_group_members m "
            "JOIN iam_users u ON u.user_id = m.user_id WHERE m.group_id = ? ORDER BY u.name_key",
            (gid,),
        )
        return [_user(r) for r in rows]

    # -- inline policies -----------------------------------------------------------
    # ``kind`` is "user" or "group": it names the tables and the owner column.
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
            oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
            others = c.execute(
                f"SELECT document FROM {table} WHERE {col} = ? AND name != ?", (oid, policy_name)
            ).fetchall()
            if policy_size(document) + sum(policy_size(d) for (d,) in others) > quota:
                raise LimitExceeded(
                    f"{kind.capitalize()}PolicySize",
                    quota,
                    f"Maximum policy size of {quota} bytes exceeded for {kind} {owner}",
                )
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
            raise NoSuchEntity(
                "policy", policy_name, f"The {kind} policy with name {policy_name} cannot be found."
            )
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
            f"SELECT {_POLICY_COLS} FROM iam_policies p WHERE policy_id = ?", (pid,)
        ).fetchone()
        if row is None:  # deleted between the two reads
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
        rows = self._conn().execute(
            f"SELECT {_POLICY_COLS} FROM iam_policies p "
            "WHERE name_key > ? AND substr(path, 1, ?) = ?"
            + (_ATTACHED if only_attached else "")
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
        quota = (
            self.iam_quotas.policies_per_user
            if kind == "user"
            else self.iam_quotas.policies_per_group
        )
        with self._write() as c:
            oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
            pid = self._policy_id(c, policy_arn, attachable=True)
            if c.execute(
                f"SELECT 1 FROM {table} WHERE {col} = ? AND policy_id = ?", (oid, pid)
            ).fetchone():
                return
            (n,) = c.execute(f"SELECT count(*) FROM {table} WHERE {col} = ?", (oid,)).fetchone()
            if n >= quota:
                raise LimitExceeded(f"PoliciesPer{kind.capitalize()}", quota)
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
                raise NoSuchEntity("policy", policy_arn, f"Policy {policy_arn} was not found.")

    def _attached(self, kind: str, owner: str) -> list[AttachedPolicy]:
        c = self._conn()
        oid = self._user_id(c, owner) if kind == "user" else self._group_id(c, owner)
        rows = c.execute(
            f"SELECT p.name, p.path FROM iam_{kind}_attachments a JOIN iam_policies p "
            f"ON p.policy_id = a.policy_id WHERE a.{kind}_id = ? ORDER BY p.name_key",
            (oid,),
        )
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
        rows = self._conn().execute(_POLICIES_FOR_USER, (user_name.lower(),))
        return unique_documents(rows)
