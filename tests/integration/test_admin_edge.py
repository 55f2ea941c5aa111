"""``sealbox edge`` and the admin API's edge routes against a real server
(SQLite and PostgreSQL): public keys, key groups, origin access controls,
distributions and invalidations made with the CLI are the ones boto3's
``cloudfront`` client reads from the CloudFront API (the same store), with
CloudFront's validation and errors; IAM users are judged on the
distribution's ARN."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

API = "/_sealbox/api/v1/"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sealbox_command() -> list[str]:
    found = shutil.which("sealbox")
    return [found] if found else [sys.executable, "-m", "sealbox"]


@pytest.fixture(scope="module")
def pem_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("keys") / "viewer-key.pem"
    path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.fixture
def cf(client_factory):
    return client_factory("cloudfront")


@pytest.fixture
def edge(server, tmp_path: Path):
    """Run ``sealbox edge …`` as root; JSON answers parsed unless ``raw``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def run(*args: str, raw: bool = False) -> Any:
        done = subprocess.run([*sealbox_command(), "edge", *args, "--endpoint-url",
                               server.endpoint, *([] if raw else ["--json"])],
                              capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
                              check=False)
        if raw:
            return done
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    return run


def signed(server, access_key: str, secret_key: str, method: str, path: str,
           body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    data = b"" if body is None else json.dumps(body).encode()
    request = AWSRequest(method, server.endpoint + API + path, data=data, headers=headers or {})
    SigV4Auth(Credentials(access_key, secret_key), "sealbox", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, data=data, headers=dict(prepared.headers),
                            timeout=30)


@pytest.fixture
def keys_and_group(edge, pem_file: Path) -> Iterator[tuple[str, str]]:
    key_id = edge("public-key", "create", "--pem", str(pem_file),
                  "--name", unique("viewer"))["PublicKey"]["Id"]
    group_id = edge("key-group", "create", "--name", unique("viewers"),
                    "--public-key", key_id)["KeyGroup"]["Id"]
    yield key_id, group_id
    edge("key-group", "delete", group_id)
    edge("public-key", "delete", key_id)


def test_the_short_form_makes_the_distribution_boto3_reads_back(edge, cf, bucket: str,
                                                                  keys_and_group) -> None:
    key_id, group_id = keys_and_group
    oac_id = edge("oac", "create", "--name", unique("oac"))["OriginAccessControl"]["Id"]
    alias = f"{unique('cdn')}.example.com"
    made = edge("distribution", "create", "--bucket", bucket, "--key-group", group_id,
                "--oac", oac_id, "--alias", alias, "--viewer-protocol-policy", "https-only",
                "--ttl", "0,60,3600", "--forward-referer", "--comment", "cli")["Distribution"]
    did = made["Id"]

    got = cf.get_distribution(Id=did)["Distribution"]
    assert got["DomainName"] == made["DomainName"]
    config = got["DistributionConfig"]
    assert config["Aliases"]["Items"] == [alias] and config["Comment"] == "cli"
    origin = config["Origins"]["Items"][0]
    assert origin["DomainName"] == f"{bucket}.s3.amazonaws.com"
    assert origin["OriginAccessControlId"] == oac_id
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["TrustedKeyGroups"] == {"Enabled": True, "Quantity": 1, "Items": [group_id]}
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert (behaviour["MinTTL"], behaviour["DefaultTTL"], behaviour["MaxTTL"]) == (0, 60, 3600)
    assert behaviour["ForwardedValues"]["Headers"]["Items"] == ["Referer"]
    active = got["ActiveTrustedKeyGroups"]["Items"][0]
    assert active["KeyGroupId"] == group_id and active["KeyPairIds"]["Items"] == [key_id]
    assert cf.get_key_group(Id=group_id)["KeyGroup"]["KeyGroupConfig"]["Items"] == [key_id]
    assert cf.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]["EncodedKey"]
    assert cf.get_origin_access_control(Id=oac_id)["OriginAccessControl"][
        "OriginAccessControlConfig"]["SigningBehavior"] == "always"

    # The admin API answers the config exactly as boto3 reads it from the CloudFront API.
    ours = edge("distribution", "get", did)
    assert ours["Distribution"]["DistributionConfig"] == config
    listed = edge("distribution", "list")
    assert any(d["Id"] == did and d["Enabled"] is True for d in listed)

    inv = edge("invalidate", did, "/index.html", "/images/*")["Invalidation"]
    batch = cf.get_invalidation(DistributionId=did, Id=inv["Id"])["Invalidation"]
    assert batch["InvalidationBatch"]["Paths"]["Items"] == ["/index.html", "/images/*"]

    refusal = edge("distribution", "delete", did, raw=True)
    assert refusal.returncode != 0 and "DistributionNotDisabled" in refusal.stderr
    assert "sealbox edge distribution disable" in refusal.stderr
    edge("distribution", "disable", did)
    assert cf.get_distribution_config(Id=did)["DistributionConfig"]["Enabled"] is False
    edge("distribution", "delete", did)
    assert cf.list_distributions()["DistributionList"].get("Items", []) == [] or all(
        d["Id"] != did for d in cf.list_distributions()["DistributionList"]["Items"])
    edge("oac", "delete", oac_id)


