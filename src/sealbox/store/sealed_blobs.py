"""Encryption at rest behind the blob layer: a writer that seals what it
is given into any ``BlobWriter``, and a reader that opens any blob store's
blob and decrypts only the chunks a range touches (store.sealed_chunks
holds the format).

Why here and not in each store: both blob stores (local files, an S3
bucket) then keep ciphertext without knowing it, and every reader of an
object (GET, the edge, copies, managed links) goes through ``SealedBlob``
as through any other blob. The record says whether a segment is sealed
(its ``nonce``) and the API layer finds its data key; nothing here knows
about keys beyond the 32 bytes it is handed.

A ``SealedBlob`` is a ``StreamingBlob``: the server streams it with
``views`` (decrypting on the event loop, 1 MiB runs into reused buffers
that sealbox's server writes straight to the socket: AES-GCM runs at
GB/s), never by ``sendfile``, which would send ciphertext. Decrypting in a
thread was measured and is slower: the GIL is taken back after every
64 KiB chunk, and the SSE-S3 GET's CPU rose from ~0.9 to ~1.5 ms a MiB.
"""

from __future__ import annotations

import io
import mmap
import os
from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO, Self, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.store.blobs import BlobStore, BlobWriter, PositionedReader, StreamingBlob
from sealbox.store.meta import Segment
from sealbox.store.sealed_chunks import (
    SEALED_CHUNK,
    ChunkOpener,
    ChunkSealer,
    SealedBlobCorrupt,
    sealed_span,
)

READ_CHUNKS = 16  # sealed chunks per read of a local file (1 MiB of plaintext)
RUN = READ_CHUNKS * SEALED_CHUNK
PAGE = mmap.PAGESIZE
# Read and plaintext buffers kept for the next request (on the event loop,
# one thread; a request in flight holds its pair until it ends, which for a
# slow client is its whole download).
_FREE_BUFFERS: list[tuple[memoryview, memoryview]] = []
_FREE_SMALL: list[tuple[memoryview, memoryview]] = []
_FREE_MAX = 8
# Pairs of RUN-sized buffers lent at once (per process: ~2 MiB each); past
# them a request gets a pair of one chunk, so a thousand slow clients of
# sealed objects hold ~130 MiB rather than ~2 GiB, and nobody waits.
LARGE_LENT_MAX = 32
_large_lent = 0


def _take_buffers() -> tuple[memoryview, memoryview]:
    """A read buffer of ``RUN + PAGE`` bytes and a plaintext one of ``RUN``
    (one chunk each, ``SEALED_CHUNK + PAGE`` and ``SEALED_CHUNK``, while
    ``LARGE_LENT_MAX`` large pairs are out), all starting on a page
    (anonymous maps).

    Why pages: the kernel copies a ``pread`` out of the page cache with
    ``rep movsb``, which on the AMD EPYC this was measured on runs ~10x
    slower when the destination sits 1-32 bytes past the source modulo
    4 KiB (a 1 MiB read: 400 µs instead of 45). A bytearray's bytes start
    16 bytes into a page, and a chunk-aligned run starts 16 x its first
    chunk's index into one: ``_local_runs`` reads each run at the same
    offset within a page as it has in the file, so the two never drift.
    """
    global _large_lent
    if _large_lent >= LARGE_LENT_MAX:
        if _FREE_SMALL:
            return _FREE_SMALL.pop()
        return _new_pair(SEALED_CHUNK)
    _large_lent += 1
    if _FREE_BUFFERS:
        return _FREE_BUFFERS.pop()
    return _new_pair(RUN)


def _new_pair(run: int) -> tuple[memoryview, memoryview]:
    return memoryview(mmap.mmap(-1, run + PAGE)), memoryview(mmap.mmap(-1, run))


def _give_back(buffers: tuple[memoryview, memoryview]) -> None:
    global _large_lent
    if len(buffers[1]) == RUN:
        _large_lent -= 1
        free = _FREE_BUFFERS
    else:
        free = _FREE_SMALL
    if len(free) < _FREE_MAX:
        free.append(buffers)


class SealedWriter:
    """Seals a new blob's bytes into ``inner``; ``nonce`` (hex) is what the
    record keeps beside the blob's id."""

    def __init__(self, inner: BlobWriter, key: bytes) -> None:
        self._inner = inner
        self._sealer = ChunkSealer(key)
        self.blob_id = inner.blob_id

    def __repr__(self) -> str:
        return f"SealedWriter({self.blob_id})"

    @property
    def nonce(self) -> str:
        return self._sealer.prefix.hex()

    def write(self, data: bytes) -> None:
        sealed = self._sealer.feed(data)
        if sealed:
            self._inner.write(sealed)

    def finish(self) -> str:
        self._inner.write(self._sealer.end())
        return self._inner.finish()

    def abort(self) -> None:
        self._inner.abort()


