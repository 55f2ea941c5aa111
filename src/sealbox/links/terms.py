"""A managed link's terms, what a request brings to them, and the judgement
of one against the other: the one place it is written, used by the gate
on its cached unlimited links, by the use's write transaction on every
other link (``links.store.LinkSqlMethods.admit_links``), and by the
signature doctor. Pure: no I/O, no clock.

``LinkTerms`` and ``LinkRequest`` are named tuples, not frozen dataclasses:
a one-time GET builds one of each (its terms are read from the row in the
use's transaction), and a tuple is built for a tenth of what a frozen
dataclass costs (its ``__init__`` sets each field through
``object.__setattr__``). Both are as immutable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sealbox.links import model

# The columns of ``links`` that ``LinkTerms`` is read from, in its order.
TERMS_COLUMNS = ("access_key, method, bucket, key, version_id, bind, content_type, max_size, "
                 "max_uses")


class LinkTerms(NamedTuple):
    """What a request is judged against: the immutable part of a link's
    record, less what only listing shows (note, dates, fingerprint)."""

    access_key: str  # the signer's access key id
    method: str  # GET, HEAD or PUT
    bucket: str
    key: str
    version_id: str | None  # the one version a GET/HEAD link reads
    bind: tuple[str, ...]  # CIDRs; empty: anywhere
    content_type: str | None  # PUT: the Content-Type the upload must send
    max_size: int | None  # PUT: the most bytes the body may have
    max_uses: int | None  # None: unlimited

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> LinkTerms:
        """Terms from a row of ``TERMS_COLUMNS`` (``bind`` stored comma-joined)."""
        # Integers come back as int from both databases (INTEGER, BIGINT).
        bind = row[5]
        return tuple.__new__(cls, (row[0], row[1], row[2], row[3], row[4],
                                   tuple(bind.split(",")) if bind else (), row[6], row[7],
                                   row[8]))

    @classmethod
    def of(cls, record: model.LinkRecord) -> LinkTerms:
        """The terms of a whole record (the doctor's, read from the store)."""
        return cls(record.access_key, record.method, record.bucket, record.key,
                   record.version_id, record.bind, record.content_type, record.max_size,
                   record.max_uses)


class LinkRequest(NamedTuple):
    """What a request that passed authentication and access brings to its
    managed link's terms."""

    link_id: str
    access_key: str | None  # who signed it
    operation: str  # the S3 operation it routes to
    bucket: str | None
    key: str | None
    version_id: str | None  # the versionId it names
    client_ip: str
    headers: Mapping[str, str]  # a PUT's Content-Type and length


# What a request learns from the transaction that judges it: its link's
# terms (None: no such link) and the refusal (None: admitted, its use, if
# the link counts them, committed).
Verdict = tuple[LinkTerms | None, str | None]


def refusal(terms: LinkTerms, access_key: str | None, operation: str, bucket: str | None,
            key: str | None, version_id: str | None, client_ip: str,
            headers: Mapping[str, str]) -> str | None:
    """Why the terms refuse the request (a refusal of ``links.model``, word
    for word), or None when they admit it. The use limit is the store's to
    judge (a conditional UPDATE), after these."""
    if access_key != terms.access_key:
        return model.WRONG_SIGNER
    if (operation != model.OPERATIONS[terms.method] or bucket != terms.bucket
            or key != terms.key):
        return model.WRONG_OPERATION
    if version_id != terms.version_id:
        # A link to one version reads no other; a link to the key reads
        # its current version only, never an older one by name.
        return model.WRONG_VERSION
    if terms.bind and not model.address_in(client_ip, terms.bind):
        return model.WRONG_ADDRESS
    if terms.method == "PUT":
        return _upload_refusal(terms, headers)
    return None


def request_refusal(terms: LinkTerms, asked: LinkRequest) -> str | None:
    """``refusal`` of a request as the use's batch holds it."""
    return refusal(terms, asked.access_key, asked.operation, asked.bucket, asked.key,
                   asked.version_id, asked.client_ip, asked.headers)


def _upload_refusal(terms: LinkTerms, headers: Mapping[str, str]) -> str | None:
    if terms.content_type is not None:
        sent = headers.get("content-type", "")
        if sent.split(";", 1)[0].strip().lower() != terms.content_type.split(";", 1)[0].lower():
            return model.WRONG_CONTENT_TYPE.format(expected=terms.content_type)
    if terms.max_size is not None:
        # aws-chunked bodies declare their decoded size apart from the framing.
        declared = headers.get("x-amz-decoded-content-length", headers.get("content-length"))
        if declared is None:
            return model.NO_LENGTH
        try:
            size = int(declared)
        except ValueError:
            return model.NO_LENGTH
        if size > terms.max_size:
            return model.TOO_LARGE.format(max_size=terms.max_size)
    return None
