"""PostgresMetaStore: the MetaStore on a shared PostgreSQL, for several nodes.

Same semantics as ``sqlite.SqliteMetaStore``; what differs is how they are
had. Tables and queries are written once for both databases (``sql/``);
this module holds the pool and the object and part writes, whose locking
under READ COMMITTED is PostgreSQL's own.

Connections: a ``psycopg_pool.ConnectionPool`` (thread-safe, bounded by
``max_connections``), each session in UTC with ``lock_timeout`` as SQLite's
busy timeout. Connections are in autocommit mode and every change runs in
an explicit ``conn.transaction()`` block: a lone read is one statement and
so its own snapshot either way, and autocommit spares it the BEGIN and
COMMIT round trips that psycopg otherwise adds (3 round trips become 1 on
the hot path, ``get_object``). A forked child opens its own pool.

Concurrency, READ COMMITTED: a write that returns what it replaced locks
that row first (``SELECT … FOR UPDATE``, which waits for and then sees the
latest committed version) and, when there is none, inserts with ``ON
CONFLICT DO NOTHING`` — which waits for a concurrent inserter — and tries
again if it lost that race. So concurrent writers of one key form one
chain, each replacing the one committed before it, as under SQLite's
single write lock. Foreign keys lock their parent row (``FOR KEY SHARE``):
``delete_bucket`` locks the bucket ``FOR UPDATE`` and then sees every
object committed before it, and an insert into a bucket being deleted waits
and fails (``NoSuchBucket``). ``complete_upload`` locks the upload before
reading its parts, so a part being added is either in the returned list or
refused with ``NoSuchUpload``. Locks are taken upload → part/object →
bucket only, so these transactions cannot deadlock with each other.

Encoding: keys, bucket names and upload ids are ``TEXT COLLATE "C"``:
compared as UTF-8 bytes whatever the database's default collation, which is
S3's listing order. Datetimes are ``timestamptz(3)``, truncated to the
millisecond (as SQLite's integer milliseconds), returned as aware UTC
datetimes. Dicts and tuples are ``json`` (not ``jsonb``: it keeps key order
and accepts the ``\\u0000`` escape), NULL when empty.

U+0000: PostgreSQL text cannot hold it, while S3 (and SQLite) would take it
in a key. Keys, bucket names and upload ids containing it are refused on
write with ``UnstorableText``; lookups of such a name find nothing, since
none can be stored, and listing bounds containing it are cut at it (no
stored key lies between ``"a"`` and ``"a\\x00…"``). Setting documents
containing it are refused too. Values inside the JSON columns (metadata,
tags) are escaped and may contain it.

Schema: in the first schema of the connection's ``search_path`` (give
sealbox its own database, or its own schema with ``options='-c
search_path=NAME'`` in the DSN). ``sealbox_schema`` records each applied
version; the one migrator (``sql/migrate.py``) applies the missing steps of
``sql/schema.py`` in one transaction under an advisory lock, so nodes
starting together migrate once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool

from sealbox.links.store import LinkSqlMethods
from sealbox.store.access_version import READ_SQL as ACCESS_VERSION_SQL
from sealbox.store.forks import reset_in_child
from sealbox.store.meta import (
    NoSuchBucket,
    NoSuchUpload,
    ObjectRecord,
    Part,
    WriteCheck,
    check_write,
)
from sealbox.store.rows import POSTGRES_ROWS
from sealbox.store.sql import OBJ_COLS, OBJ_VALUE_COLS, PART_VALUE_COLS, POSTGRES, set_columns
from sealbox.store.sql.accounts import SqlAccountsMixin
from sealbox.store.sql.audit import AuditSqlMethods
from sealbox.store.sql.auth_failures import AuthFailureSqlMethods
from sealbox.store.sql.blob_sweep import BlobSweepSqlMethods
from sealbox.store.sql.blob_uploads import BlobUploadSqlMethods
from sealbox.store.sql.dialect import POSTGRES as _DIALECT
from sealbox.store.sql.edge import EdgeSqlMethods
from sealbox.store.sql.kms_keys import SqlKmsKeysMixin
from sealbox.store.sql.migrate import migrate
from sealbox.store.sql.objects import SqlObjectMethods, UnstorableText
from sealbox.store.sql.queries import OBJ_ETAG
from sealbox.store.sql.schema import SCHEMA_VERSION
from sealbox.store.sql.sealings import SqlSealingMethods
from sealbox.store.sql.sessions import SessionSqlMethods
from sealbox.store.sql.versions import SqlVersionMethods, keep_versions, refuse_if_locked

if TYPE_CHECKING:
    from sealbox.store.secrets import SecretCipher


__all__ = ["SCHEMA_VERSION", "PostgresMetaStore", "UnstorableText"]

_decode = json.JSONDecoder().decode
_ROWS = POSTGRES_ROWS
_object, _part = _ROWS.object, _ROWS.part


def _json_loads(data: bytes | str) -> Any:
    # json.loads on bytes first sniffs the encoding; the server sends UTF-8.
    return _decode(data.decode() if isinstance(data, bytes) else data)


_Q = POSTGRES
_GET_OBJECT, _GET_SETTING, _LIST_OBJECTS = _Q.get_object, _Q.get_setting, _Q.list_objects
_LOCK_OBJECT = _GET_OBJECT + " FOR UPDATE"
_INSERT_OBJECT = _Q.insert_object + " ON CONFLICT DO NOTHING"
_UPDATE_OBJECT = (
    f"UPDATE objects SET {set_columns(OBJ_VALUE_COLS, '%s')} WHERE bucket = %s AND key = %s"
)
_LOCK_PART = _Q.get_part + " FOR UPDATE"
_INSERT_PART = _Q.insert_part + " ON CONFLICT DO NOTHING"
_UPDATE_PART = (
    f"UPDATE parts SET {set_columns(PART_VALUE_COLS, '%s')} "
    "WHERE upload_id = %s AND part_number = %s"
)


def _replace(
    cur: psycopg.Cursor[Any],
    lock: str,
    key: tuple[Any, ...],
    insert: str,
    update: str,
    values: tuple[Any, ...],
    seen: Callable[[tuple[Any, ...] | None], None] | None = None,
) -> tuple[Any, ...] | None:
    """Insert or replace the row at ``key``; return the row replaced.

    ``seen``, if given, is shown the locked row (or None) before each write
    is tried, and may raise to write nothing.

    ``lock`` selects the row ``FOR UPDATE``; ``insert`` takes ``key +
    values`` (and does nothing on conflict); ``update`` takes ``values +
    key``. The old row is locked before it is read, so it is the latest committed
    one; when there is none, the insert's ON CONFLICT waits for a
    concurrent inserter, and if that one committed, we go round again and
    replace its row instead.
    """
    for _ in range(100):
        old: tuple[Any, ...] | None = cur.execute(lock, key).fetchone()
        if seen is not None:
            seen(old)
        if old is not None:
            cur.execute(update, values + key)
            return old
        cur.execute(insert, key + values)
        if cur.rowcount == 1:
            return None
    raise RuntimeError(f"row {key!r} kept appearing and vanishing; gave up replacing it")


class PostgresMetaStore(SqlObjectMethods, SqlVersionMethods, SqlAccountsMixin, EdgeSqlMethods,
                        LinkSqlMethods, AuditSqlMethods, SessionSqlMethods,
                        AuthFailureSqlMethods, SqlSealingMethods, BlobUploadSqlMethods,
                        BlobSweepSqlMethods, SqlKmsKeysMixin):
    """The MetaStore (and IdentityStore) on PostgreSQL; see the module docstring."""

    inline_reads = False  # every read is a network round trip
    _d = _DIALECT

    def __init__(
        self,
        dsn: str,
        *,
        min_connections: int = 1,
        max_connections: int = 16,
        lock_timeout_ms: int = 10_000,
        pool_timeout: float = 30.0,
        cipher: SecretCipher | None = None,
    ) -> None:
        self.dsn = dsn
        self._cipher = cipher  # access-key secrets; None: identity secrets unavailable
        self._min = min_connections
        self._max = max_connections
        self._lock_timeout_ms = int(lock_timeout_ms)
        self._pool_timeout = pool_timeout
        self._lock = threading.Lock()
        self._inherited: list[ConnectionPool[Any]] = []
        # A connection fails fast on a bad DSN, where a pool would retry
        # until its timeout.
        with psycopg.connect(dsn, autocommit=True) as conn:
            self._configure(conn)
            self._migrate(conn)
        self._pool: ConnectionPool[Any] | None = self._open_pool()
        reset_in_child(self, PostgresMetaStore._forget_connections)

    # -- connections -------------------------------------------------------
    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        set_json_loads(_json_loads, conn)
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(f"SET lock_timeout = {self._lock_timeout_ms}")

    def _open_pool(self) -> ConnectionPool[Any]:
        return ConnectionPool(
            self.dsn,
            min_size=self._min,
            max_size=self._max,
            timeout=self._pool_timeout,
            kwargs={"autocommit": True},
            configure=self._configure,
            name="sealbox-meta",
            open=True,
        )

    def _get_pool(self) -> ConnectionPool[Any]:
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = self._open_pool()
                pool = self._pool
        return pool

    def _forget_connections(self) -> None:
        # In a forked child: the parent's connections share its sockets.
        # Never use them; psycopg does not close a connection in a process
        # other than the one that opened it, so dropping them is harmless.
        # Keep the pool referenced anyway, and open one of our own when needed.
        if self._pool is not None:
            self._inherited.append(self._pool)
        self._pool = None
        self._lock = threading.Lock()

    @contextmanager
    def _read(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor for one-statement reads (autocommit)."""
        with self._get_pool().connection() as conn, conn.cursor() as cur:
            yield cur

    def _fetchone(self, sql: str, params: tuple[Any, ...]) -> Any:
        """One row of a one-statement read (autocommit: its own snapshot)."""
        with self._read() as c:
            return c.execute(sql, params).fetchone()

    @contextmanager
    def _write(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction: committed at the end, rolled back on an error."""
        with self._get_pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this node holds ``name`` among all those on this database:
        a session advisory lock (per schema, as the migration lock), tried,
        never waited for, and released at the end, or by PostgreSQL when the
        session ends (a node that dies)."""
        with self._get_pool().connection() as conn:
            key = "SELECT {}(hashtext(%s || current_schema()))"
            held = bool(conn.execute(key.format("pg_try_advisory_lock"), (name,)).fetchone()[0])
            try:
                yield held
            finally:
                if held:
                    conn.execute(key.format("pg_advisory_unlock"), (name,))

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction(), conn.cursor() as c:
            migrate(c, self._d)

    def close(self) -> None:
        """Close the pool; the store must not be used after."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # -- objects (buckets, uploads and settings: sql/objects.py) -----------
    def put_object(self, obj: ObjectRecord, check: WriteCheck | None = None) -> ObjectRecord | None:
        params = self._object_params(obj)
        try:
            with self._write() as c:
                old = self._replace_object(c, params, check)
        except errors.ForeignKeyViolation:
            raise NoSuchBucket(obj.bucket) from None
        return None if old is None else _object(old)

    def _replace_object(self, c: psycopg.Cursor[Any], params: tuple[Any, ...],
                        check: WriteCheck | None = None) -> Any:
        """Insert or replace the object row ``params`` (if ``check`` lets it
        replace the row there, read locked); the row of the version now gone
        (``sql/versions.keep_versions``), if any."""
        seen = None if check is None else (
            lambda row: check_write(check, None if row is None else row[OBJ_ETAG]))
        old = _replace(c, _LOCK_OBJECT, params[:2], _INSERT_OBJECT, _UPDATE_OBJECT, params[2:],
                       seen)
        return keep_versions(c, self._d, params, old)

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        # The hot path: one primary-key lookup, one round trip; psycopg
        # prepares the statement on a connection after a few uses.
        if "\x00" in key or "\x00" in bucket:
            return None
        with self._read() as c:
            row = c.execute(_GET_OBJECT, (bucket, key)).fetchone()
        return None if row is None else _object(row)

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        if "\x00" in key or "\x00" in bucket:
            return None
        with self._write() as c:
            row = c.execute(
                f"DELETE FROM objects WHERE bucket = %s AND key = %s RETURNING {OBJ_COLS}",
                (bucket, key),
            ).fetchone()
            refuse_if_locked(self._d, row)  # raised here, it undoes the DELETE
        return None if row is None else _object(row)

    # -- multipart uploads -------------------------------------------------
    def put_part(self, part: Part) -> Part | None:
        p = part
        if "\x00" in p.upload_id:
            raise NoSuchUpload(p.upload_id)
        params = _ROWS.part_params(p)
        key, values = params[:2], params[2:]
        with self._write() as c:
            # FOR KEY SHARE: complete/abort (FOR UPDATE) wait for this part.
            row = c.execute(
                "SELECT 1 FROM uploads WHERE upload_id = %s FOR KEY SHARE", (p.upload_id,)
            ).fetchone()
            if row is None:
                raise NoSuchUpload(p.upload_id)
            old = _replace(c, _LOCK_PART, key, _INSERT_PART, _UPDATE_PART, values)
        return None if old is None else _part(old)

    def access_version(self) -> int:
        with self._read() as c:
            row = c.execute(ACCESS_VERSION_SQL).fetchone()
        assert row is not None  # the migration inserts the one row
        return int(row[0])

    def referenced_blob_ids(self) -> set[str]:
        # One statement, so one snapshot: a blob moving from a part to an
        # object (complete_upload) is seen in one table or the other.
        with self._read() as c:
            rows = c.execute(
                "SELECT s ->> 0 FROM objects CROSS JOIN LATERAL json_array_elements(segments) s"
                " UNION ALL SELECT s ->> 0 FROM object_versions"
                " CROSS JOIN LATERAL json_array_elements(segments) s"
                " UNION ALL SELECT blob_id FROM parts"
            )
            return {b for (b,) in rows}
