"""Object lock on buckets and on writes: Put/GetObjectLockConfiguration, and
the lock a new version gets (``x-amz-object-lock-*`` on PutObject, a POST
form, CopyObject and CreateMultipartUpload, else the bucket's default
retention).

A bucket has object lock when it holds the setting ``object-lock`` (a JSON
``LockConfiguration``): made by CreateBucket with
``x-amz-bucket-object-lock-enabled: true`` (versioning then Enabled), or by
PutObjectLockConfiguration on a bucket whose versioning is Enabled (S3
allows that since 2023; ceph/s3-tests
``test_object_lock_put_obj_lock_enable_after_create``). It is never
removed, and versioning cannot be suspended while it is there
(``versioning.put_bucket_versioning``). The versions' own retention and
legal hold live with each version in the store, which enforces them
(``sealbox.store.retention``); ``retention.py`` serves them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sealbox.access.actions import resource_arn
from sealbox.api.common.context import Context, decide
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.versioning import ENABLED, LOCK_SETTING, bucket_state
from sealbox.api.s3.versioning import SETTING as VERSIONING_SETTING
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.auth.sigv4.checksum import (
    ALGORITHMS,
    HEADER_PREFIX,
    SDK_ALGORITHM_HEADER,
    content_md5,
    mismatch,
    request_checksum,
)
from sealbox.errors import S3Error
from sealbox.http.dates import parse_iso8601
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NoSuchBucket, ObjectRecord
from sealbox.store.retention import MODES

SETTING = LOCK_SETTING
MAX_BODY = 64 * 1024
# S3's limits on a default retention (PutObjectLockConfiguration reference).
MAX_DAYS, MAX_YEARS = 36500, 100
MODE_HEADER = "x-amz-object-lock-mode"
UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
LOCK_FIELDS = (MODE_HEADER, UNTIL_HEADER, HOLD_HEADER)
BYPASS_HEADER = "x-amz-bypass-governance-retention"
MISSING_CONFIGURATION = "Bucket is missing Object Lock Configuration"
INTEGRITY_REQUIRED = ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                      "requests with Object Lock parameters")
NOT_IN_FUTURE = "The retain until date must be in the future!"
# S3's words when object lock refuses a delete or a retention change (403).
LOCKED = "Access Denied because object protected by object lock."


@dataclass(frozen=True)
class LockConfiguration:
    """A bucket's object lock: enabled, with a default retention or none
    (``mode`` with ``days`` or ``years``)."""

    mode: str | None = None
    days: int | None = None
    years: int | None = None

    def to_json(self) -> str:
        rule = {} if self.mode is None else {"Mode": self.mode, "Days": self.days,
                                             "Years": self.years}
        return json.dumps({k: v for k, v in rule.items() if v is not None})

    @classmethod
    def from_json(cls, text: str) -> LockConfiguration:
        doc = json.loads(text)
        return cls(doc.get("Mode"), doc.get("Days"), doc.get("Years"))

    def default_until(self, now: datetime) -> datetime | None:
        """The retain-until date the default retention gives a version made
        at ``now`` (a year is 365 days, as S3 counts it), or None."""
        if self.mode is None:
            return None
        days = self.days if self.days is not None else 365 * (self.years or 0)
        return now + timedelta(days=days)


@dataclass(frozen=True)
class VersionLock:
    """The retention and legal hold a new version gets."""

    mode: str | None = None
    until: datetime | None = None
    legal_hold: bool | None = None


NO_LOCK = VersionLock()


async def bucket_lock(ctx: Context, bucket: str) -> LockConfiguration | None:
    """The bucket's object lock configuration; None without object lock."""
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, bucket, SETTING)
    return None if document is None else LockConfiguration.from_json(document)


async def require_lock(ctx: Context) -> LockConfiguration:
    """The bucket's configuration, or what S3 answers a retention or legal
    hold request on a bucket without object lock (400 InvalidRequest)."""
    conf = await bucket_lock(ctx, ctx.bucket)
    if conf is None:
        await require_bucket(ctx)
        raise S3Error("InvalidRequest", MISSING_CONFIGURATION)
    return conf


def bypass_requested(headers: Mapping[str, str]) -> bool:
    return headers.get(BYPASS_HEADER, "").strip().lower() == "true"


