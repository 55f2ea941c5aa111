"""Objects' wrapped data keys, re-wrapped after a keyring rotation
(``sealbox rotate-secrets``; store/data_keys.py says what a sealing is).

Every version, current or not, and every multipart upload in progress
whose data key is wrapped by the keyring is read and, if ``rewrap``
gives a new sealing, written back, in batches of ``BATCH`` rows, each in
one transaction holding its rows (``FOR UPDATE`` on PostgreSQL, the write
lock on SQLite): an object replaced meanwhile is never given another
object's key. No blob is read or written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sealbox.store.meta import Sealing
from sealbox.store.rows import sealing_json
from sealbox.store.sql.dialect import Dialect

BATCH = 500
# table → its primary key's columns, in order.
_TABLES = {
    "objects": ("bucket", "key"),
    "object_versions": ("bucket", "key", "version_id"),
    "uploads": ("upload_id",),
}


class SqlSealingMethods:
    """Re-wrapping data keys on a SQL MetaStore; see the module docstring."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the store
        raise NotImplementedError

    def rewrap_sealings(self, rewrap: Callable[[Sealing], Sealing | None]) -> int:
        """Apply ``rewrap`` to every stored sealing; how many were rewritten."""
        done = 0
        for table, key in _TABLES.items():
            done += self._rewrap_table(table, key, rewrap)
        return done

    def _rewrap_table(self, table: str, key: tuple[str, ...],
                      rewrap: Callable[[Sealing], Sealing | None]) -> int:
        d = self._d
        columns = ", ".join(key)
        marks = ", ".join("?" * len(key))
        first = d.q(f"SELECT {columns}, sealing FROM {table} WHERE sealing IS NOT NULL "
                    f"ORDER BY {columns} LIMIT {BATCH}{d.for_update}")
        after = d.q(f"SELECT {columns}, sealing FROM {table} WHERE sealing IS NOT NULL "
                    f"AND ({columns}) > ({marks}) ORDER BY {columns} LIMIT {BATCH}{d.for_update}")
        update = d.q(f"UPDATE {table} SET sealing = ? WHERE "
                     + " AND ".join(f"{name} = ?" for name in key))
        done = 0
        last: tuple[Any, ...] | None = None
        while True:
            with self._write() as c:
                rows = (c.execute(first) if last is None else c.execute(after, last)).fetchall()
                for row in rows:
                    sealing = d.rows.sealing(row[-1])
                    fresh = rewrap(sealing) if sealing is not None else None
                    if fresh is not None:
                        c.execute(update, (sealing_json(fresh), *row[:-1]))
                        done += 1
            if len(rows) < BATCH:
                return done
            last = tuple(rows[-1][:-1])
