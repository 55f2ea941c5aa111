"""Accounts in the store (``store/sql/accounts.py`` and the "accounts"
schema step), on SQLite and PostgreSQL: a database from before accounts
migrates into the first account — its users, groups, policies and keys
keep working there — and then each account's IAM names, quotas and root
keys are its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sealbox.auth.principal import ACCOUNT_ID
from sealbox.store.identity import DeleteConflict, EntityAlreadyExists, NoSuchEntity
from sealbox.store.meta import Bucket
from sealbox.store.secrets import SecretCipher
from sealbox.store.sql.dialect import POSTGRES, SQLITE, Dialect
from sealbox.store.sql.schema import STEPS
from sealbox.store.sqlite import SqliteMetaStore
from sealbox.testing.postgres import PostgresCluster

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CIPHER = SecretCipher([b"\x01" * 32])
BEFORE = next(i for i, step in enumerate(STEPS) if step.name == "accounts")
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def _build_before_accounts(execute: Callable[[str, tuple[Any, ...]], Any], d: Dialect,
                           c: Any) -> None:
    """A database at the last version without accounts, holding one user in
    a group, a managed policy attached to it, its key and a root key."""
    for v in range(BEFORE):
        for statement in STEPS[v].statements(d):
            c.execute(statement)
        d.write_version(c, v + 1)
    t = d.rows.time_param(T0)
    execute("INSERT INTO buckets VALUES (?,?,?,?)",
            ("old", t, "us-east-1", f"arn:aws:iam::{ACCOUNT_ID}:root"))
    execute("INSERT INTO iam_users VALUES (?,?,?,?,?)", ("AIDA1", "Ann", "ann", "/", t))
    execute("INSERT INTO iam_groups VALUES (?,?,?,?,?)", ("AGPA1", "G", "g", "/", t))
    execute("INSERT INTO iam_group_members VALUES (?,?)", ("AGPA1", "AIDA1"))
    execute("INSERT INTO iam_policies VALUES (?,?,?,?,?,?,?,?,?)",
            ("ANPA1", "P", "p", "/", POLICY, "", "v1", t, t))
    execute("INSERT INTO iam_user_attachments VALUES (?,?)", ("AIDA1", "ANPA1"))
    for key_id, user in (("AKIAANN", "AIDA1"), ("AKIAROOT", None)):
        execute("INSERT INTO iam_access_keys VALUES (?,?,?,?,?)",
                (key_id, user, CIPHER.encrypt("s" * 40, context=key_id.encode()), True, t))


@pytest.fixture(params=["sqlite", "postgres"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A store opened on a database from before accounts (so migrated)."""
    if request.param == "sqlite":
        path = str(tmp_path / "meta.db")
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN")
        _build_before_accounts(lambda sql, p: conn.execute(SQLITE.q(sql), p), SQLITE, conn)
        conn.execute("COMMIT")
        conn.close()
        store: Any = SqliteMetaStore(path, cipher=CIPHER)
    else:
        import psycopg

        from sealbox.store.postgres import PostgresMetaStore

        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        dsn = cluster.new_schema()
        with psycopg.connect(dsn) as conn, conn.cursor() as c:
            POSTGRES.read_version(c)  # the version table, as the migrator makes it
            _build_before_accounts(lambda sql, p: c.execute(POSTGRES.q(sql), p), POSTGRES, c)
        store = PostgresMetaStore(dsn, cipher=CIPHER)
    try:
        yield store
    finally:
        store.close()


def test_existing_identities_migrate_into_the_first_account(migrated: Any) -> None:
    [main] = migrated.list_accounts()
    assert (main.account_id, main.name, main.created) == (ACCOUNT_ID, "main", None)
    ann = migrated.get_user("Ann")
    assert ann.arn == f"arn:aws:iam::{ACCOUNT_ID}:user/Ann" and ann.created == T0
    assert [u.name for u in migrated.list_group_users("G")] == ["Ann"]
    assert migrated.policies_for_user("Ann") == [POLICY]
    user = migrated.credential_for("AKIAANN")
    assert user.principal.arn == f"arn:aws:iam::{ACCOUNT_ID}:user/Ann"
    root = migrated.credential_for("AKIAROOT")
    assert root.principal.kind == "root" and root.principal.account == ACCOUNT_ID
    assert [k.access_key_id for k in migrated.list_access_keys(None)] == ["AKIAROOT"]
    with pytest.raises(EntityAlreadyExists):
        migrated.create_user("ANN", now=T0)  # names stay unique regardless of case


def test_each_account_has_its_own_names_keys_and_policies(migrated: Any) -> None:
    made = migrated.create_account("team-b", now=T0)
    other = migrated.in_account(made.account.account_id)
    root = migrated.credential_for(made.root_key.access_key_id)
    assert root.principal.arn == f"arn:aws:iam::{made.account.account_id}:root"
    assert root.secret_key == made.root_key.secret_key
    # The same names, apart.
    assert other.create_user("Ann", now=T0).arn == \
        f"arn:aws:iam::{made.account.account_id}:user/Ann"
    other.create_group("G", now=T0)
    policy = other.create_policy("P", POLICY.replace("s3:*", "s3:GetObject"), now=T0)
    assert policy.arn == f"arn:aws:iam::{made.account.account_id}:policy/P"
    assert [u.name for u in other.list_users()] == ["Ann"]
    assert [g.name for g in other.list_groups()] == ["G"]
    assert other.list_group_users("G") == []
    assert [p.arn for p in other.list_policies()] == [policy.arn]
    assert other.policies_for_user("Ann") == []
    assert migrated.policies_for_user("Ann") == [POLICY]
    with pytest.raises(NoSuchEntity):  # the first account's policy is not this account's
        other.attach_user_policy("Ann", f"arn:aws:iam::{ACCOUNT_ID}:policy/P")
    # Root keys: each account lists and manages its own only.
    assert [k.access_key_id for k in other.list_access_keys(None)] == \
        [made.root_key.access_key_id]
    with pytest.raises(NoSuchEntity):
        other.delete_access_key(None, "AKIAROOT")
    with pytest.raises(EntityAlreadyExists):
        migrated.create_account("team-b", now=T0)


def test_an_account_is_deleted_with_its_identities_once_it_owns_no_bucket(
        migrated: Any) -> None:
    made = migrated.create_account("leaving", now=T0)
    account = made.account.account_id
    other = migrated.in_account(account)
    other.create_user("Bo", now=T0)
    other.create_group("Team", now=T0)
    other.add_user_to_group("Team", "Bo")
    other.put_user_policy("Bo", "inline", POLICY)
    other.create_access_key("Bo", now=T0)
    migrated.create_bucket(Bucket("theirs", T0, "us-east-1", f"arn:aws:iam::{account}:user/Bo"))
    with pytest.raises(DeleteConflict) as refused:
        migrated.delete_account("leaving")
    assert "owns buckets" in str(refused.value)
    with pytest.raises(DeleteConflict):
        migrated.delete_account("main")
    migrated.delete_bucket("theirs")
    migrated.delete_account("leaving")
    assert [a.name for a in migrated.list_accounts()] == ["main"]
    assert migrated.credential_for(made.root_key.access_key_id) is None
    assert other.list_users() == [] and other.list_groups() == []
    assert migrated.get_user("Ann").name == "Ann"  # the first account's, untouched
