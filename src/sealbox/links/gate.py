"""The links' check on the request path, after the signature and the access
decision (``server/asgi.py``, ``edge/serve.py``), on every request: the
presigned-signature cache (``auth/sigv4/presign``) sits before it, so a
cached verdict never skips it.

Cost on a plain presigned GET: the revoked set is read once per access
version (a trigger on ``revocations`` moves it, so every node sees a new
revocation on its next request) and kept in memory; with no revocations a
request pays a tuple compare and a dict lookup, with some one SHA-256 of
its signature and a set lookup. A managed link's record is immutable but
for its use count, so it is read once and kept by id; only a link with a
use limit goes to the store per request (``use``, a conditional UPDATE,
committed before the answer starts, in a batch with the uses that arrive
together: ``links.uses``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from sealbox.auth.principal import AuthResult
from sealbox.errors import S3Error
from sealbox.links import model
from sealbox.links.model import LinkRecord
from sealbox.links.uses import UseBatches

_RECORDS_MAX = 10_000


def refuse(reason: str) -> S3Error:
    """A refused link: 403 AccessDenied with the reason as its message."""
    return S3Error("AccessDenied", reason)


class LinkStore(Protocol):
    """What the gate reads and writes (``links.store.LinkSqlMethods``)."""

    def revoked_fingerprints(self, now: int) -> frozenset[str]: ...

    def get_link(self, link_id: str) -> LinkRecord | None: ...



class LinkGate:
    """Revoked signatures and managed-link records of one process, over a
    MetaStore with the links' methods (``links.store.LinkSqlMethods``)."""

    def __init__(self, meta: object, now: Callable[[], int]) -> None:
        self._meta: LinkStore = meta  # type: ignore[assignment]
        self._now = now
        self._revoked: tuple[int, frozenset[str]] = (-1, frozenset())
        self._records: dict[str, LinkRecord] = {}

    # -- revocations -------------------------------------------------------
    def revoked(self, version: int) -> frozenset[str]:
        """Fingerprints refused now, as of access version ``version``. Read
        after the version, so the set is at least as new as its tag. A
        revocation past its time may linger until the version moves: its
        link has expired by then, so that refuses nothing valid."""
        cached = self._revoked
        if cached[0] == version:
            return cached[1]
        found = self._meta.revoked_fingerprints(self._now())
        self._revoked = (version, found)
        return found

    def check_revoked(self, signature: str | None, version: int) -> None:
        """``refuse(REVOKED)`` when ``signature`` has been revoked."""
        revoked = self.revoked(version)
        if revoked and signature and model.fingerprint(signature) in revoked:
            raise refuse(model.REVOKED)

    # -- managed links -----------------------------------------------------
    def record(self, link_id: str) -> LinkRecord | None:
        """A link's record (its use count as first read), kept by id."""
        found = self._records.get(link_id)
        if found is not None:
            return found
        if not model.is_link_id(link_id):
            return None
        found = self._meta.get_link(link_id)
        if found is not None:
            if len(self._records) >= _RECORDS_MAX:
                self._records.clear()
            self._records[link_id] = found
        return found

    def check_s3(self, auth: AuthResult, query: Mapping[str, str], headers: Mapping[str, str],
                 client_ip: str, operation: str, bucket: str | None, key: str | None,
                 version: int) -> LinkRecord | None:
        """Judge a request that passed authentication and access: refused
        (``S3Error`` AccessDenied naming the reason) if its signature is
        revoked or it breaks its managed link's terms; the link's record
        when it has one (the caller counts the use: ``use``)."""
        if auth.auth_type != "REST-QUERY-STRING":
            return None  # only URLs are links; a signed header is made per request
        self.check_revoked(auth.signature, version)
        link_id = query.get(model.LINK_PARAMETER)
        if link_id is None:
            return None
        record = self.record(link_id)
        if record is None:
            raise refuse(model.UNKNOWN_LINK)
        if auth.principal.access_key != record.access_key:
            raise refuse(model.WRONG_SIGNER)
        if operation != record.operation or bucket != record.bucket or key != record.key:
            raise refuse(model.WRONG_OPERATION)
        if query.get("versionId") != record.version_id:
            # A link to one version reads no other; a link to the key reads
            # its current version only, never an older one by name.
            raise refuse(model.WRONG_VERSION)
        if not model.address_in(client_ip, record.bind):
            raise refuse(model.WRONG_ADDRESS)
        if record.method == "PUT":
            _check_upload(record, headers)
        return record

    async def use(self, record: LinkRecord, batches: UseBatches) -> None:
        """Count one use of a link with a limit, committed when this returns
        (in ``batches``, with the uses that arrive together);
        ``refuse(USED_UP)`` when none is left."""
        if record.max_uses is None:
            return
        if not await batches.use(record.link_id):
            raise refuse(model.USED_UP)


def _check_upload(record: LinkRecord, headers: Mapping[str, str]) -> None:
    if record.content_type is not None:
        sent = headers.get("content-type", "")
        if sent.split(";", 1)[0].strip().lower() != record.content_type.split(";", 1)[0].lower():
            raise refuse(model.WRONG_CONTENT_TYPE.format(expected=record.content_type))
    if record.max_size is not None:
        # aws-chunked bodies declare their decoded size apart from the framing.
        declared = headers.get("x-amz-decoded-content-length", headers.get("content-length"))
        if declared is None:
            raise refuse(model.NO_LENGTH)
        try:
            size = int(declared)
        except ValueError:
            raise refuse(model.NO_LENGTH) from None
        if size > record.max_size:
            raise refuse(model.TOO_LARGE.format(max_size=record.max_size))
