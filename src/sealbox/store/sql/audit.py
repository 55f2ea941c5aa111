"""The audit trail's table (schema version 8), written once for SQLite and
PostgreSQL: a mixin of both MetaStores (``self._d`` is the dialect,
``self._write()`` one transaction, ``self._read()`` a read).

Rows are the writer's event tuples (``sealbox.server.audit.EVENT_FIELDS``),
the time in epoch milliseconds and the signature already a fingerprint. A batch is one transaction; a query
reads newest first and pages on (time, request id), which the
continuation token carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from sealbox.store.sql.dialect import Dialect

COLUMNS = ("time_ms, request_id, operation, bucket, key, principal, access_key, auth, link_id, "
           "signature_fp, source_ip, user_agent, referer, status, error_code, reason, "
           "bytes_sent, bytes_received, duration_ms, edge_cache")
_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
# Rows per INSERT: one statement step (SQLite's sqlite3 module releases and
# takes back the GIL around each step, which costs the event loop a thread
# switch per step) writes this many events; 50 × 20 parameters stays far
# under SQLite's and PostgreSQL's limits.
ROWS_PER_INSERT = 50
MAX_LIMIT = 1000


@lru_cache(maxsize=ROWS_PER_INSERT)
def _insert(rows: int) -> str:
    return f"INSERT INTO audit_events ({COLUMNS}) VALUES " + ",".join([_ROW] * rows)


@dataclass(frozen=True)
class AuditQuery:
    """What ``query_audit_events`` selects; None is any. Times in epoch
    milliseconds (``until_ms`` excluded); ``after`` is a page's last
    (time_ms, request_id)."""

    link_id: str | None = None
    access_key: str | None = None
    principal: str | None = None
    bucket: str | None = None
    key: str | None = None
    status: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 100
    after: tuple[int, str] | None = None


_FILTERS = (("link_id", "link_id"), ("access_key", "access_key"), ("principal", "principal"),
            ("bucket", "bucket"), ("key", "key"), ("status", "status"))


def _text(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")  # PostgreSQL text holds no U+0000
    return value


class AuditSqlMethods:
    """The audit trail on a SQL MetaStore."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def insert_audit_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write a batch of events in one transaction: ``server.audit`` rows,
        the time in epoch milliseconds."""
        if not rows:
            return
        if not self._d.holds_nul:
            rows = [tuple(_text(v) for v in row) for row in rows]
        q = self._d.q
        with self._write() as c:
            for start in range(0, len(rows), ROWS_PER_INSERT):
                chunk = rows[start:start + ROWS_PER_INSERT]
                c.execute(q(_insert(len(chunk))), list(chain.from_iterable(chunk)))

    def query_audit_events(self, query: AuditQuery) -> list[tuple[Any, ...]]:
        """Events matching ``query``, newest first, at most ``limit`` of them."""
        where: list[str] = []
        params: list[Any] = []
        for field, column in _FILTERS:
            value = getattr(query, field)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.since_ms is not None:
            where.append("time_ms >= ?")
            params.append(query.since_ms)
        if query.until_ms is not None:
            where.append("time_ms < ?")
            params.append(query.until_ms)
        if query.after is not None:
            where.append("(time_ms < ? OR (time_ms = ? AND request_id < ?))")
            params.extend((query.after[0], query.after[0], query.after[1]))
        sql = f"SELECT {COLUMNS} FROM audit_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time_ms DESC, request_id DESC LIMIT ?"
        params.append(max(1, min(query.limit, MAX_LIMIT + 1)))  # +1: is there more
        with self._read() as c:
            rows = c.execute(self._d.q(sql), tuple(params)).fetchall()
        return [tuple(row) for row in rows]

    def delete_audit_events_before(self, time_ms: int) -> int:
        """Remove events older than ``time_ms``; how many."""
        with self._write() as c:
            cursor = c.execute(self._d.q("DELETE FROM audit_events WHERE time_ms < ?"),
                               (time_ms,))
            return int(cursor.rowcount or 0)