def test_a_full_config_file_is_taken_as_aws_cloudfront_takes_it(edge, cf, bucket: str,
                                                               tmp_path: Path) -> None:
    config = {
        "CallerReference": unique("ref"),
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "site", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "OriginPath": "/public", "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/api/*", "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}]},
        "DefaultRootObject": "index.html", "Comment": "from a file", "Enabled": True,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    did = edge("distribution", "create", "--config", str(path))["Distribution"]["Id"]
    got = cf.get_distribution_config(Id=did)["DistributionConfig"]
    for name, value in config.items():
        assert got[name] == value, name
    edge("distribution", "disable", did)
    edge("distribution", "delete", did)


@pytest.mark.parametrize(("args", "says"), [
    (("distribution", "create", "--bucket", "no-such-bucket-anywhere"), "InvalidOrigin"),
    (("distribution", "create", "--bucket", "{bucket}", "--key-group", "no-such-group"),
     "TrustedKeyGroupDoesNotExist"),
    (("distribution", "get", "ENOSUCHDIST000"), "NoSuchDistribution"),
    (("key-group", "create", "--name", "g", "--public-key", "KNOSUCHKEY0000"),
     "InvalidArgument"),
    (("oac", "delete", "ENOSUCHOAC0000"), "NoSuchOriginAccessControl"),
    (("invalidate", "ENOSUCHDIST000", "nopath"), "InvalidArgument"),
])
def test_cloudfront_refusals_are_one_line(edge, bucket: str, args: tuple[str, ...],
                                         says: str) -> None:
    done = edge(*(a.replace("{bucket}", bucket) for a in args), raw=True)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sealbox: error: ") and says in lines[0], (
        done.stderr)


def test_an_ecdsa_key_made_with_the_api_is_read_by_boto3(server, cf) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    root = (server.access_key, server.secret_key)
    made = signed(server, *root, "POST", "edge/public-keys", {"Name": unique("ec"),
                                                              "EncodedKey": pem})
    assert made.status_code == 201, made.text
    key_id = made.json()["PublicKey"]["Id"]
    assert made.headers["etag"] == made.json()["ETag"]
    stored = cf.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]["EncodedKey"]
    assert stored == pem.strip()  # as the CloudFront API keeps it
    bad = signed(server, *root, "POST", "edge/public-keys", {"Name": "x", "EncodedKey": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidArgument"
    no_match = signed(server, *root, "DELETE", f"edge/public-keys/{key_id}")
    assert no_match.json()["error"]["code"] == "InvalidIfMatchVersion"
    stale = signed(server, *root, "DELETE", f"edge/public-keys/{key_id}",
                   headers={"If-Match": "ESTALEETAG0000"})
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "PreconditionFailed")
    gone = signed(server, *root, "DELETE", f"edge/public-keys/{key_id}",
                  headers={"If-Match": made.json()["ETag"]})
    assert gone.status_code == 204


def test_iam_users_are_judged_on_the_distributions_arn(server, edge, bucket: str) -> None:
    root = (server.access_key, server.secret_key)
    did = edge("distribution", "create", "--bucket", bucket)["Distribution"]["Id"]
    user = unique("edge-admin")
    assert signed(server, *root, "POST", "users", {"UserName": user}).status_code == 201
    key = signed(server, *root, "POST", f"users/{user}/access-keys").json()["AccessKey"]
    as_user = (key["AccessKeyId"], key["SecretAccessKey"])
    denied = signed(server, *as_user, "GET", f"edge/distributions/{did}")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AccessDenied"
    assert f"distribution/{did}" in denied.json()["error"]["message"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["cloudfront:GetDistribution", "cloudfront:CreateInvalidation"],
        "Resource": f"arn:aws:cloudfront::000000000000:distribution/{did}"}]}
    put = signed(server, *root, "PUT", f"users/{user}/policies/edge", {"PolicyDocument": policy})
    assert put.status_code == 204, put.text
    assert signed(server, *as_user, "GET", f"edge/distributions/{did}").status_code == 200
    invalidated = signed(server, *as_user, "POST", f"edge/distributions/{did}/invalidations",
                         {"Paths": {"Items": ["/x"]}})
    assert invalidated.status_code == 201, invalidated.text
    assert signed(server, *as_user, "GET", "edge/distributions").status_code == 403
    edge("distribution", "disable", did)
    edge("distribution", "delete", did)
    signed(server, *root, "DELETE", f"users/{user}/policies/edge")
    signed(server, *root, "DELETE", f"users/{user}/access-keys/{key['AccessKeyId']}")
    signed(server, *root, "DELETE", f"users/{user}")


