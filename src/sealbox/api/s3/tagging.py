"""Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging."""

from __future__ import annotations

from sealbox.api.common.context import Context
from sealbox.api.common.tags import validate_tags
from sealbox.api.s3.objects import find_object
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response

MAX_TAGGING_BODY = 64 * 1024


def parse_tagging(body: bytes) -> tuple[tuple[str, str], ...]:
    """The tag set of a ``<Tagging>`` document, validated by S3's rules."""
    root = parse_xml(body, "Tagging")
    tag_sets = find_all(root, "TagSet")
    if len(tag_sets) != 1:
        raise S3Error("MalformedXML")
    pairs = []
    for tag in find_all(tag_sets[0], "Tag"):
        key, value = find_text(tag, "Key"), find_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        pairs.append((key, value))
    return validate_tags(pairs)


async def get_object_tagging(ctx: Context) -> Response:
    record = await find_object(ctx, ctx.bucket, ctx.key)
    tags = [("Tag", [("Key", k), ("Value", v)]) for k, v in record.tags]
    return xml_response(render("Tagging", [("TagSet", tags)]))


async def _set_tags(ctx: Context, tags: tuple[tuple[str, str], ...]) -> None:
    await find_object(ctx, ctx.bucket, ctx.key)
    changed = await ctx.services.run(ctx.services.meta.set_object_tags, ctx.bucket, ctx.key, tags)
    if not changed:  # deleted between the two calls
        raise S3Error("NoSuchKey", Key=ctx.key)


async def put_object_tagging(ctx: Context) -> Response:
    tags = parse_tagging(await ctx.request.read(MAX_TAGGING_BODY))
    await _set_tags(ctx, tags)
    return empty_response(200)


async def delete_object_tagging(ctx: Context) -> Response:
    await _set_tags(ctx, ())
    return empty_response(204)


HANDLERS = {
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
}
