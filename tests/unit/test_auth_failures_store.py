"""The signature doctor's recent failed authentications on SQLite and
PostgreSQL (``store/sql/auth_failures.py``): read back by request id, and
kept small — the newest 20 per access key, nothing older than a day."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.store.sql.auth_failures import MAX_AGE_MS, PER_KEY

NOW_MS = 1_800_000_000_000


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from sealbox.store.sqlite import SqliteMetaStore

        meta: Any = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    else:
        from sealbox.store.postgres import PostgresMetaStore

        meta = PostgresMetaStore(request.getfixturevalue("postgres_dsn"))
    yield meta
    meta.close()


def row(request_id: str, time_ms: int, access_key: str = "AKID") -> tuple[Any, ...]:
    return (request_id, time_ms, access_key, "SignatureDoesNotMatch", "why", "GET", "http",
            "127.0.0.1:9000", "/b/k", "X-Amz-Signature=sha256%3Aabc", '{"host": "h"}',
            "127.0.0.1", "GET\n/b/k", "AWS4-HMAC-SHA256\n…")


def test_a_failure_reads_back_by_its_request_id(store: Any) -> None:
    store.insert_auth_failures([row("REQ1", NOW_MS)], NOW_MS)
    found = store.get_auth_failure("REQ1", NOW_MS)
    assert found is not None
    assert (found["method"], found["raw_path"], found["error_code"]) == (
        "GET", "/b/k", "SignatureDoesNotMatch")
    assert store.get_auth_failure("REQ2", NOW_MS) is None


def test_each_key_keeps_only_its_newest_failures(store: Any) -> None:
    rows = [row(f"A{i:03d}", NOW_MS - 1000 + i) for i in range(PER_KEY + 5)]
    store.insert_auth_failures(rows + [row("B000", NOW_MS - 2000, "OTHER")], NOW_MS)
    kept = [r[0] for r in rows if store.get_auth_failure(r[0], NOW_MS) is not None]
    assert kept == [r[0] for r in rows[5:]]
    assert store.get_auth_failure("B000", NOW_MS) is not None  # another key keeps its own


def test_failures_older_than_a_day_are_swept(store: Any) -> None:
    store.insert_auth_failures([row("OLD", NOW_MS - MAX_AGE_MS - 1, "K1")], NOW_MS - MAX_AGE_MS)
    store.insert_auth_failures([row("NEW", NOW_MS, "K2")], NOW_MS)
    assert store.get_auth_failure("OLD", NOW_MS) is None
    assert store.get_auth_failure("NEW", NOW_MS) is not None


def test_a_failure_older_than_a_day_is_not_answered_before_the_next_trim(store: Any) -> None:
    store.insert_auth_failures([row("LONE", NOW_MS)], NOW_MS)
    assert store.get_auth_failure("LONE", NOW_MS + MAX_AGE_MS) is not None
    assert store.get_auth_failure("LONE", NOW_MS + MAX_AGE_MS + 1) is None
