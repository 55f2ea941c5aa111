"""Conditional deletes: DeleteObject's If-Match (and the directory-bucket
x-amz-if-match-size / -last-modified-time), DeleteObjects' per-object ETag.

S3 supports them in general purpose buckets since 2025 ("How to perform
conditional deletes", S3 User Guide); sealbox used to ignore the headers and
delete anyway, which is worse than refusing them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def test_delete_if_match_other_etag_is_412_and_keeps_the_object(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert _error(excinfo) == ("PreconditionFailed", 412)
    assert excinfo.value.response["Error"]["Condition"] == "If-Match"
    assert _exists(s3, bucket, "k")


@pytest.mark.parametrize("quoted", [True, False])
def test_delete_if_match_current_etag_deletes(s3, bucket, quoted: bool) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    response = s3.delete_object(Bucket=bucket, Key="k",
                                IfMatch=etag if quoted else etag.strip('"'))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not _exists(s3, bucket, "k")


def test_delete_if_match_star_deletes_an_existing_object(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert not _exists(s3, bucket, "k")


@pytest.mark.parametrize("value", ["*", '"0123456789abcdef0123456789abcdef"'])
def test_delete_if_match_of_a_missing_key_is_no_such_key(s3, bucket, value: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=bucket, Key="never-written", IfMatch=value)
    assert _error(excinfo) == ("NoSuchKey", 404)


def test_delete_if_match_after_an_overwrite_is_412(s3, bucket) -> None:
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch=first)
    assert _error(excinfo) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"


def test_delete_if_match_size_and_last_modified_time(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"four")
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=5)
    assert _error(excinfo) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=bucket, Key="k",
                         IfMatchLastModifiedTime=modified - timedelta(days=1))
    assert _error(excinfo) == ("PreconditionFailed", 412)
    assert _exists(s3, bucket, "k")
    s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=4, IfMatchLastModifiedTime=modified)
    assert not _exists(s3, bucket, "k")
    # As their documentation says, these two hold for a missing key.
    response = s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=5)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_objects_checks_each_etag(s3, bucket) -> None:
    keep = s3.put_object(Bucket=bucket, Key="keep", Body=b"a")["ETag"]
    drop = s3.put_object(Bucket=bucket, Key="drop", Body=b"b")["ETag"]
    response = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "keep", "ETag": drop},
        {"Key": "drop", "ETag": drop},
        {"Key": "missing", "ETag": keep},
        {"Key": "plain"},
    ]})
    assert [d["Key"] for d in response["Deleted"]] == ["drop", "plain"]
    assert [(e["Key"], e["Code"]) for e in response["Errors"]] == [
        ("keep", "PreconditionFailed"), ("missing", "NoSuchKey")]
    assert _exists(s3, bucket, "keep")
    assert not _exists(s3, bucket, "drop")


def test_delete_objects_quiet_still_lists_failed_conditions(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"a")
    old = datetime(2015, 1, 1, tzinfo=UTC)
    response = s3.delete_objects(Bucket=bucket, Delete={"Quiet": True, "Objects": [
        {"Key": "k", "LastModifiedTime": old}]})
    assert "Deleted" not in response
    assert [(e["Key"], e["Code"]) for e in response["Errors"]] == [("k", "PreconditionFailed")]
    assert _exists(s3, bucket, "k")
