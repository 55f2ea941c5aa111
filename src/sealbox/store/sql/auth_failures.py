"""The recent failed authentications the signature doctor reads by request
id (``auth_failures``), written once for SQLite and PostgreSQL: a mixin of
both MetaStores (``self._d`` the dialect, ``self._write()`` one
transaction, ``self._read()`` a read).

In the metadata store, so every node answers for every node's requests.
Rows are what the server saw, never a secret nor a whole signature (the
writer, ``server/auth_failures.py``, keeps a fingerprint). The table stays
small: after each batch, only the newest ``PER_KEY`` rows of each access
key in it are kept, none older than ``MAX_AGE_MS``, and ``MAX_ROWS`` in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from itertools import chain
from typing import Any

from sealbox.store.sql.dialect import Dialect

COLUMNS = ("request_id, time_ms, access_key, error_code, reason, method, scheme, host, "
           "raw_path, raw_query, headers, client_ip, canonical_request, string_to_sign")
_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
PER_KEY = 20
MAX_ROWS = 10_000
MAX_AGE_MS = 24 * 3600 * 1000
_KEEP_NEWEST = (
    "DELETE FROM auth_failures WHERE access_key = ? AND time_ms < ("
    "SELECT min(time_ms) FROM (SELECT time_ms FROM auth_failures WHERE access_key = ? "
    f"ORDER BY time_ms DESC LIMIT {PER_KEY}) newest)"
)
_KEEP_TOTAL = (
    "DELETE FROM auth_failures WHERE time_ms < ? OR time_ms < ("
    f"SELECT time_ms FROM auth_failures ORDER BY time_ms DESC LIMIT 1 OFFSET {MAX_ROWS})"
)


def _text(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")  # PostgreSQL text holds no U+0000
    return value


class AuthFailureSqlMethods:
    """The recent failed authentications on a SQL MetaStore."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def insert_auth_failures(self, rows: Sequence[tuple[Any, ...]], now_ms: int) -> None:
        """Write a batch (rows in ``COLUMNS`` order), then trim the table."""
        if not rows:
            return
        if not self._d.holds_nul:
            rows = [tuple(_text(v) for v in row) for row in rows]
        q = self._d.q
        keys = sorted({row[2] for row in rows})
        with self._write() as c:
            for start in range(0, len(rows), 50):
                chunk = rows[start:start + 50]
                c.execute(q(f"INSERT INTO auth_failures ({COLUMNS}) VALUES "
                            + ",".join([_ROW] * len(chunk))), list(chain.from_iterable(chunk)))
            for key in keys:
                c.execute(q(_KEEP_NEWEST), (key, key))
            c.execute(q(_KEEP_TOTAL), (now_ms - MAX_AGE_MS,))

    def get_auth_failure(self, request_id: str, now_ms: int) -> dict[str, Any] | None:
        """The recorded failure of ``request_id`` (by column name), or None;
        none older than ``MAX_AGE_MS`` (the trim runs only when failures come)."""
        with self._read() as c:
            row = c.execute(self._d.q(f"SELECT {COLUMNS} FROM auth_failures WHERE "
                                      "request_id = ? AND time_ms >= ?"),
                            (request_id, now_ms - MAX_AGE_MS)).fetchone()
        if row is None:
            return None
        return dict(zip([n.strip() for n in COLUMNS.split(",")], tuple(row), strict=True))
