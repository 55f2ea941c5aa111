"""The sealed blob format (store/sealed_chunks.py) and its reader and
writer (store/sealed_blobs.py), in memory and on a real file (the
server's path: preadv into reused buffers, views handed out): a body
written in any pieces reads back whole and by any range; a blob altered, truncated, reordered,
moved under another nonce or read with another key fails, never yields
wrong bytes."""

from __future__ import annotations

import asyncio
import io
import os
import random
from typing import Any

import pytest

from sealbox.store.sealed_blobs import READ_CHUNKS, SealedBlob, SealedWriter
from sealbox.store.sealed_chunks import CHUNK, SEALED_CHUNK, TAG, SealedBlobCorrupt, sealed_size

RUN_PLAIN = READ_CHUNKS * CHUNK  # plaintext bytes of one run the reader reads
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7, 1_000_003]


class MemoryWriter:
    blob_id = "0" * 32

    def __init__(self) -> None:
        self.data = bytearray()
        self.finished = self.aborted = False

    def write(self, data: bytes) -> None:
        self.data += data

    def finish(self) -> str:
        self.finished = True
        return self.blob_id

    def abort(self) -> None:
        self.aborted = True


def seal(data: bytes, key: bytes, piece: int = 7777) -> tuple[bytes, str]:
    inner = MemoryWriter()
    writer = SealedWriter(inner, key)
    for start in range(0, len(data), piece):
        writer.write(data[start:start + piece])
    writer.finish()
    assert inner.finished
    return bytes(inner.data), writer.nonce


def streamed(blob: SealedBlob, offset: int, length: int) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in blob.chunks(offset, length)])
    return asyncio.run(collect())


@pytest.mark.parametrize("size", SIZES)
def test_a_sealed_body_reads_back_whole_and_by_any_range(size: int) -> None:
    key, data = os.urandom(32), os.urandom(size)
    sealed, nonce = seal(data, key)
    assert len(sealed) == sealed_size(size)
    blob = SealedBlob(io.BytesIO(sealed), key, nonce, size)
    assert blob.read() == data
    rng = random.Random(size)
    for _ in range(12 if size else 0):
        start = rng.randrange(size)
        length = rng.randrange(1, size - start + 1)
        blob.seek(start)
        assert blob.read(length) == data[start:start + length]
        assert streamed(blob, start, length) == data[start:start + length]


def test_ranges_on_chunk_boundaries_read_only_their_chunks() -> None:
    key, data = os.urandom(32), os.urandom(4 * CHUNK + 10)
    sealed, nonce = seal(data, key, piece=CHUNK)
    reads: list[tuple[int, int]] = []

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            reads.append((self.tell(), size or -1))
            return super().read(size)

        def fileno(self) -> int:
            raise io.UnsupportedOperation

    blob = SealedBlob(Counting(sealed), key, nonce, len(data))
    blob.seek(CHUNK - 1)
    assert blob.read(2) == data[CHUNK - 1:CHUNK + 1]
    assert reads == [(0, 2 * SEALED_CHUNK)]  # chunks 0 and 1, nothing else


def test_the_ciphertext_holds_no_run_of_the_plaintext() -> None:
    data = b"invoice 2026 account 12345678 " * 5000
    sealed, _ = seal(data, os.urandom(32))
    assert data[:30] not in sealed and len(sealed) == len(data) + TAG * 3


@pytest.mark.parametrize("damage", ["flip", "truncate_chunk", "drop_last", "swap", "append"])
def test_a_damaged_blob_fails_instead_of_yielding_wrong_bytes(damage: str) -> None:
    key, data = os.urandom(32), os.urandom(3 * CHUNK + 100)
    sealed_bytes, nonce = seal(data, key)
    sealed = bytearray(sealed_bytes)
    if damage == "flip":
        sealed[SEALED_CHUNK + 5] ^= 1
    elif damage == "truncate_chunk":
        del sealed[-10:]
    elif damage == "drop_last":
        del sealed[3 * SEALED_CHUNK:]
    elif damage == "swap":
        first, second = sealed[:SEALED_CHUNK], sealed[SEALED_CHUNK:2 * SEALED_CHUNK]
        sealed[:2 * SEALED_CHUNK] = second + first
    else:  # a chunk more than the record's size has: the last one is not final
        sealed[3 * SEALED_CHUNK:] = sealed[:SEALED_CHUNK]
    blob = SealedBlob(io.BytesIO(bytes(sealed)), key, nonce, len(data))
    with pytest.raises(SealedBlobCorrupt):
        blob.read()


