"""Encryption a client asks for is refused, never ignored: sealbox does not
encrypt at rest yet, and a 200 would let the client believe it does
(sealbox.api.s3.encryption). Real clients: boto3, the AWS CLI, a browser-
style POST form, over HTTP and HTTPS."""

from __future__ import annotations

import json
import os
import sys
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer

CUSTOMER_KEY = os.urandom(32)


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def absent(s3: Any, bucket: str, key: str) -> bool:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)
    return listed["KeyCount"] == 0


@pytest.mark.parametrize("asked", [{"ServerSideEncryption": "AES256"},
                                   {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"}])
def test_a_put_asking_for_encryption_is_refused_and_stores_nothing(
        s3: Any, bucket: str, asked: dict[str, str]) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="secret.pdf", Body=b"plain", **asked)
    assert code_and_status(refused.value) == ("NotImplemented", 501)
    assert absent(s3, bucket, "secret.pdf")
    with pytest.raises(ClientError) as multipart:
        s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **asked)
    assert code_and_status(multipart.value) == ("NotImplemented", 501)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_an_unknown_encryption_method_is_an_invalid_argument(signed: Any, bucket: str) -> None:
    answer = signed("PUT", f"/{bucket}/odd", b"x", {"x-amz-server-side-encryption": "ROT13"})
    assert answer.status_code == 400 and b"<Code>InvalidArgument</Code>" in answer.content


def test_a_copy_asking_for_encryption_is_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"plain")
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       ServerSideEncryption="AES256")
    assert code_and_status(refused.value) == ("NotImplemented", 501)
    assert absent(s3, bucket, "dst")


def test_a_customer_key_over_plain_http_is_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="there", Body=b"plain")
    with pytest.raises(ClientError) as put:
        s3.put_object(Bucket=bucket, Key="ssec", Body=b"plain", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=CUSTOMER_KEY)
    assert code_and_status(put.value) == ("InvalidRequest", 400)
    assert "secure connection" in put.value.response["Error"]["Message"]
    assert absent(s3, bucket, "ssec")
    with pytest.raises(ClientError) as get:
        s3.get_object(Bucket=bucket, Key="there", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=CUSTOMER_KEY)
    assert code_and_status(get.value) == ("InvalidRequest", 400)


def test_the_aws_cli_sse_flag_fails_loudly(aws_env: dict[str, str], server: RunningServer,
                                           bucket: str, tmp_path: Path, s3: Any) -> None:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(b"%PDF-1.7 plain")
    done = subprocess.run(["aws", "s3", "cp", str(source), f"s3://{bucket}/invoice.pdf",
                           "--sse", "AES256", "--endpoint-url", server.endpoint],
                          capture_output=True, text=True, env=aws_env, timeout=120, check=False)
    assert done.returncode != 0 and "NotImplemented" in done.stderr
    assert absent(s3, bucket, "invoice.pdf")


def test_a_post_form_asking_for_encryption_is_refused(server: RunningServer, s3: Any,
                                                      bucket: str) -> None:
    post = s3.generate_presigned_post(bucket, "form.txt",
                                      Fields={"x-amz-server-side-encryption": "AES256"},
                                      Conditions=[{"x-amz-server-side-encryption": "AES256"}])
    answer = requests.post(post["url"], data=post["fields"],
                           files={"file": ("form.txt", b"plain")}, timeout=30)
    assert answer.status_code == 501 and b"<Code>NotImplemented</Code>" in answer.content
    assert absent(s3, bucket, "form.txt")


def test_over_https_a_customer_key_is_still_not_honoured(tmp_path: Path) -> None:
    # The same requests over TLS: a write with a customer key is 501 (not
    # stored), a read with one is S3's "not applicable to this object".
    made = subprocess.run([sys.executable, "-m", "sealbox", "tls", "self-signed", "--out-dir",
                           str(tmp_path / "pair"), "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    pair = json.loads(made.stdout)
    with RunningServer(data_dir=tmp_path / "data",
                       tls=(Path(pair["cert"]), Path(pair["key"]))) as tls:
        s3 = boto3.client("s3", endpoint_url=tls.endpoint, region_name="us-east-1",
                          aws_access_key_id=tls.access_key, aws_secret_access_key=tls.secret_key,
                          verify=pair["cert"],
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="tls-bucket")
        s3.put_object(Bucket="tls-bucket", Key="plain", Body=b"plain")
        customer = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
        with pytest.raises(ClientError) as put:
            s3.put_object(Bucket="tls-bucket", Key="ssec", Body=b"x", **customer)
        assert code_and_status(put.value) == ("NotImplemented", 501)
        assert absent(s3, "tls-bucket", "ssec")
        with pytest.raises(ClientError) as head:
            s3.head_object(Bucket="tls-bucket", Key="plain", **customer)
        assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as copy:
            s3.copy_object(Bucket="tls-bucket", Key="copy",
                           CopySource={"Bucket": "tls-bucket", "Key": "plain"},
                           CopySourceSSECustomerAlgorithm="AES256",
                           CopySourceSSECustomerKey=CUSTOMER_KEY)
        assert code_and_status(copy.value) == ("InvalidRequest", 400)
        assert s3.get_object(Bucket="tls-bucket", Key="plain")["Body"].read() == b"plain"

