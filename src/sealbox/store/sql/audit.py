"""The audit trail's tables, written once for SQLite and PostgreSQL: a
mixin of both MetaStores (``self._d`` is the dialect, ``self._write()`` one
transaction, ``self._read()`` a read).

Events are the writer's tuples (``sealbox.server.audit.EVENT_FIELDS``),
the time in epoch milliseconds and the signature already a fingerprint.
They are kept in batches (``audit_batches``, one row per writer batch; see
``store.audit_batches`` for why and how), found through ``audit_terms``.
A query reads the matching batches newest first (by their last event's
time) and stops once no older batch can hold an event among the newest
``limit``; it pages on (time, request id), which the continuation token
carries. Schema version 9 kept a row per event in ``audit_events``; rows
written then are still read and swept here.
"""

from __future__ import annotations

import heapq
import secrets
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sealbox.store import audit_batches
from sealbox.store.audit_batches import TERM_FIELDS, Packed
from sealbox.store.sql.dialect import Dialect

LEGACY_COLUMNS = (
    "time_ms, request_id, operation, bucket, key, principal, access_key, auth, link_id, "
    "signature_fp, source_ip, user_agent, referer, status, error_code, reason, "
    "bytes_sent, bytes_received, duration_ms, edge_cache")
MAX_LIMIT = 1000
BATCHES_PER_READ = 16
TERMS_PER_INSERT = 400  # rows per INSERT of terms: 800 parameters


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
    version_id: str | None = None
    status: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 100
    after: tuple[int, str] | None = None

    def admits(self, event: Sequence[Any]) -> bool:
        """Whether ``event`` is one this query selects (exactly)."""
        for field, index in TERM_FIELDS:
            wanted = getattr(self, field)
            if wanted is not None and event[index] != wanted:
                return False
        time_ms = event[audit_batches.TIME]
        if self.status is not None and event[audit_batches.STATUS] != self.status:
            return False
        if self.since_ms is not None and time_ms < self.since_ms:
            return False
        if self.until_ms is not None and time_ms >= self.until_ms:
            return False
        if self.after is not None and (time_ms, event[audit_batches.REQUEST_ID]) >= self.after:
            return False
        return True


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _newest_first(event: Sequence[Any]) -> tuple[int, str]:
    return event[audit_batches.TIME], event[audit_batches.REQUEST_ID]


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
        if rows:
            self.insert_audit_batch(audit_batches.pack(rows))

    def insert_audit_batch(self, packed: Packed) -> None:
        """Write a batch ``audit_batches.pack`` made, in one transaction."""
        with self._write() as c:
            self._insert_batch(c, packed)

    def _insert_batch(self, c: Any, packed: Packed) -> None:
        """One batch row and its terms, in the caller's transaction."""
        batch = secrets.randbits(63)  # ids need no order: batches are read by time
        q = self._d.q
        c.execute(q("INSERT INTO audit_batches (id, min_ms, max_ms, events, body) "
                    "VALUES (?, ?, ?, ?, ?)"),
                  (batch, packed.min_ms, packed.max_ms, packed.events, packed.body))
        found = packed.terms
        for start in range(0, len(found), TERMS_PER_INSERT):
            chunk = found[start:start + TERMS_PER_INSERT]
            c.execute(q("INSERT INTO audit_terms (term, batch) VALUES "
                        + ",".join(["(?, ?)"] * len(chunk))),
                      list(chain.from_iterable((t, batch) for t in chunk)))

    def query_audit_events(self, query: AuditQuery) -> list[tuple[Any, ...]]:
        """Events matching ``query``, newest first, at most ``limit`` of them."""
        limit = max(1, min(query.limit, MAX_LIMIT + 1))  # +1: is there more
        newest: list[tuple[tuple[int, str], tuple[Any, ...]]] = []  # a min-heap of the best
        for max_ms, events in chain(self._batches(query), self._legacy(query)):
            if len(newest) >= limit and max_ms < newest[0][0][0]:
                break  # this batch and every later one are older than all kept
            for event in events:
                if not query.admits(event):
                    continue
                item = (_newest_first(event), event)
                if len(newest) < limit:
                    heapq.heappush(newest, item)
                elif item[0] > newest[0][0]:
                    heapq.heapreplace(newest, item)
        return [event for _, event in sorted(newest, key=lambda pair: pair[0], reverse=True)]

    def _batches(self, query: AuditQuery) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
        """(last time, events) of each batch that may hold a match, newest
        batch first, read a few at a time."""
        where, params = ["1 = 1"], []
        for field, _ in TERM_FIELDS:
            value = getattr(query, field)
            if value is not None:
                where.append("id IN (SELECT batch FROM audit_terms WHERE term = ?)")
                params.append(audit_batches.term(field, value))
        if query.since_ms is not None:
            where.append("max_ms >= ?")
            params.append(query.since_ms)
        newest_ms = query.until_ms
        if query.after is not None:
            newest_ms = query.after[0] + 1 if newest_ms is None else min(newest_ms,
                                                                         query.after[0] + 1)
        if newest_ms is not None:
            where.append("min_ms < ?")
            params.append(newest_ms)
        sql = self._d.q(f"SELECT id, max_ms, body FROM audit_batches WHERE {' AND '.join(where)}"
                        " AND (max_ms < ? OR (max_ms = ? AND id < ?))"
                        f" ORDER BY max_ms DESC, id DESC LIMIT {BATCHES_PER_READ}")
        cursor: tuple[int, int] = (2**63 - 1, 2**63 - 1)  # (max_ms, id): past the newest
        while True:
            with self._read() as c:
                page = c.execute(sql, (*params, cursor[0], cursor[0], cursor[1])).fetchall()
            for batch, max_ms, body in page:
                yield max_ms, audit_batches.decode(body)
            if len(page) < BATCHES_PER_READ:
                return
            cursor = (page[-1][1], page[-1][0])

    def _legacy(self, query: AuditQuery) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
        """Events schema version 9 wrote, one row each (read as one batch
        of at most ``limit`` rows, newest first)."""
        where: list[str] = []
        params: list[Any] = []
        if query.version_id is not None:
            return  # version 9 kept no version ids
        for field, index in TERM_FIELDS:
            if index >= len(LEGACY_COLUMNS.split(", ")):
                continue  # a field added since version 9 (None in its rows)
            value = getattr(query, field)
            if value is not None:
                if not _storable(value):
                    return  # version 9 could not have stored it
                where.append(f"{LEGACY_COLUMNS.split(', ')[index]} = ?")
                params.append(value)
        if query.status is not None:
            where.append("status = ?")
            params.append(query.status)
        if query.since_ms is not None:
            where.append("time_ms >= ?")
            params.append(query.since_ms)
        if query.until_ms is not None:
            where.append("time_ms < ?")
            params.append(query.until_ms)
        if query.after is not None:
            where.append("(time_ms < ? OR (time_ms = ? AND request_id < ?))")
            params.extend((query.after[0], query.after[0], query.after[1]))
        sql = f"SELECT {LEGACY_COLUMNS} FROM audit_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time_ms DESC, request_id DESC LIMIT ?"
        params.append(MAX_LIMIT + 1)
        with self._read() as c:
            rows = c.execute(self._d.q(sql), tuple(params)).fetchall()
        if rows:
            yield rows[0][0], [audit_batches.widened(row) for row in rows]

    def delete_audit_events_before(self, time_ms: int) -> int:
        """Remove events older than ``time_ms``; how many. A batch that
        straddles the cutoff is written again with its newer events."""
        q = self._d.q
        with self._write() as c:
            removed = int(c.execute(q("SELECT COALESCE(SUM(events), 0) FROM audit_batches "
                                      "WHERE max_ms < ?"), (time_ms,)).fetchone()[0])
            c.execute(q("DELETE FROM audit_terms WHERE batch IN "
                        "(SELECT id FROM audit_batches WHERE max_ms < ?)"), (time_ms,))
            c.execute(q("DELETE FROM audit_batches WHERE max_ms < ?"), (time_ms,))
            removed += int(c.execute(q("DELETE FROM audit_events WHERE time_ms < ?"),
                                     (time_ms,)).rowcount or 0)
            straddling = c.execute(q("SELECT id, body FROM audit_batches "
                                     "WHERE min_ms < ? AND max_ms >= ?"),
                                   (time_ms, time_ms)).fetchall()
            for batch, body in straddling:
                # Deleted first: of two nodes sweeping at once, one rewrites it.
                if not c.execute(q("DELETE FROM audit_batches WHERE id = ?"), (batch,)).rowcount:
                    continue
                c.execute(q("DELETE FROM audit_terms WHERE batch = ?"), (batch,))
                events = audit_batches.decode(body)
                kept = [event for event in events if event[audit_batches.TIME] >= time_ms]
                if kept:
                    self._insert_batch(c, audit_batches.pack(kept))
                removed += len(events) - len(kept)
        return removed
