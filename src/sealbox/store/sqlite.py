"""SqliteMetaStore: the embedded MetaStore, one SQLite file in WAL mode.

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

The schema is versioned with ``PRAGMA user_version``; ``_MIGRATIONS[i]``
takes a database from version ``i`` to ``i + 1``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sealbox.store.meta import (
    Bucket,
    BucketExists,
    BucketNotEmpty,
    NoSuchBucket,
    NoSuchUpload,
    ObjectRecord,
    Part,
    Upload,
)
from sealbox.store.rows import SQLITE_ROWS, tags_json
from sealbox.store.sqlite_identity import SCHEMA as _IDENTITY_SCHEMA
from sealbox.store.sqlite_identity import SqliteIdentityMixin

if TYPE_CHECKING:
    from sealbox.store.secrets import SecretCipher

_V1 = """
CREATE TABLE buckets (
    name        TEXT PRIMARY KEY,
    created     INTEGER NOT NULL,
    region      TEXT NOT NULL,
    owner       TEXT NOT NULL
);
CREATE TABLE objects (
    bucket          TEXT NOT NULL REFERENCES buckets (name),
    key             TEXT NOT NULL,
    size            INTEGER NOT NULL,
    etag            TEXT NOT NULL,
    last_modified   INTEGER NOT NULL,
    segments        TEXT NOT NULL,
    headers         TEXT,
    user_metadata   TEXT,
    tags            TEXT,
    checksums       TEXT,
    storage_class   TEXT NOT NULL,
    owner           TEXT NOT NULL,
    parts_count     INTEGER,
    PRIMARY KEY (bucket, key)
);
CREATE TABLE uploads (
    upload_id           TEXT PRIMARY KEY,
    bucket              TEXT NOT NULL REFERENCES buckets (name),
    key                 TEXT NOT NULL,
    initiated           INTEGER NOT NULL,
    headers             TEXT,
    user_metadata       TEXT,
    tags                TEXT,
    storage_class       TEXT NOT NULL,
    owner               TEXT NOT NULL,
    checksum_algorithm  TEXT
);
CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated, upload_id);
CREATE TABLE parts (
    upload_id       TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
    part_number     INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    etag            TEXT NOT NULL,
    last_modified   INTEGER NOT NULL,
    blob_id         TEXT NOT NULL,
    checksums       TEXT,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID
"""

# Bucket-level documents (CORS now; policies later), one per (bucket, name),
# read by primary key on the hot path.
_V2 = """
CREATE TABLE bucket_settings (
    bucket      TEXT NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID
"""

# _MIGRATIONS[i] takes user_version i to i + 1. Statements are separated by
# ";" and must not contain one (executescript would COMMIT our transaction).
# IAM users, access keys, groups and policies (sqlite_identity.py).
_V3 = _IDENTITY_SCHEMA

_MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(_MIGRATIONS)

_ROWS = SQLITE_ROWS
_object, _object_params = _ROWS.object, _ROWS.object_params
_upload, _part = _ROWS.upload, _ROWS.part
_loads = json.loads


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``, in
    code point (= UTF-8 byte) order; None when there is none.

    Trailing U+10FFFF cannot be incremented and are dropped; the last other
    character is incremented, jumping over the surrogates, which no valid
    key contains.
    """
    p = prefix.rstrip("\U0010ffff")
    if not p:
        return None
    nxt = ord(p[-1]) + 1
    if nxt == 0xD800:
        nxt = 0xE000
    return p[:-1] + chr(nxt)


_OBJ_COLS = (
    "bucket, key, size, etag, last_modified, segments, headers, user_metadata, "
    "tags, checksums, storage_class, owner, parts_count"
)
_UPLOAD_COLS = (
    "upload_id, bucket, key, initiated, headers, user_metadata, tags, "
    "storage_class, owner, checksum_algorithm"
)
_PART_COLS = "upload_id, part_number, size, etag, last_modified, blob_id, checksums"

_GET_OBJECT = f"SELECT {_OBJ_COLS} FROM objects WHERE bucket = ? AND key = ?"
_UPSERT_OBJECT = (
    f"INSERT INTO objects ({_OBJ_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, "
    "etag = excluded.etag, last_modified = excluded.last_modified, "
    "segments = excluded.segments, headers = excluded.headers, "
    "user_metadata = excluded.user_metadata, tags = excluded.tags, "
    "checksums = excluded.checksums, storage_class = excluded.storage_class, "
    "owner = excluded.owner, parts_count = excluded.parts_count"
)
_GET_SETTING = "SELECT document FROM bucket_settings WHERE bucket = ? AND name = ?"
# list_objects: (lower bound inclusive?, upper bound present?) -> SQL. Each
# is a range on the (bucket, key) primary key index.
_LIST_OBJECTS = {
    (incl, upper): (
        f"SELECT {_OBJ_COLS} FROM objects WHERE bucket = ? AND key {'>=' if incl else '>'} ?"
        + (" AND key < ?" if upper else "")
        + " ORDER BY key LIMIT ?"
    )
    for incl in (True, False)
    for upper in (True, False)
}


class _Holder:
    """Owns one thread's connection; closing it when the thread's local dies."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


def _forget_after_fork(store: SqliteMetaStore) -> None:
    ref = weakref.ref(store)

    def reset() -> None:
        s = ref()
        if s is not None:
            s._forget_connections()

    os.register_at_fork(after_in_child=reset)


class SqliteMetaStore(SqliteIdentityMixin):
    """The MetaStore (and IdentityStore) on one SQLite file; see the module docstring."""

    # WAL readers never wait on writers, and a primary-key read takes ~15 µs:
    # cheaper on the event loop than the ~30 µs thread-pool hop around it.
    inline_reads = True

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
        # A connection must not cross a fork: the child opens its own.
        _forget_after_fork(self)
        conn = self._conn()
        # WAL is a property of the file; setting it again is a no-op.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot use WAL journal mode (got {mode})")
        self._migrate(conn)

    # -- connections -------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        try:
            return self._local.holder.conn  # type: ignore[no-any-return]
        except AttributeError:
            pass
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
        holder = _Holder(conn)
        self._local.holder = holder
        with self._lock:
            self._holders.add(holder)
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
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy
        # handler, which sleeps with backoff (up to 100 ms a try) and made
        # concurrent PUTs wait far longer than the commits themselves take.
        self._write_lock = threading.Lock()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start."""
        conn = self._conn()
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
        with self._write():
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: schema version {version} is newer than this "
                    f"sealbox understands ({SCHEMA_VERSION}); upgrade sealbox"
                )
            for v in range(version, SCHEMA_VERSION):
                for stmt in _MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {v + 1}")

    def close(self) -> None:
        """Close every thread's connection; the store must not be used after."""
        with self._lock:
            holders = list(self._holders)
            self._holders = weakref.WeakSet()
        for h in holders:
            h.conn.close()
        self._local = threading.local()

    # -- buckets -----------------------------------------------------------
    def create_bucket(self, bucket: Bucket) -> None:
        try:
            with self._write() as c:
                c.execute(
                    "INSERT INTO buckets (name, created, region, owner) VALUES (?,?,?,?)",
                    _ROWS.bucket_params(bucket),
                )
        except sqlite3.IntegrityError:
            raise BucketExists(bucket.name) from None

    def get_bucket(self, name: str) -> Bucket | None:
        row = (
            self._conn()
            .execute("SELECT name, created, region, owner FROM buckets WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else _ROWS.bucket(row)

    def list_buckets(self) -> list[Bucket]:
        rows = self._conn().execute(
            "SELECT name, created, region, owner FROM buckets ORDER BY name"
        )
        return [_ROWS.bucket(r) for r in rows]

    def delete_bucket(self, name: str) -> list[str]:
        with self._write() as c:
            if c.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone() is None:
                raise NoSuchBucket(name)
            if c.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise BucketNotEmpty(name)
            blob_ids = [b for (b,) in c.execute(
                "SELECT blob_id FROM parts WHERE upload_id IN "
                "(SELECT upload_id FROM uploads WHERE bucket = ?)", (name,))]
            c.execute("DELETE FROM parts WHERE upload_id IN "
                      "(SELECT upload_id FROM uploads WHERE bucket = ?)", (name,))
            c.execute("DELETE FROM uploads WHERE bucket = ?", (name,))
            # ON DELETE CASCADE would do it too; explicit, so no setting can
            # outlive its bucket even on a connection without foreign keys.
            c.execute("DELETE FROM bucket_settings WHERE bucket = ?", (name,))
            c.execute("DELETE FROM buckets WHERE name = ?", (name,))
        return blob_ids

    # -- objects -----------------------------------------------------------
    def put_object(self, obj: ObjectRecord) -> ObjectRecord | None:
        params = _object_params(obj)  # encode before taking the write lock
        with self._write() as c:
            if c.execute("SELECT 1 FROM buckets WHERE name = ?", (obj.bucket,)).fetchone() is None:
                raise NoSuchBucket(obj.bucket)
            old = c.execute(_GET_OBJECT, (obj.bucket, obj.key)).fetchone()
            c.execute(_UPSERT_OBJECT, params)
        return None if old is None else _object(old)

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        # The hot path: one primary-key lookup; sqlite3 caches the prepared
        # statement per connection because the SQL text is always the same.
        row = self._conn().execute(_GET_OBJECT, (bucket, key)).fetchone()
        return None if row is None else _object(row)

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        with self._write() as c:
            row = c.execute(_GET_OBJECT, (bucket, key)).fetchone()
            if row is not None:
                c.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
        return None if row is None else _object(row)

    def list_objects(
        self, bucket: str, *, prefix: str = "", after: str = "", limit: int = 1000
    ) -> list[ObjectRecord]:
        if limit <= 0:
            return []
        upper = prefix_upper_bound(prefix)
        # One lower bound: ">= prefix" or "> after", whichever is tighter.
        incl = after < prefix
        params: list[Any] = [bucket, prefix if incl else after]
        if upper is not None:
            params.append(upper)
        params.append(limit)
        rows = self._conn().execute(_LIST_OBJECTS[incl, upper is not None], params)
        return [_object(r) for r in rows]

    def set_object_tags(self, bucket: str, key: str, tags: tuple[tuple[str, str], ...]) -> bool:
        with self._write() as c:
            cur = c.execute(
                "UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?",
                (tags_json(tags), bucket, key),
            )
            return cur.rowcount > 0

    # -- multipart uploads -------------------------------------------------
    def create_upload(self, upload: Upload) -> None:
        u = upload
        with self._write() as c:
            if c.execute("SELECT 1 FROM buckets WHERE name = ?", (u.bucket,)).fetchone() is None:
                raise NoSuchBucket(u.bucket)
            c.execute(
                f"INSERT INTO uploads ({_UPLOAD_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                _ROWS.upload_params(u),
            )

    def get_upload(self, upload_id: str) -> Upload | None:
        row = (
            self._conn()
            .execute(f"SELECT {_UPLOAD_COLS} FROM uploads WHERE upload_id = ?", (upload_id,))
            .fetchone()
        )
        return None if row is None else _upload(row)

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        limit: int = 1000,
    ) -> list[Upload]:
        """ListMultipartUploads paging. Without ``key_marker`` the upload-id
        marker is ignored, as S3 does. With both, uploads of ``key_marker``
        after the marker upload are included: after it in (initiated,
        upload_id) order when the marker upload still exists, so that pages
        neither skip nor repeat; otherwise those with a greater upload id,
        as the S3 documentation states.
        """
        if limit <= 0:
            return []
        conn = self._conn()
        where = ["bucket = ?"]
        params: list[Any] = [bucket]
        if prefix:
            where.append("key >= ?")
            params.append(prefix)
            upper = prefix_upper_bound(prefix)
            if upper is not None:
                where.append("key < ?")
                params.append(upper)
        if key_marker and upload_id_marker:
            row = conn.execute(
                "SELECT initiated FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id_marker, bucket, key_marker),
            ).fetchone()
            if row is not None:
                where.append("(key > ? OR (key = ? AND (initiated, upload_id) > (?, ?)))")
                params += [key_marker, key_marker, row[0], upload_id_marker]
            else:
                where.append("(key > ? OR (key = ? AND upload_id > ?))")
                params += [key_marker, key_marker, upload_id_marker]
        elif key_marker:
            where.append("key > ?")
            params.append(key_marker)
        params.append(limit)
        rows = conn.execute(
            f"SELECT {_UPLOAD_COLS} FROM uploads WHERE {' AND '.join(where)} "
            "ORDER BY key, initiated, upload_id LIMIT ?",
            params,
        )
        return [_upload(r) for r in rows]

    def put_part(self, part: Part) -> Part | None:
        p = part
        params = _ROWS.part_params(p)
        with self._write() as c:
            if (
                c.execute("SELECT 1 FROM uploads WHERE upload_id = ?", (p.upload_id,)).fetchone()
                is None
            ):
                raise NoSuchUpload(p.upload_id)
            old = c.execute(
                f"SELECT {_PART_COLS} FROM parts WHERE upload_id = ? AND part_number = ?",
                (p.upload_id, p.part_number),
            ).fetchone()
            c.execute(
                f"INSERT INTO parts ({_PART_COLS}) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, "
                "etag = excluded.etag, last_modified = excluded.last_modified, "
                "blob_id = excluded.blob_id, checksums = excluded.checksums",
                params,
            )
        return None if old is None else _part(old)

    def list_parts(self, upload_id: str, *, after: int = 0, limit: int = 10000) -> list[Part]:
        if limit <= 0:
            return []
        rows = self._conn().execute(
            f"SELECT {_PART_COLS} FROM parts WHERE upload_id = ? AND part_number > ? "
            "ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        )
        return [_part(r) for r in rows]

    def _remove_upload(self, c: sqlite3.Connection, upload_id: str) -> tuple[Upload, list[Part]]:
        row = c.execute(
            f"SELECT {_UPLOAD_COLS} FROM uploads WHERE upload_id = ?", (upload_id,)
        ).fetchone()
        if row is None:
            raise NoSuchUpload(upload_id)
        parts = c.execute(
            f"SELECT {_PART_COLS} FROM parts WHERE upload_id = ? ORDER BY part_number",
            (upload_id,),
        ).fetchall()
        c.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
        c.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return _upload(row), [_part(p) for p in parts]

    def complete_upload(
        self, upload_id: str, obj: ObjectRecord
    ) -> tuple[ObjectRecord | None, list[Part]]:
        params = _object_params(obj)
        with self._write() as c:
            upload, parts = self._remove_upload(c, upload_id)
            if (upload.bucket, upload.key) != (obj.bucket, obj.key):
                raise ValueError(
                    f"upload {upload_id} is for {upload.bucket}/{upload.key}, "
                    f"not {obj.bucket}/{obj.key}"
                )
            # The bucket exists: delete_bucket refuses while uploads exist.
            old = c.execute(_GET_OBJECT, (obj.bucket, obj.key)).fetchone()
            c.execute(_UPSERT_OBJECT, params)
        return (None if old is None else _object(old)), parts

    def abort_upload(self, upload_id: str) -> list[Part]:
        with self._write() as c:
            _, parts = self._remove_upload(c, upload_id)
        return parts

    # -- bucket settings ---------------------------------------------------
    def put_bucket_setting(self, bucket: str, name: str, document: str) -> None:
        with self._write() as c:
            if c.execute("SELECT 1 FROM buckets WHERE name = ?", (bucket,)).fetchone() is None:
                raise NoSuchBucket(bucket)
            c.execute(
                "INSERT INTO bucket_settings (bucket, name, document) VALUES (?,?,?) "
                "ON CONFLICT (bucket, name) DO UPDATE SET document = excluded.document",
                (bucket, name, document),
            )

    def get_bucket_setting(self, bucket: str, name: str) -> str | None:
        row = self._conn().execute(_GET_SETTING, (bucket, name)).fetchone()
        return None if row is None else row[0]

    def delete_bucket_setting(self, bucket: str, name: str) -> bool:
        with self._write() as c:
            cur = c.execute(
                "DELETE FROM bucket_settings WHERE bucket = ? AND name = ?", (bucket, name)
            )
            return cur.rowcount > 0

    def referenced_blob_ids(self) -> set[str]:
        conn = self._conn()
        ids: set[str] = set()
        # One read transaction: both tables from the same snapshot, so a
        # blob moving from a part to an object is seen in one of them.
        conn.execute("BEGIN")
        try:
            for (segs,) in conn.execute("SELECT segments FROM objects"):
                ids.update(i for i, _ in _loads(segs))
            ids.update(b for (b,) in conn.execute("SELECT blob_id FROM parts"))
        finally:
            conn.execute("COMMIT")
        return ids


class _NeverClosed:
    """Stands in for a connection inherited across fork."""

    def close(self) -> None:
        pass