@pytest.mark.parametrize(("body", "says"), [
    ({"Comment": "x", "Enabled": "yes"}, "DistributionConfig.Enabled must be true or false"),
    ({"Origins": [], "Enabled": True}, "DistributionConfig.Origins must be a JSON object"),
    ({"Unknown": 1}, "DistributionConfig has no member 'Unknown'"),
    ({"Comment": "x", "Enabled": True}, "Missing required element Origins"),
])
def test_distribution_bodies_that_do_not_fit_are_malformed_input(server, body: dict[str, Any],
                                                                 says: str) -> None:
    response = signed(server, server.access_key, server.secret_key, "POST", "edge/distributions",
                      body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "MalformedInput" and says in error["message"]


def test_key_pair_create_writes_both_private_forms_and_registers_the_public_key(
        edge, cf, tmp_path: Path) -> None:
    """The PKCS#1 file is the one ``aws cloudfront sign`` reads (it refuses
    PKCS#8 with "No PEM start marker"); the registered key is the file's."""
    made = edge("key-pair", "create", "--out-dir", "keys")
    key_id = made["PublicKey"]["Id"]
    files = {name: Path(value) for name, value in made["Files"].items()}
    assert files["PrivateKeyPkcs1"].read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert files["PrivateKeyPkcs8"].read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (files["PrivateKeyPkcs1"].stat().st_mode & 0o777) == 0o600
    registered = cf.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]["EncodedKey"]
    assert registered.strip() == files["PublicKey"].read_text().strip()
    pkcs1 = serialization.load_pem_private_key(files["PrivateKeyPkcs1"].read_bytes(), None)
    pkcs8 = serialization.load_pem_private_key(files["PrivateKeyPkcs8"].read_bytes(), None)
    assert pkcs1.private_numbers() == pkcs8.private_numbers()  # type: ignore[union-attr]

    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed (pip install -e '.[test]')")
    for name, works in (("PrivateKeyPkcs1", True), ("PrivateKeyPkcs8", False)):
        signed_url = subprocess.run(
            [aws, "cloudfront", "sign", "--url", "https://d.example/x", "--key-pair-id", key_id,
             "--private-key", f"file://{files[name]}", "--date-less-than", "2030-01-01"],
            capture_output=True, text=True, timeout=60, check=False)
        assert (signed_url.returncode == 0) is works, signed_url.stderr
    edge("public-key", "delete", key_id)


def test_key_pair_create_keeps_existing_files_and_prints_only_the_id_when_asked(
        edge, tmp_path: Path) -> None:
    first = edge("key-pair", "create", "--out-dir", "pair", "--id-only", raw=True)
    assert first.returncode == 0, first.stderr
    key_id = first.stdout.strip()
    assert key_id.startswith("K") and "\n" not in key_id
    again = edge("key-pair", "create", "--out-dir", "pair", raw=True)
    assert again.returncode == 1 and "exists (keep it, or replace the key pair with --force)" \
        in again.stderr
    replaced = edge("key-pair", "create", "--out-dir", "pair", "--force", "--id-only", raw=True)
    assert replaced.returncode == 0 and replaced.stdout.strip() != key_id, replaced.stderr
    for old in (key_id, replaced.stdout.strip()):
        edge("public-key", "delete", old)
