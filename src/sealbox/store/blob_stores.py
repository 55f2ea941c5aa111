"""The BlobStore a ``--blob-store`` location names (store.blob_location)."""

from __future__ import annotations

from sealbox.store.blob_location import LocalLocation, S3Location
from sealbox.store.blobs import BlobStore


def open_blob_store(location: LocalLocation | S3Location) -> BlobStore:
    """Local files, or the S3 bucket (its client imported only then)."""
    if isinstance(location, S3Location):
        from sealbox.store.s3blobs import S3BlobStore

        return S3BlobStore(location)
    from sealbox.store.localfs import LocalBlobStore

    return LocalBlobStore(str(location.root))
