"""Default bucket encryption: PutBucketEncryption, GetBucketEncryption,
DeleteBucketEncryption (``?encryption`` on a bucket).

A bucket whose default is ``AES256`` seals every new object that asks for
no encryption itself under SSE-S3 (api/s3/sealing.py); objects written
before keep what they were written with, as in S3. ``aws:kms`` seals
them under SSE-KMS with the rule's ``KMSMasterKeyID`` (a key id, key ARN,
alias or alias ARN, checked for its form here and resolved at each write,
as S3 does), or without one the account's ``aws/s3`` key (api/s3/kms.py).
``aws:kms:dsse`` is 501 NotImplemented (no dual-layer encryption).

A bucket with no configuration answers GetBucketEncryption with 404
``ServerSideEncryptionConfigurationNotFoundError``. AWS has answered
``AES256`` for every bucket since January 2023 because it encrypts every
object by default; sealbox does not (a plain object is sent by
``sendfile``, an encrypted one decrypted chunk by chunk), so answering
``AES256`` would be a claim it does not keep. It answers what is true,
as S3 did before 2023 and as ceph/s3-tests expect.

The configuration is the bucket setting ``encryption``: JSON
``{"algorithm": "AES256", "bucket_key": false}``, with ``"kms_key"`` for
``aws:kms`` when the rule names a key.
"""

from __future__ import annotations

import json

from sealbox.api.common.context import Context
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.cors import check_body_digests
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.kms_keys import KmsError, parse_reference
from sealbox.store.meta import SSE_KMS, SSE_S3, NoSuchBucket

ENCRYPTION_SETTING = "encryption"
MAX_ENCRYPTION_BODY = 16 * 1024
DSSE = "aws:kms:dsse"


def parse_encryption(body: bytes) -> tuple[str, bool, str | None]:
    """(algorithm, bucket key enabled, KMS key) of a
    ``ServerSideEncryptionConfiguration``."""
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
    if algorithm == DSSE:
        raise S3Error("NotImplemented", f"sealbox does not do dual-layer encryption ({DSSE}); "
                      "the default encryption may be aws:kms or AES256.")
    if algorithm not in (SSE_S3, SSE_KMS):
        raise S3Error("MalformedXML")
    kms_key = find_text(defaults[0], "KMSMasterKeyID")
    if kms_key is not None:
        kms_key = kms_key.strip()
        if algorithm != SSE_KMS:
            raise S3Error("InvalidArgument", "a KMSMasterKeyID is allowed only for SSEAlgorithm "
                          "aws:kms", ArgumentName="KMSMasterKeyID")
        try:
            parse_reference(kms_key)
        except KmsError:
            raise S3Error("InvalidArgument", "The KMSMasterKeyID is not a key id, key ARN, "
                          "alias name or alias ARN", ArgumentName="KMSMasterKeyID",
                          ArgumentValue=kms_key[:256]) from None
    return algorithm, bucket_key == "true", kms_key


def render_encryption(algorithm: str, bucket_key: bool, kms_key: str | None = None) -> bytes:
    default: list[tuple[str, str]] = [("SSEAlgorithm", algorithm)]
    if kms_key is not None:
        default.append(("KMSMasterKeyID", kms_key))
    return render("ServerSideEncryptionConfiguration", [("Rule", [
        ("ApplyServerSideEncryptionByDefault", default),
        ("BucketKeyEnabled", "true" if bucket_key else "false"),
    ])])


async def default_encryption(ctx: Context, bucket: str) -> tuple[str, str | None] | None:
    """The bucket's default algorithm (``AES256`` or ``aws:kms``) and KMS
    key as configured (None: the account's ``aws/s3`` key), or None."""
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, bucket,
                                       ENCRYPTION_SETTING)
    if document is None:
        return None
    stored = json.loads(document)
    return str(stored["algorithm"]), stored.get("kms_key")


async def put_bucket_encryption(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_ENCRYPTION_BODY + 1)
    check_body_digests(ctx.request, body)
    await require_bucket(ctx)
    algorithm, bucket_key, kms_key = parse_encryption(body)
    stored: dict[str, object] = {"algorithm": algorithm, "bucket_key": bucket_key}
    if kms_key is not None:
        stored["kms_key"] = kms_key
    document = json.dumps(stored)
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
    return xml_response(render_encryption(stored["algorithm"], bool(stored.get("bucket_key")),
                                          stored.get("kms_key")))


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
