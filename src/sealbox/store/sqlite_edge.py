"""The EdgeStore on ``SqliteMetaStore``, as a mixin: the schema (version 5
of ``sqlite.py``) and the dialect of ``edge_sql.EdgeSqlMethods``.

Times are integer milliseconds since the epoch, as elsewhere in the file;
a distribution's config is its JSON document (``edge_config``), read whole.
Writers hold the store's one write lock from ``BEGIN IMMEDIATE``, so each
method's checks and writes see no concurrent change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sealbox.store.edge_sql import EdgeSqlMethods
from sealbox.store.rows import from_ms, to_ms

# Schema version 5 of sqlite.py. No ";" inside a statement.
SCHEMA = """
CREATE TABLE cf_public_keys (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    encoded_key         TEXT NOT NULL,
    comment             TEXT NOT NULL,
    caller_reference    TEXT NOT NULL UNIQUE,
    created             INTEGER NOT NULL,
    etag                TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE cf_key_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    comment     TEXT NOT NULL,
    modified    INTEGER NOT NULL,
    etag        TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE cf_key_group_keys (
    group_id    TEXT NOT NULL REFERENCES cf_key_groups (id),
    key_id      TEXT NOT NULL REFERENCES cf_public_keys (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (group_id, key_id)
) WITHOUT ROWID;
CREATE INDEX cf_key_group_keys_by_key ON cf_key_group_keys (key_id);
CREATE TABLE cf_origin_access_controls (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    description         TEXT NOT NULL,
    signing_protocol    TEXT NOT NULL,
    signing_behavior    TEXT NOT NULL,
    origin_type         TEXT NOT NULL,
    etag                TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE cf_distributions (
    id                  TEXT PRIMARY KEY,
    domain_name         TEXT NOT NULL UNIQUE,
    caller_reference    TEXT NOT NULL UNIQUE,
    status              TEXT NOT NULL,
    modified            INTEGER NOT NULL,
    etag                TEXT NOT NULL,
    config              TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE cf_hosts (
    host                TEXT PRIMARY KEY,
    distribution_id     TEXT NOT NULL REFERENCES cf_distributions (id)
) WITHOUT ROWID;
CREATE INDEX cf_hosts_by_distribution ON cf_hosts (distribution_id);
CREATE TABLE cf_distribution_key_groups (
    distribution_id     TEXT NOT NULL REFERENCES cf_distributions (id),
    group_id            TEXT NOT NULL REFERENCES cf_key_groups (id),
    PRIMARY KEY (distribution_id, group_id)
) WITHOUT ROWID;
CREATE INDEX cf_distribution_key_groups_by_group ON cf_distribution_key_groups (group_id);
CREATE TABLE cf_distribution_oacs (
    distribution_id     TEXT NOT NULL REFERENCES cf_distributions (id),
    oac_id              TEXT NOT NULL REFERENCES cf_origin_access_controls (id),
    PRIMARY KEY (distribution_id, oac_id)
) WITHOUT ROWID;
CREATE INDEX cf_distribution_oacs_by_oac ON cf_distribution_oacs (oac_id);
CREATE TABLE cf_invalidations (
    distribution_id     TEXT NOT NULL REFERENCES cf_distributions (id),
    id                  TEXT NOT NULL,
    paths               TEXT NOT NULL,
    caller_reference    TEXT NOT NULL,
    status              TEXT NOT NULL,
    created             INTEGER NOT NULL,
    PRIMARY KEY (distribution_id, id),
    UNIQUE (distribution_id, caller_reference)
) WITHOUT ROWID
"""


class SqliteEdgeMixin(EdgeSqlMethods):
    """EdgeStore on the SQLite MetaStore; see the module docstring."""

    _edge_placeholder = "?"
    _edge_for_update = ""
    _edge_integrity = (sqlite3.IntegrityError,)
    _edge_time_in = staticmethod(to_ms)
    _edge_time_out = staticmethod(from_ms)

    def _conn(self) -> sqlite3.Connection:  # provided by SqliteMetaStore
        raise NotImplementedError

    @contextmanager
    def _edge_read(self) -> Iterator[sqlite3.Connection]:
        # WAL: a read never waits on a writer; one connection per thread.
        yield self._conn()
