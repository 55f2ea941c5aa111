"""Legacy clients that sign with Signature Version 2 in the Authorization header."""

from __future__ import annotations

import uuid


def test_boto3_with_sigv2_header_auth_does_bucket_and_object_work(client_factory) -> None:
    v2 = client_factory(signature_version="s3")
    name = f"v2-{uuid.uuid4().hex[:8]}"
    v2.create_bucket(Bucket=name)
    v2.put_object(Bucket=name, Key="dir/a b+c.txt", Body=b"signed with v2",
                  Metadata={"k": "v"}, ContentType="text/plain")
    got = v2.get_object(Bucket=name, Key="dir/a b+c.txt", ResponseContentType="text/x-v2")
    assert got["Body"].read() == b"signed with v2"
    assert got["ContentType"] == "text/x-v2"
    assert [o["Key"] for o in v2.list_objects(Bucket=name, Prefix="dir/")["Contents"]] == [
        "dir/a b+c.txt"]
    upload = v2.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    etag = v2.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    v2.complete_multipart_upload(Bucket=name, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    v2.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "dir/a b+c.txt"}, {"Key": "mp"}]})
    v2.delete_bucket(Bucket=name)


def test_sigv2_with_a_wrong_secret_is_signature_does_not_match(server, client_factory) -> None:
    import boto3
    import pytest
    from botocore.config import Config
    from botocore.exceptions import ClientError

    wrong = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                         aws_secret_access_key="not-the-secret", region_name="us-east-1",
                         config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    with pytest.raises(ClientError) as excinfo:
        wrong.list_buckets()
    error = excinfo.value.response["Error"]
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["StringToSign"].endswith("\n/")
