"""GetObjectAttributes through boto3 against a real server: each attribute,
a multipart object's parts paged, versions and delete markers, the IAM
actions it needs, and S3's answers to bad input."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
PART = 5 * 1024 * 1024


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_a_single_put_has_etag_size_class_and_checksum_but_no_parts(s3, bucket) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"hello", ChecksumAlgorithm="SHA256")
    got = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["ObjectSize"] == 5 and got["StorageClass"] == "STANDARD"
    assert got["Checksum"]["ChecksumSHA256"] == put["ChecksumSHA256"]
    assert got["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert "ObjectParts" not in got and "VersionId" not in got
    assert got["LastModified"] == s3.head_object(Bucket=bucket, Key="k")["LastModified"]


def test_only_the_attributes_asked_for_are_answered(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
    got = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert got["ObjectSize"] == 3
    assert "ETag" not in got and "StorageClass" not in got


def _multipart(s3, bucket: str, key: str, parts: int) -> str:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    listed = []
    for number in range(1, parts + 1):
        size = PART if number < parts else 1000
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                              Body=bytes([number]) * size)["ETag"]
        listed.append({"ETag": etag, "PartNumber": number})
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                        MultipartUpload={"Parts": listed})
    return str(done["ETag"]).strip('"')


def test_a_multipart_objects_parts_are_listed_and_paged(s3, bucket) -> None:
    etag = _multipart(s3, bucket, "mp", 3)
    got = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL)
    assert got["ETag"] == etag and got["ObjectSize"] == 2 * PART + 1000
    parts = got["ObjectParts"]
    assert parts["TotalPartsCount"] == 3 and parts["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [
        (1, PART), (2, PART), (3, 1000)]
    page = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                    MaxParts=1, PartNumberMarker=1)["ObjectParts"]
    assert page["IsTruncated"] is True and page["NextPartNumberMarker"] == 2
    assert page["MaxParts"] == 1 and page["PartNumberMarker"] == 1
    assert [p["PartNumber"] for p in page["Parts"]] == [2]
    last = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"],
                                    MaxParts=10, PartNumberMarker=2)["ObjectParts"]
    assert last["IsTruncated"] is False and [p["PartNumber"] for p in last["Parts"]] == [3]


def test_each_parts_own_checksum_is_listed_when_the_upload_had_one(s3, bucket) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="sums", ChecksumAlgorithm="SHA256")
    listed = []
    for number, body in ((1, b"a" * PART), (2, b"b" * 100)):
        part = s3.upload_part(Bucket=bucket, Key="sums", UploadId=upload["UploadId"],
                              PartNumber=number, Body=body, ChecksumAlgorithm="SHA256")
        listed.append({"ETag": part["ETag"], "PartNumber": number,
                       "ChecksumSHA256": part["ChecksumSHA256"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="sums", UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": listed})
    got = s3.get_object_attributes(Bucket=bucket, Key="sums", ObjectAttributes=ALL)
    assert got["Checksum"]["ChecksumSHA256"] == done["ChecksumSHA256"]
    assert got["Checksum"]["ChecksumType"] == "COMPOSITE"
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"])
            for p in got["ObjectParts"]["Parts"]] == [
        (1, PART, listed[0]["ChecksumSHA256"]), (2, 100, listed[1]["ChecksumSHA256"])]
    # The object still reads whole and by part.
    assert s3.get_object(Bucket=bucket, Key="sums", PartNumber=2)["Body"].read() == b"b" * 100


@pytest.mark.parametrize(("algorithm", "kind"), [("SHA1", "COMPOSITE"),
                                               ("CRC32C", "FULL_OBJECT")])
def test_a_part_read_by_number_answers_its_own_checksum(s3, bucket, algorithm, kind) -> None:
    member = f"Checksum{algorithm}"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="p", ChecksumAlgorithm=algorithm,
                                        ChecksumType=kind)["UploadId"]
    listed = []
    for number, body in ((1, b"a" * PART), (2, b"b" * 100)):
        part = s3.upload_part(Bucket=bucket, Key="p", UploadId=upload, PartNumber=number,
                              Body=body, ChecksumAlgorithm=algorithm)
        listed.append({"ETag": part["ETag"], "PartNumber": number, member: part[member]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="p", UploadId=upload,
                                        MultipartUpload={"Parts": listed})
    for number in (1, 2):
        for read in (s3.get_object, s3.head_object):
            got = read(Bucket=bucket, Key="p", PartNumber=number, ChecksumMode="ENABLED")
            assert got[member] == listed[number - 1][member]
            assert got["ChecksumType"] == kind
        # Without checksum mode, no checksum.
        assert member not in s3.head_object(Bucket=bucket, Key="p", PartNumber=number)
    whole = s3.head_object(Bucket=bucket, Key="p", ChecksumMode="ENABLED")
    assert (whole[member], whole["ChecksumType"]) == (done[member], kind)
    # A byte range has no checksum of its own.
    ranged = s3.get_object(Bucket=bucket, Key="p", Range="bytes=0-9", ChecksumMode="ENABLED")
    assert member not in ranged and "ChecksumType" not in ranged


def test_a_version_is_named_and_a_delete_marker_answers_as_get_does(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")  # the null version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    s3.put_object(Bucket=bucket, Key="k", Body=b"three")
    current = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert current["ObjectSize"] == 5 and len(current["VersionId"]) == 32
    old = s3.get_object_attributes(Bucket=bucket, Key="k", VersionId=first["VersionId"],
                                   ObjectAttributes=ALL)
    assert old["ObjectSize"] == 3 and old["VersionId"] == first["VersionId"]
    assert old["ETag"] == first["ETag"].strip('"')
    null = s3.get_object_attributes(Bucket=bucket, Key="k", VersionId="null",
                                    ObjectAttributes=["ObjectSize"])
    assert null["ObjectSize"] == 6 and null["VersionId"] == "null"
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert _error(info) == ("NoSuchKey", 404)
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=bucket, Key="k", VersionId=marker, ObjectAttributes=ALL)
    assert _error(info) == ("MethodNotAllowed", 405)
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=bucket, Key="k", VersionId="A" * 32,
                                 ObjectAttributes=ALL)
    assert _error(info) == ("NoSuchVersion", 404)


def test_bad_input_gets_s3s_errors(s3, signed, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=bucket, Key="missing", ObjectAttributes=ALL)
    assert _error(info) == ("NoSuchKey", 404)
    r = signed("GET", f"/{bucket}/k?attributes", headers={"x-amz-object-attributes": "Color"})
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    r = signed("GET", f"/{bucket}/k?attributes")
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    r = signed("GET", f"/{bucket}/k?attributes", headers={
        "x-amz-object-attributes": "ETag", "x-amz-max-parts": "-1"})
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    r = signed("GET", f"/{bucket}/k?attributes", headers={
        "x-amz-object-attributes": "ObjectSize,etag", "If-Match": '"nope"'})
    assert r.status_code == 200  # conditional headers are GetObject's, not read here
    assert b"<ObjectSize>1</ObjectSize>" in r.content and b"<ETag>" in r.content


@pytest.fixture
def reader(client_factory, server):
    """A fresh IAM user, and a boto3 s3 client signed as it."""
    iam = client_factory("iam")
    name = f"attrs-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"],
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
    yield iam, name, client
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_iam_asks_for_get_object_attributes_and_its_version_action(s3, bucket, reader) -> None:
    iam, name, client = reader
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    with pytest.raises(ClientError) as info:
        client.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert _error(info) == ("AccessDenied", 403)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObjectAttributes",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    assert client.get_object_attributes(Bucket=bucket, Key="k",
                                        ObjectAttributes=ALL)["ObjectSize"] == 1
    with pytest.raises(ClientError) as info:
        client.get_object_attributes(Bucket=bucket, Key="k", VersionId=version,
                                     ObjectAttributes=ALL)
    assert _error(info) == ("AccessDenied", 403)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObjectVersionAttributes",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    assert client.get_object_attributes(Bucket=bucket, Key="k", VersionId=version,
                                        ObjectAttributes=ALL)["VersionId"] == version
