"""x-amz-copy-source and x-amz-copy-source-range parsing, and byte-run copies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sealbox.api.s3.copy_source import CopySource, _copy, parse_copy_range, parse_copy_source
from sealbox.errors import S3Error
from sealbox.store.localfs import LocalBlobStore
from sealbox.store.meta import Segment


@pytest.mark.parametrize(("header", "expected"), [
    ("bucket/key", CopySource("bucket", "key")),
    ("/bucket/key", CopySource("bucket", "key")),
    ("bucket/a/b/c.txt", CopySource("bucket", "a/b/c.txt")),
    ("bucket/a%20b%3Fc", CopySource("bucket", "a b?c")),
    ("bucket/plus+stays", CopySource("bucket", "plus+stays")),
    ("bucket/pct%2525", CopySource("bucket", "pct%25")),  # decoded once only
    ("bucket/%E2%82%AC", CopySource("bucket", "\u20ac")),
    ("bucket/key?versionId=null", CopySource("bucket", "key", "null")),
    ("bucket/key%3FversionId=x", CopySource("bucket", "key?versionId=x")),
])
def test_parse_copy_source(header: str, expected: CopySource) -> None:
    assert parse_copy_source(header) == expected


@pytest.mark.parametrize("header", ["bucket", "bucket/", "/key", "", "/", "bucket/%ff",
                                    "bucket/key?other=1", "bucket/key?versionId="])
def test_parse_copy_source_without_bucket_and_key_is_invalid_argument(header: str) -> None:
    with pytest.raises(S3Error) as e:
        parse_copy_source(header)
    assert e.value.code == "InvalidArgument"
    assert e.value.fields["ArgumentName"] == "x-amz-copy-source"


@pytest.mark.parametrize(("header", "size", "expected"), [
    ("bytes=0-4", 5, (0, 5)),
    ("bytes=2-2", 5, (2, 1)),
    ("bytes=0-5242879", 12 * 1024 * 1024, (0, 5 * 1024 * 1024)),
])
def test_parse_copy_range(header: str, size: int, expected: tuple[int, int]) -> None:
    assert parse_copy_range(header, size) == expected


@pytest.mark.parametrize("header", ["0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar",
                                    "bytes=hello-", "bytes=0-2,3-5", "bytes=-3", "bytes=1-"])
def test_parse_copy_range_improper_form_is_invalid_argument(header: str) -> None:
    with pytest.raises(S3Error) as e:
        parse_copy_range(header, 5)
    assert e.value.code == "InvalidArgument"
    assert e.value.message.startswith("The x-amz-copy-source-range value must be of the form")


@pytest.mark.parametrize("header", ["bytes=0-21", "bytes=5-5", "bytes=3-2"])
def test_parse_copy_range_outside_source_is_invalid_argument_with_size(header: str) -> None:
    with pytest.raises(S3Error) as e:
        parse_copy_range(header, 5)
    assert e.value.code == "InvalidArgument"
    assert e.value.message == "Range specified is not valid for source object of size: 5"
    assert e.value.fields == {"ArgumentName": "x-amz-copy-source-range", "ArgumentValue": header}


@pytest.mark.parametrize(("start", "length"), [(0, 3003), (500, 1500), (1000, 1001),
                                               (2999, 4), (0, 0), (1000, 1)])
def test_copy_reads_across_segments(tmp_path: Path, start: int, length: int) -> None:
    blobs = LocalBlobStore(str(tmp_path))
    segments = []
    data = b""
    for i in range(3):
        chunk = bytes([65 + i]) * (1000 + i)
        writer = blobs.writer()
        writer.write(chunk)
        segments.append(Segment(writer.finish(), len(chunk)))
        data += chunk
    copied = _copy(blobs, tuple(segments), start, length, "sha256")
    with blobs.open(copied.blob_id) as f:
        got = f.read()
    assert got == data[start:start + length]
    assert copied.size == length
    assert copied.md5_hex == hashlib.md5(got).hexdigest()
    assert set(copied.checksums) == {"sha256"}


def test_copy_of_a_vanished_blob_keeps_nothing(tmp_path: Path) -> None:
    blobs = LocalBlobStore(str(tmp_path))
    writer = blobs.writer()
    writer.write(b"abc")
    blob_id = writer.finish()
    blobs.delete(blob_id)
    with pytest.raises(FileNotFoundError):
        _copy(blobs, (Segment(blob_id, 3),), 0, 3)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