async def may_bypass(ctx: Context, key: str, operation: str) -> bool:
    """Whether the request lifts GOVERNANCE retention on ``key``: it sets
    ``x-amz-bypass-governance-retention: true`` and its principal is
    allowed ``s3:BypassGovernanceRetention`` on the object. Asked only once
    a version turned out to be locked, so other requests pay nothing."""
    if not bypass_requested(ctx.request.headers):
        return False
    decision = await decide(ctx.services, ctx.request, ctx.auth, "s3:BypassGovernanceRetention",
                            resource_arn("object", ctx.bucket, key), bucket=ctx.bucket, key=key,
                            operation=operation)
    return decision.allowed


# -- integrity ---------------------------------------------------------------


def declares_integrity(headers: Mapping[str, str]) -> bool:
    """Whether a request carries Content-MD5 or an additional checksum (in a
    header or announced as a trailer), as S3 requires of writes that set
    object lock."""
    if "content-md5" in headers or SDK_ALGORITHM_HEADER in headers:
        return True
    if any(algorithm.header in headers for algorithm in ALGORITHMS.values()):
        return True
    return HEADER_PREFIX in headers.get("x-amz-trailer", "").lower()


def checked_body(headers: Mapping[str, str], body: bytes) -> bytes:
    """A small XML body that S3 requires to come with Content-MD5 or a
    checksum (PutObjectLockConfiguration, PutObjectRetention,
    PutObjectLegalHold): refused without one, or when it does not match."""
    if not declares_integrity(headers):
        raise S3Error("InvalidRequest", INTEGRITY_REQUIRED)
    expected = content_md5(headers.get("content-md5"))
    if expected is not None and not hmac.compare_digest(hashlib.md5(body).digest(), expected):
        raise S3Error("BadDigest")
    claim = request_checksum(headers)
    if claim is not None and claim.expected is not None:
        hasher = claim.algorithm.new()
        hasher.update(body)
        if not hmac.compare_digest(hasher.digest(), claim.expected):
            raise mismatch(claim.algorithm)
    return body


# -- the lock of a new version -------------------------------------------------------


def requested_lock(fields: Mapping[str, str], now: datetime) -> VersionLock | None:
    """The lock a write asks for in its ``x-amz-object-lock-*`` headers (or
    a POST form's fields of those names); None when it names none. The
    answers are S3's (InvalidArgument, with its wording)."""
    mode, until_text, hold = (fields.get(name) for name in LOCK_FIELDS)
    if mode is None and until_text is None and hold is None:
        return None
    if (mode is None) != (until_text is None):
        raise S3Error("InvalidArgument", "x-amz-object-lock-retain-until-date and "
                      "x-amz-object-lock-mode must both be supplied")
    until = None
    if mode is not None and until_text is not None:
        if mode not in MODES:
            raise S3Error("InvalidArgument", "Unknown wormMode directive.",
                          ArgumentName=MODE_HEADER, ArgumentValue=mode[:64])
        try:
            until = parse_iso8601(until_text)
        except ValueError:
            raise S3Error("InvalidArgument", "The retain until date must be provided in ISO "
                          "8601 format", ArgumentName=UNTIL_HEADER,
                          ArgumentValue=until_text[:64]) from None
        if until <= now:
            raise S3Error("InvalidArgument", NOT_IN_FUTURE, ArgumentName=UNTIL_HEADER,
                          ArgumentValue=until_text[:64])
    if hold is not None and hold not in ("ON", "OFF"):
        raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'",
                      ArgumentName=HOLD_HEADER, ArgumentValue=hold[:64])
    return VersionLock(mode, until, None if hold is None else hold == "ON")


async def lock_for_write(ctx: Context, state: str | None, now: datetime,
                         fields: Mapping[str, str] | None = None, *,
                         integrity: bool = False, default: bool = True) -> VersionLock:
    """The lock a new version written at ``now`` gets: the one its request
    asks for (``fields``: the headers, or a POST form's fields), else (with
    ``default``) the bucket's default retention. A lock asked of a bucket
    without object lock is InvalidRequest; with ``integrity``, so is one
    asked without Content-MD5 or a checksum (PutObject). Only a versioned
    bucket can have object lock, so an unversioned one costs no read."""
    asked = requested_lock(ctx.request.headers if fields is None else fields, now)
    conf = await bucket_lock(ctx, ctx.bucket) if state == ENABLED else None
    if asked is not None:
        if conf is None:
            await require_bucket(ctx)  # a missing bucket is NoSuchBucket first
            raise S3Error("InvalidRequest", MISSING_CONFIGURATION)
        if integrity and not declares_integrity(ctx.request.headers):
            raise S3Error("InvalidRequest", INTEGRITY_REQUIRED)
    return with_default(asked or NO_LOCK, conf, now) if default else asked or NO_LOCK


