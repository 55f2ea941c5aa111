"""SqliteMetaStore: the embedded MetaStore, one SQLite file in WAL mode.

Tables and queries are written once for both databases (``sql/``: the
schema, the migrator, buckets/uploads/settings, IAM and the edge); this
module holds what is SQLite's own: per-thread connections, the WAL watch
that serves unchanged reads from memory, group commit, and the object and
part writes under the one write lock.

Durability: ``synchronous=FULL`` fsyncs the WAL on every commit, so a
committed object survives a crash or a power cut. Concurrency: one
connection per thread (``threading.local``); several processes may share
the file. Readers never block (WAL); writers take the write lock up front
with ``BEGIN IMMEDIATE`` so two read-then-write transactions cannot
deadlock, and wait up to ``busy_timeout`` for each other.

Encoding: keys are TEXT under the BINARY collation, i.e. compared as UTF-8
bytes, which is S3's listing order. Datetimes are integer milliseconds
since the Unix epoch, UTC (S3 shows milliseconds); they come back as
timezone-aware UTC datetimes. Dicts and tuples are JSON text, and empty
ones are NULL so the hot path skips decoding them.

The schema (``sql/schema.py``) is versioned with ``PRAGMA user_version``
and brought up to date at open by the one migrator (``sql/migrate.py``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from sealbox.links.store import LinkSqlMethods, admit
from sealbox.store.access_version import READ_SQL as ACCESS_VERSION_SQL
from sealbox.store.exclusive import file_lock
from sealbox.store.forks import reset_in_child
from sealbox.store.meta import (
    NoSuchBucket,
    NoSuchUpload,
    ObjectRecord,
    Part,
    WriteCheck,
    check_write,
)
from sealbox.store.rows import SQLITE_ROWS
from sealbox.store.sql import (
    OBJ_VALUE_COLS,
    PART_VALUE_COLS,
    SQLITE,
    prefix_upper_bound,  # noqa: F401  (its older home, still public)
    set_columns,
)
from sealbox.store.sql.accounts import SqlAccountsMixin
from sealbox.store.sql.audit import AuditSqlMethods
from sealbox.store.sql.auth_failures import AuthFailureSqlMethods
from sealbox.store.sql.blob_sweep import BlobSweepSqlMethods
from sealbox.store.sql.blob_uploads import BlobUploadSqlMethods
from sealbox.store.sql.dialect import SQLITE as _DIALECT
from sealbox.store.sql.edge import EdgeSqlMethods
from sealbox.store.sql.kms_keys import SqlKmsKeysMixin
from sealbox.store.sql.migrate import migrate
from sealbox.store.sql.objects import SqlObjectMethods
from sealbox.store.sql.queries import OBJ_ETAG
from sealbox.store.sql.schema import SCHEMA_VERSION  # noqa: F401  (public)
from sealbox.store.sql.sealings import SqlSealingMethods
from sealbox.store.sql.sessions import SessionSqlMethods
from sealbox.store.sql.versions import SqlVersionMethods, keep_versions, refuse_if_locked
from sealbox.store.sqlite_group import GroupCommit
from sealbox.store.sqlite_watch import CommitWatch

if TYPE_CHECKING:
    from sealbox.links.terms import LinkRequest, Verdict
    from sealbox.store.secrets import SecretCipher

_ROWS = SQLITE_ROWS
_object, _object_params = _ROWS.object, _ROWS.object_params
# Decoding an object row (JSON, times, two dataclasses) costs more than
# reading it. A row is a value: equal rows decode to equal records, so the
# record decoded from a row is kept by the row and reused only when the row
# read now is equal to it, never stale. Records are frozen and their dicts
# are only read. Bounded; starts over when full.
_DECODED: dict[tuple[Any, ...], ObjectRecord] = {}
_DECODED_MAX = 4096
_UNCHANGED_MAX = 4096  # values kept while nothing is committed (sqlite_watch)
_ACCESS_VERSION = "access-version"  # its key among them


def _object_writer(obj: ObjectRecord, check: WriteCheck | None = None
                   ) -> Callable[[sqlite3.Connection], tuple[Any, ...] | None]:
    """PutObject's write: the bucket must exist; the replaced row, if any."""
    params = _object_params(obj)  # encoded before the write lock is taken

    def write(c: sqlite3.Connection) -> tuple[Any, ...] | None:
        if c.execute("SELECT 1 FROM buckets WHERE name = ?", (obj.bucket,)).fetchone() is None:
            raise NoSuchBucket(obj.bucket)
        return _replace_object(c, params, check)

    return write


