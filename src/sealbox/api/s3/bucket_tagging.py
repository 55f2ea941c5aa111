"""Bucket tagging: GetBucketTagging, PutBucketTagging, DeleteBucketTagging
(``?tagging`` on a bucket).

The tag set is the bucket setting ``tagging``, a JSON list of ``[key,
value]`` pairs in the order given. S3's rules for a bucket's tags: at most
50, unique keys, key ≤128 and value ≤256 characters, and no key under the
reserved ``aws:`` prefix; any breach is 400 ``InvalidTag``. A bucket with no
tag set answers GET with 404 ``NoSuchTagSet``. A PUT replaces the whole
set (an empty ``<TagSet/>`` is taken as S3 takes it: no tags, so a later
GET is ``NoSuchTagSet``). IAM has no DeleteBucketTagging action: deleting
needs ``s3:PutBucketTagging``, as on AWS.
"""

from __future__ import annotations

import json

from sealbox.api.common.context import Context
from sealbox.api.common.tags import MAX_BUCKET_TAGS, validate_tags
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.cors import check_body_digests
from sealbox.api.s3.tagging import tag_pairs
from sealbox.api.s3.xml import render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NoSuchBucket

SETTING = "tagging"
MAX_BODY = 64 * 1024  # 50 tags of 128 + 256 characters, escaped, fit with room
RESERVED_PREFIX = "aws:"


def parse_bucket_tagging(body: bytes) -> tuple[tuple[str, str], ...]:
    """The tag set of a bucket's ``<Tagging>`` document, by S3's rules."""
    pairs = tag_pairs(body, max_length=MAX_BODY)
    for key, _ in pairs:
        if key.lower().startswith(RESERVED_PREFIX):
            raise S3Error("InvalidTag", "System tags cannot be added/updated by requester",
                          TagKey=key[:128])
    return validate_tags(pairs, limit=MAX_BUCKET_TAGS, of="Bucket")


async def get_bucket_tagging(ctx: Context) -> Response:
    await require_bucket(ctx)
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket, SETTING)
    pairs = json.loads(document) if document else []
    if not pairs:
        raise S3Error("NoSuchTagSet", BucketName=ctx.bucket)
    tags = [("Tag", [("Key", key), ("Value", value)]) for key, value in pairs]
    return xml_response(render("Tagging", [("TagSet", tags)]))


async def put_bucket_tagging(ctx: Context) -> Response:
    await require_bucket(ctx)
    body = await ctx.request.read(MAX_BODY)
    check_body_digests(ctx.request, body)
    pairs = parse_bucket_tagging(body)
    meta = ctx.services.meta
    try:
        if pairs:
            await ctx.services.run(meta.put_bucket_setting, ctx.bucket, SETTING,
                                   json.dumps([list(pair) for pair in pairs]))
        else:
            await ctx.services.run(meta.delete_bucket_setting, ctx.bucket, SETTING)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(204)


async def delete_bucket_tagging(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket, SETTING)
    return empty_response(204)


HANDLERS = {
    "GetBucketTagging": get_bucket_tagging,
    "PutBucketTagging": put_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging,
}
