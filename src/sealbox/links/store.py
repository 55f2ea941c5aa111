"""The links' tables (schema v8, and ``version_id`` since "links naming a
version"; ``store/sql/schema.py``), written once for
SQLite and PostgreSQL: a mixin of both MetaStores, over their ``_read()``,
``_write()`` and dialect ``_d``, as ``store/sql/edge.py`` is.

A request through a link the gate does not hold (every link with a use
limit, and an unlimited one first seen) is judged where its use is
counted: ``admit_links`` reads the link's terms inside the write
transaction, judges the request (``links.terms``), and counts a use only
when they admit it. A use is one conditional UPDATE (``uses < max_uses``),
atomic on either database: SQLite's writers hold the one write lock (``BEGIN IMMEDIATE``,
across processes too), PostgreSQL's UPDATE re-checks its WHERE on the row
it locks, so N concurrent uses of an N-use link all succeed and the next
fails, on every node sharing the store. It commits before the answer
starts (SQLite ``synchronous=FULL``, sharing a commit with the uses and
uploads that arrive together: ``sqlite_group``; PostgreSQL's commit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sealbox.links.model import UNKNOWN_LINK, USED_UP, LinkRecord, Revocation
from sealbox.links.terms import (
    TERMS_COLUMNS,
    LinkRequest,
    LinkTerms,
    Verdict,
    request_refusal,
)
from sealbox.store.sql.dialect import Dialect

_COLS = ("l.link_id, l.access_key, l.signer, l.bucket, l.key, l.method, l.created, l.expires, "
         "l.max_uses, l.bind, l.content_type, l.max_size, l.note, l.fingerprint, l.uses, "
         "r.fingerprint, l.version_id")
_FROM = "links l LEFT JOIN revocations r ON r.fingerprint = l.fingerprint"
_MAX_LISTED = 1000
# One use: the row's own check, so concurrent uses never pass the limit.
USE_LINK_SQL = "UPDATE links SET uses = uses + 1 WHERE link_id = ? AND uses < max_uses"
# A link's terms, without the revocations' join: a revoked link is refused
# by its signature's fingerprint before it gets here (links.gate).
# (One ``UPDATE … RETURNING`` in place of both was measured slower on
# SQLite: 13.5 against 11.7 µs a request in a batch of 32.)
TERMS_SQL = f"SELECT {TERMS_COLUMNS} FROM links WHERE link_id = ?"


def admit(c: Any, q: Callable[[str], str], asked: Sequence[LinkRequest]) -> list[Verdict]:
    """Judge each request against its link's terms read on ``c`` (inside a
    write transaction; ``q`` renders a statement for its database) and
    count a use of each admitted one with a limit, in order: two requests
    through one link in a batch count as two. Nothing but an admitted
    request's use is written."""
    verdicts: list[Verdict] = []
    for request in asked:
        row = c.execute(q(TERMS_SQL), (request.link_id,)).fetchone()
        if row is None:
            verdicts.append((None, UNKNOWN_LINK))
            continue
        terms = LinkTerms.from_row(row)
        refused = request_refusal(terms, request)
        if (refused is None and terms.max_uses is not None
                and not c.execute(q(USE_LINK_SQL), (request.link_id,)).rowcount):
            refused = USED_UP  # the terms speak first, then the use limit
        verdicts.append((terms, refused))
    return verdicts


def _record(row: Sequence[Any]) -> LinkRecord:
    bind = tuple(b for b in row[9].split(",") if b)
    return LinkRecord(row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), int(row[7]),
                      None if row[8] is None else int(row[8]), bind, row[10],
                      None if row[11] is None else int(row[11]), row[12], row[13],
                      int(row[14]), row[15] is not None, version_id=row[16])


class LinkSqlMethods:
    """Managed links and revocations on a SQL MetaStore (``self._d`` is its dialect)."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def insert_link(self, link: LinkRecord) -> None:
        """Store a new link (its id is fresh: 100 random bits)."""
        with self._write() as c:
            c.execute(self._d.q(
                "INSERT INTO links (link_id, access_key, signer, bucket, key, method, created, "
                "expires, max_uses, uses, bind, content_type, max_size, note, fingerprint, "
                "version_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
                (link.link_id, link.access_key, link.signer, link.bucket, link.key,
                 link.method, link.created, link.expires, link.max_uses, 0,
                 ",".join(link.bind), link.content_type, link.max_size, link.note,
                 link.fingerprint, link.version_id))

    def get_link(self, link_id: str) -> LinkRecord | None:
        """A link with its use count now, or None."""
        if not self._d.storable(link_id):
            return None
        with self._read() as c:
            row = c.execute(self._d.q(f"SELECT {_COLS} FROM {_FROM} WHERE l.link_id = ?"),
                            (link_id,)).fetchone()
        return None if row is None else _record(row)

    def list_links(self, bucket: str | None = None) -> list[LinkRecord]:
        """Links not yet swept, newest first (at most 1000)."""
        where, params = ("WHERE l.bucket = ? ", (bucket,)) if bucket is not None else ("", ())
        if bucket is not None and not self._d.storable(bucket):
            return []
        with self._read() as c:
            rows = c.execute(self._d.q(
                f"SELECT {_COLS} FROM {_FROM} {where}ORDER BY l.created DESC, l.link_id "
                f"LIMIT {_MAX_LISTED}"), params).fetchall()
        return [_record(r) for r in rows]

    def admit_links(self, asked: Sequence[LinkRequest]) -> list[Verdict]:
        """Each request judged by its link's terms, and a use of each admitted
        one with a limit counted, in one transaction committed (durable)
        before this returns (``links.uses`` hands it a batch)."""
        with self._write() as c:
            return admit(c, self._d.q, asked)

    def revoke(self, revocation: Revocation) -> Revocation:
        """Refuse a signature until its expiry; revoking twice keeps the first."""
        with self._write() as c:
            c.execute(self._d.q(
                "INSERT INTO revocations (fingerprint, until, kind, link_id) VALUES (?,?,?,?) "
                "ON CONFLICT (fingerprint) DO NOTHING"),
                (revocation.fingerprint, revocation.until, revocation.kind, revocation.link_id))
            row = c.execute(self._d.q(
                "SELECT fingerprint, until, kind, link_id FROM revocations WHERE fingerprint = ?"),
                (revocation.fingerprint,)).fetchone()
        return Revocation(row[0], int(row[1]), row[2], row[3])

    def revoked_fingerprints(self, now: int) -> frozenset[str]:
        """Every signature refused now."""
        with self._read() as c:
            rows = c.execute(self._d.q("SELECT fingerprint FROM revocations WHERE until > ?"),
                             (now,)).fetchall()
        return frozenset(r[0] for r in rows)

    def sweep_links(self, now: int) -> int:
        """Drop links and revocations past their expiry; how many rows went."""
        with self._write() as c:
            gone = c.execute(self._d.q("DELETE FROM links WHERE expires <= ?"), (now,)).rowcount
            # Only when there is something to drop: the DELETE moves the
            # access version (a trigger), which empties every node's caches.
            if c.execute(self._d.q("SELECT 1 FROM revocations WHERE until <= ? LIMIT 1"),
                         (now,)).fetchone() is not None:
                gone += c.execute(self._d.q("DELETE FROM revocations WHERE until <= ?"),
                                  (now,)).rowcount
        return int(gone)