def _replace_object(c: sqlite3.Connection, params: tuple[Any, ...],
                    check: WriteCheck | None = None) -> tuple[Any, ...] | None:
    """Upsert the object row ``params`` under the write lock (if ``check``
    lets it replace the row there); the row of the version now gone
    (``sql/versions.keep_versions``), if any."""
    old: tuple[Any, ...] | None = c.execute(_GET_OBJECT, params[:2]).fetchone()
    check_write(check, None if old is None else old[OBJ_ETAG])
    c.execute(_UPSERT_OBJECT, params)
    return keep_versions(c, _DIALECT, params, old)


def _object_from(row: tuple[Any, ...]) -> ObjectRecord:
    found = _DECODED.get(row)
    if found is None:
        found = _object(row)
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[row] = found
    return found

_upload, _part = _ROWS.upload, _ROWS.part
_loads = json.loads


_Q = SQLITE
_GET_OBJECT, _GET_SETTING, _LIST_OBJECTS = _Q.get_object, _Q.get_setting, _Q.list_objects
_UPSERT_OBJECT = f"{_Q.insert_object} ON CONFLICT (bucket, key) DO UPDATE SET " + set_columns(
    OBJ_VALUE_COLS, "excluded.{c}"
)
_UPSERT_PART = (
    f"{_Q.insert_part} ON CONFLICT (upload_id, part_number) DO UPDATE SET "
    + set_columns(PART_VALUE_COLS, "excluded.{c}")
)


_PRIVATE_MODE = 0o600


def _create_private(path: str) -> None:
    """Create the database file (empty, which SQLite takes for a new
    database) readable by its owner alone, as the credentials are: it holds
    every key's encrypted secret, every policy and every object's metadata.
    SQLite creates the ``-wal`` and ``-shm`` files with the database file's
    own mode (its unix VFS copies it), so they are 0600 too. An existing
    file keeps the mode its owner gave it; any other failure is SQLite's to
    report as it opens the path."""
    if path in ("", ":memory:"):
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _PRIVATE_MODE)
    except OSError:  # it exists (the usual case), or SQLite will say what is wrong
        return
    os.close(fd)