def _read_exactly(file: BinaryIO, offset: int, size: int) -> bytes:
    try:
        fd = file.fileno()
    except (OSError, AttributeError):  # io.UnsupportedOperation: an S3 blob
        file.seek(offset)
        parts = []
        while size > 0:
            data = file.read(size)
            if not data:
                break
            parts.append(data)
            size -= len(data)
        return b"".join(parts)
    return os.pread(fd, size, offset)


class SealedBlob(StreamingBlob, PositionedReader):
    """A sealed blob read as its plaintext: ``start``/``chunks`` for the
    server, ``read``/``seek`` (blocking) for copies and the edge."""

    def __init__(self, inner: BinaryIO, key: bytes, nonce: str, plain_size: int) -> None:
        self._inner = inner
        self._aead = AESGCM(key)
        self._prefix = bytes.fromhex(nonce)
        self._size = plain_size
        self._position = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"SealedBlob(size={self._size})"

    def _opener(self, offset: int, length: int) -> ChunkOpener:
        return ChunkOpener(self._aead, self._prefix, self._size, offset, length)

    async def start(self, offset: int, length: int) -> None:
        if isinstance(self._inner, StreamingBlob):
            _, sealed_offset, sealed_length = sealed_span(self._size, offset, length)
            await self._inner.start(sealed_offset, sealed_length)

    async def chunks(self, offset: int, length: int) -> AsyncIterator[bytes]:
        """Plaintext bytes ``offset`` … ``offset+length-1``, as they are opened;
        ``SealedBlobCorrupt`` (an ``OSError``) if a chunk does not authenticate."""
        async for piece in self.views(offset, length):
            yield bytes(piece)

    async def views(self, offset: int, length: int) -> AsyncIterator[bytes | memoryview]:
        """As ``chunks``, but a local file's plaintext comes as views of a
        buffer reused for the next run and the next request: the server
        writes each to the socket before asking for more, and no MiB is
        allocated or copied in Python."""
        opener = self._opener(offset, length)
        _, sealed_offset, sealed_length = sealed_span(self._size, offset, length)
        inner = self._inner
        if isinstance(inner, StreamingBlob):
            async for data in inner.chunks(sealed_offset, sealed_length):
                plain = b"".join(opener.feed(data))
                if plain:
                    yield plain
        else:
            buffers = _take_buffers()
            try:
                for plain_view in self._local_runs(opener, buffers, sealed_offset, sealed_length):
                    yield plain_view
            finally:
                _give_back(buffers)
        rest = b"".join(opener.end())
        if rest:
            yield rest

    def _local_runs(self, opener: ChunkOpener, buffers: tuple[memoryview, memoryview],
                    offset: int, length: int) -> Iterator[memoryview]:
        """Chunk-aligned runs of a local file, read into one buffer and
        decrypted into another, both reused across requests: nothing is
        allocated per run. (Allocating each MiB afresh cost more in page
        faults than the AES-GCM itself.) Each view is valid until the next."""
        sealed_buffer, plain_buffer = buffers
        run = len(plain_buffer)  # whole chunks: RUN, or one chunk when many are lent
        inner = self._inner
        try:
            fd: int | None = inner.fileno()
        except (OSError, AttributeError):  # io.UnsupportedOperation: not a real file
            fd = None
        position, end = offset, offset + length
        while position < end and not opener.done:
            at = position % PAGE  # the run's offset within a page: see _take_buffers
            view = sealed_buffer[at:at + min(run, end - position)]
            if fd is not None:
                got = os.preadv(fd, [view], position)
            else:
                data = _read_exactly(inner, position, len(view))
                got = len(data)
                view[:got] = data
            if got == 0:
                break
            position += got
            # A blob that ends early leaves a chunk partial, which
            # open_whole refuses rather than guessing.
            plain = opener.open_whole(view[:got], plain_buffer)
            if len(plain):
                yield plain

    def read(self, size: int | None = -1) -> bytes:
        left = self._size - self._position
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        _, sealed_offset, sealed_length = sealed_span(self._size, self._position, size)
        data = _read_exactly(self._inner, sealed_offset, sealed_length)
        opener = self._opener(self._position, size)
        plain = b"".join([*opener.feed(data), *opener.end()])
        self._position += len(plain)
        return plain

    def _end(self) -> int:
        return self._size

    def fileno(self) -> int:
        raise io.UnsupportedOperation("a sealed blob is read through its reader, not its file")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_segment(blobs: BlobStore, segment: Segment, key: bytes | None) -> BinaryIO:
    """A segment's blob, read as its plaintext: sealed (``segment.nonce``)
    ones through ``SealedBlob`` under ``key``, the others as they are."""
    file = blobs.open(segment.blob_id)
    if segment.nonce is None:
        return file
    if key is None:
        file.close()
        raise ValueError("a sealed segment opened without its data key")
    # A BinaryIO by duck typing (read, seek, close), as S3Blob is.
    return cast(BinaryIO, SealedBlob(file, key, segment.nonce, segment.size))


__all__ = ["SealedBlob", "SealedBlobCorrupt", "SealedWriter", "open_segment"]
