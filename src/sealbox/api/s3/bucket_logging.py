"""Server access logging's configuration: PutBucketLogging and
GetBucketLogging (``?logging`` on a bucket).

The body is S3's ``BucketLoggingStatus``: empty turns logging off;
``LoggingEnabled`` names the ``TargetBucket``, the ``TargetPrefix``, any
``TargetGrants`` (kept and returned, as S3 keeps them; sealbox has one
account, so they grant nothing more) and the ``TargetObjectKeyFormat``
(``SimplePrefix``, the default, or ``PartitionedPrefix`` with a
``PartitionDateSource`` of ``EventTime`` or ``DeliveryTime``). Refused as S3
refuses it: a document it would not read is ``MalformedXML``; a target
bucket that does not exist, or that the caller may not ``s3:PutObject``
into, is ``InvalidTargetBucketForLogging``; one in another region (a
server restarted with another ``SEALBOX_REGION`` keeps its older buckets') is
``CrossLocationLoggingProhibitted``.

The configuration is kept as the bucket setting ``logging`` (JSON, the
form ``sealbox.logs.targets`` reads); the records are written by
``sealbox.logs.delivery``.
"""

from __future__ import annotations

from typing import Any

from sealbox.access.actions import resource_arn
from sealbox.api.common.context import Context
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.cors import check_body_digests
from sealbox.api.s3.xml import XSI_NAMESPACE, find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.logs.targets import (
    DATE_SOURCES,
    LOGGING_SETTING,
    MAX_PREFIX_BYTES,
    LoggingTarget,
)
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import Bucket, NoSuchBucket

MAX_LOGGING_BODY = 64 * 1024
MAX_GRANTS = 100
GRANTEE_TYPES = {"CanonicalUser": "ID", "AmazonCustomerByEmail": "EmailAddress", "Group": "URI"}
PERMISSIONS = frozenset({"FULL_CONTROL", "READ", "WRITE"})
_ENABLED_CHILDREN = frozenset({"TargetBucket", "TargetPrefix", "TargetGrants",
                               "TargetObjectKeyFormat"})


def parse_logging_status(body: bytes) -> LoggingTarget | None:
    """The target a ``BucketLoggingStatus`` names (None: logging off)."""
    root = parse_xml(body, "BucketLoggingStatus", max_length=MAX_LOGGING_BODY)
    children = list(root)
    if not children:
        return None
    if len(children) != 1 or children[0].tag != "LoggingEnabled":
        raise S3Error("MalformedXML")
    enabled = children[0]
    names = [child.tag for child in enabled]
    if any(name not in _ENABLED_CHILDREN for name in names) or len(set(names)) != len(names):
        raise S3Error("MalformedXML")
    bucket = (find_text(enabled, "TargetBucket") or "").strip()
    prefix = find_text(enabled, "TargetPrefix")
    if not bucket or prefix is None:
        raise S3Error("MalformedXML")  # both are required members
    if len(prefix.encode()) > MAX_PREFIX_BYTES or "\x00" in prefix:
        raise S3Error("InvalidArgument", "The target prefix is too long or holds a NUL.",
                      ArgumentName="TargetPrefix", ArgumentValue=prefix[:64])
    grants = tuple(_grant(g) for element in find_all(enabled, "TargetGrants")
                   for g in _grant_elements(element))
    partitioned, date_source = _key_format(enabled)
    return LoggingTarget(bucket, prefix, partitioned, date_source, grants)


def _grant_elements(element: Any) -> list[Any]:
    grants = list(element)
    if any(g.tag != "Grant" for g in grants) or len(grants) > MAX_GRANTS:
        raise S3Error("MalformedXML")
    return grants


def _grant(element: Any) -> tuple[str, str, str]:
    """(grantee type; its ID, e-mail address or group URI; permission)."""
    grantee = [child for child in element if child.tag == "Grantee"]
    permission = find_text(element, "Permission")
    if len(grantee) != 1 or permission not in PERMISSIONS:
        raise S3Error("MalformedXML")
    kind = grantee[0].get("type")
    field = GRANTEE_TYPES.get(kind or "")
    value = find_text(grantee[0], field) if field else None
    if kind is None or not value:
        raise S3Error("MalformedXML")
    return (kind, value[:1024], permission)


