"""The sealed blob format: object bytes as AES-256-GCM chunks.

An encrypted object's blob (one per segment: a PUT's body, a multipart
part) is its plaintext cut into ``CHUNK`` bytes, each sealed alone:

    chunk i  =  AES-256-GCM(data key, nonce_i, plaintext_i, aad_i) + 16-byte tag
    nonce_i  =  the blob's 8-byte random prefix + i (4 bytes, big-endian)
    aad_i    =  b"sealbox-sse:v1" + i (8 bytes) + final (1 byte: 1 on the last chunk)

Every blob has at least one chunk (an empty body is one empty final
chunk), so a blob is ``plain + TAG * chunks`` bytes. A chunk decrypts only
at its own place (its index is in the nonce and the associated data), and
only the last one says it is last: chunks cannot be reordered, dropped or
cut off the end without a read failing. A Range reads and decrypts the
chunks it touches and nothing else.

The prefix is random per blob and kept in the object's record beside the
blob's id (``Segment.nonce``), not in the blob: a blob moved under another
record does not decrypt. Nonces never repeat under one data key: a key
serves one object or one multipart upload (≤ 10 000 parts, each part
upload a fresh prefix: 2^-64 per pair), and a blob has < 2^32 chunks.

Pure: bytes and keys in, bytes out.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 64 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG
PREFIX_BYTES = 8
KEY_BYTES = 32
_AAD = b"sealbox-sse:v1"
_MAX_CHUNKS = 2**32


class SealedBlobCorrupt(OSError):
    """A chunk failed authentication: the blob was altered, truncated,
    reordered, or read with the wrong key or prefix. An ``OSError``, as a
    blob shorter than its record is: the server answers 500, sends no byte
    it could not authenticate."""


def chunk_count(plain_size: int) -> int:
    """How many chunks hold ``plain_size`` bytes (at least one)."""
    return max(1, -(-plain_size // CHUNK))


def sealed_size(plain_size: int) -> int:
    """The size of the blob holding ``plain_size`` bytes."""
    return plain_size + TAG * chunk_count(plain_size)


def new_prefix() -> bytes:
    """A fresh random nonce prefix for one blob."""
    return os.urandom(PREFIX_BYTES)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(index: int, final: bool) -> bytes:
    return _AAD + struct.pack(">QB", index, final)


def seal_chunk(aead: AESGCM, prefix: bytes, index: int, plaintext: bytes | memoryview, *,
               final: bool) -> bytes:
    """Chunk ``index`` of a blob, sealed."""
    if index >= _MAX_CHUNKS or len(plaintext) > CHUNK:
        raise ValueError("chunk out of the format's bounds")
    return aead.encrypt(_nonce(prefix, index), plaintext, _aad(index, final))


def open_chunk(aead: AESGCM, prefix: bytes, index: int, sealed: bytes | memoryview, *,
               final: bool) -> bytes:
    """Chunk ``index``'s plaintext; ``SealedBlobCorrupt`` if it does not authenticate."""
    try:
        return aead.decrypt(_nonce(prefix, index), sealed, _aad(index, final))
    except InvalidTag:
        raise SealedBlobCorrupt(f"sealed chunk {index} failed authentication") from None


def sealed_span(plain_size: int, offset: int, length: int) -> tuple[int, int, int]:
    """For plaintext bytes ``offset`` … ``offset+length-1`` of a blob holding
    ``plain_size`` bytes: (first chunk index, sealed offset, sealed length)
    of the chunks that hold them."""
    first = offset // CHUNK
    last = (offset + max(length, 1) - 1) // CHUNK
    start = first * SEALED_CHUNK
    end = min((last + 1) * SEALED_CHUNK, sealed_size(plain_size))
    return first, start, end - start


