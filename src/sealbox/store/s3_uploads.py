"""The S3 blob backend's multipart uploads that a killed node left
incomplete: found through the metadata store's ``blob_uploads`` rows and
aborted.

An incomplete multipart upload is no object (a listing does not show it)
but its parts fill the backend's disk until someone aborts it. obstore, our
client, neither names an upload's id nor lists or aborts uploads by id
(0.12: its writer aborts only its own upload, in the process that began
it). So the writer records the backend key before the first part leaves
(store/s3blobs.py), and the sweeper, for a row older than any upload could
last, asks the backend for the uploads under that exact key
(ListMultipartUploads, ``prefix`` = the key: one short answer, never a
listing of the bucket) and aborts each (AbortMultipartUpload), then drops
the row. These two requests are signed here with ``auth.sigv4``'s pure
signer; without static credentials (an instance role) they cannot be, and
the bucket's lifecycle rule ``AbortIncompleteMultipartUpload`` stays the
only cleanup (the README says so).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sealbox.auth.principal import Credential, Principal
from sealbox.auth.sigv4 import canonical
from sealbox.auth.sigv4.presign import sign_headers
from sealbox.store.blob_location import S3Location
from sealbox.store.blobs import BackendFailure, BlobBackendError
from sealbox.store.sql.blob_uploads import BlobUploadRow

log = logging.getLogger("sealbox.blobs")
TIMEOUT_SECONDS = 30.0
MAX_ANSWER = 1024 * 1024  # a listing of the uploads under one key is a few hundred bytes
STALE_BATCH = 100  # rows looked at per sweep


class UploadLedger(Protocol):
    """Where the uploads under way are recorded: the MetaStore
    (store/sql/blob_uploads.py)."""

    def begin_blob_upload(self, bucket: str, backend_key: str, node_id: str,
                          started: int) -> None: ...

    def end_blob_upload(self, bucket: str, backend_key: str) -> None: ...

    def stale_blob_uploads(self, bucket: str, started_before: int,
                           limit: int) -> list[BlobUploadRow]: ...


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


@dataclass(frozen=True)
class BackendUpload:
    key: str
    upload_id: str


class UploadRequests:
    """Signed ListMultipartUploads and AbortMultipartUpload on the bucket
    ``location`` names (path-style, as every S3-compatible cluster takes)."""

    def __init__(self, location: S3Location) -> None:
        self._location = location
        endpoint = location.endpoint or f"https://s3.{location.region}.amazonaws.com"
        self._base = f"{endpoint}/{location.bucket}"
        self._credential = Credential(location.access_key_id, location.secret_access_key,
                                      Principal("service", "blob-backend", ""))

    @property
    def can_sign(self) -> bool:
        return bool(self._location.access_key_id)

    def uploads_under(self, key: str) -> list[BackendUpload]:
        """The incomplete multipart uploads whose key starts with ``key``."""
        query = "prefix=" + canonical.uri_encode(key.encode(), encode_slash=True) + "&uploads="
        answer = self._send("GET", f"{self._base}?{query}")
        try:
            root = ET.fromstring(answer)
        except ET.ParseError as error:
            raise BlobBackendError("failed", f"ListMultipartUploads: {error}") from None
        found = []
        # By local name: S3 answers in its 2006-03-01 namespace, and some
        # compatible clusters in none.
        for upload in root.iter():
            if _local(upload.tag) != "Upload":
                continue
            fields = {_local(child.tag): (child.text or "") for child in upload}
            if fields.get("Key") and fields.get("UploadId"):
                found.append(BackendUpload(fields["Key"], fields["UploadId"]))
        return found

    def abort(self, upload: BackendUpload) -> None:
        """AbortMultipartUpload; an upload already gone is no error."""
        path = canonical.uri_encode(upload.key.encode(), encode_slash=False)
        upload_id = canonical.uri_encode(upload.upload_id.encode(), encode_slash=True)
        try:
            self._send("DELETE", f"{self._base}/{path}?uploadId={upload_id}")
        except BlobBackendError as error:
            if "NoSuchUpload" not in str(error):
                raise

    def _send(self, method: str, url: str) -> bytes:
        headers = sign_headers(method, url, {}, self._credential, self._location.region,
                               datetime.now(UTC), canonical.EMPTY_SHA256)
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                return bytes(answer.read(MAX_ANSWER))
        except urllib.error.HTTPError as error:
            said = error.read(4096).decode(errors="replace")
            code = said.partition("<Code>")[2].partition("</Code>")[0] or str(error.code)
            kind: BackendFailure = "busy" if error.code == 503 else (
                "refused" if error.code in (401, 403) else "failed")
            raise BlobBackendError(kind, f"{method} {code}") from None
        except OSError as error:
            raise BlobBackendError("unreachable", f"{method}: {error}") from None


def abort_stale_uploads(ledger: UploadLedger, requests: UploadRequests, bucket: str,
                        started_before: int) -> int:
    """Abort the backend uploads of rows older than ``started_before`` and
    drop the rows; how many uploads were aborted. A row stays when its
    backend could not be asked (tried again at the next sweep)."""
    if not requests.can_sign:
        return 0
    aborted = 0
    rows: Sequence[BlobUploadRow] = ledger.stale_blob_uploads(bucket, started_before,
                                                              STALE_BATCH)
    for row in rows:
        try:
            for upload in requests.uploads_under(row.backend_key):
                if upload.key == row.backend_key:
                    requests.abort(upload)
                    aborted += 1
        except BlobBackendError as error:
            log.info("sweep: the upload of %s left by %s is not aborted yet: %s",
                     row.backend_key, row.node_id or "a node", error)
            continue
        ledger.end_blob_upload(bucket, row.backend_key)
    return aborted
