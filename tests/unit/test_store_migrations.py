"""The one migrator (``store/sql/migrate.py``), from every released schema.

For each database and each version v in 0..latest, a database is built at
v with the statements sealbox released (frozen history,
``tests/vectors/schema_history.json``), given rows in the tables v had,
then opened by the store, which migrates it. The rows must read back and
the schema must be the one a new database gets (``sqlite_master`` and the
PRAGMAs on SQLite; ``information_schema`` and the catalogs on PostgreSQL).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sealbox.store.meta import Bucket
from sealbox.store.sql.dialect import POSTGRES, SQLITE, Dialect
from sealbox.store.sql.schema import SCHEMA_VERSION, STEPS
from sealbox.store.sqlite import SqliteMetaStore
from sealbox.testing.postgres import PostgresCluster

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
History = dict[str, list[list[str]]]
# The version table as the PostgreSQL migrator has always created it.
PG_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS sealbox_schema ("
    " version INTEGER PRIMARY KEY,"
    " applied TIMESTAMPTZ NOT NULL DEFAULT now())"
)


# Versions 0..RELEASED were released; a step added since is not in the
# history until it ships, and is then appended to it, never changed.
RELEASED = 7


def test_the_history_is_a_prefix_of_the_steps(schema_history: History) -> None:
    assert len(schema_history["sqlite"]) == len(schema_history["postgres"]) == RELEASED
    assert SCHEMA_VERSION == len(STEPS) >= RELEASED  # released versions never renumber


# -- rows written at version v, read after the upgrade ----------------------------


def _write_rows(execute: Callable[[str, tuple[Any, ...]], Any], d: Dialect, v: int) -> None:
    """Rows in the tables that existed at version ``v``, written as raw SQL."""
    t = d.rows.time_param(T0)
    if v >= 1:
        execute("INSERT INTO buckets VALUES (?,?,?,?)", ("b", t, "us-east-1", "o"))
        execute(
            "INSERT INTO objects (bucket, key, size, etag, last_modified, segments, "
            "storage_class, owner) VALUES (?,?,?,?,?,?,?,?)",
            ("b", "k", 3, "e", t, '[["blob", 3]]', "STANDARD", "o"),
        )
        execute(
            "INSERT INTO uploads (upload_id, bucket, key, initiated, storage_class, owner) "
            "VALUES (?,?,?,?,?,?)",
            ("u1", "b", "m", t, "STANDARD", "o"),
        )
        execute(
            "INSERT INTO parts (upload_id, part_number, size, etag, last_modified, blob_id) "
            "VALUES (?,?,?,?,?,?)",
            ("u1", 1, 5, "pe", t, "part-blob"),
        )
    if v >= 2:
        execute("INSERT INTO bucket_settings VALUES (?,?,?)", ("b", "cors", "<cors/>"))
    if v >= 3:
        execute("INSERT INTO iam_users VALUES (?,?,?,?,?)", ("AIDA1", "Ann", "ann", "/", t))
        execute("INSERT INTO iam_groups VALUES (?,?,?,?,?)", ("AGPA1", "G", "g", "/", t))
        execute("INSERT INTO iam_group_members VALUES (?,?)", ("AGPA1", "AIDA1"))
    if v >= 4:
        execute("INSERT INTO server_settings VALUES (?,?)", ("public-access-block", "{}"))
    if v >= 5:
        execute(
            "INSERT INTO cf_public_keys VALUES (?,?,?,?,?,?,?)",
            ("K1", "key", "PEM", "", "ref", t, "E1"),
        )


def _check_rows(store: Any, v: int) -> None:
    if v >= 1:
        assert store.get_bucket("b") == Bucket("b", T0, "us-east-1", "o")
        o = store.get_object("b", "k")
        assert o is not None and o.size == 3 and o.last_modified == T0
        assert [p.blob_id for p in store.list_parts("u1")] == ["part-blob"]
    if v >= 2:
        assert store.get_bucket_setting("b", "cors") == "<cors/>"
    if v >= 3:
        assert store.get_user("Ann").created == T0
        assert [u.name for u in store.list_group_users("G")] == ["Ann"]
    if v >= 4:
        assert store.get_server_setting("public-access-block") == "{}"
    if v >= 5:
        key = store.get_public_key("K1")
        assert key is not None and key.created == T0
    before = store.access_version()
    store.put_bucket_setting("b", "policy", "{}") if v >= 1 else store.put_server_setting("x", "")
    assert store.access_version() > before  # the triggers are in place


# -- SQLite ------------------------------------------------------------------------


def _sqlite_schema(path: str) -> dict[str, Any]:
    c = sqlite3.connect(path)
    try:
        out: dict[str, Any] = {}
        for kind, name, table, sql in c.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ):
            text = " ".join((sql or "").split()).upper()
            if kind == "table":
                out[name] = {
                    "columns": c.execute(f"PRAGMA table_xinfo({name})").fetchall(),
                    "foreign keys": c.execute(f"PRAGMA foreign_key_list({name})").fetchall(),
                    "indexes": sorted(
                        (row[1:], c.execute(f"PRAGMA index_xinfo('{row[1]}')").fetchall())
                        for row in c.execute(f"PRAGMA index_list({name})")
                    ),
                    "without rowid": text.endswith("WITHOUT ROWID"),
                }
            elif kind == "trigger":
                out[f"trigger {name}"] = (table, text)
            else:  # an index: its columns are in the table's entry
                out[f"{kind} {name}"] = table
        out["user_version"] = c.execute("PRAGMA user_version").fetchone()[0]
        return out
    finally:
        c.close()


@pytest.mark.parametrize("version", range(RELEASED + 1))
def test_sqlite_upgrades_from_every_released_version(
    tmp_path: Path, schema_history: History, version: int
) -> None:
    path = str(tmp_path / "old.db")
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    for stmts in schema_history["sqlite"][:version]:
        for stmt in stmts:
            c.execute(stmt)
    c.execute(f"PRAGMA user_version = {version}")
    _write_rows(lambda sql, params: c.execute(SQLITE.q(sql), params), SQLITE, version)
    c.close()

    store = SqliteMetaStore(path)
    try:
        _check_rows(store, version)
    finally:
        store.close()
    fresh = str(tmp_path / "fresh.db")
    SqliteMetaStore(fresh).close()
    assert _sqlite_schema(path) == _sqlite_schema(fresh)


# -- PostgreSQL --------------------------------------------------------------------


def _pg_schema(dsn: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]

        def rows(sql: str) -> list[tuple[Any, ...]]:
            found = conn.execute(sql).fetchall()
            return sorted(tuple(re.sub(rf"\b{schema}\.", "", str(x)) for x in r) for r in found)

        return {
            "columns": rows(
                "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, "
                "collation_name, datetime_precision, column_default "
                "FROM information_schema.columns WHERE table_schema = current_schema()"
            ),
            "constraints": rows(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
            ),
            "indexes": rows(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema()"
            ),
            "triggers": rows(
                "SELECT event_object_table, trigger_name, event_manipulation, action_timing, "
                "action_orientation, action_statement FROM information_schema.triggers "
                "WHERE trigger_schema = current_schema()"
            ),
            "functions": rows(
                "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
                "WHERE pronamespace = current_schema()::regnamespace"
            ),
            "versions": rows("SELECT version FROM sealbox_schema"),
        }


@pytest.mark.parametrize("version", range(RELEASED + 1))
def test_postgres_upgrades_from_every_released_version(
    postgres_cluster: PostgresCluster, schema_history: History, version: int
) -> None:
    import psycopg

    from sealbox.store.postgres import PostgresMetaStore

    old, fresh = postgres_cluster.new_schema(), postgres_cluster.new_schema()
    try:
        with psycopg.connect(old) as conn, conn.cursor() as c:
            if version:
                c.execute(PG_VERSION_TABLE)
            for v, stmts in enumerate(schema_history["postgres"][:version]):
                for stmt in stmts:
                    c.execute(stmt)
                c.execute("INSERT INTO sealbox_schema (version) VALUES (%s)", (v + 1,))
            _write_rows(lambda sql, params: c.execute(POSTGRES.q(sql), params), POSTGRES, version)
        store = PostgresMetaStore(old)
        try:
            _check_rows(store, version)
        finally:
            store.close()
        PostgresMetaStore(fresh).close()
        assert _pg_schema(old) == _pg_schema(fresh)
    finally:
        postgres_cluster.drop_schema(old)
        postgres_cluster.drop_schema(fresh)
