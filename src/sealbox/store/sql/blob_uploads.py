"""The S3 blob backend's multipart uploads under way (``blob_uploads``),
written once for SQLite and PostgreSQL: a mixin of both MetaStores
(``self._d`` the dialect, ``self._write()`` one transaction, ``self._read()``
a read).

A row is written before an upload's first part leaves (store/s3blobs.py)
and deleted once it completes or is aborted. A node killed in between
leaves its row; the sweeper (store/s3_uploads.py) aborts the upload it
names once the row is older than any upload could last. Times are epoch
seconds.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sealbox.store.sql.dialect import Dialect


@dataclass(frozen=True)
class BlobUploadRow:
    """One backend multipart upload that was under way."""

    bucket: str
    backend_key: str
    node_id: str
    started: int


class BlobUploadSqlMethods:
    """The backend's multipart uploads on a SQL MetaStore."""

    _d: Dialect

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def begin_blob_upload(self, bucket: str, backend_key: str, node_id: str,
                          started: int) -> None:
        with self._write() as c:
            c.execute(self._d.q("INSERT INTO blob_uploads (bucket, backend_key, node_id, started)"
                                " VALUES (?,?,?,?)"), (bucket, backend_key, node_id, started))

    def end_blob_upload(self, bucket: str, backend_key: str) -> None:
        with self._write() as c:
            c.execute(self._d.q("DELETE FROM blob_uploads WHERE bucket = ? AND backend_key = ?"),
                      (bucket, backend_key))

    def stale_blob_uploads(self, bucket: str, started_before: int,
                           limit: int) -> list[BlobUploadRow]:
        """The oldest ``limit`` rows of ``bucket`` begun before ``started_before``."""
        with self._read() as c:
            rows = c.execute(self._d.q(
                "SELECT bucket, backend_key, node_id, started FROM blob_uploads "
                "WHERE bucket = ? AND started < ? ORDER BY started LIMIT ?"),
                (bucket, started_before, limit)).fetchall()
        return [BlobUploadRow(r[0], r[1], r[2], int(r[3])) for r in rows]
