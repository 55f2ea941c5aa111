"""The MetaStore's buckets, uploads and settings, written once for SQLite and
PostgreSQL: a mixin of both stores, over their ``_read()``/``_write()`` and
their dialect ``_d`` (``dialect.py``).

What stays in ``sqlite.py`` and ``postgres.py`` is what truly differs: the
object and part writes and reads on the hot path (SQLite: group commit, an
upsert under the one write lock, reads kept while the WAL is unchanged;
PostgreSQL: lock the row, then insert or update, under READ COMMITTED),
``delete_object`` (``DELETE … RETURNING`` on PostgreSQL), the access
version and the blob sweep's read. Each store supplies ``_replace_object``,
the write ``complete_upload`` ends with.

Locks (PostgreSQL; empty on SQLite, whose writers hold the one write lock):
``delete_bucket`` locks the bucket ``FOR UPDATE`` and so waits for writers
holding it through a foreign key, then sees what they committed; it locks
the bucket's uploads before reading their parts, as ``_remove_upload``
locks the upload, so a part being added (``put_part`` holds its upload
``FOR KEY SHARE``) is either in the list returned or refused.

U+0000 (``Dialect.storable``): PostgreSQL text cannot hold it. Names
containing it are refused on write with ``UnstorableText``; lookups of such
a name find nothing, since none can be stored; listing bounds are cut at it
(``Dialect.bound``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sealbox.store.meta import (
    Bucket,
    BucketExists,
    BucketNotEmpty,
    MetaError,
    NoSuchBucket,
    NoSuchUpload,
    ObjectRecord,
    Part,
    Upload,
    WriteCheck,
    check_completes,
)
from sealbox.store.rows import tags_json
from sealbox.store.sql.dialect import Dialect
from sealbox.store.sql.queries import PART_COLS


class UnstorableText(MetaError, ValueError):
    """A key, bucket name, upload id or setting document holds U+0000, which
    PostgreSQL text cannot; the API should answer InvalidArgument before it
    gets here."""


class SqlObjectMethods:
    """Buckets, uploads and settings on a SQL MetaStore; see the module docstring."""

    _d: Dialect

    def _read(self) -> AbstractContextManager[Any]:  # provided by the store
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _fetchone(self, sql: str, params: tuple[Any, ...]) -> Any:
        """The first row of a one-statement read (``sql`` rendered), or None:
        the point lookups on the request path."""
        raise NotImplementedError

    def _replace_object(self, c: Any, params: tuple[Any, ...],
                        check: WriteCheck | None = None) -> tuple[Any, ...] | None:
        """Insert or replace the object row ``params`` in transaction ``c``
        (if ``check`` lets it replace the row there, read locked); the row
        replaced, if any."""
        raise NotImplementedError

    def _storable(self, *texts: str) -> None:
        if not self._d.storable(*texts):
            bad = next(t for t in texts if not self._d.storable(t))
            raise UnstorableText(f"PostgreSQL cannot store text containing U+0000: {bad[:200]!r}")

    def _object_params(self, o: ObjectRecord) -> tuple[Any, ...]:
        """(bucket, key, then the other columns in ``queries.OBJ_COLS`` order)."""
        self._storable(o.bucket, o.key)
        return self._d.rows.object_params(o)

    def _bucket_exists(self, c: Any, name: str) -> bool:
        row = c.execute(self._d.q("SELECT 1 FROM buckets WHERE name = ?"), (name,)).fetchone()
        return row is not None

    # -- buckets -----------------------------------------------------------
    def create_bucket(self, bucket: Bucket,
                      settings: Sequence[tuple[str, str]] = ()) -> None:
        self._storable(bucket.name, *(text for pair in settings for text in pair))
        try:
            with self._write() as c:
                c.execute(self._d.queries.insert_bucket, self._d.rows.bucket_params(bucket))
                for name, document in settings:
                    c.execute(self._d.queries.upsert_setting, (bucket.name, name, document))
        except self._d.unique_violation:
            raise BucketExists(bucket.name) from None

    def get_bucket(self, name: str) -> Bucket | None:
        if not self._d.storable(name):
            return None
        row = self._fetchone(self._d.queries.get_bucket, (name,))
        return None if row is None else self._d.rows.bucket(row)

    def list_buckets(self) -> list[Bucket]:
        with self._read() as c:
            rows = c.execute(self._d.queries.list_buckets).fetchall()
        return [self._d.rows.bucket(r) for r in rows]

    def delete_bucket(self, name: str) -> list[str]:
        """Delete an empty bucket, its uploads in progress (as S3 does) and its
        settings; the blob ids of those uploads' parts, the caller's to delete."""
        d = self._d
        if not d.storable(name):
            raise NoSuchBucket(name)
        in_bucket = f"(SELECT upload_id FROM uploads WHERE bucket = ?{d.for_update})"
        with self._write() as c:
            if c.execute(
                d.q(f"SELECT 1 FROM buckets WHERE name = ?{d.for_update}"), (name,)
            ).fetchone() is None:
                raise NoSuchBucket(name)
            for table in ("objects", "object_versions"):  # versions and markers count
                if c.execute(
                    d.q(f"SELECT 1 FROM {table} WHERE bucket = ? LIMIT 1"), (name,)
                ).fetchone():
                    raise BucketNotEmpty(name)
            blob_ids = [
                str(b) for (b,) in c.execute(
                    d.q(f"SELECT blob_id FROM parts WHERE upload_id IN {in_bucket}"), (name,)
                ).fetchall()
            ]
            c.execute(d.q(f"DELETE FROM parts WHERE upload_id IN {in_bucket}"), (name,))
            c.execute(d.q("DELETE FROM uploads WHERE bucket = ?"), (name,))
            # ON DELETE CASCADE would do it too; explicit, so no setting can
            # outlive its bucket even on a connection without foreign keys.
            c.execute(d.q("DELETE FROM bucket_settings WHERE bucket = ?"), (name,))
            c.execute(d.q("DELETE FROM buckets WHERE name = ?"), (name,))
        return blob_ids

    # -- objects -----------------------------------------------------------
    def list_objects(
        self, bucket: str, *, prefix: str = "", after: str = "", limit: int = 1000
    ) -> list[ObjectRecord]:
        d = self._d
        if limit <= 0 or not d.storable(prefix, bucket):
            return []  # no stored key contains U+0000, so none has that prefix
        sql, params = d.queries.objects_page(
            bucket, prefix=prefix, after=d.bound(after), limit=limit
        )
        with self._read() as c:
            rows = c.execute(sql, params).fetchall()
        return [d.rows.object(r) for r in rows]

    def set_object_tags(self, bucket: str, key: str, tags: tuple[tuple[str, str], ...]) -> bool:
        if not self._d.storable(bucket, key):
            return False
        with self._write() as c:
            cur = c.execute(self._d.queries.set_tags, (tags_json(tags), bucket, key))
            return bool(cur.rowcount > 0)

    # -- multipart uploads -------------------------------------------------
    def create_upload(self, upload: Upload) -> None:
        u = upload
        self._storable(u.upload_id, u.bucket, u.key)
        try:
            with self._write() as c:
                if not self._bucket_exists(c, u.bucket):
                    raise NoSuchBucket(u.bucket)
                c.execute(self._d.queries.insert_upload, self._d.rows.upload_params(u))
        except self._d.foreign_key_violation:  # the bucket went meanwhile
            raise NoSuchBucket(u.bucket) from None

    def get_upload(self, upload_id: str) -> Upload | None:
        if not self._d.storable(upload_id):
            return None
        row = self._fetchone(self._d.queries.get_upload, (upload_id,))
        return None if row is None else self._d.rows.upload(row)

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
        d = self._d
        if limit <= 0 or not d.storable(prefix, bucket):
            return []
        if not d.storable(key_marker):
            # No upload has that key: only later keys follow it.
            key_marker, upload_id_marker = d.bound(key_marker), ""
        # A marker upload id that cannot be stored names no upload: "greater ids".
        missing_marker = not d.storable(upload_id_marker)
        upload_id_marker = d.bound(upload_id_marker)
        with self._read() as c:
            id_marker = None
            if key_marker and (upload_id_marker or missing_marker):
                row = None if missing_marker else c.execute(
                    d.queries.marker_initiated, (upload_id_marker, bucket, key_marker)
                ).fetchone()
                id_marker = (upload_id_marker, None if row is None else row[0])
            sql, params = d.queries.uploads_page(
                bucket, prefix=prefix, key_marker=key_marker, id_marker=id_marker, limit=limit
            )
            rows = c.execute(sql, params).fetchall()
        return [d.rows.upload(r) for r in rows]

    def list_parts(self, upload_id: str, *, after: int = 0, limit: int = 10000) -> list[Part]:
        if limit <= 0 or not self._d.storable(upload_id):
            return []
        with self._read() as c:
            rows = c.execute(self._d.queries.list_parts, (upload_id, after, limit)).fetchall()
        return [self._d.rows.part(r) for r in rows]

    def _remove_upload(self, c: Any, upload_id: str) -> tuple[Upload, list[Part]]:
        d = self._d
        if not d.storable(upload_id):
            raise NoSuchUpload(upload_id)
        # Lock the upload before reading its parts: a put_part in flight
        # commits first (and its part is returned) or finds no upload.
        row = c.execute(d.queries.get_upload + d.for_update, (upload_id,)).fetchone()
        if row is None:
            raise NoSuchUpload(upload_id)
        parts = c.execute(
            d.q(f"SELECT {PART_COLS} FROM parts WHERE upload_id = ? ORDER BY part_number"),
            (upload_id,),
        ).fetchall()
        c.execute(d.q("DELETE FROM parts WHERE upload_id = ?"), (upload_id,))
        c.execute(d.q("DELETE FROM uploads WHERE upload_id = ?"), (upload_id,))
        return d.rows.upload(row), [d.rows.part(p) for p in parts]

    def complete_upload(
        self, upload_id: str, obj: ObjectRecord, check: WriteCheck | None = None
    ) -> tuple[ObjectRecord | None, list[Part]]:
        params = self._object_params(obj)
        with self._write() as c:
            upload, parts = self._remove_upload(c, upload_id)
            check_completes(upload_id, upload, obj)
            # The bucket exists: delete_bucket refuses while uploads exist.
            # A refused check rolls the upload's removal back with it.
            old = self._replace_object(c, params, check)
        return (None if old is None else self._d.rows.object(old)), parts

    def abort_upload(self, upload_id: str) -> list[Part]:
        with self._write() as c:
            _, parts = self._remove_upload(c, upload_id)
        return parts

    # -- bucket settings ---------------------------------------------------
    def put_bucket_setting(self, bucket: str, name: str, document: str) -> None:
        self._storable(bucket, name, document)
        try:
            with self._write() as c:
                if not self._bucket_exists(c, bucket):
                    raise NoSuchBucket(bucket)
                c.execute(self._d.queries.upsert_setting, (bucket, name, document))
        except self._d.foreign_key_violation:  # the bucket went meanwhile
            raise NoSuchBucket(bucket) from None

    def get_bucket_setting(self, bucket: str, name: str) -> str | None:
        if not self._d.storable(bucket, name):
            return None
        row = self._fetchone(self._d.queries.get_setting, (bucket, name))
        return None if row is None else str(row[0])

    def delete_bucket_setting(self, bucket: str, name: str) -> bool:
        if not self._d.storable(bucket, name):
            return False
        with self._write() as c:
            return bool(c.execute(self._d.queries.delete_setting, (bucket, name)).rowcount > 0)

    def bucket_settings_named(self, name: str) -> list[tuple[str, str]]:
        with self._read() as c:
            rows = c.execute(self._d.queries.settings_named, (name,)).fetchall()
        return [(str(bucket), str(document)) for bucket, document in rows]

    # -- server settings ---------------------------------------------------
    def put_server_setting(self, name: str, document: str) -> None:
        self._storable(name, document)
        with self._write() as c:
            c.execute(self._d.queries.upsert_server_setting, (name, document))

    def add_server_setting(self, name: str, document: str) -> bool:
        self._storable(name, document)
        with self._write() as c:
            return bool(c.execute(self._d.queries.add_server_setting, (name, document)).rowcount > 0)

    def list_server_settings(self) -> list[tuple[str, str]]:
        with self._read() as c:
            rows = c.execute(self._d.queries.list_server_settings).fetchall()
        return [(str(name), str(document)) for name, document in rows]

    def get_server_setting(self, name: str) -> str | None:
        if not self._d.storable(name):
            return None
        row = self._fetchone(self._d.queries.get_server_setting, (name,))
        return None if row is None else str(row[0])

    def delete_server_setting(self, name: str) -> bool:
        if not self._d.storable(name):
            return False
        with self._write() as c:
            return bool(c.execute(self._d.queries.delete_server_setting, (name,)).rowcount > 0)
