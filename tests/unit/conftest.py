"""Unit-test fixtures: a throwaway PostgreSQL for the MetaStore tests.

The cluster starts once per test session (per xdist worker), on first use;
each test gets a fresh empty schema. Without PostgreSQL binaries or psycopg
the PostgreSQL tests are skipped, saying why, except in CI (``CI=true``),
where that is a failure: CI must run every MetaStore test on both stores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from sealbox.testing.postgres import PostgresCluster, find_bindir


def _unavailable(why: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        _unavailable("psycopg 3 is not installed (pip install -e '.[test]')")
    if find_bindir() is None:
        _unavailable(
            "PostgreSQL server binaries (initdb, postgres) not found "
            "(bash scripts/install-test-deps.sh installs them)"
        )
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_dsn(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A DSN whose search_path is a fresh, empty schema, dropped after the test."""
    dsn = postgres_cluster.new_schema()
    yield dsn
    postgres_cluster.drop_schema(dsn)
