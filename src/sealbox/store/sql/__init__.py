"""The SQL layer both MetaStores share: each table and query written once.

- ``dialect``: what SQLite and PostgreSQL spell differently (placeholders,
  types, row locks, constraint errors, U+0000, the schema version).
- ``schema``: the tables and the ordered list of migration steps;
  ``migrate``: the one migrator.
- ``queries``: column lists and the object, upload and setting queries.
- ``edge``, ``policies``, ``identity``: the EdgeStore and IdentityStore
  methods, over a store's ``_read()``/``_write()`` and its dialect ``_d``.

``sqlite.py`` and ``postgres.py`` keep what truly differs: connections
(per-thread connections, the WAL watch, group commit; the pool) and the
write paths whose concurrency differs (SQLite's upsert under its one write
lock; PostgreSQL's lock-then-replace under READ COMMITTED).

Why a thin layer of our own and not SQLAlchemy Core (issue 12): a point
SELECT on the objects table's primary key, 10k lookups, min of 5, on the
2-core shared machine (``scripts/bench_sqla.py``, SQLAlchemy 2.1.9, SQLite
3.40, Python 3.11; three runs): raw ``sqlite3`` cursor 11.6-20.4 µs a
lookup, ``conn.execute(select(...))`` through Core 69-99 µs, five to seven
times slower, far outside the noise, on a path (a presigned GET of 1 KiB)
that spends ~47 µs in all. Core's statement compiled once to text and run
on the raw connection costs what raw does (13.5-24 µs), so the thin layer
is that: text written once, rendered per dialect, run on the driver's own
cursor, with no dependency added.
"""

from sealbox.store.sql.queries import (
    ATTACHED_ONLY,
    BUCKET_COLS,
    OBJ_COLS,
    OBJ_VALUE_COLS,
    PART_COLS,
    PART_VALUE_COLS,
    POLICY_COLS,
    POSTGRES,
    SQLITE,
    UPLOAD_COLS,
    Queries,
    prefix_upper_bound,
    set_columns,
)

__all__ = [
    "ATTACHED_ONLY", "BUCKET_COLS", "OBJ_COLS", "OBJ_VALUE_COLS", "PART_COLS", "PART_VALUE_COLS",
    "POLICY_COLS", "POSTGRES", "SQLITE", "UPLOAD_COLS", "Queries", "prefix_upper_bound",
    "set_columns",
]
