"""Bucket operations through boto3 against a real server."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_created_bucket_is_listed_with_region(s3) -> None:
    name = f"listed-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    listed = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}
    assert name in listed
    assert listed[name]["BucketRegion"] == "us-east-1"


def test_head_bucket_reports_region(s3, bucket) -> None:
    head = s3.head_bucket(Bucket=bucket)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"


def test_head_missing_bucket_is_404(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "UpperCase", "under_score", "-leading", "trailing-", "two..dots",
     "192.168.5.4", "xn--punycode", "name-s3alias", "dot.-dash"],
)
def test_invalid_bucket_names_are_refused(s3, name: str) -> None:
    # botocore validates some names itself; send the rest raw.
    with pytest.raises(Exception) as excinfo:
        s3.create_bucket(Bucket=name)
    if isinstance(excinfo.value, ClientError):
        assert _code(excinfo) == ("InvalidBucketName", 400)


def test_recreating_an_owned_bucket_in_us_east_1_is_200_and_keeps_it(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    answer = s3.create_bucket(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"x"


def test_recreating_an_owned_bucket_elsewhere_is_409_already_owned(tmp_path) -> None:
    import boto3
    from botocore.config import Config

    from sealbox.testing.server import RunningServer

    with RunningServer(data_dir=tmp_path / "data", env={"SEALBOX_REGION": "eu-west-1"}) as eu:
        client = boto3.client(
            "s3", endpoint_url=eu.endpoint, aws_access_key_id=eu.access_key,
            aws_secret_access_key=eu.secret_key, region_name="eu-west-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
        config = {"LocationConstraint": "eu-west-1"}
        client.create_bucket(Bucket="owned", CreateBucketConfiguration=config)
        assert client.get_bucket_location(Bucket="owned")["LocationConstraint"] == "eu-west-1"
        with pytest.raises(ClientError) as excinfo:
            client.create_bucket(Bucket="owned", CreateBucketConfiguration=config)
        assert _code(excinfo) == ("BucketAlreadyOwnedByYou", 409)


def test_delete_non_empty_bucket_is_409(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket)
    assert _code(excinfo) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket=bucket)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_bucket_with_only_uploads_in_progress_aborts_them(s3, bucket) -> None:
    # S3 deletes a bucket whose only content is unfinished multipart uploads.
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"part")
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket=bucket)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.create_bucket(Bucket=bucket)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_delete_missing_bucket_is_404(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket="never-created-bucket")
    assert _code(excinfo) == ("NoSuchBucket", 404)


def test_us_east_1_location_is_empty(s3, bucket) -> None:
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


def test_location_constraint_for_another_region_is_refused(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=f"eu-{uuid.uuid4().hex[:8]}",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert _code(excinfo) == ("IllegalLocationConstraintException", 400)


def test_malformed_create_bucket_body_is_malformed_xml(server, s3) -> None:
    import requests
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{server.endpoint}/bad-xml-{uuid.uuid4().hex[:8]}"
    body = b"<CreateBucketConfiguration><LocationConstraint>"
    request = AWSRequest("PUT", url, data=body)
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(request)
    response = requests.put(url, data=body, headers=dict(request.headers), timeout=10)
    assert response.status_code == 400
    assert b"<Code>MalformedXML</Code>" in response.content


def test_versioning_of_a_plain_bucket_is_unset(s3, bucket) -> None:
    answer = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in answer


def test_unimplemented_subresource_is_501(s3, bucket) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_replication(Bucket=bucket)
    assert _code(excinfo) == ("NotImplemented", 501)
