"""Object operations through boto3 against a real server."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_put_then_get_returns_bytes_headers_and_md5_etag(s3, bucket) -> None:
    body = os.urandom(100_000)
    put = s3.put_object(
        Bucket=bucket, Key="dir/file.bin", Body=body, ContentType="application/x-test",
        ContentDisposition='attachment; filename="f.bin"', ContentLanguage="en",
        CacheControl="max-age=60", ContentEncoding="identity",
        Expires=datetime(2030, 1, 1, tzinfo=UTC), Metadata={"owner": "alice"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/file.bin")
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"]
    assert got["ContentType"] == "application/x-test"
    assert got["ContentDisposition"] == 'attachment; filename="f.bin"'
    assert got["ContentLanguage"] == "en"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentEncoding"] == "identity"
    assert got["Metadata"] == {"owner": "alice"}
    assert got["ContentLength"] == len(body)
    assert got["AcceptRanges"] == "bytes"


def test_default_content_type_is_binary_octet_stream(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="k")["ContentType"] == "binary/octet-stream"


def test_overwrite_replaces_whole_object(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"first version, longer")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_empty_object_round_trips(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


@pytest.mark.parametrize(
    "key",
    ["a b+c", "100%", "dir//double", "../escape", "./dot", "ünïcødé/ключ/鍵", "tilde~!*'()",
     "q?x=1&y", "hash#tag", "semi;colon", "trailing/", " lead", "x" * 1024],
)
def test_odd_keys_round_trip(s3, bucket, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [key]


def test_key_over_1024_bytes_is_refused(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="é" * 513, Body=b"x")
    assert _code(excinfo) == ("KeyTooLongError", 400)


def test_get_missing_key_is_no_such_key(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="missing")
    assert _code(excinfo) == ("NoSuchKey", 404)
    assert excinfo.value.response["Error"]["Key"] == "missing"


def test_get_from_missing_bucket_is_no_such_bucket(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="bucket-that-is-not", Key="k")
    assert _code(excinfo) == ("NoSuchBucket", 404)


def test_head_missing_key_is_bare_404(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="missing")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-9", b"0123456789", "bytes 0-9/36"),
        ("bytes=30-", b"uvwxyz", "bytes 30-35/36"),
        ("bytes=-4", b"wxyz", "bytes 32-35/36"),
        ("bytes=34-100", b"yz", "bytes 34-35/36"),
    ],
)
def test_single_ranges_answer_206(s3, bucket, header: str, expected: bytes,
                                  content_range: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789abcdefghijklmnopqrstuvwxyz")
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == expected
    assert got["ContentRange"] == content_range


def test_unsatisfiable_range_is_416(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert _code(excinfo) == ("InvalidRange", 416)


def test_conditional_get(s3, bucket) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"data")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert _code(excinfo) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    last_modified = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    past = datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=last_modified)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # A date in the future is ignored (RFC 9110 13.1.3), so the object is sent.
    future = datetime.now(UTC) + timedelta(minutes=5)
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)["Body"].read() == b"data"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert _code(excinfo) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"data"


def test_put_if_none_match_star_refuses_to_overwrite(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*")
    assert _code(excinfo) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"1"


def test_response_overrides_in_a_signed_get(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="image/png",
                        ResponseContentDisposition="attachment; filename=x.png",
                        ResponseCacheControl="no-store")
    assert got["ContentType"] == "image/png"
    assert got["ContentDisposition"] == "attachment; filename=x.png"
    assert got["CacheControl"] == "no-store"


def test_metadata_over_2kb_is_refused(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2100})
    assert _code(excinfo) == ("MetadataTooLarge", 400)


def test_content_md5_mismatch_is_bad_digest_and_stores_nothing(s3, bucket) -> None:
    import base64

    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="d", Body=b"data", ContentMD5=wrong)
    assert _code(excinfo) == ("BadDigest", 400)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_invalid_content_md5_is_invalid_digest(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="d", Body=b"data", ContentMD5="not-base64!")
    assert _code(excinfo) == ("InvalidDigest", 400)


def test_checksum_header_mismatch_is_bad_digest(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="d", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert _code(excinfo) == ("BadDigest", 400)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_checksums_are_verified_stored_and_returned(s3, bucket, algorithm: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="sum", Body=b"checksummed", ChecksumAlgorithm=algorithm)
    field = f"Checksum{algorithm}"
    got = s3.get_object(Bucket=bucket, Key="sum", ChecksumMode="ENABLED")
    assert got[field] == put[field]
    assert got["Body"].read() == b"checksummed"


def test_delete_is_idempotent(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="gone")


def test_delete_objects_reports_each_key_and_quiet_reports_none(s3, bucket) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    loud = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in loud["Deleted"]) == ["a", "zz"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_copy_keeps_metadata_by_default_and_replaces_on_request(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/x-src",
                  Metadata={"a": "1"}, Tagging="t=1")
    result = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    copied = s3.get_object(Bucket=bucket, Key="copy")
    assert (copied["Body"].read(), copied["ContentType"], copied["Metadata"]) == (
        b"payload", "text/x-src", {"a": "1"})
    assert s3.get_object_tagging(Bucket=bucket, Key="copy")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource=f"{bucket}/src",
                   MetadataDirective="REPLACE", ContentType="text/new", Metadata={"b": "2"})
    replaced = s3.head_object(Bucket=bucket, Key="replaced")
    assert (replaced["ContentType"], replaced["Metadata"]) == ("text/new", {"b": "2"})


def test_copy_onto_itself_without_changes_is_invalid_request(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert _code(excinfo) == ("InvalidRequest", 400)
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"new": "yes"})
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"new": "yes"}


def test_copy_source_conditions(s3, bucket) -> None:
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"x")["ETag"]
    s3.copy_object(Bucket=bucket, Key="ok", CopySource=f"{bucket}/src", CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="no", CopySource=f"{bucket}/src",
                       CopySourceIfNoneMatch=etag)
    assert _code(excinfo) == ("PreconditionFailed", 412)


def test_copy_from_missing_source_is_no_such_key(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/absent")
    assert _code(excinfo) == ("NoSuchKey", 404)


def test_tagging_round_trip_and_header_tags(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="project=blue&tier=gold")
    assert s3.head_object(Bucket=bucket, Key="t")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-tagging-count"] == "2"
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert tags == [{"Key": "project", "Value": "blue"}, {"Key": "tier", "Value": "gold"}]
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []


def test_more_than_ten_tags_is_invalid_tag(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x")
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": tags})
    assert _code(excinfo) == ("InvalidTag", 400)


def test_tagging_missing_object_is_no_such_key(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_tagging(Bucket=bucket, Key="absent")
    assert _code(excinfo) == ("NoSuchKey", 404)


def test_storage_class_is_kept_and_unknown_ones_refused(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="s", Body=b"x", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="s")["StorageClass"] == "STANDARD_IA"
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="s", Body=b"x", StorageClass="NOPE")
    assert _code(excinfo) == ("InvalidStorageClass", 400)
