"""aws-chunked request bodies: bytes in, events out, no I/O.

SDKs send an upload in aws-chunked framing when they sign it chunk by
chunk or append its checksum after the data (S3 API reference,
"Transferring payload in multiple chunks" and "Including trailing
headers"). ``x-amz-content-sha256`` says which form a body takes:

``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``
    ``<hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n`` … ending with a
    zero-size chunk and ``\\r\\n``. Each signature chains on the one before,
    starting from the request's own (the seed).
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``
    The same, then after the zero-size chunk the trailing headers named in
    ``x-amz-trailer``, ``x-amz-trailer-signature:<sig>\\r\\n`` and ``\\r\\n``.
``STREAMING-UNSIGNED-PAYLOAD-TRAILER``
    ``<hex size>\\r\\n<data>\\r\\n`` … ``0\\r\\n``, the trailers, ``\\r\\n``:
    what botocore and the JavaScript SDK send to carry a checksum.

``ChunkedDecoder.feed`` takes the bytes as they arrive and returns
``Data``, ``Trailer`` and ``End`` events. Data is handed on as soon as it
arrives, before the chunk's signature (which covers the whole chunk) can be
checked: the caller writes it to a temporary file and keeps nothing unless
``End`` comes. Nothing is buffered but one size line or trailer section,
both capped, so memory stays flat whatever the chunk size.

The decoder is a table of states (``_SIZE_LINE`` → ``_DATA`` → ``_DATA_END``
→ ``_SIZE_LINE`` …, and ``_SIZE_LINE`` → ``_TRAILERS`` → ``_DONE`` after the
zero-size chunk); each ``_on_*`` method consumes input in one state.

Errors are S3's: framing that is wrong or ends early is ``IncompleteBody``
("The request body terminated unexpectedly", as S3 answers it, measured by
versity/versitygw#1666); a chunk or trailer signature that does not verify
is ``SignatureDoesNotMatch``; a trailer that is missing, unannounced or not
``name:value`` is ``MalformedTrailerError``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Final

from sealbox.errors import S3Error

from . import keys

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# SigV4a (ECDSA) streaming: recognised so it can be refused plainly.
ECDSA = ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
         "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")

CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TRAILER_SIGNATURE = "x-amz-trailer-signature"

# A size line is at most 16 hex digits, ";chunk-signature=" and 64 hex
# digits; leave room for chunk extensions unsigned senders may add.
MAX_SIZE_LINE = 4096
# The trailer section: a few checksum headers and one signature.
MAX_TRAILER_BYTES = 16 * 1024
MAX_TRAILERS = 16

TERMINATED = "The request body terminated unexpectedly"
MALFORMED_TRAILER = (
    "The request contained trailing data that was not well-formed or did not conform to "
    "our published schema."
)


@dataclass(frozen=True)
class Data:
    """Decoded payload bytes (a slice of what was fed)."""

    data: bytes


@dataclass(frozen=True)
class Trailer:
    """One trailing header, name lower-cased, value stripped; verified if signed."""

    name: str
    value: str


@dataclass(frozen=True)
class End:
    """The body ended where its framing says, with every signature verified."""


Event = Data | Trailer | End


@dataclass(frozen=True)
class Mode:
    """What an ``x-amz-content-sha256`` streaming value says about the body."""

    signed: bool
    trailer: bool


MODES: Final = {
    SIGNED: Mode(signed=True, trailer=False),
    SIGNED_TRAILER: Mode(signed=True, trailer=True),
    UNSIGNED_TRAILER: Mode(signed=False, trailer=True),
}


@dataclass(frozen=True)
class ChunkSigning:
    """What chains the chunk signatures: the request's signing key, its
    ``x-amz-date``, credential scope and signature (the seed)."""

    key: bytes = field(repr=False)
    amz_date: str
    scope: str
    seed: str

    def chunk_signature(self, previous: str, chunk_sha256: str) -> str:
        """The signature of one chunk whose data hashes to ``chunk_sha256``."""
        lines = (CHUNK_ALGORITHM, self.amz_date, self.scope, previous, EMPTY_SHA256,
                 chunk_sha256)
        return keys.sign(self.key, "\n".join(lines))

    def trailer_signature(self, previous: str, trailers: list[tuple[str, str]]) -> str:
        """The signature of the trailer section: over its headers written
        ``name:value\\n`` each, in name order (the canonical header form)."""
        canonical = "".join(f"{name}:{value}\n" for name, value in sorted(trailers))
        digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
        lines = (TRAILER_ALGORITHM, self.amz_date, self.scope, previous, digest)
        return keys.sign(self.key, "\n".join(lines))


def parse_trailer_names(value: str | None) -> tuple[str, ...]:
    """The trailer names an ``x-amz-trailer`` header announces, lower-cased."""
    if not value:
        return ()
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def incomplete(message: str = TERMINATED, *, expected: int | None = None,
               provided: int | None = None) -> S3Error:
    """IncompleteBody; with the payload lengths when they are what differs."""
    if expected is None or provided is None:
        return S3Error("IncompleteBody", message)
    return S3Error("IncompleteBody", message, NumberBytesExpected=str(expected),
                   NumberBytesProvided=str(provided))


def malformed_trailer() -> S3Error:
    return S3Error("MalformedTrailerError", MALFORMED_TRAILER)


def signature_mismatch(provided: str) -> S3Error:
    return S3Error("SignatureDoesNotMatch", SignatureProvided=provided[:64])


_SIZE_LINE, _DATA, _DATA_END, _TRAILERS, _DONE = range(5)
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIGNATURE_EXTENSION = b"chunk-signature="


class ChunkedDecoder:
    """Decode one aws-chunked body.

    ``decoded_length`` is ``x-amz-decoded-content-length``: the payload
    must be exactly that long. ``signing`` is given for the signed forms;
    ``trailers`` are the names ``x-amz-trailer`` announced, and must all
    arrive (only the trailer forms may have any).
    """

    def __init__(self, mode: Mode, decoded_length: int, *,
                 signing: ChunkSigning | None = None, trailers: tuple[str, ...] = ()) -> None:
        if mode.signed and signing is None:
            raise ValueError("a signed aws-chunked body needs the request's signing values")
        if trailers and not mode.trailer:
            raise ValueError("only the -TRAILER forms carry trailers")
        self._mode = mode
        self._signing = signing
        self._expected_length = decoded_length
        self._announced = trailers
        self._state = _SIZE_LINE
        self._buffer = bytearray()  # a partial size line, CRLF or trailer section
        self._remaining = 0  # bytes of the current chunk still to come
        self._decoded = 0
        self._chunks = 0
        self._previous = signing.seed if signing is not None else ""
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()

    @property
    def decoded(self) -> int:
        """Payload bytes handed out so far."""
        return self._decoded

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[Event]:
        """Consume the next bytes of the body; the events they complete."""
        events: list[Event] = []
        position = 0
        handlers = (self._on_size_line, self._on_data, self._on_data_end, self._on_trailers,
                    self._on_done)
        while position < len(data):
            position = handlers[self._state](data, position, events)
        return events

    def end_of_body(self) -> list[Event]:
        """The body ended: the final events, or IncompleteBody if it ended early."""
        if self._state == _DONE:
            return []
        if (self._state == _TRAILERS and not self._buffer and not self._announced
                and not self._mode.signed):
            # The JavaScript SDK ends a body that has no trailer with "0\r\n"
            # alone, without the empty line that closes the trailer section.
            self._state = _DONE
            return [End()]
        raise incomplete(expected=self._expected_length, provided=self._decoded)

    # --- one method per state ---------------------------------------------------------

    def _on_size_line(self, data: bytes, position: int, events: list[Event]) -> int:
        line, position = self._take_line(data, position, MAX_SIZE_LINE)
        if line is None:
            return position
        size = self._parse_size_line(line)
        self._chunks += 1
        if size == 0:
            self._verify_chunk()
            if self._decoded != self._expected_length:
                raise incomplete(expected=self._expected_length, provided=self._decoded)
            self._state = _TRAILERS
            return position
        if self._decoded + size > self._expected_length:
            raise incomplete("The request body is longer than x-amz-decoded-content-length")
        self._remaining = size
        self._state = _DATA
        return position

    def _on_data(self, data: bytes, position: int, events: list[Event]) -> int:
        end = min(len(data), position + self._remaining)
        piece = data if position == 0 and end == len(data) else data[position:end]
        if self._mode.signed:
            self._chunk_hash.update(piece)
        self._remaining -= len(piece)
        self._decoded += len(piece)
        events.append(Data(piece))
        if self._remaining == 0:
            self._state = _DATA_END
        return end

    def _on_data_end(self, data: bytes, position: int, events: list[Event]) -> int:
        need = 2 - len(self._buffer)
        self._buffer += data[position:position + need]
        position += min(need, len(data) - position)
        if len(self._buffer) < 2:
            return position
        if self._buffer != b"\r\n":
            raise incomplete()
        self._buffer.clear()
        self._verify_chunk()
        self._state = _SIZE_LINE
        return position

    def _on_trailers(self, data: bytes, position: int, events: list[Event]) -> int:
        # The section (lines up to the empty one) is kept whole, capped, and
        # checked at once: the signature covers all of it.
        start = len(self._buffer)
        taken = data[position:position + MAX_TRAILER_BYTES + 4 - start]
        self._buffer += taken
        if self._buffer.startswith(b"\r\n"):
            end = 2  # no trailers: the empty line comes first
        else:
            found = self._buffer.find(b"\r\n\r\n", max(0, start - 3))
            end = -1 if found == -1 else found + 4
        if end == -1:
            if len(self._buffer) > MAX_TRAILER_BYTES:
                raise malformed_trailer()
            return position + len(taken)
        section = bytes(self._buffer[:end])
        self._buffer.clear()
        events.extend(self._check_trailers(section))
        events.append(End())
        self._state = _DONE
        return position + end - start

    def _on_done(self, data: bytes, position: int, events: list[Event]) -> int:
        raise incomplete("The request body continues past its final chunk")

    # --- helpers ----------------------------------------------------------------------

    def _take_line(self, data: bytes, position: int, cap: int) -> tuple[bytes | None, int]:
        """A CRLF-terminated line (without it), or None when it has not all arrived."""
        found = data.find(b"\n", position, position + cap + 1 - len(self._buffer))
        if found == -1:
            self._buffer += data[position:]
            if len(self._buffer) > cap:
                raise incomplete()
            return None, len(data)
        self._buffer += data[position:found + 1]
        line = bytes(self._buffer)
        self._buffer.clear()
        if not line.endswith(b"\r\n"):
            raise incomplete()
        return line[:-2], found + 1

    def _parse_size_line(self, line: bytes) -> int:
        size_text, _, extension = line.partition(b";")
        if not size_text or len(size_text) > 16 or not _HEX.issuperset(size_text):
            raise incomplete()
        if self._mode.signed:
            # Exactly one extension, the signature: 64 hex digits.
            signature = extension.removeprefix(_SIGNATURE_EXTENSION)
            if (not extension.startswith(_SIGNATURE_EXTENSION) or len(signature) != 64
                    or not _HEX.issuperset(signature)):
                raise incomplete()
            self._chunk_signature = signature.decode("ascii")
            self._chunk_hash = hashlib.sha256()
        return int(size_text, 16)

    def _verify_chunk(self) -> None:
        if not self._mode.signed:
            return
        assert self._signing is not None
        expected = self._signing.chunk_signature(self._previous, self._chunk_hash.hexdigest())
        if not hmac.compare_digest(expected, self._chunk_signature):
            raise signature_mismatch(self._chunk_signature)
        self._previous = expected

    def _check_trailers(self, section: bytes) -> list[Event]:
        pairs: list[tuple[str, str]] = []
        for raw in section[:-2].split(b"\r\n")[:-1]:
            name, colon, value = raw.partition(b":")
            if not colon or not name or len(pairs) >= MAX_TRAILERS:
                raise malformed_trailer()
            pairs.append((name.decode("latin-1").strip().lower(),
                          value.decode("latin-1").strip()))
        signature = None
        if self._mode.signed and self._mode.trailer:
            if not pairs or pairs[-1][0] != TRAILER_SIGNATURE:
                raise malformed_trailer()
            signature = pairs.pop()[1]
        names = [name for name, _ in pairs]
        if sorted(names) != sorted(self._announced) or len(set(names)) != len(names):
            raise malformed_trailer()
        if signature is not None:
            assert self._signing is not None
            expected = self._signing.trailer_signature(self._previous, pairs)
            if not hmac.compare_digest(expected, signature):
                raise signature_mismatch(signature)
        return [Trailer(name, value) for name, value in pairs]
