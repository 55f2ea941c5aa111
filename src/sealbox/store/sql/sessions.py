"""The web console's sessions (``sealbox.console``), written once for SQLite
and PostgreSQL: a mixin of both MetaStores (``self._d`` is the dialect,
``self._write()`` one transaction, ``self._read()`` a read).

A row is keyed by the SHA-256 of the session's random id, never the id
itself: whoever reads the database cannot sign in with what they read.
Times are epoch seconds. Kept in the metadata store so that every worker
and every node sharing it knows a session, and a sign-out ends it
everywhere at once (a signed cookie alone could not be taken back).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sealbox.store.sql.dialect import Dialect


@dataclass(frozen=True)
class SessionRow:
    """One stored console session."""

    id_hash: str
    access_key: str
    created: int
    seen: int


class SessionSqlMethods:
    """Console sessions on a SQL MetaStore."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def insert_console_session(self, row: SessionRow) -> None:
        with self._write() as c:
            c.execute(self._d.q("INSERT INTO console_sessions (id_hash, access_key, created, seen) "
                                "VALUES (?,?,?,?)"),
                      (row.id_hash, row.access_key, row.created, row.seen))

    def get_console_session(self, id_hash: str) -> SessionRow | None:
        with self._read() as c:
            found = c.execute(self._d.q("SELECT id_hash, access_key, created, seen "
                                        "FROM console_sessions WHERE id_hash = ?"),
                              (id_hash,)).fetchone()
        if found is None:
            return None
        return SessionRow(found[0], found[1], int(found[2]), int(found[3]))

    def touch_console_session(self, id_hash: str, seen: int) -> None:
        """Move a session's last use (its idle expiry) to ``seen``."""
        with self._write() as c:
            c.execute(self._d.q("UPDATE console_sessions SET seen = ? WHERE id_hash = ?"),
                      (seen, id_hash))

    def delete_console_session(self, id_hash: str) -> None:
        with self._write() as c:
            c.execute(self._d.q("DELETE FROM console_sessions WHERE id_hash = ?"), (id_hash,))

    def sweep_console_sessions(self, seen_before: int, created_before: int) -> int:
        """Drop sessions idle since ``seen_before`` or made before
        ``created_before``; how many went."""
        with self._write() as c:
            gone = c.execute(self._d.q("DELETE FROM console_sessions WHERE seen < ? "
                                       "OR created < ?"), (seen_before, created_before)).rowcount
        return int(gone)
