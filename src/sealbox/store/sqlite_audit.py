"""The audit trail's own SQLite file (``audit.sqlite3`` in the data dir).

On SQLite the audit events are not written to the metadata file: a batch
there would hold its one write lock (PUTs wait), fsync it, and move the
WAL-index that lets unchanged point reads be served from memory
(``sqlite_watch``), every half second. A file of their own, with the same
schema (``sql/schema.py``; only ``audit_events`` is used) and the same
queries (``sql/audit.py``), is written with ``synchronous=NORMAL``: a
batch is durable at the next checkpoint, and a power cut may lose the last
events but never corrupts the file. On PostgreSQL the table is in the
metadata database.
"""

from __future__ import annotations

import sqlite3

from sealbox.store.sqlite import SqliteMetaStore

AUDIT_FILE = "audit.sqlite3"


class SqliteAuditStore(SqliteMetaStore):
    """A SQLite store used for ``audit_events`` only; see the module docstring."""

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn
