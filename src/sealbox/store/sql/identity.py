"""The IdentityStore, written once for both MetaStores, as a mixin: users,
access keys and groups; policies are in ``policies.py``, the base of this
mixin. The tables are schema version 3 (``schema.py``); queries are
rendered by the store's dialect (``self._d``).

SQLite: every write is one ``BEGIN IMMEDIATE`` transaction, so quota checks
(count, then insert) cannot race; the row and advisory locks below render
as nothing.

PostgreSQL, READ COMMITTED: a quota is a count and then an insert, so
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

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sealbox.auth.principal import Credential
from sealbox.store.identity import (
    GROUP_NAME,
    USER_NAME,
    AccessKey,
    AccessKeyStatus,
    DeleteConflict,
    Group,
    LimitExceeded,
    NoSecretCipher,
    NoSuchEntity,
    User,
    account_keys,
    check_name,
    check_path,
    new_id,
    new_secret_key,
)
from sealbox.store.identity_rules import check_status, credential, no_access_key, not_in_group
from sealbox.store.sql.policies import SqlPolicyMixin

if TYPE_CHECKING:
    from sealbox.store.secrets import SecretCipher

# The hot path: the key by primary key, its user by primary key.
_CREDENTIAL = (
    "SELECT k.secret, k.active, u.name, u.path, k.account_id FROM iam_access_keys k "
    "LEFT JOIN iam_users u ON u.user_id = k.user_id WHERE k.access_key_id = ?"
)


class SqlIdentityMixin(SqlPolicyMixin):
    """IdentityStore on a SQL MetaStore; see the module docstring."""

    _cipher: SecretCipher | None = None

    def _user_row(self, row: tuple[Any, ...]) -> User:
        return User(row[0], row[1], row[2], self._d.rows.time_value(row[3]), self._account)

    def _group_row(self, row: tuple[Any, ...]) -> Group:
        return Group(row[0], row[1], row[2], self._d.rows.time_value(row[3]), self._account)

    def _require_cipher(self) -> SecretCipher:
        if self._cipher is None:
            raise NoSecretCipher()
        return self._cipher

    # -- users -------------------------------------------------------------------
    def create_user(self, name: str, *, path: str = "/", now: datetime) -> User:
        check_name("userName", name, USER_NAME)
        check_path(path)
        user = User(new_id("AIDA"), name, path, self._at(now), self._account)
        self._create(
            "user",
            "INSERT INTO iam_users (user_id, name, name_key, path, created, account_id) "
            "VALUES (?,?,?,?,?,?)",
            (user.user_id, name, self._key(name), path, self._d.rows.time_param(now),
             self._account),
            name,
            self.iam_quotas.users_per_account,
            "UsersPerAccount",
        )
        return user

    def get_user(self, name: str) -> User:
        check_name("userName", name, USER_NAME)
        with self._read() as c:
            row = self._x(
                c,
                "SELECT user_id, name, path, created FROM iam_users WHERE name_key = ?",
                (self._key(name),),
            ).fetchone()
        if row is None:
            raise NoSuchEntity("user", name)
        return self._user_row(row)

    def list_users(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[User]:
        if not self._d.storable(path_prefix, after):
            return []
        with self._read() as c:
            rows = self._x(
                c,
                "SELECT user_id, name, path, created FROM iam_users WHERE name_key > ? "
                "AND name_key < ? AND substr(path, 1, ?) = ? ORDER BY name_key LIMIT ?",
                (self._key(after), account_keys(self._account)[1], len(path_prefix),
                 path_prefix, max(limit, 0)),
            ).fetchall()
        return [self._user_row(r) for r in rows]

    def delete_user(self, name: str) -> None:
        with self._write() as c:
            uid = self._user_id(c, name, self._d.for_update)
            row = self._x(
                c,
                "SELECT EXISTS (SELECT 1 FROM iam_access_keys WHERE user_id = ?),"
                " EXISTS (SELECT 1 FROM iam_user_policies WHERE user_id = ?),"
                " EXISTS (SELECT 1 FROM iam_user_attachments WHERE user_id = ?),"
                " EXISTS (SELECT 1 FROM iam_group_members WHERE user_id = ?)",
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
            self._x(c, "DELETE FROM iam_users WHERE user_id = ?", (uid,))

    # -- access keys -------------------------------------------------------------
    def _lock_owner(self, c: Any, user_name: str | None) -> str | None:
        if user_name is None:  # the root user has no row to lock
            self._advisory_lock(c, "root-keys")
            return None
        return self._user_id(c, user_name, self._d.for_update)

    def create_access_key(self, user_name: str | None, *, now: datetime) -> AccessKey:
        cipher = self._require_cipher()
        key_id, secret = new_id("AKIA", 20), new_secret_key()
        blob = cipher.encrypt(secret, context=key_id.encode())
        created = self._at(now)
        with self._write() as c:
            uid = self._lock_owner(c, user_name)
            row = self._x(
                c,
                f"SELECT count(*) FROM iam_access_keys WHERE user_id {self._d.same} ? "
                "AND account_id = ?",
                (uid, self._account),
            ).fetchone()
            quota = self.iam_quotas.access_keys_per_user
            if row is not None and row[0] >= quota:
                raise LimitExceeded("AccessKeysPerUser", quota)
            self._x(
                c,
                "INSERT INTO iam_access_keys (access_key_id, user_id, secret, active, created, "
                "account_id) VALUES (?,?,?,?,?,?)",
                (key_id, uid, blob, True, self._d.rows.time_param(now), self._account),
            )
        return AccessKey(key_id, user_name, "Active", created, secret)

    def list_access_keys(self, user_name: str | None) -> list[AccessKey]:
        time_value = self._d.rows.time_value
        with self._read() as c:
            uid = None if user_name is None else self._user_id(c, user_name)
            rows = self._x(
                c,
                "SELECT access_key_id, active, created FROM iam_access_keys "
                f"WHERE user_id {self._d.same} ? AND account_id = ? "
                "ORDER BY created, access_key_id",
                (uid, self._account),
            ).fetchall()
        return [
            AccessKey(k, user_name, "Active" if active else "Inactive", time_value(created))
            for k, active, created in rows
        ]

    def update_access_key(
        self, user_name: str | None, access_key_id: str, status: AccessKeyStatus
    ) -> None:
        active = check_status(status)
        if not self._d.storable(access_key_id):
            raise no_access_key(access_key_id)
        with self._write() as c:
            uid = self._lock_owner(c, user_name)
            cur = self._x(
                c,
                "UPDATE iam_access_keys SET active = ? WHERE access_key_id = ? "
                f"AND user_id {self._d.same} ? AND account_id = ?",
                (active, access_key_id, uid, self._account),
            )
            if cur.rowcount == 0:
                raise no_access_key(access_key_id)

    def delete_access_key(self, user_name: str | None, access_key_id: str) -> None:
        if not self._d.storable(access_key_id):
            raise no_access_key(access_key_id)
        with self._write() as c:
            uid = self._lock_owner(c, user_name)
            cur = self._x(
                c,
                "DELETE FROM iam_access_keys WHERE access_key_id = ? "
                f"AND user_id {self._d.same} ? AND account_id = ?",
                (access_key_id, uid, self._account),
            )
            if cur.rowcount == 0:
                raise no_access_key(access_key_id)

    def credential_for(self, access_key_id: str) -> Credential | None:
        cipher = self._cipher
        if cipher is None:
            raise NoSecretCipher()
        if not self._d.storable(access_key_id):
            return None
        row = self._fetchone(self._d.q(_CREDENTIAL), (access_key_id,))
        if row is None:
            return None
        return credential(cipher, access_key_id, row)

    @property
    def secret_cipher(self) -> SecretCipher:
        """The cipher of this store's secrets (``NoSecretCipher`` without one):
        what else is kept encrypted (store/keyring) uses the same keyring."""
        return self._require_cipher()

    def secret_key_ids(self) -> set[str]:
        """The ids of the keys the stored access-key secrets are encrypted
        with (bounded by IAM's quotas: a few thousand rows at most)."""
        cipher = self._require_cipher()
        with self._read() as c:
            rows = self._x(c, "SELECT secret FROM iam_access_keys").fetchall()
        return {cipher.key_id_of(row[0]) for row in rows}

    def reencrypt_secrets(self) -> int:
        cipher = self._require_cipher()
        done = 0
        with self._write() as c:
            rows = self._x(
                c, "SELECT access_key_id, secret FROM iam_access_keys" + self._d.for_update
            ).fetchall()
            for key_id, blob in rows:
                if cipher.is_current(blob):
                    continue
                ctx = key_id.encode()
                fresh = cipher.encrypt(cipher.decrypt(blob, context=ctx), context=ctx)
                self._x(
                    c,
                    "UPDATE iam_access_keys SET secret = ? WHERE access_key_id = ?",
                    (fresh, key_id),
                )
                done += 1
        return done

    # -- groups ------------------------------------------------------------------
    def create_group(self, name: str, *, path: str = "/", now: datetime) -> Group:
        check_name("groupName", name, GROUP_NAME)
        check_path(path)
        group = Group(new_id("AGPA"), name, path, self._at(now), self._account)
        self._create(
            "group",
            "INSERT INTO iam_groups (group_id, name, name_key, path, created, account_id) "
            "VALUES (?,?,?,?,?,?)",
            (group.group_id, name, self._key(name), path, self._d.rows.time_param(now),
             self._account),
            name,
            self.iam_quotas.groups_per_account,
            "GroupsPerAccount",
        )
        return group

    def get_group(self, name: str) -> Group:
        check_name("groupName", name, GROUP_NAME)
        with self._read() as c:
            row = self._x(
                c,
                "SELECT group_id, name, path, created FROM iam_groups WHERE name_key = ?",
                (self._key(name),),
            ).fetchone()
        if row is None:
            raise NoSuchEntity("group", name)
        return self._group_row(row)

    def list_groups(
        self, *, path_prefix: str = "/", after: str = "", limit: int = 1000
    ) -> list[Group]:
        if not self._d.storable(path_prefix, after):
            return []
        with self._read() as c:
            rows = self._x(
                c,
                "SELECT group_id, name, path, created FROM iam_groups WHERE name_key > ? "
                "AND name_key < ? AND substr(path, 1, ?) = ? ORDER BY name_key LIMIT ?",
                (self._key(after), account_keys(self._account)[1], len(path_prefix),
                 path_prefix, max(limit, 0)),
            ).fetchall()
        return [self._group_row(r) for r in rows]

    def delete_group(self, name: str) -> None:
        with self._write() as c:
            gid = self._group_id(c, name, self._d.for_update)
            row = self._x(
                c,
                "SELECT EXISTS (SELECT 1 FROM iam_group_members WHERE group_id = ?),"
                " EXISTS (SELECT 1 FROM iam_group_policies WHERE group_id = ?),"
                " EXISTS (SELECT 1 FROM iam_group_attachments WHERE group_id = ?)",
                (gid,) * 3,
            ).fetchone()
            names = ("remove users from group", "delete policies", "detach all policies")
            blockers = tuple(n for n, b in zip(names, row or (), strict=True) if b)
            if blockers:
                raise DeleteConflict("group", name, blockers)
            self._x(c, "DELETE FROM iam_groups WHERE group_id = ?", (gid,))

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        check_name("groupName", group_name, GROUP_NAME)
        with self._write() as c:
            uid = self._user_id(c, user_name, self._d.for_update)
            gid = self._group_id(c, group_name, self._d.for_key_share)
            if self._x(
                c, "SELECT 1 FROM iam_group_members WHERE group_id = ? AND user_id = ?", (gid, uid)
            ).fetchone():
                return
            row = self._x(
                c, "SELECT count(*) FROM iam_group_members WHERE user_id = ?", (uid,)
            ).fetchone()
            quota = self.iam_quotas.groups_per_user
            if row is not None and row[0] >= quota:
                raise LimitExceeded("GroupsPerUser", quota)
            self._x(c, "INSERT INTO iam_group_members (group_id, user_id) VALUES (?,?)", (gid, uid))

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        check_name("groupName", group_name, GROUP_NAME)
        with self._write() as c:
            uid = self._user_id(c, user_name, self._d.for_update)
            gid = self._group_id(c, group_name)
            cur = self._x(
                c, "DELETE FROM iam_group_members WHERE group_id = ? AND user_id = ?", (gid, uid)
            )
            if cur.rowcount == 0:
                raise not_in_group(user_name, group_name)

    def list_groups_for_user(self, user_name: str) -> list[Group]:
        with self._read() as c:
            uid = self._user_id(c, user_name)
            rows = self._x(
                c,
                "SELECT g.group_id, g.name, g.path, g.created FROM iam_group_members m "
                "JOIN iam_groups g ON g.group_id = m.group_id WHERE m.user_id = ? "
                "ORDER BY g.name_key",
                (uid,),
            ).fetchall()
        return [self._group_row(r) for r in rows]

    def list_group_users(self, group_name: str) -> list[User]:
        with self._read() as c:
            gid = self._group_id(c, group_name)
            rows = self._x(
                c,
                "SELECT u.user_id, u.name, u.path, u.created FROM iam_group_members m "
                "JOIN iam_users u ON u.user_id = m.user_id WHERE m.group_id = ? "
                "ORDER BY u.name_key",
                (gid,),
            ).fetchall()
        return [self._user_row(r) for r in rows]
