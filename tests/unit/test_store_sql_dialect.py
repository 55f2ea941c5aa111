"""store/sql/dialect.py: what SQLite and PostgreSQL spell differently."""

from __future__ import annotations

import re

import pytest

from sealbox.store.sql.dialect import POSTGRES, SQLITE, Dialect
from sealbox.store.sql.schema import STEPS


def test_parameters_are_written_once_and_rendered_per_database() -> None:
    sql = "SELECT 1 FROM buckets WHERE name = ? AND region = ?"
    assert SQLITE.q(sql) is sql
    assert POSTGRES.q(sql) == "SELECT 1 FROM buckets WHERE name = %s AND region = %s"
    assert POSTGRES.q(sql) is POSTGRES.q(sql)  # rendered once, then reused


def test_type_tokens_render_to_each_databases_types() -> None:
    text = "CREATE TABLE t (k {NAME} PRIMARY KEY, at {TIME}, n {BIG}, j {JSON}){WITHOUT_ROWID}"
    assert SQLITE.ddl(text) == (
        "CREATE TABLE t (k TEXT PRIMARY KEY, at INTEGER, n INTEGER, j TEXT) WITHOUT ROWID"
    )
    assert POSTGRES.ddl(text) == (
        'CREATE TABLE t (k TEXT COLLATE "C" PRIMARY KEY, at TIMESTAMPTZ(3), n BIGINT, j JSON)'
    )


@pytest.mark.parametrize("d", [SQLITE, POSTGRES], ids=["sqlite", "postgres"])
def test_every_step_renders_with_no_token_or_foreign_marker_left(d: Dialect) -> None:
    for step in STEPS:
        for stmt in step.statements(d):
            assert not re.search(r"\{[A-Z_]+\}", stmt), stmt
            assert "%s" not in stmt and "?" not in stmt, stmt


def test_only_postgres_refuses_u0000_and_cuts_listing_bounds_at_it() -> None:
    assert SQLITE.storable("a\x00b") and SQLITE.bound("a\x00b") == "a\x00b"
    assert not POSTGRES.storable("ok", "a\x00b") and POSTGRES.storable("ok", "fine")
    assert POSTGRES.bound("a\x00b") == "a" and POSTGRES.bound("ab") == "ab"


def test_row_locks_are_postgres_only() -> None:
    # SQLite's writers hold its one write lock from BEGIN IMMEDIATE.
    assert (SQLITE.for_update, SQLITE.for_key_share) == ("", "")
    assert (POSTGRES.for_update, POSTGRES.for_key_share) == (" FOR UPDATE", " FOR KEY SHARE")
