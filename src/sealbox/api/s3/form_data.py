"""A streaming ``multipart/form-data`` parser: bytes in, events out, no I/O.

Browser POST uploads carry a file of any size after a few small fields, so
the body is never held whole: ``MultipartParser.feed`` takes whatever
chunk arrived and returns the events it completes — a part's start (its
name, filename and content type), runs of its data, its end, and the end
of the form. The caller decides what to keep; the parser keeps at most one
chunk plus a boundary's length.

The grammar is RFC 7578 over RFC 2046 §5.1.1: ``--boundary`` lines with
CRLF endings, part headers up to an empty line, the closing
``--boundary--``. Anything else — no boundary, a truncated body, a part
without a name, headers too long — is ``MalformedPOSTRequest``, S3's
answer to a body that is "not well-formed multipart/form-data".

Why not the ``python-multipart`` package: its callback API would still
need this module's events and S3's errors around it, and its import name
moved (``multipart`` → ``python_multipart``) in 2024, colliding with the
unrelated ``multipart`` package; about 200 lines of table-tested code is
the smaller thing to own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sealbox.errors import S3Error

MAX_PART_HEADER_BYTES = 8 * 1024
MAX_PREAMBLE_BYTES = 16 * 1024
MAX_BOUNDARY_LENGTH = 70  # RFC 2046 §5.1.1
_BOUNDARY_CHARS = frozenset(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
)


@dataclass(frozen=True)
class PartStart:
    """A part's headers: ``name`` and ``filename`` of its Content-Disposition."""

    name: str
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    pass


@dataclass(frozen=True)
class FormEnd:
    pass


Event = PartStart | PartData | PartEnd | FormEnd


def malformed() -> S3Error:
    return S3Error("MalformedPOSTRequest")


def parse_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type.

    Another media type is S3's 412: "Bucket POST must be of the
    enclosure-type multipart/form-data"; a missing or bad boundary is a
    form that cannot be read.
    """
    media, _, params = (content_type or "").partition(";")
    if media.strip().lower() != "multipart/form-data":
        raise S3Error("PreconditionFailed",
                      Condition="Bucket POST must be of the enclosure-type multipart/form-data")
    boundary = _parameters(params).get("boundary")
    if not boundary:
        raise malformed()
    raw = boundary.encode("latin-1", "replace")
    if len(raw) > MAX_BOUNDARY_LENGTH or not set(raw) <= _BOUNDARY_CHARS or raw.endswith(b" "):
        raise malformed()
    return raw


def _parameters(text: str) -> dict[str, str]:
    """``; a=b; c="d;e"`` → ``{"a": "b", "c": "d;e"}``, names lower-cased.

    Quoted values end at the next quote not escaped by a backslash; browsers
    percent-encode quotes in names (WHATWG HTML "multipart/form-data
    encoding algorithm"), so a backslash is otherwise kept as it is (a
    Windows path in ``filename`` stays whole).
    """
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in "; \t":
            i += 1
        start = i
        while i < n and text[i] not in "=;":
            i += 1
        name = text[start:i].strip().lower()
        value = ""
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == '"':
                i += 1
                chars = []
                while i < n and text[i] != '"':
                    if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\':
                        i += 1
                    chars.append(text[i])
                    i += 1
                if i >= n:
                    raise malformed()
                i += 1
                value = "".join(chars)
            else:
                start = i
                while i < n and text[i] != ";":
                    i += 1
                value = text[start:i].strip()
        if name and name not in params:
            params[name] = value
    return params


def _decode(raw: bytes) -> str:
    # Browsers send non-ASCII names and filenames as raw UTF-8.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _part_start(block: bytes) -> PartStart:
    disposition = content_type = None
    for line in block.split(b"\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise malformed()
        header = name.decode("latin-1").lower()
        if header == "content-disposition":
            disposition = _decode(value).strip()
        elif header == "content-type":
            content_type = _decode(value).strip()
    if disposition is None:
        raise malformed()
    kind, _, rest = disposition.partition(";")
    params = _parameters(rest)
    if kind.strip().lower() != "form-data" or "name" not in params:
        raise malformed()
    return PartStart(params["name"], params.get("filename"), content_type)


class MultipartParser:
    """Feed it the body in chunks; it returns events as they complete.

    ``finish()`` at the end of the body raises ``MalformedPOSTRequest``
    unless the closing boundary arrived. Bytes after the closing boundary
    (the epilogue) are ignored, as RFC 2046 says.
    """

    def __init__(self, boundary: bytes) -> None:
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        # The first boundary may open the body with no CRLF before it.
        self._buffer = b"\r\n"
        self._state = "preamble"
        self._preamble_seen = 0

    @property
    def done(self) -> bool:
        return self._state == "epilogue"

    def feed(self, data: bytes) -> list[Event]:
        if self._state == "epilogue":
            return []
        self._buffer += data
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    def finish(self) -> list[Event]:
        if self._state != "epilogue":
            raise malformed()
        return []

    def _step(self, events: list[Event]) -> bool:
        """Advance by one state transition; False when more bytes are needed."""
        buf = self._buffer
        state = self._state
        if state == "preamble":
            at = buf.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter) - 1
                self._preamble_seen += max(0, len(buf) - keep)
                if self._preamble_seen > MAX_PREAMBLE_BYTES:
                    raise malformed()
                self._buffer = buf[-keep:] if len(buf) > keep else buf
                return False
            self._buffer = buf[at + len(self._delimiter):]
            self._state = "after-boundary"
            return True
        if state == "after-boundary":
            # "--" closes the form; otherwise optional transport padding, CRLF.
            if len(buf) < 2:
                return False
            if buf.startswith(b"--"):
                self._buffer = b""
                self._state = "epilogue"
                events.append(FormEnd())
                return False
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 256 or buf.strip(b" \t"):
                    raise malformed()
                return False
            if buf[:end].strip(b" \t"):
                raise malformed()
            self._buffer = buf[end + 2:]
            self._state = "headers"
            return True
        if state == "headers":
            if buf.startswith(b"\r\n"):
                raise malformed()  # a part with no headers names no field
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_PART_HEADER_BYTES:
                    raise malformed()
                return False
            if end > MAX_PART_HEADER_BYTES:
                raise malformed()
            events.append(_part_start(buf[:end]))
            self._buffer = buf[end + 4:]
            self._state = "body"
            return True
        if state == "body":
            at = buf.find(self._delimiter)
            if at < 0:
                # Keep what could be the start of a delimiter split across chunks.
                keep = len(self._delimiter) - 1
                if len(buf) > keep:
                    events.append(PartData(buf[:-keep]))
                    self._buffer = buf[-keep:]
                return False
            if at:
                events.append(PartData(buf[:at]))
            events.append(PartEnd())
            self._buffer = buf[at + len(self._delimiter):]
            self._state = "after-boundary"
            return True
        return False
