"""Lifecycle configuration: PutBucketLifecycleConfiguration,
GetBucketLifecycleConfiguration and DeleteBucketLifecycle (``?lifecycle`` on
a bucket), and the ``x-amz-expiration`` header object answers carry.

The document's shapes and refusals are in ``lifecycle_xml``. S3 requires
``Content-MD5`` or an ``x-amz-checksum-*`` header on this PUT ("Content-MD5
OR x-amz-checksum- HTTP header is required for Put Bucket Lifecycle
requests"); SDKs send one. The configuration is the bucket setting
``lifecycle`` (``sealbox.lifecycle.rules``), cached per access version for
the header; ``sealbox.lifecycle.worker`` applies it.
"""

from __future__ import annotations

from sealbox.api.common.context import Context
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.cors import check_body_digests
from sealbox.api.s3.lifecycle_xml import MAX_BODY, parse_configuration, render_configuration
from sealbox.auth.sigv4.checksum import declared_checksums
from sealbox.errors import S3Error
from sealbox.lifecycle.rules import SETTING, Configuration, decode, encode, expiration_header
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NoSuchBucket, ObjectRecord

MISSING_DIGEST = ("Missing required header for this request: Content-MD5 OR "
                  "x-amz-checksum-*")


# -- handlers ------------------------------------------------------------------


def _require_digest(ctx: Context, body: bytes) -> None:
    headers = ctx.request.headers
    if "content-md5" not in headers and not declared_checksums(headers):
        raise S3Error("InvalidRequest", MISSING_DIGEST)
    check_body_digests(ctx.request, body)


async def put_bucket_lifecycle(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_BODY + 1)
    await require_bucket(ctx)
    _require_digest(ctx, body)
    config = parse_configuration(body)
    try:
        await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket, SETTING,
                               encode(config))
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    # S3 answers with the transition default it applied; sealbox has none.
    return empty_response(200)


async def get_bucket_lifecycle(ctx: Context) -> Response:
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       SETTING)
    if document is None:
        await require_bucket(ctx)
        raise S3Error("NoSuchLifecycleConfiguration", BucketName=ctx.bucket)
    return xml_response(render_configuration(decode(document)))


async def delete_bucket_lifecycle(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket, SETTING)
    return empty_response(204)  # also when there was none, as S3 answers


# -- x-amz-expiration ----------------------------------------------------------


def bucket_rules(ctx: Context, bucket: str) -> Configuration | None:
    """The bucket's lifecycle rules, read once per access version (every
    change to a bucket setting moves it), or None."""
    services = ctx.services
    cache = services.lifecycle_rules
    version = ctx.access_version
    if version is None:
        version = services.meta.access_version()
    entry = cache.get(bucket)
    if entry is not None and entry[0] == version:
        return entry[1]
    document = services.meta.get_bucket_setting(bucket, SETTING)
    config = None if document is None else decode(document)
    if len(cache) >= 10_000:
        cache.clear()
    cache[bucket] = (version, config)
    return config


# The header depends on the record and the rules alone; the store hands out
# one record object per stored row (as objects._RECORD_HEADERS relies on),
# so a presigned GET repeated weighs the rules once (the entry holds both,
# so their ids stay theirs).
_HEADERS: dict[int, tuple[ObjectRecord, Configuration, list[tuple[str, str]]]] = {}
_HEADERS_MAX = 4096


async def expiration_headers(ctx: Context, record: ObjectRecord) -> list[tuple[str, str]]:
    """``x-amz-expiration`` for a current version a rule will expire."""
    services = ctx.services
    entry = services.lifecycle_rules.get(record.bucket)
    if entry is not None and entry[0] == ctx.access_version:
        config = entry[1]  # the common case: a dict lookup, no store call
    elif services.meta.inline_reads:
        config = bucket_rules(ctx, record.bucket)
    else:
        config = await services.read(bucket_rules, ctx, record.bucket)
    if config is None:
        return []
    known = _HEADERS.get(id(record))
    if known is not None and known[0] is record and known[1] is config:
        return known[2]
    value = expiration_header(config, record.key, record.tags, record.size,
                              record.last_modified)
    headers = [] if value is None else [("x-amz-expiration", value)]
    if len(_HEADERS) >= _HEADERS_MAX:
        _HEADERS.clear()
    _HEADERS[id(record)] = (record, config, headers)
    return headers


HANDLERS = {
    "PutBucketLifecycleConfiguration": put_bucket_lifecycle,
    "GetBucketLifecycleConfiguration": get_bucket_lifecycle,
    "DeleteBucketLifecycle": delete_bucket_lifecycle,
}
