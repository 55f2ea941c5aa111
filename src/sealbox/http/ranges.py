"""The Range header of GetObject and HeadObject, as S3 reads it.

S3 serves one byte range per request ("Amazon S3 doesn't support retrieving
multiple ranges of data per GET request", GetObject API reference). What it
does with everything else was recorded against AWS by LocalStack
(tests/aws/services/s3/test_s3_api.py::test_get_object_range, marked
``aws.validated``) and by versity/versitygw (tests/integration/GetObject.go,
HeadObject.go, ``getObject_zero_len_with_range_helper``):

- a header S3 cannot read is ignored and the whole object is sent with 200,
  as RFC 9110 §14.2 allows: ``0-1`` (no unit), ``bytes=-``, ``bytes=1-0``
  (last < first), ``bytes=0--1``, ``bytes= -1`` (spaces), ``bytes=abc``,
  ``foo=0-1``;
- several ranges (``bytes=0-1,3-4,7-9``) are ignored the same way: 200 and
  the whole body, no ``multipart/byteranges`` (also seen by
  awslabs/aws-c-s3#257 and basho/riak_cs#304 against S3);
- an unsatisfiable range is 416 ``InvalidRange`` with ``<RangeRequested>``
  (the header as sent) and ``<ActualObjectSize>``, in that order
  (versity/versitygw#2069 quotes S3's body): a first byte at or past the
  end (``bytes=100-200`` of 10 bytes), a zero-length suffix ``bytes=-0``, and
  any first-byte range of an empty object (``bytes=0-``, ``bytes=0-0``);
- a suffix range of an empty object (``bytes=-1``) is ignored: 200 with the
  empty body (versitygw's zero-length table; Trino reads empty files' tails
  this way against S3, floci-io/floci#1141);
- a last byte past the end is clamped (``bytes=0-100`` of 10 bytes is
  ``bytes 0-9/10``), and a suffix longer than the object is the whole object
  as a 206.

Leading zeros are numbers like any other (``bytes=00-01`` is ``0-1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sealbox.errors import S3Error

# RFC 9110 §14.1.2 without the list: one range, no whitespace (S3 ignores
# ``bytes= -1`` and ``bytes=0 -1``). The unit is case-insensitive (§14.1).
_RANGE = re.compile(r"(?i:bytes)=(?:(\d+)-(\d*)|-(\d+))")


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` of an object, both inclusive."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The Content-Range of a 206: ``bytes 0-9/100``."""
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of ``header`` within an object of ``size`` bytes.

    ``None`` means "send the whole object with 200": no header, a header
    S3 ignores (malformed, several ranges, other unit), or a suffix range of
    an empty object. Raises ``S3Error("InvalidRange")`` (416) when the range
    cannot be satisfied; the error carries ``Content-Range: bytes */size``
    as RFC 9110 §15.5.17 asks of a 416.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header)
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        length = int(suffix)
        if length == 0:
            raise _unsatisfiable(header, size)
        if size == 0:
            return None
        return ByteRange(max(size - length, 0), size - 1)
    start = int(first)
    end = int(last) if last else None
    if end is not None and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(header, size)
    if end is None or end >= size:
        end = size - 1
    return ByteRange(start, end)


def _unsatisfiable(header: str, size: int) -> S3Error:
    return S3Error(
        "InvalidRange",
        headers={"content-range": f"bytes */{size}"},
        RangeRequested=header,
        ActualObjectSize=str(size),
    )
