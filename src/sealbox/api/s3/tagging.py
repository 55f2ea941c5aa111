"""Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging."""

from __future__ import annotations

from sealbox.api.common.context import Context
from sealbox.api.common.tags import validate_tags
from sealbox.api.s3.objects import find_object
from sealbox.api.s3.versioning import requested_version
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NULL_VERSION, ObjectRecord

MAX_TAGGING_BODY = 64 * 1024


def tag_pairs(body: bytes, **limits: int) -> list[tuple[str, str]]:
    """The (key, value) pairs of a ``<Tagging>`` document's one TagSet, as
    written (an object's or a bucket's; ``limits`` for ``parse_xml``)."""
    root = parse_xml(body, "Tagging", **limits)
    tag_sets = find_all(root, "TagSet")
    if len(tag_sets) != 1:
        raise S3Error("MalformedXML")
    pairs = []
    for tag in find_all(tag_sets[0], "Tag"):
        key, value = find_text(tag, "Key"), find_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        pairs.append((key, value))
    return pairs


def parse_tagging(body: bytes) -> tuple[tuple[str, str], ...]:
    """The tag set of a ``<Tagging>`` document, validated by S3's rules."""
    return validate_tags(tag_pairs(body))


def _version_header(record: ObjectRecord) -> list[tuple[str, str]]:
    return [] if record.version_id == NULL_VERSION else [("x-amz-version-id", record.version_id)]


async def get_object_tagging(ctx: Context) -> Response:
    version_id = requested_version(ctx.request.query)
    record = await find_object(ctx, ctx.bucket, ctx.key, version_id)
    tags = [("Tag", [("Key", k), ("Value", v)]) for k, v in record.tags]
    return xml_response(render("Tagging", [("TagSet", tags)]), headers=_version_header(record))


async def _set_tags(ctx: Context, tags: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Set the tags of the object (or of the version the request names);
    the answer's version header."""
    version_id = requested_version(ctx.request.query)
    record = await find_object(ctx, ctx.bucket, ctx.key, version_id)
    meta = ctx.services.meta
    if version_id is None:
        changed = await ctx.services.run(meta.set_object_tags, ctx.bucket, ctx.key, tags)
    else:
        changed = await ctx.services.run(meta.set_version_tags, ctx.bucket, ctx.key,
                                         version_id, tags)
    if not changed:  # deleted between the two calls
        raise S3Error("NoSuchKey", Key=ctx.key)
    return _version_header(record)


async def put_object_tagging(ctx: Context) -> Response:
    tags = parse_tagging(await ctx.request.read(MAX_TAGGING_BODY))
    return empty_response(200, await _set_tags(ctx, tags))


async def delete_object_tagging(ctx: Context) -> Response:
    return empty_response(204, await _set_tags(ctx, ()))


HANDLERS = {
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
}
