"""The IdentityStore on ``SqliteMetaStore``, as a mixin: users, access keys,
groups, and the schema of them all; policies are in ``sqlite_policies.py``,
the base of this mixin.

Same file, same write lock, same encodings as ``sqlite.py`` (its schema
version 3 holds these tables). Every write is one ``BEGIN IMMEDIATE``
transaction, so quota checks (count, then insert) cannot race: SQLite has
one writer at a time. Unique names are unique regardless of case through a
``name_key`` column, the lower-cased name (names are ASCII).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sealbox.auth.principal import Credential
from sealbox.store.identity import (
    GROUP_NAME,
    USER_NAME,
    AccessKey,
    AccessKeyStatus,
    DeleteConflict,
    EntityAlreadyExists,
    Group,
    LimitExceeded,
    NoSecretCipher,
    NoSuchEntity,
    User,
    check_name,
    check_path,
    new_id,
    new_secret_key,
)
from sealbox.store.identity_rules import check_status, credential, no_access_key, not_in_group
from sealbox.store.sqlite_policies import SqlitePolicyMixin, _dt, _ms

if TYPE_CHECKING:
    from sealbox.store.secrets import SecretCipher

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


def _user(row: tuple[Any, ...]) -> User:
    return User(row[0], row[1], row[2], _dt(row[3]))


def _group(row: tuple[Any, ...]) -> Group:
    return Group(row[0], row[1], row[2], _dt(row[3]))


def _key(row: tuple[Any, ...]) -> AccessKey:
    return AccessKey(row[0], row[1], "Active" if row[2] else "Inactive", _dt(row[3]))


class SqliteIdentityMixin(SqlitePolicyMixin):
    """IdentityStore on the SQLite MetaStore; see the module docstring."""

    _cipher: SecretCipher | None = None

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
            raise no_access_key(access_key_id)

    def update_access_key(
        self, user_name: str | None, access_key_id: str, status: AccessKeyStatus
    ) -> None:
        active = check_status(status)
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
        return credential(cipher, access_key_id, row)

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
                raise not_in_group(user_name, group_name)

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
