"""The seeds' CloudFront setup end to end with the AWS CLI alone, against a
real server (SQLite and PostgreSQL): make a bucket and upload, register the
public key, make a key group and an origin access control, create the
distribution, put the seed's bucket policy, sign with ``aws cloudfront
sign``, download through the edge with curl (``*.localhost`` needs no DNS).
The bucket's own URL stays 403 throughout."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.edge_site import oac_policy, private_pem, public_pem


@pytest.fixture
def aws(server: Any, aws_env: dict[str, str]) -> Any:
    def run(*args: str) -> Any:
        done = subprocess.run(["aws", "--endpoint-url", server.endpoint, "--output", "json",
                               *args], capture_output=True, text=True, env=aws_env,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        if args[0] == "s3":  # the high-level commands print lines, not JSON
            return done.stdout
        return json.loads(done.stdout) if done.stdout.strip() else {}
    return run


def curl(url: str) -> tuple[int, bytes]:
    out = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", url],
                         capture_output=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    body, _, status = out.stdout.rpartition(b"\n")
    return int(status), body


def test_seed_setup_with_the_aws_cli_alone(aws: Any, server: Any, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    name = f"seed-{uuid.uuid4().hex[:8]}"
    ebook = tmp_path / "novel.epub"
    ebook.write_bytes(b"It was a dark and stormy night." * 300)
    aws("s3", "mb", f"s3://{name}")
    aws("s3", "cp", str(ebook), f"s3://{name}/books/novel.epub")

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "private_key.pem"
    key_file.write_text(private_pem(private_key))
    (tmp_path / "public-key.json").write_text(json.dumps({
        "CallerReference": name, "Name": f"{name}-key", "EncodedKey": public_pem(private_key),
        "Comment": "the seed's signing key"}))
    key_id = aws("cloudfront", "create-public-key", "--public-key-config",
                 f"file://{tmp_path / 'public-key.json'}")["PublicKey"]["Id"]
    (tmp_path / "key-group.json").write_text(json.dumps({"Name": f"{name}-group",
                                                         "Items": [key_id]}))
    group_id = aws("cloudfront", "create-key-group", "--key-group-config",
                   f"file://{tmp_path / 'key-group.json'}")["KeyGroup"]["Id"]
    oac_id = aws("cloudfront", "create-origin-access-control", "--origin-access-control-config",
                 f"Name={name}-oac,SigningProtocol=sigv4,SigningBehavior=always,"
                 "OriginAccessControlOriginType=s3")["OriginAccessControl"]["Id"]
    (tmp_path / "distribution.json").write_text(json.dumps({
        "CallerReference": name,
        "Comment": "private e-books",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "books", "DomainName": f"{name}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""},
            "OriginAccessControlId": oac_id}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "books",
            "ViewerProtocolPolicy": "allow-all",
            "TrustedKeyGroups": {"Enabled": True, "Quantity": 1, "Items": [group_id]},
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",  # Managed-CachingOptimized
        },
    }))
    dist = aws("cloudfront", "create-distribution", "--distribution-config",
               f"file://{tmp_path / 'distribution.json'}")["Distribution"]
    (tmp_path / "policy.json").write_text(oac_policy(name, dist["ARN"]))
    aws("s3api", "put-bucket-policy", "--bucket", name, "--policy",
        f"file://{tmp_path / 'policy.json'}")

    resource = f"http://{dist['DomainName']}:{server.port}/books/novel.epub"
    done = subprocess.run(["aws", "cloudfront", "sign", "--url", resource, "--key-pair-id", key_id,
                           "--private-key", f"file://{key_file}",
                           "--date-less-than", str(int(time.time()) + 300)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    status, body = curl(done.stdout.strip())
    assert status == 200 and body == ebook.read_bytes()
    assert curl(resource)[0] == 403  # unsigned
    assert curl(f"{server.endpoint}/{name}/books/novel.epub")[0] == 403  # the bucket itself
