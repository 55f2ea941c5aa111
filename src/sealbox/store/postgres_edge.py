"""The EdgeStore on ``PostgresMetaStore``, as a mixin: the schema (version 5
of ``postgres.py``) and the dialect of ``edge_sql.EdgeSqlMethods``.

Names are ``TEXT COLLATE "C"`` like every name column of the store; times
are ``timestamptz(3)``; a distribution's config is its JSON document as
text (read whole, never queried inside). A change locks the row it replaces
(``FOR UPDATE``) so the ``If-Match`` check and the write see the same
version; unique names, caller references, hosts and foreign keys settle
races between creators (the loser gets the code its check would give).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from psycopg import errors

from sealbox.store.edge_sql import EdgeSqlMethods
from sealbox.store.rows import to_timestamp


def _same(value: datetime) -> datetime:
    return value


# Schema version 5 of postgres.py.
SCHEMA = (
    """CREATE TABLE cf_public_keys (
        id                  TEXT COLLATE "C" PRIMARY KEY,
        name                TEXT COLLATE "C" NOT NULL UNIQUE,
        encoded_key         TEXT NOT NULL,
        comment             TEXT NOT NULL,
        caller_reference    TEXT COLLATE "C" NOT NULL UNIQUE,
        created             TIMESTAMPTZ(3) NOT NULL,
        etag                TEXT NOT NULL
    )""",
    """CREATE TABLE cf_key_groups (
        id          TEXT COLLATE "C" PRIMARY KEY,
        name        TEXT COLLATE "C" NOT NULL UNIQUE,
        comment     TEXT NOT NULL,
        modified    TIMESTAMPTZ(3) NOT NULL,
        etag        TEXT NOT NULL
    )""",
    """CREATE TABLE cf_key_group_keys (
        group_id    TEXT COLLATE "C" NOT NULL REFERENCES cf_key_groups (id),
        key_id      TEXT COLLATE "C" NOT NULL REFERENCES cf_public_keys (id),
        position    INTEGER NOT NULL,
        PRIMARY KEY (group_id, key_id)
    )""",
    "CREATE INDEX cf_key_group_keys_by_key ON cf_key_group_keys (key_id)",
    """CREATE TABLE cf_origin_access_controls (
        id                  TEXT COLLATE "C" PRIMARY KEY,
        name                TEXT COLLATE "C" NOT NULL UNIQUE,
        description         TEXT NOT NULL,
        signing_protocol    TEXT NOT NULL,
        signing_behavior    TEXT NOT NULL,
        origin_type         TEXT NOT NULL,
        etag                TEXT NOT NULL
    )""",
    """CREATE TABLE cf_distributions (
        id                  TEXT COLLATE "C" PRIMARY KEY,
        domain_name         TEXT COLLATE "C" NOT NULL UNIQUE,
        caller_reference    TEXT COLLATE "C" NOT NULL UNIQUE,
        status              TEXT NOT NULL,
        modified            TIMESTAMPTZ(3) NOT NULL,
        etag                TEXT NOT NULL,
        config              TEXT NOT NULL
    )""",
    """CREATE TABLE cf_hosts (
        host                TEXT COLLATE "C" PRIMARY KEY,
        distribution_id     TEXT COLLATE "C" NOT NULL REFERENCES cf_distributions (id)
    )""",
    "CREATE INDEX cf_hosts_by_distribution ON cf_hosts (distribution_id)",
    """CREATE TABLE cf_distribution_key_groups (
        distribution_id     TEXT COLLATE "C" NOT NULL REFERENCES cf_distributions (id),
        group_id            TEXT COLLATE "C" NOT NULL REFERENCES cf_key_groups (id),
        PRIMARY KEY (distribution_id, group_id)
    )""",
    "CREATE INDEX cf_distribution_key_groups_by_group ON cf_distribution_key_groups (group_id)",
    """CREATE TABLE cf_distribution_oacs (
        distribution_id     TEXT COLLATE "C" NOT NULL REFERENCES cf_distributions (id),
        oac_id              TEXT COLLATE "C" NOT NULL REFERENCES cf_origin_access_controls (id),
        PRIMARY KEY (distribution_id, oac_id)
    )""",
    "CREATE INDEX cf_distribution_oacs_by_oac ON cf_distribution_oacs (oac_id)",
    """CREATE TABLE cf_invalidations (
        distribution_id     TEXT COLLATE "C" NOT NULL REFERENCES cf_distributions (id),
        id                  TEXT COLLATE "C" NOT NULL,
        paths               TEXT NOT NULL,
        caller_reference    TEXT COLLATE "C" NOT NULL,
        status              TEXT NOT NULL,
        created             TIMESTAMPTZ(3) NOT NULL,
        PRIMARY KEY (distribution_id, id),
        UNIQUE (distribution_id, caller_reference)
    )""",
)


class PostgresEdgeMixin(EdgeSqlMethods):
    """EdgeStore on the PostgreSQL MetaStore; see the module docstring."""

    _edge_placeholder = "%s"
    _edge_for_update = " FOR UPDATE"
    _edge_integrity = (errors.IntegrityError,)
    _edge_time_in = staticmethod(to_timestamp)
    _edge_time_out = staticmethod(_same)

    def _read(self) -> AbstractContextManager[Any]:  # provided by PostgresMetaStore
        raise NotImplementedError

    @contextmanager
    def _edge_read(self) -> Iterator[Any]:
        with self._read() as c:
            yield c