class ChunkOpener:
    """Decrypts a run of sealed chunks fed in order and yields the plaintext
    of ``offset`` … ``offset+length-1``; used by every reader of a sealed
    blob (streamed, or read by ``read``)."""

    __slots__ = ("_aead", "_buffer", "_final", "_index", "_left", "_prefix", "_skip")

    def __init__(self, aead: AESGCM, prefix: bytes, plain_size: int, offset: int,
                 length: int) -> None:
        self._aead = aead
        self._prefix = prefix
        self._final = chunk_count(plain_size) - 1
        self._index = offset // CHUNK
        self._skip = offset - self._index * CHUNK  # bytes of the first chunk before offset
        self._left = length
        self._buffer = bytearray()

    @property
    def done(self) -> bool:
        return self._left <= 0

    def feed(self, sealed: bytes) -> Iterator[bytes]:
        """Plaintext of every chunk ``sealed`` completes. Whole chunks are
        opened in place (a view, no copy); only a partial one is kept."""
        if self._buffer:
            self._buffer += sealed
            data: bytes | bytearray = self._buffer
            self._buffer = bytearray()
        else:
            data = sealed
        view = memoryview(data)
        position, size = 0, len(data)
        try:
            while self._left > 0 and size - position >= SEALED_CHUNK:
                yield self._open(view[position:position + SEALED_CHUNK])
                position += SEALED_CHUNK
            if self._left > 0 and position < size:
                self._buffer = bytearray(view[position:])
        finally:
            view.release()

    def open_whole(self, sealed: memoryview, out: memoryview) -> memoryview:
        """The wanted plaintext of ``sealed``, whole chunks only (a reader
        that reads chunk-aligned runs), decrypted into ``out`` (at least
        ``CHUNK`` per chunk): no allocation per chunk, which for 1 MiB
        reads costs more than the AES-GCM itself (page faults)."""
        if self._buffer:
            raise ValueError("open_whole after a partial feed")
        first_skip, written, position = self._skip, 0, 0
        while position < len(sealed):
            piece = sealed[position:position + SEALED_CHUNK]
            index = self._index
            if index > self._final or len(piece) <= TAG:
                raise SealedBlobCorrupt("sealed blob longer than its record")
            final = index == self._final
            if not final and len(piece) != SEALED_CHUNK:
                raise SealedBlobCorrupt(f"sealed chunk {index} is short")
            target = out[written:written + len(piece) - TAG]
            try:
                self._aead.decrypt_into(_nonce(self._prefix, index), piece,
                                        _aad(index, final), target)
            except InvalidTag:
                raise SealedBlobCorrupt(f"sealed chunk {index} failed authentication") from None
            written += len(piece) - TAG
            position += len(piece)
            self._index += 1
        taken = min(written - first_skip, self._left)
        self._skip = 0
        self._left -= max(taken, 0)
        return out[first_skip:first_skip + max(taken, 0)]

    def end(self) -> Iterator[bytes]:
        """What is left: the last chunk, which may be short; an error if the
        sealed bytes stopped before the plaintext asked for."""
        if self._left > 0 and self._buffer:
            chunk, self._buffer = bytes(self._buffer), bytearray()
            yield self._open(chunk)
        if self._left > 0:
            raise SealedBlobCorrupt(f"sealed blob ended {self._left} bytes early")

    def _open(self, sealed: bytes | memoryview) -> bytes:
        index = self._index
        if index > self._final:
            raise SealedBlobCorrupt("sealed blob longer than its record")
        plain = open_chunk(self._aead, self._prefix, index, sealed, final=index == self._final)
        if index < self._final and len(plain) != CHUNK:
            raise SealedBlobCorrupt(f"sealed chunk {index} is short")
        self._index += 1
        data = plain
        if self._skip or len(plain) > self._left:
            data = plain[self._skip:self._skip + self._left]
        self._skip = 0
        self._left -= len(data)
        return data


class ChunkSealer:
    """Seals a stream of plaintext into chunks: ``feed`` returns the sealed
    bytes of every chunk known not to be the last, ``end`` the last one.
    A full chunk is held back until a byte after it arrives, because only
    then is it known not to be final."""

    __slots__ = ("_aead", "_buffer", "_index", "prefix", "size")

    def __init__(self, key: bytes, prefix: bytes | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._aead = AESGCM(key)
        self.prefix = prefix if prefix is not None else new_prefix()
        self._buffer = bytearray()
        self._index = 0
        self.size = 0  # plaintext bytes fed

    def feed(self, data: bytes) -> bytes:
        self.size += len(data)
        self._buffer += data
        if len(self._buffer) <= CHUNK:
            return b""
        out = []
        full = (len(self._buffer) - 1) // CHUNK  # chunks with at least a byte after them
        view = memoryview(self._buffer)
        for n in range(full):
            out.append(seal_chunk(self._aead, self.prefix, self._index,
                                  view[n * CHUNK:(n + 1) * CHUNK], final=False))
            self._index += 1
        view.release()
        del self._buffer[:full * CHUNK]
        return b"".join(out)

    def end(self) -> bytes:
        last = seal_chunk(self._aead, self.prefix, self._index, bytes(self._buffer), final=True)
        self._buffer = bytearray()
        self._index += 1
        return last
