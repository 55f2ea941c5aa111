"""Encryption sealbox does not honour is refused, never ignored: SSE-KMS
with a key that does not exist, dual-layer SSE-KMS (aws:kms:dsse), a
method S3 does not know, a customer key
over plain HTTP, an encryption header on an operation that takes none. A
200 would let the client believe its bytes are protected as it asked
(sealbox.api.s3.encryption). Real clients: boto3, the AWS CLI, a
browser-style POST form. What is honoured is in test_encryption_at_rest.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer

CUSTOMER_KEY = os.urandom(32)
KMS = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"}


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def absent(s3: Any, bucket: str, key: str) -> bool:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)
    return listed["KeyCount"] == 0


@pytest.mark.parametrize(("asked", "refusal"), [
    (KMS, ("KMS.NotFoundException", 400)),
    ({"ServerSideEncryption": "aws:kms:dsse"}, ("NotImplemented", 501))])
def test_a_put_asking_for_kms_it_cannot_honour_is_refused_and_stores_nothing(
        s3: Any, bucket: str, asked: dict[str, str], refusal: tuple[str, int]) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="secret.pdf", Body=b"plain", **asked)
    assert code_and_status(refused.value) == refusal
    assert absent(s3, bucket, "secret.pdf")
    with pytest.raises(ClientError) as multipart:
        s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **asked)
    assert code_and_status(multipart.value) == refusal
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_an_unknown_encryption_method_is_an_invalid_argument(signed: Any, bucket: str) -> None:
    answer = signed("PUT", f"/{bucket}/odd", b"x", {"x-amz-server-side-encryption": "ROT13"})
    assert answer.status_code == 400 and b"<Code>InvalidArgument</Code>" in answer.content


def test_an_encryption_header_on_a_read_is_an_invalid_argument(signed: Any, s3: Any,
                                                               bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    answer = signed("GET", f"/{bucket}/k", b"", {"x-amz-server-side-encryption": "aws:kms"})
    assert answer.status_code == 400 and b"<Code>InvalidArgument</Code>" in answer.content


def test_a_copy_asking_for_a_missing_kms_key_is_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"plain")
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       **KMS)
    assert code_and_status(refused.value) == ("KMS.NotFoundException", 400)
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


def test_the_aws_cli_sse_kms_flag_with_an_unknown_key_fails_loudly(
        aws_env: dict[str, str], server: RunningServer, bucket: str, tmp_path: Path,
        s3: Any) -> None:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(b"%PDF-1.7 plain")
    done = subprocess.run(["aws", "s3", "cp", str(source), f"s3://{bucket}/invoice.pdf",
                           "--sse", "aws:kms", "--sse-kms-key-id", "alias/never-made",
                           "--endpoint-url", server.endpoint],
                          capture_output=True, text=True, env=aws_env, timeout=120, check=False)
    assert done.returncode != 0 and "KMS.NotFoundException" in done.stderr
    assert absent(s3, bucket, "invoice.pdf")
    sealed = subprocess.run(["aws", "s3", "cp", str(source), f"s3://{bucket}/invoice.pdf",
                             "--sse", "aws:kms", "--endpoint-url", server.endpoint],
                            capture_output=True, text=True, env=aws_env, timeout=120,
                            check=False)
    assert sealed.returncode == 0, sealed.stderr  # the account's aws/s3 key
    assert s3.head_object(Bucket=bucket, Key="invoice.pdf")["ServerSideEncryption"] == "aws:kms"


def test_the_aws_cli_sse_flag_encrypts(aws_env: dict[str, str], server: RunningServer,
                                       bucket: str, tmp_path: Path, s3: Any) -> None:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(b"%PDF-1.7 sealed")
    done = subprocess.run(["aws", "s3", "cp", str(source), f"s3://{bucket}/invoice.pdf",
                           "--sse", "AES256", "--endpoint-url", server.endpoint],
                          capture_output=True, text=True, env=aws_env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert s3.head_object(Bucket=bucket, Key="invoice.pdf")["ServerSideEncryption"] == "AES256"


def test_a_post_form_asking_for_dual_layer_kms_is_refused(s3: Any, bucket: str) -> None:
    dsse = "aws:kms:dsse"
    post = s3.generate_presigned_post(bucket, "form.txt",
                                      Fields={"x-amz-server-side-encryption": dsse},
                                      Conditions=[{"x-amz-server-side-encryption": dsse}])
    answer = requests.post(post["url"], data=post["fields"],
                           files={"file": ("form.txt", b"plain")}, timeout=30)
    assert answer.status_code == 501 and b"<Code>NotImplemented</Code>" in answer.content
    assert absent(s3, bucket, "form.txt")


def test_a_post_form_asking_for_sse_s3_is_sealed(s3: Any, bucket: str) -> None:
    post = s3.generate_presigned_post(bucket, "form.txt",
                                      Fields={"x-amz-server-side-encryption": "AES256"},
                                      Conditions=[{"x-amz-server-side-encryption": "AES256"}])
    answer = requests.post(post["url"], data=post["fields"],
                           files={"file": ("form.txt", b"sealed form")}, timeout=30)
    assert answer.status_code == 204, answer.content
    assert answer.headers["x-amz-server-side-encryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="form.txt")
    assert got["Body"].read() == b"sealed form" and got["ServerSideEncryption"] == "AES256"
