"""Links follow their signer (issue 5's acceptance test): a least-privilege
user made with ``aws iam`` signs a link with boto3; the link works; ``aws
iam update-access-key --status Inactive`` stops it at once; re-activating
restores it; taking the policy away stops it too. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config


@pytest.fixture
def aws(server, aws_env):
    def run(*args: str) -> dict:  # type: ignore[type-arg]
        done = subprocess.run(["aws", "--endpoint-url", server.endpoint, "--output", "json",
                               *args], capture_output=True, text=True, env=aws_env,
                              timeout=120, check=True)
        return json.loads(done.stdout) if done.stdout.strip() else {}
    return run


def read_only(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_link_follows_its_signers_key_and_policy(aws, s3, bucket, server,
                                                 tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key="report.pdf", Body=b"quarterly numbers")
    user = f"signer-{uuid.uuid4().hex[:8]}"
    aws("iam", "create-user", "--user-name", user)
    policy = tmp_path / "read-only.json"
    policy.write_text(read_only(bucket))
    aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "read-only",
        "--policy-document", f"file://{policy}")
    key = aws("iam", "create-access-key", "--user-name", user)["AccessKey"]

    signer = boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    link = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "report.pdf"}, ExpiresIn=3600)
    other = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "report.pdf"}, ExpiresIn=3600)

    def fetch() -> requests.Response:
        return requests.get(link, timeout=30)

    first = fetch()
    assert first.status_code == 200, first.text
    assert first.content == b"quarterly numbers"
    # Least privilege: the same user cannot overwrite the file.
    assert requests.put(other, data=b"tampered", timeout=30).status_code == 403

    aws("iam", "update-access-key", "--user-name", user, "--access-key-id",
        key["AccessKeyId"], "--status", "Inactive")
    stopped = fetch()
    assert stopped.status_code == 403 and b"InvalidAccessKeyId" in stopped.content

    aws("iam", "update-access-key", "--user-name", user, "--access-key-id",
        key["AccessKeyId"], "--status", "Active")
    assert fetch().status_code == 200

    aws("iam", "delete-user-policy", "--user-name", user, "--policy-name", "read-only")
    denied = fetch()
    assert denied.status_code == 403 and b"AccessDenied" in denied.content
    aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "read-only",
        "--policy-document", f"file://{policy}")
    assert fetch().status_code == 200

    aws("iam", "delete-access-key", "--user-name", user, "--access-key-id", key["AccessKeyId"])
    assert fetch().status_code == 403
    aws("iam", "delete-user-policy", "--user-name", user, "--policy-name", "read-only")
    aws("iam", "delete-user", "--user-name", user)