def with_default(lock: VersionLock, conf: LockConfiguration | None,
                 now: datetime) -> VersionLock:
    """``lock``, given the bucket's default retention when it has no mode."""
    if lock.mode is not None or conf is None or conf.mode is None:
        return lock
    return replace(lock, mode=conf.mode, until=conf.default_until(now))


# -- PutObjectLockConfiguration / GetObjectLockConfiguration -----------------------


def _period(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if not value.lstrip("-").isdigit() or len(value) > 12:
        raise S3Error("MalformedXML")
    return int(value)


def parse_lock_configuration(body: bytes) -> LockConfiguration:
    """``<ObjectLockConfiguration>`` checked as S3 checks it: ``Enabled``
    only; a rule is one DefaultRetention with a Mode and Days or Years."""
    root = parse_xml(body, "ObjectLockConfiguration", max_length=MAX_BODY)
    if find_text(root, "ObjectLockEnabled") != "Enabled":
        raise S3Error("MalformedXML")
    rules = find_all(root, "Rule")
    if not rules:
        return LockConfiguration()
    retentions = find_all(rules[0], "DefaultRetention")
    if len(rules) != 1 or len(retentions) != 1:
        raise S3Error("MalformedXML")
    retention = retentions[0]
    mode = find_text(retention, "Mode")
    days, years = _period(find_text(retention, "Days")), _period(find_text(retention, "Years"))
    if mode not in MODES or (days is None) == (years is None):
        raise S3Error("MalformedXML")
    if days is not None and not 0 < days <= MAX_DAYS:
        raise S3Error("InvalidRetentionPeriod")
    if years is not None and not 0 < years <= MAX_YEARS:
        raise S3Error("InvalidRetentionPeriod")
    return LockConfiguration(mode, days, years)


def render_lock_configuration(conf: LockConfiguration) -> bytes:
    children: list[tuple[str, object]] = [("ObjectLockEnabled", "Enabled")]
    if conf.mode is not None:
        period = ("Days", conf.days) if conf.days is not None else ("Years", conf.years)
        children.append(("Rule", [("DefaultRetention", [("Mode", conf.mode), period])]))
    return render("ObjectLockConfiguration", children)


async def put_object_lock_configuration(ctx: Context) -> Response:
    headers = ctx.request.headers
    conf = parse_lock_configuration(checked_body(headers, await ctx.request.read(MAX_BODY)))
    if await bucket_lock(ctx, ctx.bucket) is None:
        await require_bucket(ctx)
        if await bucket_state(ctx, ctx.bucket) != ENABLED:
            raise S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to "
                          "apply a Object Lock configuration")
    try:
        await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket, SETTING,
                               conf.to_json())
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(200)


async def get_object_lock_configuration(ctx: Context) -> Response:
    conf = await bucket_lock(ctx, ctx.bucket)
    if conf is None:
        await require_bucket(ctx)
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=ctx.bucket)
    return xml_response(render_lock_configuration(conf))


def enable_at_creation(headers: Mapping[str, str]) -> bool:
    """CreateBucket's ``x-amz-bucket-object-lock-enabled: true``."""
    return headers.get("x-amz-bucket-object-lock-enabled", "").strip().lower() == "true"


# What CreateBucket with object lock stores besides the bucket (buckets.py).
CREATION_SETTINGS = ((VERSIONING_SETTING, ENABLED), (SETTING, LockConfiguration().to_json()))


async def visible_lock_headers(ctx: Context, record: ObjectRecord,
                               headers: tuple[tuple[str, str], ...]
                               ) -> tuple[tuple[str, str], ...]:
    """GetObject's and HeadObject's headers without the lock headers the
    requester may not read: S3 sends the retention only to a principal
    allowed ``s3:GetObjectRetention``, the legal hold only with
    ``s3:GetObjectLegalHold``. Asked only of a version with a lock."""
    present = {name for name, _ in headers}
    hidden: set[str] = set()
    for action, names in (("s3:GetObjectRetention", (MODE_HEADER, UNTIL_HEADER)),
                          ("s3:GetObjectLegalHold", (HOLD_HEADER,))):
        if present.isdisjoint(names):
            continue
        decision = await decide(ctx.services, ctx.request, ctx.auth, action,
                                resource_arn("object", record.bucket, record.key),
                                bucket=record.bucket, key=record.key,
                                operation=ctx.endpoint.operation)
        if not decision.allowed:
            hidden.update(names)
    return headers if not hidden else tuple(h for h in headers if h[0] not in hidden)


HANDLERS = {
    "PutObjectLockConfiguration": put_object_lock_configuration,
    "GetObjectLockConfiguration": get_object_lock_configuration,
}
