"""Range headers as S3 answers them.

The tables are AWS's recorded answers: LocalStack's
tests/aws/services/s3/test_s3_api.py::test_get_object_range (10-byte object,
``aws.validated``) and versitygw's GetObject/HeadObject range tables
(100-byte object) and ``getObject_zero_len_with_range_helper`` (empty object).
"""

from __future__ import annotations

import pytest

from sealbox.errors import S3Error
from sealbox.http.ranges import ByteRange, parse_range

# (header, size, expected Content-Range or None for "200, whole object")
SATISFIED = [
    # LocalStack, 10 bytes "0123456789"
    ("bytes=0-8", 10, "bytes 0-8/10"),
    ("bytes=1-1", 10, "bytes 1-1/10"),
    ("bytes=1-", 10, "bytes 1-9/10"),
    ("bytes=-2", 10, "bytes 8-9/10"),
    ("bytes=-9", 10, "bytes 1-9/10"),
    ("bytes=-15", 10, "bytes 0-9/10"),  # suffix longer than the object: all of it, 206
    ("bytes=0-100", 10, "bytes 0-9/10"),  # last byte clamped
    ("bytes=0-0", 10, "bytes 0-0/10"),
    # versitygw, 100 bytes
    ("bytes=00-01", 100, "bytes 0-1/100"),  # leading zeros are numbers
    ("bytes=-1", 100, "bytes 99-99/100"),
    ("bytes=-100", 100, "bytes 0-99/100"),
    ("bytes=-101", 100, "bytes 0-99/100"),
    ("bytes=0-99", 100, "bytes 0-99/100"),
    ("bytes=0-999999", 100, "bytes 0-99/100"),
    ("bytes=50-", 100, "bytes 50-99/100"),
    ("bytes=99-99", 100, "bytes 99-99/100"),
    # RFC 9110 §14.1.2 examples on a 10000-byte representation
    ("bytes=0-499", 10000, "bytes 0-499/10000"),
    ("bytes=500-999", 10000, "bytes 500-999/10000"),
    ("bytes=-500", 10000, "bytes 9500-9999/10000"),
    ("bytes=9500-", 10000, "bytes 9500-9999/10000"),
    ("Bytes=0-0", 10000, "bytes 0-0/10000"),  # the unit is case-insensitive (§14.1)
    # numbers past any int64 are still just numbers
    ("bytes=0-99999999999999999999999", 10, "bytes 0-9/10"),
]

IGNORED = [
    # LocalStack, 10 bytes: 200 with the whole body
    ("bytes=1-0", 10),  # last < first
    ("bytes=-1-", 10),
    ("bytes=0--1", 10),
    ("bytes=0-1,3-4,7-9", 10),  # several ranges: S3 serves none of them
    ("0-1", 10),  # no unit
    ("bytes=-", 10),
    # versitygw, 100 bytes
    ("bytes=,", 100),
    ("bytes= -1", 100),  # no whitespace inside
    ("bytes=0 -1", 100),
    ("bytes=--1", 100),
    ("bytes=10-5", 100),
    ("bytes=abc", 100),
    ("bytes=a-z", 100),
    ("foo=0-1", 100),  # another unit
    ("bytes=abc-xyz", 100),
    ("bytes=100-x", 100),
    ("bytes=0-0,1-2", 100),
    ("bytes=102-0", 100),  # last < first wins over first past the end
    ("", 100),
    # versitygw, empty object: a suffix range is ignored, not refused
    ("bytes=-1", 0),
    ("bytes=abc", 0),
    ("bytes=0-0,1-2", 0),
]

UNSATISFIABLE = [
    ("bytes=-0", 10),  # a zero-length suffix (LocalStack)
    ("bytes=100-200", 10),  # starts past the end (LocalStack)
    ("bytes=10-", 10),
    ("bytes=100-100", 100),  # versitygw
    ("bytes=100-110", 100),
    ("bytes=0-", 0),  # empty object (versitygw)
    ("bytes=0-0", 0),
    ("bytes=00-01", 0),
    ("bytes=-0", 0),
]


@pytest.mark.parametrize("header, size, content_range", SATISFIED)
def test_satisfiable_range_is_a_206_with_clamped_bounds(header, size, content_range):
    byte_range = parse_range(header, size)
    assert byte_range is not None
    assert byte_range.content_range(size) == content_range
    assert 0 <= byte_range.start <= byte_range.end < size


@pytest.mark.parametrize("header, size", IGNORED)
def test_unreadable_or_multiple_ranges_are_ignored_and_the_whole_object_sent(header, size):
    assert parse_range(header, size) is None


def test_no_range_header_means_the_whole_object():
    assert parse_range(None, 10) is None


@pytest.mark.parametrize("header, size", UNSATISFIABLE)
def test_unsatisfiable_range_is_416_invalid_range_with_s3s_fields(header, size):
    with pytest.raises(S3Error) as caught:
        parse_range(header, size)
    error = caught.value
    assert (error.code, error.status) == ("InvalidRange", 416)
    assert error.message == "The requested range is not satisfiable"
    # S3's order: RangeRequested, then ActualObjectSize (versitygw#2069)
    assert list(error.fields.items()) == [
        ("RangeRequested", header),
        ("ActualObjectSize", str(size)),
    ]
    assert error.headers == {"content-range": f"bytes */{size}"}


def test_byte_range_length_and_content_range():
    byte_range = ByteRange(8, 9)
    assert byte_range.length == 2
    assert byte_range.content_range(10) == "bytes 8-9/10"
