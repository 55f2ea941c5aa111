"""Conditional requests: If-Match, If-None-Match, If-(Un)Modified-Since.

Three entry points, one per way S3 uses the headers:

``evaluate_get``
    GetObject and HeadObject. RFC 9110 §13.2.2 order, which is also what S3
    does (LocalStack ``test_s3_get_object_preconditions`` and versitygw's
    ``GetObject_conditional_reads`` table, both recorded against AWS):

    1. If-Match present and false → 412 ``PreconditionFailed``,
       ``<Condition>If-Match</Condition>``.
    2. Else If-Unmodified-Since present and false → 412,
       ``<Condition>If-Unmodified-Since</Condition>``. (So a true If-Match
       makes S3 ignore If-Unmodified-Since, as its GetObject page says.)
    3. If-None-Match present and false → 304 Not Modified.
    4. Else If-Modified-Since present and false → 304. (So an If-None-Match
       that is true makes S3 ignore If-Modified-Since.)

    A 304 is returned as a value (``True``: "not modified"), not raised: it
    is not a failure, and RFC 9110 §15.4.5 wants it to carry the ETag,
    Last-Modified, Cache-Control and Expires the 200 would have had, which
    only the GetObject handler knows. The handler answers ``True`` with 304,
    those headers and no body. A HEAD that fails with 412 gets no body
    either (the error renderer already does that for every HEAD).

``copy_source_conditions``
    CopyObject and UploadPartCopy's ``x-amz-copy-source-if-*``. Same order,
    but every failure is 412 and the condition is named after the header,
    ``x-amz-copy-source-If-None-Match`` etc. (LocalStack
    ``TestS3CopySourcePreconditions``, validated against AWS). So
    copy-source-if-match true with copy-source-if-unmodified-since false
    copies (200), and copy-source-if-none-match false with
    copy-source-if-modified-since true is 412, as the CopyObject page says.

``put_preconditions``
    The 2024 conditional writes on PutObject, CompleteMultipartUpload and
    CopyObject's destination. AWS documents ``If-None-Match: *`` and
    ``If-Match: <etag>``; the rest of RFC 9110's forms are honoured with
    their HTTP meaning rather than refused, as RGW does and ceph/s3-tests
    expect (``test_put_object_if_match``, ``test_multipart_put_object_if_match``):
    ``If-None-Match: <etag>`` fails (412) only when the current object has
    that ETag, ``If-Match: *`` holds for any current object. If-Match on a
    key with no current object (none, or a delete marker) is 404
    ``NoSuchKey``. Both headers at once stay 501 ``NotImplemented`` with
    S3's ``<Header>`` and ``<additionalMessage>`` (LocalStack
    ``TestS3ObjectWritePrecondition``, validated against AWS). The check is
    made twice: here, before the body is read, and again by the store in
    the transaction that commits (``WritePrecondition.holds``), so a
    concurrent writer cannot slip in between; S3's "Conditional write
    behavior" names the answers: 412 when the object there then fails the
    condition, 409 ``ConditionalRequestConflict`` when it was deleted
    meanwhile.

``delete_preconditions``
    The 2025 conditional deletes on DeleteObject (``If-Match``) and
    DeleteObjects (``<ETag>`` per object), in general purpose buckets too
    ("How to perform conditional deletes", S3 User Guide). ``If-Match``
    takes an ETag list or ``*``; a mismatch is 412 ``PreconditionFailed``
    and, as for PutObject's ``If-Match``, a missing key is 404 ``NoSuchKey``:
    "delete it if it is still this version" must not answer "deleted" when
    there was nothing to delete. The directory-bucket conditions
    ``x-amz-if-match-last-modified-time`` and ``x-amz-if-match-size``
    (``<LastModifiedTime>``, ``<Size>``) are honoured too rather than
    silently ignored; as their documentation says, they hold for a missing
    key (204).

Shared rules, all from those AWS-validated tests or RFC 9110:

- ETags match with or without their quotes (S3 accepts ``abc`` for
  ``"abc"``). A header may list several (``"a", "b"``) or be ``*``.
  If-Match compares strongly (a ``W/`` tag never matches, §13.1.1);
  If-None-Match weakly (``W/"abc"`` matches ``"abc"``, §13.1.2).
- Dates are compared in whole seconds, because Last-Modified is sent in
  whole seconds: If-Unmodified-Since equal to the object's Last-Modified
  holds, If-Modified-Since equal to it is 304.
- A date that is not a valid HTTP-date is ignored (§13.1.3, §13.1.4), and so
  is an If-Modified-Since later than ``now`` (§13.1.3; S3 ignores a future
  date, LocalStack ``obj-ignore-future-modified-since``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sealbox.errors import S3Error
from sealbox.http.dates import parse_http_date


@dataclass(frozen=True)
class WritePrecondition:
    """The condition a conditional write must still meet when it commits.

    ``put_preconditions`` checks it against the object as it is when the
    request arrives; the store checks it again (``holds``) in the
    transaction that commits the new object.
    """

    if_match: str | None = None  # the If-Match header: an ETag list or ``*``
    if_none_match: str | None = None  # the If-None-Match header, likewise

    @property
    def condition(self) -> str:
        return "If-Match" if self.if_match is not None else "If-None-Match"

    def holds(self, etag: str | None) -> bool:
        """Whether a write may replace the current object whose ETag is
        ``etag`` (``None``: the key has no current object)."""
        if self.if_match is not None:
            return etag is not None and _matches(self.if_match, _unquote(etag), weak=False)
        if self.if_none_match is not None and etag is not None:
            return not _matches(self.if_none_match, _unquote(etag), weak=True)
        return True

    def failure(self, key: str, *, exists: bool) -> S3Error:
        """The answer when ``holds`` was false at commit: 412, or 409 when
        the object the condition was checked against was deleted since."""
        if exists:
            return S3Error("PreconditionFailed", Condition=self.condition)
        return conditional_conflict(self.condition, key)


def evaluate_get(
    headers: Mapping[str, str],
    etag: str,
    last_modified: datetime,
    *,
    now: datetime,
) -> bool:
    """GetObject/HeadObject preconditions of ``headers`` (lower-case names).

    ``etag`` is the object's ETag with or without quotes; ``now`` is the
    request's time (a later If-Modified-Since is ignored). Returns ``True``
    when the answer is 304 Not Modified, ``False`` when the request goes on
    (200 or 206); raises ``S3Error("PreconditionFailed")`` with
    ``Condition`` for a 412.
    """
    failed = _evaluate(
        headers.get("if-match"),
        headers.get("if-none-match"),
        headers.get("if-modified-since"),
        headers.get("if-unmodified-since"),
        etag,
        last_modified,
        now,
    )
    if failed is None:
        return False
    if failed in ("If-None-Match", "If-Modified-Since"):
        return True
    raise S3Error("PreconditionFailed", Condition=failed)


_COPY_PREFIX = "x-amz-copy-source-"


def copy_source_conditions(
    headers: Mapping[str, str],
    etag: str,
    last_modified: datetime,
    *,
    now: datetime,
) -> None:
    """CopyObject/UploadPartCopy's ``x-amz-copy-source-if-*`` on the source.

    Returns if the copy may go ahead; raises ``S3Error("PreconditionFailed")``
    with ``Condition="x-amz-copy-source-If-…"`` otherwise (never 304).
    """
    failed = _evaluate(
        headers.get("x-amz-copy-source-if-match"),
        headers.get("x-amz-copy-source-if-none-match"),
        headers.get("x-amz-copy-source-if-modified-since"),
        headers.get("x-amz-copy-source-if-unmodified-since"),
        etag,
        last_modified,
        now,
    )
    if failed is not None:
        raise S3Error("PreconditionFailed", Condition=_COPY_PREFIX + failed)


def put_preconditions(
    headers: Mapping[str, str],
    existing_etag: str | None,
    *,
    key: str | None = None,
) -> WritePrecondition | None:
    """Check PutObject/CompleteMultipartUpload/CopyObject's If-Match and
    If-None-Match against the current object (``existing_etag``, ``None``
    when the key has no current object).

    Returns ``None`` for an unconditional write, else the condition the
    store must re-check at commit. Raises, as S3 does:

    - 501 ``NotImplemented`` for both headers together;
    - 412 ``PreconditionFailed`` (``Condition`` If-None-Match) when the
      current object matches If-None-Match (``*``: any object), or
      (If-Match) when its ETag is not one If-Match lists;
    - 404 ``NoSuchKey`` (with ``Key``) for If-Match on a missing key.
    """
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    if if_match is None and if_none_match is None:
        return None
    if if_match is not None and if_none_match is not None:
        raise _not_implemented(
            "If-Match,If-None-Match", "Multiple conditional request headers present in the request"
        )
    precondition = WritePrecondition(if_match=if_match, if_none_match=if_none_match)
    if if_match is not None and existing_etag is None:
        if key is None:
            raise S3Error("NoSuchKey")
        raise S3Error("NoSuchKey", Key=key)
    if not precondition.holds(existing_etag):
        raise S3Error("PreconditionFailed", Condition=precondition.condition)
    return precondition


@dataclass(frozen=True)
class DeleteCondition:
    """The conditions of one conditional delete, parsed.

    ``if_match`` is the raw ``If-Match`` value (an ETag list or ``*``);
    ``last_modified`` is compared in whole seconds, as Last-Modified is sent.
    """

    if_match: str | None = None
    last_modified: datetime | None = None
    size: int | None = None

    def __bool__(self) -> bool:
        return not (self.if_match is None and self.last_modified is None and self.size is None)


def delete_preconditions(
    condition: DeleteCondition,
    existing: tuple[str, datetime, int] | None,
    *,
    key: str,
) -> S3Error | None:
    """Whether a conditional delete may go ahead.

    ``existing`` is the current object's (ETag, Last-Modified, size), or
    ``None`` when the key has no object. Returns ``None`` if the delete may
    go ahead, else the error to answer, not raised: DeleteObjects reports it
    as one ``<Error>`` entry among others.
    """
    if not condition:
        return None
    if existing is None:
        if condition.if_match is not None:
            return S3Error("NoSuchKey", Key=key)
        return None
    etag, last_modified, size = existing
    if condition.if_match is not None and not _matches(
        condition.if_match, _unquote(etag), weak=False
    ):
        return S3Error("PreconditionFailed", Condition="If-Match")
    if condition.last_modified is not None and (
        _aware(last_modified).replace(microsecond=0)
        != _aware(condition.last_modified).replace(microsecond=0)
    ):
        return S3Error("PreconditionFailed", Condition="x-amz-if-match-last-modified-time")
    if condition.size is not None and condition.size != size:
        return S3Error("PreconditionFailed", Condition="x-amz-if-match-size")
    return None


def conditional_conflict(condition: str, key: str) -> S3Error:
    """The 409 S3 sends when the object changed while a conditional write
    was under way (e.g. between CreateMultipartUpload and Complete)."""
    return S3Error("ConditionalRequestConflict", Condition=condition, Key=key)


# --- shared evaluation ----------------------------------------------------------


def _evaluate(
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    if_unmodified_since: str | None,
    etag: str,
    last_modified: datetime,
    now: datetime,
) -> str | None:
    """The name of the first condition that fails, in RFC 9110 §13.2.2
    order, or ``None`` when the request may proceed."""
    if (
        if_match is None
        and if_none_match is None
        and if_modified_since is None
        and if_unmodified_since is None
    ):
        return None
    etag = _unquote(etag)
    # Last-Modified is sent in whole seconds; compare what the client saw.
    seconds = _aware(last_modified).replace(microsecond=0)
    now = _aware(now)
    if if_match is not None:
        if not _matches(if_match, etag, weak=False):
            return "If-Match"
    elif if_unmodified_since is not None:
        date = _date(if_unmodified_since)
        if date is not None and seconds > date:
            return "If-Unmodified-Since"
    if if_none_match is not None:
        if _matches(if_none_match, etag, weak=True):
            return "If-None-Match"
    elif if_modified_since is not None:
        date = _date(if_modified_since)
        if date is not None and date <= now and seconds <= date:
            return "If-Modified-Since"
    return None


def _matches(header: str, etag: str, *, weak: bool) -> bool:
    """Whether the ETag list ``header`` (or ``*``) names ``etag``."""
    for item in header.split(","):
        tag = item.strip()
        if tag == "*":
            return True
        if tag[:2] in ("W/", "w/"):
            if not weak:
                continue
            tag = tag[2:]
        if _unquote(tag) == etag:
            return True
    return False


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _unquote(tag: str) -> str:
    if len(tag) >= 2 and tag[0] == '"' and tag[-1] == '"':
        return tag[1:-1]
    return tag


def _date(value: str) -> datetime | None:
    try:
        return parse_http_date(value)
    except ValueError:
        return None  # RFC 9110 §13.1.3/§13.1.4: an invalid date is ignored


def _not_implemented(header: str, additional: str) -> S3Error:
    # S3 spells the element ``additionalMessage``, lower-case a.
    return S3Error("NotImplemented", Header=header, additionalMessage=additional)
