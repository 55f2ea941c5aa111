"""One S3 server access log record as a line of text. Pure.

The fields, in AWS's order ("Amazon S3 server access log format", Amazon S3
User Guide), space-separated, ``-`` for none::

    bucket-owner bucket [time] remote-ip requester request-id operation key
    "request-uri" status error-code bytes-sent object-size total-time
    turn-around-time "referer" "user-agent" version-id host-id
    signature-version cipher-suite authentication-type host-header
    tls-version access-point-arn acl-required

The line is made from the request's audit event (``sealbox.server.audit``:
``EVENT_FIELDS``) and the few facts only this log has (``RequestLine``).
Text a client chose (the request line, referer, user agent, host) cannot
break the line: ``"``, ``\\`` and control characters are percent-encoded,
so every parser (GoAccess's ``AWSS3``, shlex, regexes) reads 26 fields.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote

from sealbox.auth.principal import canonical_user_id

# The index of each audit event field used here (server.audit.EVENT_FIELDS).
TIME, REQUEST_ID, OPERATION, BUCKET, KEY, PRINCIPAL, ACCESS_KEY, AUTH = range(8)
SOURCE_IP, USER_AGENT, REFERER, STATUS, ERROR_CODE = 10, 11, 12, 13, 14
BYTES_SENT, BYTES_RECEIVED, DURATION_MS = 16, 17, 18

# sealbox's operation -> AWS's log operation (REST.<method>.<resource type>).
OPERATIONS: dict[str, str] = {
    "ListBuckets": "REST.GET.SERVICE",
    "CreateBucket": "REST.PUT.BUCKET",
    "DeleteBucket": "REST.DELETE.BUCKET",
    "HeadBucket": "REST.HEAD.BUCKET",
    "GetBucketLocation": "REST.GET.LOCATION",
    "GetBucketVersioning": "REST.GET.VERSIONING",
    "GetBucketCors": "REST.GET.CORS",
    "PutBucketCors": "REST.PUT.CORS",
    "DeleteBucketCors": "REST.DELETE.CORS",
    "CorsPreflight": "REST.OPTIONS.PREFLIGHT",
    "ListObjects": "REST.GET.BUCKET",
    "ListObjectsV2": "REST.GET.BUCKET",
    "ListObjectVersions": "REST.GET.BUCKETVERSIONS",
    "ListMultipartUploads": "REST.GET.UPLOADS",
    "DeleteObjects": "REST.POST.MULTI_OBJECT_DELETE",
    "BatchDeleteObject": "BATCH.DELETE.OBJECT",  # each key a DeleteObjects removed
    "GetObject": "REST.GET.OBJECT",
    "HeadObject": "REST.HEAD.OBJECT",
    "PutObject": "REST.PUT.OBJECT",
    "PostObject": "REST.POST.OBJECT",
    "CopyObject": "REST.COPY.OBJECT",
    "DeleteObject": "REST.DELETE.OBJECT",
    "GetObjectTagging": "REST.GET.OBJECT_TAGGING",
    "PutObjectTagging": "REST.PUT.OBJECT_TAGGING",
    "DeleteObjectTagging": "REST.DELETE.OBJECT_TAGGING",
    "CreateMultipartUpload": "REST.POST.UPLOADS",
    "UploadPart": "REST.PUT.PART",
    "UploadPartCopy": "REST.COPY.PART",
    "CompleteMultipartUpload": "REST.POST.UPLOAD",
    "AbortMultipartUpload": "REST.DELETE.UPLOAD",
    "ListParts": "REST.GET.UPLOAD",
    "PutBucketPolicy": "REST.PUT.BUCKETPOLICY",
    "GetBucketPolicy": "REST.GET.BUCKETPOLICY",
    "DeleteBucketPolicy": "REST.DELETE.BUCKETPOLICY",
    "GetBucketPolicyStatus": "REST.GET.POLICY_STATUS",
    "PutPublicAccessBlock": "REST.PUT.PUBLIC_ACCESS_BLOCK",
    "GetPublicAccessBlock": "REST.GET.PUBLIC_ACCESS_BLOCK",
    "DeletePublicAccessBlock": "REST.DELETE.PUBLIC_ACCESS_BLOCK",
    "PutBucketOwnershipControls": "REST.PUT.OWNERSHIP_CONTROLS",
    "GetBucketOwnershipControls": "REST.GET.OWNERSHIP_CONTROLS",
    "DeleteBucketOwnershipControls": "REST.DELETE.OWNERSHIP_CONTROLS",
    "GetBucketAcl": "REST.GET.ACL",
    "PutBucketAcl": "REST.PUT.ACL",
    "GetObjectAcl": "REST.GET.ACL",
    "PutObjectAcl": "REST.PUT.ACL",
    "PutBucketLogging": "REST.PUT.LOGGING_STATUS",
    "GetBucketLogging": "REST.GET.LOGGING_STATUS",
}

# The audit event's Auth -> (signature version, authentication type).
AUTH_TYPES: dict[str, tuple[str, str]] = {
    "SigV4-Header": ("SigV4", "AuthHeader"),
    "SigV4-Presigned": ("SigV4", "QueryString"),
    "SigV2": ("SigV2", "AuthHeader"),
    "PostPolicy": ("SigV4", "HtmlForm"),
}
# Operations whose object size is what the client sent.
UPLOADS = frozenset({"PutObject", "PostObject", "UploadPart"})
# Controls, ``"`` and ``\\`` could end a field; ``[`` and ``]`` are read as
# quotes by some parsers (ceph/s3-tests' shlex over the time's brackets).
_UNSAFE = {c: f"%{c:02X}" for c in (*range(0x20), 0x22, 0x5B, 0x5C, 0x5D, 0x7F)}
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\[\\]\\\\\x7f]')
_KEY_SAFE = "/!$'()*+,;:@=&~"
_PLAIN_KEY = re.compile("[A-Za-z0-9_.\\-/!$'()*+,;:@=&~]+")


class RequestLine(NamedTuple):
    """What the access log says that the audit event does not (a named
    tuple: built on the request path, where a frozen dataclass costs more)."""

    method: str
    target: str  # the raw path and query, as sent
    http_version: str
    host: str | None
    tls_version: str | None
    object_size: int | None  # the object's whole size, where the request touched one
    turn_around_ms: float  # until the answer started


@lru_cache(maxsize=1024)
def owner_id(arn: str) -> str:
    """The bucket owner's canonical id: its account's (``canonical_user_id``)."""
    return canonical_user_id(arn)


def log_time(epoch: float) -> str:
    """``[06/Feb/2019:00:00:38 +0000]``."""
    return _second(int(epoch))


@lru_cache(maxsize=64)  # records come in runs of the same second
def _second(epoch: int) -> str:
    return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(epoch))


def _safe(value: str) -> str:
    """``value`` with what could break a line percent-encoded: controls,
    ``"``, ``\\``, and (as UTF-8, raw bytes kept) anything not ASCII.
    Most text needs nothing: one regex search says so."""
    if value.isascii():
        if _NEEDS_ESCAPE.search(value) is None:
            return value
        return value.translate(_UNSAFE)
    return quote(value.translate(_UNSAFE), safe=_PRINTABLE, errors="surrogateescape")


def _text(value: str | None) -> str:
    if not value:
        return "-"
    value = _safe(value)
    return value.replace(" ", "%20") if " " in value else value


def _quoted(value: str | None) -> str:
    if not value:
        return '"-"'
    return '"' + _safe(value) + '"'


def _key(key: str | None) -> str:
    """The key, URL-encoded (as S3 writes it)."""
    if not key:
        return "-"
    if _PLAIN_KEY.fullmatch(key):
        return key
    return quote(key, safe=_KEY_SAFE, errors="surrogateescape")


def render_record(event: tuple[Any, ...], line: RequestLine, owner_arn: str,
                  host_id: str) -> str:
    """One log line (no newline) from a request's audit event and its line."""
    operation = event[OPERATION] or "Unknown"
    aws_operation = OPERATIONS.get(operation) or f"REST.{line.method}.{operation.upper()}"
    signature_version, auth_type = AUTH_TYPES.get(event[AUTH], ("-", "-"))
    duration = event[DURATION_MS]
    if operation == "BatchDeleteObject":
        # S3 writes the keys a DeleteObjects removed with no request line,
        # bytes, times, referer or user agent of their own.
        return " ".join((
            owner_id(owner_arn), _text(event[BUCKET]), log_time(event[TIME]),
            _text(event[SOURCE_IP]), _text(event[PRINCIPAL]), _text(event[REQUEST_ID]),
            aws_operation, _key(event[KEY]), '"-"', "204", "-", "-", "-", "-", "-", '"-"',
            '"-"', "-", _text(host_id), signature_version, "-", auth_type, _text(line.host),
            _text(line.tls_version), "-", "-"))
    fields = (
        owner_id(owner_arn),
        _text(event[BUCKET]),
        log_time(event[TIME]),
        _text(event[SOURCE_IP]),
        _text(event[PRINCIPAL]),
        _text(event[REQUEST_ID]),
        aws_operation,
        _key(event[KEY]),
        _quoted(f"{line.method} {line.target} {line.http_version}"),
        str(event[STATUS]),
        _text(event[ERROR_CODE]),
        str(event[BYTES_SENT]) if event[BYTES_SENT] else "-",
        "-" if line.object_size is None else str(line.object_size),
        str(max(0, round(duration))),
        str(max(0, round(line.turn_around_ms))),
        _quoted(event[REFERER]),
        _quoted(event[USER_AGENT]),
        "-",  # version id: sealbox keeps no versions
        _text(host_id),
        signature_version,
        "-",  # cipher suite: the TLS layer does not tell the app
        auth_type,
        _text(line.host),
        _text(line.tls_version),
        "-",  # access point ARN: sealbox has no access points
        "-",  # ACL required: access is decided by policies, not ACLs alone
    )
    return " ".join(fields)


def object_size(operation: str, headers: list[tuple[str, str]], received: int) -> int | None:
    """The size of the object the request touched: what an upload sent, or
    what a GET or HEAD answer says (a range's ``Content-Range`` total)."""
    if operation in UPLOADS:
        return received
    if operation not in ("GetObject", "HeadObject"):
        return None
    length = None
    for name, value in headers:
        if name == "content-range":
            total = value.rpartition("/")[2]
            return int(total) if total.isdigit() else None
        if name == "content-length" and value.isdigit():
            length = int(value)
    return length
