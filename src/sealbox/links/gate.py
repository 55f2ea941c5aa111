"""The links' check on the request path, after the signature and the access
decision (``server/asgi.py``, ``edge/serve.py``), on every request: the
presigned-signature cache (``auth/sigv4/presign``) sits before it, so a
cached verdict never skips it.

Cost on a plain presigned GET: the revoked set is read once per access
version (a trigger on ``revocations`` moves it, so every node sees a new
revocation on its next request) and kept in memory; with no revocations a
request pays a tuple compare and a dict lookup, with some one SHA-256 of
its signature and a set lookup.

A managed link's terms are immutable, so an unlimited link's are kept by
id once read, and its requests are judged in memory. Every other link
(one with a use limit, or one not yet held) is judged where its use is
counted: ``check_s3`` hands back a ``LinkRequest`` and ``admit`` sends it
to ``links.uses``, whose batch reads the terms inside its write
transaction, judges, and counts a use only of an admitted request, all
committed before the answer starts. So a one-time GET opens no read
transaction of its own, and the use limit and the terms are judged on
the same row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from sealbox.auth.principal import AuthResult
from sealbox.errors import S3Error
from sealbox.links import model
from sealbox.links.model import LinkRecord
from sealbox.links.terms import LinkRequest, LinkTerms, refusal
from sealbox.links.uses import UseBatches

_HELD_MAX = 10_000  # unlimited links' terms kept; all dropped when full


def refuse(reason: str) -> S3Error:
    """A refused link: 403 AccessDenied with the reason as its message."""
    return S3Error("AccessDenied", reason)


class LinkStore(Protocol):
    """What the gate reads itself (``links.store.LinkSqlMethods``; links'
    terms it reads through ``links.uses``)."""

    def revoked_fingerprints(self, now: int) -> frozenset[str]: ...


class LinkGate:
    """Revoked signatures and unlimited links' terms of one process, over a
    MetaStore with the links' methods (``links.store.LinkSqlMethods``)."""

    def __init__(self, meta: object, now: Callable[[], int]) -> None:
        self._meta: LinkStore = meta  # type: ignore[assignment]
        self._now = now
        self._revoked: tuple[int, frozenset[str]] = (-1, frozenset())
        self._held: dict[str, LinkTerms] = {}  # unlimited links' terms, by id

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
    def check_s3(self, auth: AuthResult, query: Mapping[str, str], headers: Mapping[str, str],
                 client_ip: str, operation: str, bucket: str | None, key: str | None,
                 version: int) -> LinkTerms | LinkRequest | None:
        """Judge a request that passed authentication and access, as far as
        memory allows: refused (``S3Error`` AccessDenied naming the reason)
        if its signature is revoked or it breaks the terms of an unlimited
        link held here, and then those terms; for any other managed link,
        the ``LinkRequest`` that ``admit`` judges with the link's use; None
        when the request came with no managed link."""
        if auth.auth_type != "REST-QUERY-STRING":
            return None  # only URLs are links; a signed header is made per request
        self.check_revoked(auth.signature, version)
        link_id = query.get(model.LINK_PARAMETER)
        if link_id is None:
            return None
        access_key = auth.principal.access_key
        terms = self._held.get(link_id)
        if terms is None:
            if not model.is_link_id(link_id):
                raise refuse(model.UNKNOWN_LINK)
            return LinkRequest(link_id, access_key, operation, bucket, key,
                               query.get("versionId"), client_ip, headers)
        refused = refusal(terms, access_key, operation, bucket, key, query.get("versionId"),
                          client_ip, headers)
        if refused is not None:
            raise refuse(refused)
        return terms

    async def admit(self, request: LinkRequest, batches: UseBatches) -> LinkTerms:
        """Judge ``request`` by its link's terms as stored, and count its use
        if the link has a limit, in ``batches`` (committed when this
        returns); the terms, or ``refuse`` with the reason (the terms',
        or ``USED_UP``). An unlimited link's terms are held from then on."""
        terms, refused = await batches.use(request)
        if refused is not None:
            raise refuse(refused)
        assert terms is not None  # admitted: its row was read
        if terms.max_uses is None:
            held = self._held
            if len(held) >= _HELD_MAX:
                held.clear()
            held[request.link_id] = terms
        return terms

    def judge(self, auth: AuthResult, query: Mapping[str, str], headers: Mapping[str, str],
              client_ip: str, operation: str, bucket: str | None, key: str | None,
              version: int, record: LinkRecord | None) -> None:
        """``check_s3`` without counting a use (the signature doctor's): a
        link not held here is judged against ``record``, as the caller read
        it from the store (None: no such link). The use limit is not judged:
        the doctor compares the record's uses with its limit itself."""
        found = self.check_s3(auth, query, headers, client_ip, operation, bucket, key, version)
        if isinstance(found, LinkRequest):
            if record is None:
                raise refuse(model.UNKNOWN_LINK)
            refused = refusal(LinkTerms.of(record), *found[1:])
            if refused is not None:
                raise refuse(refused)
