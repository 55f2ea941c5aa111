"""Default bucket encryption: PutBucketEncryption, GetBucketEncryption,
DeleteBucketEncryption (``?encryption`` on a bucket).

A bucket whose default is ``AES256`` seals every new object that asks for
no encryption itself under SSE-S3 (api/s3/sealing.py); objects written
before keep what they were written with, as in S3. ``aws:kms`` and
``aws:kms:dsse`` are 501 NotImplemented (no key management service).

A bucket with no configuration answers GetBucketEncryption with 404
``ServerSideEncryptionConfigurationNotFoundError``. AWS has answered
``AES256`` for every bucket since January 2023 because it encrypts every
object by default; sealbox does not (a plain object is sent by
``sendfile``, an encrypted one decrypted chunk by chunk), so answering
``AES256`` would be a claim it does not keep. It answers what is true,
as S3 did before 2023 and as ceph/s3-tests expect.

The configuration is the bucket setting ``encryption``: JSON
``{"algorithm": "AES256", "bucket_key": false}``.
"""

from __future__ import annotations

import json

from sealbox.api.common.context import Context
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.cors import check_body_digests
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import SSE_S3, NoSuchBucket

ENCRYPTION_SETTING = "encryption"
MAX_ENCRYPTION_BODY = 16 * 1024
_KMS = ("aws:kms", "aws:kms:dsse")


def parse_encryption(body: bytes) -> tuple[str, bool]:
    """(algorithm, bucket key enabled) of a ``ServerSideEncryptionConfiguration``."""
    root = parse_xml(body, "ServerSideEncryptionConfiguration", max_length=MAX_ENCRYPTION_BODY)
    rules = find_all(root, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    rule = rules[0]
    defaults = find_all(rule, "ApplyServerSideEncryptionByDefault")
    if len(defaults) != 1:
        raise S3Error("MalformedXML")
    algorithm = (find_text(defaults[0], "SSEAlgorithm") or "").strip()
    bucket_key = (find_text(rule, "BucketKeyEnabled") or "false").strip().lower()
    if bucket_key not in ("true", "false"):
        raise S3Error("MalformedXML")
    if algorithm in _KMS:
        raise S3Error("NotImplemented", "sealbox does not encrypt with a key management "
                      f"service ({algorithm}); the default encryption may be AES256 (SSE-S3).")
    if algorithm != SSE_S3:
        raise S3Error("MalformedXML")
    if find_text(defaults[0], "KMSMasterKeyID") is not None:
        raise S3Error("InvalidArgument", "a KMSMasterKeyID is allowed only for SSEAlgorithm "
                      "aws:kms", ArgumentName="KMSMasterKeyID")
    return algorithm, bucket_key == "true"


def render_encryption(algorithm: str, bucket_key: bool) -> bytes:
    return render("ServerSideEncryptionConfiguration", [("Rule", [
        ("ApplyServerSideEncryptionByDefault", [("SSEAlgorithm", algorithm)]),
        ("BucketKeyEnabled", "true" if bucket_key else "false"),
    ])])


async def default_encryption(ctx: Context, bucket: str) -> str | None:
    """The bucket's default algorithm (``AES256``), or None."""
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, bucket,
                                       ENCRYPTION_SETTING)
    if document is None:
        return None
    algorithm: str = json.loads(document)["algorithm"]
    return algorithm


async def put_bucket_encryption(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_ENCRYPTION_BODY + 1)
    check_body_digests(ctx.request, body)
    await require_bucket(ctx)
    algorithm, bucket_key = parse_encryption(body)
    document = json.dumps({"algorithm": algorithm, "bucket_key": bucket_key})
    try:
        await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket,
                               ENCRYPTION_SETTING, document)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(200)


async def get_bucket_encryption(ctx: Context) -> Response:
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       ENCRYPTION_SETTING)
    if document is None:
        await require_bucket(ctx)
        raise S3Error("ServerSideEncryptionConfigurationNotFoundError", BucketName=ctx.bucket)
    stored = json.loads(document)
    return xml_response(render_encryption(stored["algorithm"], bool(stored.get("bucket_key"))))


async def delete_bucket_encryption(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket,
                           ENCRYPTION_SETTING)
    return empty_response(204)


HANDLERS = {
    "PutBucketEncryption": put_bucket_encryption,
    "GetBucketEncryption": get_bucket_encryption,
    "DeleteBucketEncryption": delete_bucket_encryption,
}
