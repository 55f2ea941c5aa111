"""A version's object lock: PutObjectRetention, GetObjectRetention,
PutObjectLegalHold, GetObjectLegalHold (``?retention``, ``?legal-hold``,
with an optional ``versionId``; the current version without one).

Each needs a bucket with object lock (400 InvalidRequest otherwise, as S3
answers). What may change is decided in the store's transaction
(``sealbox.store.retention``): a retention in force can be lengthened in
its mode; shortening, removing it or changing its mode needs GOVERNANCE
mode and the governance bypass (``object_lock.may_bypass``); a refusal is
403 AccessDenied. The writes take Content-MD5 or a checksum, as S3
requires (``object_lock.checked_body``). The body's mode, date and hold
are the ``s3:object-lock-*`` condition keys of a second access decision
(``_judge_body``); those of a write's headers are in its first one
(``api/common/access_gate.authorize_s3``).
"""

from __future__ import annotations

from datetime import datetime

from sealbox.access.actions import ACTIONS, resource_arn
from sealbox.access.context import object_lock_keys
from sealbox.api.common.context import Context, decide
from sealbox.api.s3.object_lock import (
    LOCKED,
    MAX_BODY,
    NOT_IN_FUTURE,
    checked_body,
    may_bypass,
    require_lock,
)
from sealbox.api.s3.objects import find_object
from sealbox.api.s3.versioning import requested_version
from sealbox.api.s3.xml import find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.http.dates import format_iso8601, parse_iso8601
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import ObjectLocked, ObjectRecord
from sealbox.store.retention import MODES


def parse_retention(body: bytes, now: datetime) -> tuple[str | None, datetime | None]:
    """``<Retention>``: (mode, retain-until), or (None, None) for an empty
    one, which removes the retention."""
    root = parse_xml(body, "Retention", max_length=MAX_BODY)
    mode, until_text = find_text(root, "Mode"), find_text(root, "RetainUntilDate")
    if mode is None and until_text is None:
        return None, None
    if mode not in MODES or until_text is None:
        raise S3Error("MalformedXML")
    try:
        until = parse_iso8601(until_text)
    except ValueError:
        raise S3Error("MalformedXML") from None
    if until <= now:
        raise S3Error("InvalidArgument", NOT_IN_FUTURE, ArgumentName="RetainUntilDate",
                      ArgumentValue=until_text[:64])
    return mode, until


def parse_legal_hold(body: bytes) -> bool:
    root = parse_xml(body, "LegalHold", max_length=MAX_BODY)
    status = find_text(root, "Status")
    if status not in ("ON", "OFF"):
        raise S3Error("MalformedXML")
    return status == "ON"


async def _version(ctx: Context) -> ObjectRecord:
    """The version the request names (else the current one), in a bucket
    with object lock."""
    await require_lock(ctx)
    return await find_object(ctx, ctx.bucket, ctx.key, requested_version(ctx.request.query))


async def _set(ctx: Context, record: ObjectRecord, operation: str, *,
               retention: tuple[str | None, datetime | None] | None = None,
               legal_hold: bool | None = None) -> None:
    """Set the version's retention or legal hold in the store; once more
    with the governance bypass if refused and the request may bypass."""
    meta, now = ctx.services.meta, ctx.services.clock.now()

    async def attempt(bypass: bool) -> ObjectRecord | None:
        return await ctx.services.run(
            lambda: meta.set_object_lock(ctx.bucket, ctx.key, record.version_id,
                                         retention=retention, legal_hold=legal_hold,
                                         bypass_governance=bypass, now=now))

    try:
        try:
            before = await attempt(False)
        except ObjectLocked:
            if not await may_bypass(ctx, ctx.key, operation):
                raise
            before = await attempt(True)
    except ObjectLocked:
        raise S3Error("AccessDenied", LOCKED) from None
    if before is None:  # removed meanwhile
        raise S3Error("NoSuchKey", Key=ctx.key)


async def _judge_body(ctx: Context, operation: str, keys: dict[str, tuple[str, ...]]) -> None:
    """Access once more, with the ``s3:object-lock-*`` condition keys the
    body gives (AWS's way to cap a retention: a Deny on
    ``s3:object-lock-remaining-retention-days``). The first decision, made
    before the body was read, saw none of them, so a statement allowing
    these operations only under such a condition does not allow them."""
    if not keys:
        return
    action, kind = ACTIONS[operation]
    decision = await decide(ctx.services, ctx.request, ctx.auth, action,
                            resource_arn(kind, ctx.bucket, ctx.key), bucket=ctx.bucket,
                            key=ctx.key, operation=operation, extra_context=keys)
    if not decision.allowed:
        raise S3Error("AccessDenied")


async def put_object_retention(ctx: Context) -> Response:
    record = await _version(ctx)
    body = checked_body(ctx.request.headers, await ctx.request.read(MAX_BODY))
    now = ctx.services.clock.now()
    retention = parse_retention(body, now)
    await _judge_body(ctx, "PutObjectRetention",
                      object_lock_keys(retention[0], retention[1], None, now=now))
    await _set(ctx, record, "PutObjectRetention", retention=retention)
    return empty_response(200)


async def get_object_retention(ctx: Context) -> Response:
    record = await _version(ctx)
    if record.lock_mode is None or record.lock_until is None:
        raise S3Error("NoSuchObjectLockConfiguration")
    return xml_response(render("Retention", [("Mode", record.lock_mode),
                                             ("RetainUntilDate",
                                              format_iso8601(record.lock_until))]))


async def put_object_legal_hold(ctx: Context) -> Response:
    record = await _version(ctx)
    hold = parse_legal_hold(checked_body(ctx.request.headers, await ctx.request.read(MAX_BODY)))
    await _judge_body(ctx, "PutObjectLegalHold",
                      object_lock_keys(None, None, "ON" if hold else "OFF",
                                       now=ctx.services.clock.now()))
    await _set(ctx, record, "PutObjectLegalHold", legal_hold=hold)
    return empty_response(200)


async def get_object_legal_hold(ctx: Context) -> Response:
    record = await _version(ctx)
    if record.legal_hold is None:
        raise S3Error("NoSuchObjectLockConfiguration")
    return xml_response(render("LegalHold", [("Status", "ON" if record.legal_hold else "OFF")]))


HANDLERS = {
    "PutObjectRetention": put_object_retention,
    "GetObjectRetention": get_object_retention,
    "PutObjectLegalHold": put_object_legal_hold,
    "GetObjectLegalHold": get_object_legal_hold,
}
