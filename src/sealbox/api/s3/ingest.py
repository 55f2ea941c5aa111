"""Receiving an upload body into a new blob, verified before anything is kept.

The body is hashed while it streams to a temporary file: MD5 for the ETag,
SHA-256 when the signature covers the payload, and the one additional
checksum the request declares in an ``x-amz-checksum-*`` header or
announces as a trailer. Only a body that arrived whole and matches every
claim is fsynced and renamed into place; otherwise the temporary file is
dropped and the client gets the error S3 gives. Nothing partial is ever
visible, because metadata is committed only after ``finish``.

A body is either plain (``Content-Length`` bytes) or aws-chunked, as its
``x-amz-content-sha256`` says (``STREAMING-…``). An aws-chunked body is
decoded by ``auth.sigv4.chunked``: its payload is written as it arrives,
and its chunk signatures, length and trailers are checked by the time the
framing ends. Its ``Content-Length``, if any, counts the framing; the
object's size is ``x-amz-decoded-content-length``. The JavaScript SDK
sends it with ``Transfer-Encoding: chunked`` and no ``Content-Length``.

Checksums are read from headers and trailers only. ``x-amz-checksum-*``
parameters of a presigned URL are ignored: the S3 User Guide ("Uploading
objects with presigned URLs") says presigned uploads do not support the
additional checksums, and MinIO ignores them for that reason
(minio/minio#20343). It is also what lets the JavaScript SDK's default
presigned PutObject work: it signs the CRC32 of the empty body
(``AAAAAA==``) into the URL (aws/aws-sdk-js-v3#6994).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sealbox.api.common.context import Context
from sealbox.auth.sigv4 import chunked
from sealbox.auth.sigv4.checksum import (
    RequestChecksum,
    content_md5,
    decode_checksum,
    encode,
    mismatch,
    request_checksum,
)
from sealbox.auth.sigv4.parse import AMZ_DATE_FORMAT
from sealbox.errors import S3Error
from sealbox.server.request import Request
from sealbox.store.blobs import BlobBackendError, BlobWriter
from sealbox.store.localfs import MEMORY_BYTES
from sealbox.store.sealed_blobs import SealedWriter

log = logging.getLogger("sealbox.blobs")
NO_LIMIT = 2**63 - 1  # the chunked decoder bounds an aws-chunked body itself


@dataclass(frozen=True)
class ReceivedBlob:
    blob_id: str
    size: int
    md5_hex: str
    checksums: dict[str, str] = field(default_factory=dict)  # name → base64
    # Received with finish=False: verified and written, not yet durable; the
    # caller finishes it (in the same trip to the thread pool as its commit)
    # or aborts it.
    writer: BlobWriter | None = None
    # Sealed under a data key (store/sealed_blobs.py): the blob's nonce prefix.
    nonce: str | None = None


def _is_hex_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


def _length_header(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise S3Error("InvalidArgument", f"{name} is not a valid number", ArgumentName=name,
                      ArgumentValue=value[:64])
    return int(value)


def _too_large(size: int, max_size: int) -> S3Error:
    return S3Error("EntityTooLarge", ProposedSize=str(size), MaxSizeAllowed=str(max_size))


class _PlainBody:
    """``Content-Length`` bytes, as sent."""

    trailers: dict[str, str]

    def __init__(self, request: Request, max_size: int) -> None:
        length = request.content_length()
        if length is None:
            if "transfer-encoding" in request.headers:
                # S3 takes a plain body only of a stated length; one sent
                # with Transfer-Encoding: chunked is 501 naming that header
                # (aws/aws-sdk-go#138, Automattic/knox#43; aws-chunked bodies,
                # which state x-amz-decoded-content-length, are taken).
                raise S3Error("NotImplemented", Header="Transfer-Encoding")
            raise S3Error("MissingContentLength")
        if length > max_size:
            raise _too_large(length, max_size)
        self.length = length
        self.trailers = {}
        self._request = request

    async def payload(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._request.stream(limit=self.length):
            size += len(chunk)
            yield chunk
        if size != self.length:
            raise S3Error("IncompleteBody", NumberBytesExpected=str(self.length),
                          NumberBytesProvided=str(size))


class _ChunkedBody:
    """An aws-chunked body, decoded; ``trailers`` are filled once it ends."""

    def __init__(self, ctx: Context, payload_hash: str, max_size: int) -> None:
        headers = ctx.request.headers
        mode = chunked.MODES.get(payload_hash)
        if mode is None:
            # SigV4a's ECDSA streaming forms: we verify no SigV4a signature.
            raise S3Error("NotImplemented", f"x-amz-content-sha256 {payload_hash[:64]} is not "
                          "supported")
        length = _length_header(headers.get("x-amz-decoded-content-length"),
                                "x-amz-decoded-content-length")
        if length is None:
            raise S3Error("MissingContentLength")
        if length > max_size:
            raise _too_large(length, max_size)
        names = chunked.parse_trailer_names(headers.get("x-amz-trailer"))
        if names and not mode.trailer:
            raise S3Error("InvalidRequest", "x-amz-trailer needs an x-amz-content-sha256 of "
                          "STREAMING-UNSIGNED-PAYLOAD-TRAILER or "
                          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        signing = None
        if mode.signed:
            auth = ctx.auth
            if (auth.signing_key is None or auth.signed_at is None or auth.scope is None
                    or auth.signature is None):
                # Only a SigV4 signature seeds the chain of chunk signatures.
                raise S3Error("InvalidRequest", f"{payload_hash} needs a SigV4 signed request")
            signing = chunked.ChunkSigning(auth.signing_key,
                                           auth.signed_at.strftime(AMZ_DATE_FORMAT),
                                           auth.scope, auth.signature)
        self.length = length
        self.trailer_names = names
        self.trailers: dict[str, str] = {}
        self._decoder = chunked.ChunkedDecoder(mode, length, signing=signing, trailers=names)
        self._request = ctx.request

    async def payload(self) -> AsyncIterator[bytes]:
        raw_length = self._request.content_length()
        limit = NO_LIMIT if raw_length is None else raw_length
        decoder = self._decoder
        async for raw in self._request.stream(limit=limit):
            for event in decoder.feed(raw):
                if isinstance(event, chunked.Data):
                    yield event.data
                elif isinstance(event, chunked.Trailer):
                    self.trailers[event.name] = event.value
        for event in decoder.end_of_body():
            if isinstance(event, chunked.Trailer):
                self.trailers[event.name] = event.value


class WriteBehind:
    """A body's bytes reach its blob writer behind the hashing: pieces are
    gathered up to ``BATCH`` bytes and written by the thread pool while the
    event loop reads and hashes the next ones, at most one batch in flight.
    A write can wait on the disk (writeback throttling); the loop should
    not, nor should the hashing wait for it. A body that fits in memory
    never leaves the loop (the writer keeps it in memory)."""

    BATCH = 1024 * 1024

    def __init__(self, ctx: Context, writer: BlobWriter) -> None:
        self._ctx = ctx
        self._writer = writer
        self._pieces: list[bytes] = []
        self._bytes = 0
        self._written = 0
        self._in_flight: asyncio.Future[None] | None = None

    async def write(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self._bytes += len(piece)
        if self._bytes >= self.BATCH and self._written + self._bytes > MEMORY_BYTES:
            await self._send()

    async def flush(self) -> None:
        """Everything given is in the writer."""
        if self._written + self._bytes <= MEMORY_BYTES:
            for piece in self._pieces:  # still only memory: no trip to the pool
                self._writer.write(piece)
            self._written += self._bytes
            self._pieces, self._bytes = [], 0
        else:
            await self._send()
        await self.settle()

    async def settle(self, *, quietly: bool = False) -> None:
        """Wait for the batch in flight, if any; its error is raised unless
        ``quietly`` (the body failed already: the writer is dropped next)."""
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        if not quietly:
            await flight
            return
        with contextlib.suppress(Exception):  # the body's own error is the one raised
            await flight

    async def _send(self) -> None:
        await self.settle()  # one batch at a time, in order
        pieces, self._pieces = self._pieces, []
        self._written += self._bytes
        self._bytes = 0
        if pieces:
            writer = self._writer

            def write_all() -> None:
                for piece in pieces:
                    writer.write(piece)

            self._in_flight = asyncio.ensure_future(self._ctx.services.run(write_all))


async def receive_body(ctx: Context, max_size: int, *, finish: bool = True,
                       seal_key: bytes | None = None) -> ReceivedBlob:
    """Stream the request body into a finished blob, or raise and keep nothing.

    ``finish=False``: everything is checked, but the blob is left for the
    caller to finish (``ReceivedBlob.writer``), so that finishing it and
    committing its record take one trip to the thread pool, not two.
    ``seal_key``: the blob is sealed under this data key (the hashes are
    of the plaintext, as S3's ETag and checksums of an SSE-S3 object are)."""
    headers = ctx.request.headers
    # A SigV2 request signs no payload hash; its x-amz-content-sha256 may
    # still say the body is aws-chunked (only the unsigned form can work).
    payload_hash = (ctx.auth.payload_hash or headers.get("x-amz-content-sha256")
                    or "UNSIGNED-PAYLOAD")
    # Every header is checked before the first byte is read.
    body: _PlainBody | _ChunkedBody
    if payload_hash.startswith("STREAMING-"):
        body = _ChunkedBody(ctx, payload_hash, max_size)
        claim = request_checksum(headers, body.trailer_names)
    else:
        body = _PlainBody(ctx.request, max_size)
        claim = request_checksum(headers)
    expected_md5 = content_md5(headers.get("content-md5"))
    want_sha256 = _is_hex_sha256(payload_hash)

    md5 = hashlib.md5()
    sha256 = hashlib.sha256() if want_sha256 else None
    hasher = claim.algorithm.new() if claim is not None else None
    writer: BlobWriter = ctx.services.blobs.writer()
    sealed = SealedWriter(writer, seal_key) if seal_key is not None else None
    if sealed is not None:
        writer = sealed
    behind = WriteBehind(ctx, writer)
    try:
        size = 0
        async for piece in body.payload():
            size += len(piece)
            md5.update(piece)
            if sha256 is not None:
                sha256.update(piece)
            if hasher is not None:
                hasher.update(piece)
            await behind.write(piece)
        await behind.flush()
        if sha256 is not None and not hmac.compare_digest(sha256.hexdigest(), payload_hash.lower()):
            raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=payload_hash,
                          S3ComputedContentSHA256=sha256.hexdigest())
        if expected_md5 is not None and not hmac.compare_digest(md5.digest(), expected_md5):
            raise S3Error("BadDigest", ExpectedDigest=expected_md5.hex(),
                          CalculatedDigest=base64.b64encode(md5.digest()).decode())
        checksums = {}
        if claim is not None and hasher is not None:
            computed = hasher.digest()
            if not hmac.compare_digest(computed, _expected(claim, body.trailers)):
                raise mismatch(claim.algorithm)
            checksums[claim.algorithm.name] = encode(computed)
        blob_id = await ctx.services.run(writer.finish) if finish else writer.blob_id
    except BaseException:
        await behind.settle(quietly=True)
        writer.abort()
        raise
    return ReceivedBlob(blob_id, size, md5.hexdigest(), checksums,
                        None if finish else writer, sealed.nonce if sealed else None)


def _expected(claim: RequestChecksum, trailers: dict[str, str]) -> bytes:
    """The digest the client claims, from its header or its (verified) trailer."""
    if claim.expected is not None:
        return claim.expected
    # The decoder ends only once every announced trailer has arrived.
    return decode_checksum(claim.algorithm, trailers[claim.algorithm.header])


async def discard_blobs(ctx: Context, blob_ids: list[str]) -> None:
    """Delete blobs no record points at any more (after a replace or delete).
    The records are gone already, so the request succeeded: a blob backend
    that fails now leaves orphans for the sweep, not an error answer."""
    if blob_ids:
        try:
            await ctx.services.run(delete_blobs, ctx, blob_ids)
        except BlobBackendError as error:
            log.warning("%d blobs left for the sweep: blob backend %s: %s", len(blob_ids),
                        error.kind, error)


def delete_blobs(ctx: Context, blob_ids: list[str]) -> None:
    """Delete blobs now (blocking: in the thread pool); batched where the
    store can (an S3 backend's DeleteObjects)."""
    if blob_ids:
        ctx.services.blobs.delete_many(blob_ids)