class _Holder:
    """Owns one thread's connection; closing it when the thread's local dies.
    Entered, it is a read on that connection (``_read``)."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        pass



class SqliteMetaStore(SqlObjectMethods, SqlVersionMethods, SqlAccountsMixin, EdgeSqlMethods,
                      LinkSqlMethods, AuditSqlMethods, SessionSqlMethods,
                      AuthFailureSqlMethods, SqlSealingMethods, BlobUploadSqlMethods,
                      BlobSweepSqlMethods, SqlKmsKeysMixin):
    """The MetaStore (and IdentityStore) on one SQLite file; see the module docstring."""

    # WAL readers never wait on writers, and a primary-key read takes ~15 µs:
    # cheaper on the event loop than the ~30 µs thread-pool hop around it.
    inline_reads = True
    _d = _DIALECT

    def __init__(
        self, path: str, *, busy_timeout_ms: int = 10_000, cipher: SecretCipher | None = None
    ) -> None:
        self.path = os.fspath(path)
        self._cipher = cipher  # access-key secrets; None: identity secrets unavailable
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Holder] = weakref.WeakSet()
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy
        # handler, which sleeps with backoff (up to 100 ms a try) and made
        # concurrent PUTs wait far longer than the commits themselves take.
        self._write_lock = threading.Lock()
        self._inherited: list[sqlite3.Connection] = []
        self._group_holder: _Holder | None = None
        # A connection must not cross a fork: the child opens its own.
        reset_in_child(self, SqliteMetaStore._forget_connections)
        _create_private(self.path)
        conn = self._conn()
        mode = self._set_wal(conn)
        if mode.lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot use WAL journal mode (got {mode})")
        self._migrate(conn)
        # Point reads on the request path (the access version, object rows)
        # are kept and served from memory while nothing has been committed.
        self._watch = CommitWatch(self.path)
        self._unchanged: dict[object, tuple[bytes, object]] = {}
        # Object and part writes share commits (sqlite_group).
        self._group = GroupCommit(self._group_transaction)

    def _set_wal(self, conn: sqlite3.Connection) -> str:
        """The file's journal mode after asking for WAL (a property of the
        file; asking again is a no-op). Processes opening a new file at
        once (the workers starting) can be refused "database is locked"
        at once: where waiting could deadlock, SQLite does not call the
        busy handler. So ask again, within the busy timeout."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(0.005)

    def _group_transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        # The group's own connection, used by one leader at a time.
        if self._group_holder is None:
            self._group_holder = self._hold(self._connect())
        return self._write(self._group_holder.conn)

    # -- connections -------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        try:
            return self._local.holder.conn  # type: ignore[no-any-return]
        except AttributeError:
            pass
        holder = self._hold(self._connect())
        self._local.holder = holder
        return holder.conn

    def _hold(self, conn: sqlite3.Connection) -> _Holder:
        """Own ``conn``: closed by ``close()``, or when the holder is dropped."""
        holder = _Holder(conn)
        with self._lock:
            self._holders.add(holder)
        return holder

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # only so close() may close it
            cached_statements=256,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _forget_connections(self) -> None:
        # In a forked child: never use nor close the parent's connections
        # (closing could checkpoint or unlink the parent's WAL); keep them
        # referenced so they are not closed by the garbage collector either.
        for h in list(self._holders):
            self._inherited.append(h.conn)
            h.conn = _NeverClosed()  # type: ignore[assignment]
        self._holders = weakref.WeakSet()
        self._local = threading.local()
        self._group_holder = None
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy
        # handler, which sleeps with backoff (up to 100 ms a try) and made
        # concurrent PUTs wait far longer than the commits themselves take.
        self._write_lock = threading.Lock()

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """This thread's connection: a WAL read never waits on a writer."""
        try:
            return self._local.holder  # type: ignore[no-any-return]
        except AttributeError:
            self._conn()
            return self._local.holder  # type: ignore[no-any-return]

    def _fetchone(self, sql: str, params: tuple[Any, ...]) -> Any:
        """One row of a one-statement read, on this thread's connection."""
        return self._conn().execute(sql, params).fetchone()

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start."""
        conn = conn or self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._write(conn) as c:
            migrate(c, self._d, f"{self.path}: ")

    def close(self) -> None:
        """Close every thread's connection; the store must not be used after."""
        with self._lock:
            holders = list(self._holders)
            self._holders = weakref.WeakSet()
        for h in holders:
            h.conn.close()
        self._local = threading.local()
        self._watch.close()  # last: its descriptor's close drops the process's locks

    # -- objects (buckets, uploads and settings: sql/objects.py) -----------
    def put_object(self, obj: ObjectRecord, check: WriteCheck | None = None) -> ObjectRecord | None:
        # committed (shared fsync) before it returns
        old = self._group.run(_object_writer(obj, check))
        return None if old is None else _object(old)

    def put_objects(self, objects: list[ObjectRecord]
                    ) -> list[tuple[ObjectRecord | None, BaseException | None]]:
        """``put_object`` of each, in one commit: each one's (replaced record,
        None) or (None, error, such as NoSuchBucket)."""
        done = self._group.run_together([_object_writer(obj) for obj in objects])
        return [(None if old is None else _object(old), error) for old, error in done]

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        # The hot path: one primary-key lookup (sqlite3 caches the prepared
        # statement per connection), or none while nothing was committed.
        token = self._watch.token()  # before the read: see _remember
        if token is not None:
            hit = self._unchanged.get((bucket, key))
            if hit is not None and hit[0] == token:
                return hit[1]  # type: ignore[return-value]
        row = self._conn().execute(_GET_OBJECT, (bucket, key)).fetchone()
        record = None if row is None else _object_from(row)
        self._remember((bucket, key), token, record)
        return record

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        # Kept while nothing is committed, as get_object's record: a
        # presigned link to one version is read as often as one to the key.
        token = self._watch.token()
        if token is not None:
            hit = self._unchanged.get((bucket, key, version_id))
            if hit is not None and hit[0] == token:
                return hit[1]  # type: ignore[return-value]
        record = SqlVersionMethods.get_version(self, bucket, key, version_id)
        self._remember((bucket, key, version_id), token, record)
        return record

    def _remember(self, what: object, token: bytes | None, value: object) -> None:
        """Keep a value read after the WAL-index header read ``token``: it is
        current for as long as the header stays equal (a commit in between
        makes the next token differ, so it is read again)."""
        if token is None:
            return
        if len(self._unchanged) >= _UNCHANGED_MAX:
            self._unchanged.clear()
        self._unchanged[what] = (token, value)

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        with self._write() as c:
            row = c.execute(_GET_OBJECT, (bucket, key)).fetchone()
            refuse_if_locked(self._d, row)
            if row is not None:
                c.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
        return None if row is None else _object(row)

    # -- multipart uploads -------------------------------------------------
    def put_part(self, part: Part) -> Part | None:
        p = part
        params = _ROWS.part_params(p)

        def write(c: sqlite3.Connection) -> tuple[Any, ...] | None:
            if (
                c.execute("SELECT 1 FROM uploads WHERE upload_id = ?", (p.upload_id,)).fetchone()
                is None
            ):
                raise NoSuchUpload(p.upload_id)
            old: tuple[Any, ...] | None = c.execute(
                _Q.get_part, (p.upload_id, p.part_number)).fetchone()
            c.execute(_UPSERT_PART, params)
            return old

        old = self._group.run(write)  # committed (shared fsync) before it returns
        return None if old is None else _part(old)

    _replace_object = staticmethod(_replace_object)  # complete_upload's write (sql/objects.py)

    def admit_links(self, asked: Sequence[LinkRequest]) -> list[Verdict]:
        """``LinkSqlMethods.admit_links`` in one group commit: the batch's terms
        read under the write lock its uses take anyway, so no read
        transaction of its own (~21 µs of WAL-index locking apiece)."""
        return self._group.run(lambda c: admit(c, _DIALECT.q, asked))

    def access_version(self) -> int:
        token = self._watch.token()
        if token is not None:
            hit = self._unchanged.get(_ACCESS_VERSION)
            if hit is not None and hit[0] == token:
                return hit[1]  # type: ignore[return-value]
        version = int(self._conn().execute(ACCESS_VERSION_SQL).fetchone()[0])
        self._remember(_ACCESS_VERSION, token, version)
        return version

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Whether this process holds ``name`` among all those using this
        database (``sealbox.store.exclusive``); an in-memory database has
        only this process."""
        if self.path == ":memory:" or self.path.startswith("file::memory:"):
            return nullcontext(True)
        return file_lock(f"{self.path}.{name}.lock")

    def referenced_blob_ids(self) -> set[str]:
        conn = self._conn()
        ids: set[str] = set()
        # One read transaction: both tables from the same snapshot, so a
        # blob moving from a part to an object is seen in one of them.
        conn.execute("BEGIN")
        try:
            for (segs,) in conn.execute(
                    "SELECT segments FROM objects UNION ALL SELECT segments FROM object_versions"):
                ids.update(segment[0] for segment in _loads(segs))  # [id, size(, nonce(, checksum))]
            ids.update(b for (b,) in conn.execute("SELECT blob_id FROM parts"))
        finally:
            conn.execute("COMMIT")
        return ids


class _NeverClosed:
    """Stands in for a connection inherited across fork."""

    def close(self) -> None:
        pass
