"""The blob sweep's lease and cursor (``blob_sweep``), written once for
SQLite and PostgreSQL: a mixin of both MetaStores (``self._d`` the dialect,
``self._write()`` one transaction).

Every process of every node sharing the store wakes its sweeper on a
tick; only the one that takes the lease sweeps, one page of the blob
store's listing from the cursor the last holder left (store/blob_sweep.py).
One conditional UPDATE takes the lease on both databases, so no
connection is held for a pass (as a session-level advisory lock would
need) and a holder killed mid-page loses the lease when it runs out.
Times are epoch seconds; ``cursor`` is the last key swept ('' between
passes).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sealbox.store.sql.dialect import Dialect


@dataclass(frozen=True)
class SweepState:
    """Where the sweep of one store stands, as its new holder finds it."""

    cursor: str
    pass_finished: int


class BlobSweepSqlMethods:
    """The sweep's lease and cursor on a SQL MetaStore."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def claim_blob_sweep(self, store: str, holder: str, now: int,
                         lease_seconds: int) -> SweepState | None:
        """Take the lease of ``store``'s sweep until ``now + lease_seconds``
        if no one else holds it; where the sweep stands, or None."""
        with self._write() as c:
            c.execute(self._d.q("INSERT INTO blob_sweep (store, holder, lease_until, cursor, "
                                "pass_finished) VALUES (?, '', 0, '', 0) "
                                "ON CONFLICT (store) DO NOTHING"), (store,))
            taken = c.execute(self._d.q(
                "UPDATE blob_sweep SET holder = ?, lease_until = ? "
                "WHERE store = ? AND (lease_until <= ? OR holder = ?)"),
                (holder, now + lease_seconds, store, now, holder)).rowcount
            if taken != 1:
                return None
            row = c.execute(self._d.q("SELECT cursor, pass_finished FROM blob_sweep "
                                      "WHERE store = ?"), (store,)).fetchone()
        return SweepState(row[0], int(row[1]))

    def release_blob_sweep(self, store: str, holder: str, cursor: str,
                           pass_finished: int) -> bool:
        """Leave ``cursor`` (and when the last pass ended) for the next
        holder and give the lease up; False if it was no longer ours."""
        with self._write() as c:
            kept = c.execute(self._d.q(
                "UPDATE blob_sweep SET holder = '', lease_until = 0, cursor = ?, "
                "pass_finished = ? WHERE store = ? AND holder = ?"),
                (cursor, pass_finished, store, holder)).rowcount
        return bool(kept == 1)