def test_an_empty_blob_is_one_sealed_chunk_that_must_be_there() -> None:
    key = os.urandom(32)
    sealed, nonce = seal(b"", key)
    assert len(sealed) == TAG
    assert SealedBlob(io.BytesIO(sealed), key, nonce, 0).read() == b""


def test_another_key_or_another_blobs_nonce_does_not_open() -> None:
    key, data = os.urandom(32), os.urandom(1000)
    sealed, nonce = seal(data, key)
    _, other_nonce = seal(data, key)
    for k, n in ((os.urandom(32), nonce), (key, other_nonce)):
        with pytest.raises(SealedBlobCorrupt):
            SealedBlob(io.BytesIO(sealed), k, n, len(data)).read()


def test_a_writer_aborted_drops_its_blob() -> None:
    inner = MemoryWriter()
    writer = SealedWriter(inner, os.urandom(32))
    writer.write(b"x" * (CHUNK + 1))
    writer.abort()
    assert inner.aborted and not inner.finished


def test_a_sealed_file_streams_views_of_reused_buffers_whole_and_by_range(tmp_path: Any) -> None:
    # On a real file the server reads runs of 16 chunks with preadv into
    # buffers it reuses (each run at its own offset within a page) and
    # hands out views of them: each view must hold the right bytes when it
    # is handed out, across runs, for ranges starting in any chunk.
    key, data = os.urandom(32), os.urandom(2 * RUN_PLAIN + 5 * CHUNK + 123)
    sealed, nonce = seal(data, key, piece=300_000)
    path = tmp_path / "blob"
    path.write_bytes(sealed)

    async def collect(blob: SealedBlob, offset: int, length: int) -> tuple[bytes, set[type]]:
        kinds: set[type] = set()
        pieces = []
        async for piece in blob.views(offset, length):
            kinds.add(type(piece))
            pieces.append(bytes(piece))  # copied now: the buffer is refilled next
        return b"".join(pieces), kinds

    with open(path, "rb") as file:
        blob = SealedBlob(file, key, nonce, len(data))
        got, kinds = asyncio.run(collect(blob, 0, len(data)))
        assert got == data and memoryview in kinds
        for first_chunk in (1, 15, 16, 17, 31, 33):
            start = first_chunk * CHUNK - 5
            length = min(RUN_PLAIN + 2 * CHUNK, len(data) - start)
            got, _ = asyncio.run(collect(blob, start, length))
            assert got == data[start:start + length], first_chunk


def test_past_the_large_buffers_lent_a_read_streams_chunk_by_chunk(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each request in flight holds its pair of buffers for its whole download
    # (a slow client: minutes): past LARGE_LENT_MAX pairs of ~1 MiB, the next
    # reads get one chunk's pair, so memory stays bounded and nobody waits.
    from sealbox.store import sealed_blobs

    monkeypatch.setattr(sealed_blobs, "LARGE_LENT_MAX", 1)
    key, data = os.urandom(32), os.urandom(RUN_PLAIN + 3 * CHUNK + 11)
    sealed, nonce = seal(data, key, piece=300_000)
    path = tmp_path / "blob"
    path.write_bytes(sealed)

    async def collect(blob: SealedBlob, offset: int, length: int) -> tuple[bytes, int]:
        pieces = [bytes(piece) async for piece in blob.views(offset, length)]
        return b"".join(pieces), max(map(len, pieces))

    with open(path, "rb") as file:
        blob = SealedBlob(file, key, nonce, len(data))
        held = sealed_blobs._take_buffers()  # a slow client's, still sending
        try:
            assert len(held[1]) == sealed_blobs.RUN
            got, largest = asyncio.run(collect(blob, 0, len(data)))
            assert got == data and largest == CHUNK
            got, largest = asyncio.run(collect(blob, CHUNK - 3, 2 * CHUNK))
            assert got == data[CHUNK - 3:3 * CHUNK - 3] and largest <= CHUNK
        finally:
            sealed_blobs._give_back(held)
        got, largest = asyncio.run(collect(blob, 0, len(data)))  # a large pair again
        assert got == data and largest == RUN_PLAIN
