"""The schema step "edge per account" on a database holding a whole edge
configuration (a key in a key group, an origin access control, a
distribution with its host, references and an invalidation), on SQLite
(where the step rebuilds the four owned tables) and PostgreSQL (where it
swaps the unique constraints): every row survives, belongs to the first
account, the foreign keys still hold, and names become unique per account."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sealbox.store.sql.dialect import POSTGRES, SQLITE
from sealbox.store.sql.migrate import migrate
from sealbox.store.sql.schema import STEPS
from sealbox.testing.postgres import PostgresCluster

STEP = next(i for i, step in enumerate(STEPS) if step.name == "edge per account")
FIRST = "000000000000"
ROWS = (
    ("cf_public_keys", ("K1", "key", "PEM", "", "ref", "T", "E1")),
    ("cf_key_groups", ("G1", "g", "", "T", "E2")),
    ("cf_key_group_keys", ("G1", "K1", 0)),
    ("cf_origin_access_controls", ("O1", "o", "", "sigv4", "always", "s3", "E3")),
    ("cf_distributions", ("D1", "d1.example", "r", "Deployed", "T", "E4", "{}")),
    ("cf_hosts", ("d1.example", "D1")),
    ("cf_distribution_key_groups", ("D1", "G1")),
    ("cf_distribution_oacs", ("D1", "O1")),
    ("cf_invalidations", ("D1", "I1", "[]", "ir", "Completed", "T")),
)
OWNED = ("cf_public_keys", "cf_key_groups", "cf_origin_access_controls", "cf_distributions")


def _fill(execute: Callable[[str, tuple[Any, ...]], Any], time_value: Any) -> None:
    for table, row in ROWS:
        values = tuple(time_value if v == "T" else v for v in row)
        execute(f"INSERT INTO {table} VALUES ({','.join('?' * len(values))})", values)


def _check(fetch: Callable[[str], list[tuple[Any, ...]]]) -> None:
    for table, row in ROWS:
        found = fetch(f"SELECT * FROM {table}")
        assert len(found) == 1, table
        width = len(row)
        assert [v for v, want in zip(found[0][:width], row, strict=True) if want != "T"] == \
            [v for v in row if v != "T"], table
        if table in OWNED:
            assert found[0][width] == FIRST, table


def test_sqlite_keeps_every_row_and_its_references(tmp_path: Path) -> None:
    c = sqlite3.connect(str(tmp_path / "edge.db"), isolation_level=None)
    c.execute("PRAGMA foreign_keys = ON")
    c.execute("BEGIN IMMEDIATE")
    for step in STEPS[:STEP]:
        for statement in step.statements(SQLITE):
            c.execute(statement)
    c.execute(f"PRAGMA user_version = {STEP}")
    _fill(lambda sql, params: c.execute(sql, params), 0)
    c.execute("COMMIT")
    c.execute("BEGIN IMMEDIATE")
    migrate(c, SQLITE)
    c.execute("COMMIT")
    _check(lambda sql: c.execute(sql).fetchall())
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    assert c.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
    # Names per account; a reference to a key that is not there still refused.
    c.execute("INSERT INTO cf_public_keys VALUES ('K2','key','PEM','','ref',0,'E',?)",
              ("111111111111",))
    with pytest.raises(sqlite3.IntegrityError):
        c.execute("INSERT INTO cf_public_keys VALUES ('K3','key','PEM','','r3',0,'E',?)",
                  (FIRST,))
    with pytest.raises(sqlite3.IntegrityError):
        c.execute("INSERT INTO cf_key_group_keys VALUES ('G1','KNOPE',1)")
    before = c.execute("SELECT version FROM access_version").fetchone()[0]
    c.execute("UPDATE cf_distributions SET etag = 'E5'")
    assert c.execute("SELECT version FROM access_version").fetchone()[0] > before


def test_postgres_keeps_every_row(postgres_cluster: PostgresCluster) -> None:
    import psycopg

    dsn = postgres_cluster.new_schema()
    try:
        with psycopg.connect(dsn) as conn, conn.cursor() as c:
            c.execute("CREATE TABLE IF NOT EXISTS sealbox_schema (version INTEGER PRIMARY KEY,"
                      " applied TIMESTAMPTZ NOT NULL DEFAULT now())")
            for v, step in enumerate(STEPS[:STEP]):
                for statement in step.statements(POSTGRES):
                    c.execute(statement)
                c.execute("INSERT INTO sealbox_schema (version) VALUES (%s)", (v + 1,))
            _fill(lambda sql, params: c.execute(POSTGRES.q(sql), params),
                  POSTGRES.rows.time_param(datetime(2026, 1, 2, tzinfo=UTC)))
        with psycopg.connect(dsn) as conn, conn.cursor() as c:
            migrate(c, POSTGRES)
        with psycopg.connect(dsn) as conn, conn.cursor() as c:
            _check(lambda sql: c.execute(sql).fetchall())
            c.execute("INSERT INTO cf_key_groups VALUES ('G2','g','',now(),'E',%s)",
                      ("111111111111",))
            with pytest.raises(psycopg.errors.UniqueViolation):
                c.execute("INSERT INTO cf_key_groups VALUES ('G3','g','',now(),'E',%s)",
                          (FIRST,))
    finally:
        postgres_cluster.drop_schema(dsn)