def _key_format(enabled: Any) -> tuple[bool, str | None]:
    """(partitioned, PartitionDateSource) from ``TargetObjectKeyFormat``."""
    formats = find_all(enabled, "TargetObjectKeyFormat")
    if not formats:
        return False, None
    chosen = list(formats[0])
    if len(chosen) != 1 or chosen[0].tag not in ("SimplePrefix", "PartitionedPrefix"):
        raise S3Error("MalformedXML")
    if chosen[0].tag == "SimplePrefix":
        if len(chosen[0]):
            raise S3Error("MalformedXML")
        return False, None
    source = find_text(chosen[0], "PartitionDateSource")
    if source is None:
        source = "EventTime"  # S3's default when the member is left out
    if source not in DATE_SOURCES or len(chosen[0]) > 1:
        raise S3Error("MalformedXML")
    return True, source


def render_logging_status(target: LoggingTarget | None) -> bytes:
    """GetBucketLogging's body, members in the API reference's order."""
    if target is None:
        return render("BucketLoggingStatus", [])
    key_format: list[tuple[str, object]]
    if target.partitioned:
        key_format = [("PartitionedPrefix", [("PartitionDateSource", target.date_source)])]
    else:
        key_format = [("SimplePrefix", [])]
    grants = [("Grant", [
        ("Grantee", [(GRANTEE_TYPES[kind], value)],
         {"xmlns:xsi": XSI_NAMESPACE, "xsi:type": kind}),
        ("Permission", permission),
    ]) for kind, value, permission in target.grants]
    return render("BucketLoggingStatus", [("LoggingEnabled", [
        ("TargetBucket", target.bucket),
        ("TargetGrants", grants if grants else None),
        ("TargetPrefix", target.prefix),
        ("TargetObjectKeyFormat", key_format),
    ])])


async def _check_target(ctx: Context, source: Bucket, target: LoggingTarget) -> None:
    """The target bucket exists, in the source's region (S3 delivers logs
    only within a region), and the caller may write logs into it."""
    services = ctx.services
    found = await services.read(services.meta.get_bucket, target.bucket)
    if found is None:
        raise S3Error("InvalidTargetBucketForLogging", "The target bucket for logging does "
                      "not exist", TargetBucket=target.bucket)
    if found.region != source.region:
        raise S3Error("CrossLocationLoggingProhibitted", TargetBucketLocation=found.region,
                      SourceBucketLocation=source.region)
    gate = services.gate
    assert gate is not None, "the app sets the gate"
    arn = resource_arn("object", target.bucket, target.prefix + "*")
    decision = await services.read(lambda: gate.decide(
        ctx.request, ctx.auth, "PutObject", "s3:PutObject", arn, bucket=target.bucket))
    if not decision.allowed:
        raise S3Error("InvalidTargetBucketForLogging", "You must have permission to write "
                      "(s3:PutObject) to the target bucket for logging",
                      TargetBucket=target.bucket)


async def put_bucket_logging(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_LOGGING_BODY + 1)
    check_body_digests(ctx.request, body)
    source = await require_bucket(ctx)
    target = parse_logging_status(body)
    meta = ctx.services.meta
    try:
        if target is None:
            await ctx.services.run(meta.delete_bucket_setting, ctx.bucket, LOGGING_SETTING)
        else:
            await _check_target(ctx, source, target)
            await ctx.services.run(meta.put_bucket_setting, ctx.bucket, LOGGING_SETTING,
                                   target.encode())
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    delivery = ctx.services.log_delivery
    if delivery is not None:  # this process logs the next request; others within a second
        await ctx.services.run(delivery.refresh)
    return empty_response(200)


async def get_bucket_logging(ctx: Context) -> Response:
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       LOGGING_SETTING)
    if document is None:
        await require_bucket(ctx)
        return xml_response(render_logging_status(None))
    return xml_response(render_logging_status(LoggingTarget.decode(document)))


HANDLERS = {
    "PutBucketLogging": put_bucket_logging,
    "GetBucketLogging": get_bucket_logging,
}
