"""Receiving an upload body into a new blob, verified before anything is kept.

The body is hashed while it streams to a temporary file: MD5 for the ETag,
SHA-256 when the signature covers the payload, and any declared
``x-amz-checksum-*``. Only a body that arrived whole and matches every
claim is fsynced and renamed into place; otherwise the temporary file is
dropped and the client gets the error S3 gives. Nothing partial is ever
visible, because metadata is committed only after ``finish``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

from sealbox.api.context import Context
from sealbox.auth.sigv4.checksum import ALGORITHMS, declared_checksums, encode
from sealbox.errors import S3Error


@dataclass(frozen=True)
class ReceivedBlob:
    blob_id: str
    size: int
    md5_hex: str
    checksums: dict[str, str] = field(default_factory=dict)  # name → base64


def _content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise S3Error("InvalidDigest", ContentMD5=value[:64])
    return raw


def _is_hex_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


async def receive_body(ctx: Context, max_size: int) -> ReceivedBlob:
    """Stream the request body into a finished blob, or raise and keep nothing."""
    request = ctx.request
    headers = request.headers
    payload_hash = ctx.auth.payload_hash or "UNSIGNED-PAYLOAD"
    if payload_hash.startswith("STREAMING-") or "aws-chunked" in headers.get("content-encoding", ""):
        raise S3Error("NotImplemented", "aws-chunked streaming uploads are not supported yet")
    length = request.content_length()
    if length is None:
        raise S3Error("MissingContentLength")
    if length > max_size:
        raise S3Error("EntityTooLarge", ProposedSize=str(length), MaxSizeAllowed=str(max_size))
    expected_md5 = _content_md5(headers.get("content-md5"))
    declared = declared_checksums(headers)
    want_sha256 = _is_hex_sha256(payload_hash)

    md5 = hashlib.md5()
    sha256 = hashlib.sha256() if want_sha256 else None
    hashers = {name: ALGORITHMS[name].new() for name in declared}
    writer = ctx.services.blobs.writer()
    try:
        size = 0
        async for chunk in request.stream(limit=length):
            size += len(chunk)
            md5.update(chunk)
            if sha256 is not None:
                sha256.update(chunk)
            for hasher in hashers.values():
                hasher.update(chunk)  # type: ignore[attr-defined]
            writer.write(chunk)
        if size != length:
            raise S3Error("IncompleteBody", NumberBytesExpected=str(length),
                          NumberBytesProvided=str(size))
        if sha256 is not None and not hmac.compare_digest(sha256.hexdigest(), payload_hash.lower()):
            raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=payload_hash,
                          S3ComputedContentSHA256=sha256.hexdigest())
        if expected_md5 is not None and not hmac.compare_digest(md5.digest(), expected_md5):
            raise S3Error("BadDigest", ExpectedDigest=expected_md5.hex(),
                          CalculatedDigest=base64.b64encode(md5.digest()).decode())
        computed = {name: h.digest() for name, h in hashers.items()}  # type: ignore[attr-defined]
        for name, digest in declared.items():
            if not hmac.compare_digest(computed[name], digest):
                raise S3Error("BadDigest", f"The {name.upper()} you specified did not match the "
                              "calculated checksum.")
        blob_id = await ctx.services.run(writer.finish)
    except BaseException:
        writer.abort()
        raise
    return ReceivedBlob(blob_id, size, md5.hexdigest(),
                        {name: encode(d) for name, d in computed.items()})


async def discard_blobs(ctx: Context, blob_ids: list[str]) -> None:
    """Delete blobs no record points at any more (after a replace or delete)."""
    if blob_ids:
        await ctx.services.run(_delete_all, ctx, blob_ids)


def _delete_all(ctx: Context, blob_ids: list[str]) -> None:
    for blob_id in blob_ids:
        ctx.services.blobs.delete(blob_id)
