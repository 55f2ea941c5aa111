"""``--blob-store`` values and their environment, parsed or refused with a
line that says what to change (sealbox.store.blob_location)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealbox.store.blob_location import (
    BadBlobStore,
    LocalLocation,
    S3Location,
    parse_blob_store,
)

DATA = Path("/var/lib/sealbox")
ENV = {"SEALBOX_BLOB_S3_ENDPOINT": "http://10.0.0.5:7480/",
       "SEALBOX_BLOB_S3_REGION": "eu-west-3",
       "SEALBOX_BLOB_S3_ACCESS_KEY_ID": "AK",
       "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": "SK"}


def test_default_is_files_under_the_data_dir() -> None:
    assert parse_blob_store("", DATA, {}) == LocalLocation(DATA / "objects")


def test_file_url_names_another_directory() -> None:
    assert parse_blob_store("file:///srv/blobs", DATA, {}) == LocalLocation(Path("/srv/blobs"))


@pytest.mark.parametrize(("value", "bucket", "prefix"), [
    ("s3://sealbox-blobs", "sealbox-blobs", ""),
    ("s3://sealbox-blobs/", "sealbox-blobs", ""),
    ("s3://sealbox-blobs/prod/eu", "sealbox-blobs", "prod/eu"),
    ("s3://abc/node-1/", "abc", "node-1"),
])
def test_s3_url_with_its_environment(value: str, bucket: str, prefix: str) -> None:
    location = parse_blob_store(value, DATA, ENV)
    assert location == S3Location(bucket, prefix, "http://10.0.0.5:7480", "eu-west-3", "AK", "SK")
    assert "SK" not in repr(location)


def test_s3_defaults_to_aws_in_us_east_1_with_the_usual_credentials() -> None:
    assert parse_blob_store("s3://b-1", DATA, {}) == S3Location("b-1", "", "", "us-east-1")


@pytest.mark.parametrize(("value", "env", "says"), [
    ("ftp://x", {}, "give s3://BUCKET[/PREFIX] or file:///PATH"),
    ("/srv/blobs", {}, "give s3://BUCKET[/PREFIX] or file:///PATH"),
    ("file://relative/path", {}, "needs an absolute path"),
    ("s3://Upper", {}, "is not an S3 bucket name"),
    ("s3://ab", {}, "is not an S3 bucket name"),
    ("s3://a_b_c", {}, "is not an S3 bucket name"),
    ("s3://", {}, "is not an S3 bucket name"),
    ("s3://bucket/a/../b", {}, "no empty, . or .. part"),
    ("s3://bucket/a//b", {}, "no empty, . or .. part"),
    ("s3://bucket/a b", {}, "no empty, . or .. part"),
    ("s3://bucket", {"SEALBOX_BLOB_S3_ENDPOINT": "10.0.0.5:7480"}, "http(s)://HOST[:PORT]"),
    ("s3://bucket", {"SEALBOX_BLOB_S3_ENDPOINT": "http://h/path"}, "http(s)://HOST[:PORT]"),
    ("s3://bucket", {"SEALBOX_BLOB_S3_ACCESS_KEY_ID": "AK"}, "set both"),
    ("s3://bucket", {"SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": "SK"}, "set both"),
])
def test_values_that_cannot_work_are_refused_saying_why(value: str, env: dict[str, str],
                                                        says: str) -> None:
    with pytest.raises(BadBlobStore, match=None) as caught:
        parse_blob_store(value, DATA, env)
    assert says in str(caught.value)
    assert "SK" not in str(caught.value)
