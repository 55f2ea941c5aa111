"""The CloudFront API subset against a real server (SQLite and PostgreSQL):
boto3's ``cloudfront`` client and the AWS CLI, unchanged, with
``--endpoint-url``. Keys are generated at test time."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def pem_of(key: Any) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_pem() -> str:
    return pem_of(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def cf(client_factory):
    return client_factory("cloudfront")


@pytest.fixture
def aws(server, aws_env):
    def run(*args: str, check: bool = True) -> Any:
        done = subprocess.run(["aws", "--endpoint-url", server.endpoint, "--output", "json", *args],
                              check=False, capture_output=True, text=True, env=aws_env,
                              timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout) if done.stdout.strip() else {}
        return done
    return run


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return int(error.value.response["ResponseMetadata"]["HTTPStatusCode"])


def behaviour(groups: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "TargetOriginId": "bucket-origin",
        "ViewerProtocolPolicy": "redirect-to-https",
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"},
                            "Headers": {"Quantity": 1, "Items": ["Referer"]}},
        "MinTTL": 0, "DefaultTTL": 60, "MaxTTL": 3600,
    }
    if groups is not None:
        b["TrustedKeyGroups"] = {"Enabled": True, "Quantity": len(groups), "Items": groups}
    b.update(extra)
    return b


def dist_config(bucket: str, *, groups: list[str] | None = None, oac: str = "",
                aliases: list[str] | None = None, enabled: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {
        "CallerReference": unique("ref"),
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "bucket-origin", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac}]},
        "DefaultCacheBehavior": behaviour(groups),
        "CacheBehaviors": {"Quantity": 1, "Items": [
            behaviour(groups, PathPattern="/private/*", ViewerProtocolPolicy="https-only")]},
        "Comment": "sealbox test", "Enabled": enabled,
    }
    if aliases:
        config["Aliases"] = {"Quantity": len(aliases), "Items": aliases}
    return config


def new_key(cf: Any, pem: str) -> dict[str, Any]:
    return cf.create_public_key(PublicKeyConfig={
        "CallerReference": unique("k"), "Name": unique("key"), "EncodedKey": pem, "Comment": "c"})


def new_group(cf: Any, key_ids: list[str]) -> dict[str, Any]:
    return cf.create_key_group(KeyGroupConfig={"Name": unique("group"), "Items": key_ids})


def new_oac(cf: Any) -> dict[str, Any]:
    return cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": unique("oac"), "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})


# -- boto3 ---------------------------------------------------------------------


def test_public_keys_rsa_and_ecdsa_round_trip(cf, rsa_pem: str, ec_pem: str) -> None:
    for pem in (rsa_pem, ec_pem):
        made = new_key(cf, pem)
        assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
        key = made["PublicKey"]
        assert key["Id"].startswith("K") and len(key["Id"]) == 14 and key["Id"].isupper()
        assert made["Location"].endswith(f"/2020-05-31/public-key/{key['Id']}")
        got = cf.get_public_key(Id=key["Id"])
        assert got["ETag"] == made["ETag"]
        assert got["PublicKey"]["PublicKeyConfig"]["EncodedKey"] == pem.strip()
        assert cf.get_public_key_config(Id=key["Id"])["PublicKeyConfig"]["Name"] == \
            key["PublicKeyConfig"]["Name"]
        listed = cf.list_public_keys()["PublicKeyList"]
        assert key["Id"] in [k["Id"] for k in listed["Items"]]
        with pytest.raises(ClientError) as e:
            cf.delete_public_key(Id=key["Id"], IfMatch="EWRONGETAG")
        assert code(e) == "PreconditionFailed" and status(e) == 412
        cf.delete_public_key(Id=key["Id"], IfMatch=got["ETag"])
        with pytest.raises(ClientError) as e:
            cf.get_public_key(Id=key["Id"])
        assert code(e) == "NoSuchPublicKey" and status(e) == 404


def test_weak_or_garbage_public_keys_are_invalid_argument(cf) -> None:
    weak = pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    p384 = pem_of(ec.generate_private_key(ec.SECP384R1()))
    for pem in (weak, p384, "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"):
        with pytest.raises(ClientError) as e:
            new_key(cf, pem)
        assert code(e) == "InvalidArgument", pem[:40]


def test_key_group_and_key_in_use(cf, rsa_pem: str) -> None:
    key = new_key(cf, rsa_pem)["PublicKey"]
    made = new_group(cf, [key["Id"]])
    group = made["KeyGroup"]
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert group["KeyGroupConfig"]["Items"] == [key["Id"]]
    got = cf.get_key_group(Id=group["Id"])
    assert got["KeyGroup"]["KeyGroupConfig"]["Name"] == group["KeyGroupConfig"]["Name"]
    assert group["Id"] in [s["KeyGroup"]["Id"] for s in cf.list_key_groups()["KeyGroupList"]["Items"]]
    with pytest.raises(ClientError) as e:
        cf.delete_public_key(Id=key["Id"], IfMatch=cf.get_public_key(Id=key["Id"])["ETag"])
    assert code(e) == "PublicKeyInUse"
    with pytest.raises(ClientError) as e:
        cf.create_key_group(KeyGroupConfig={"Name": group["KeyGroupConfig"]["Name"], "Items": [key["Id"]]})
    assert code(e) == "KeyGroupAlreadyExists"
    with pytest.raises(ClientError) as e:
        new_group(cf, ["KNOSUCHKEY0000"])
    assert code(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        cf.delete_key_group(Id=group["Id"])
    assert code(e) == "InvalidIfMatchVersion"
    cf.delete_key_group(Id=group["Id"], IfMatch=got["ETag"])
    with pytest.raises(ClientError) as e:
        cf.get_key_group(Id=group["Id"])
    assert code(e) == "NoSuchResource"


def test_origin_access_control_round_trip(cf) -> None:
    made = new_oac(cf)
    oac = made["OriginAccessControl"]
    got = cf.get_origin_access_control(Id=oac["Id"])
    assert got["OriginAccessControl"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    config = cf.get_origin_access_control_config(Id=oac["Id"])["OriginAccessControlConfig"]
    config["SigningBehavior"] = "no-override"
    updated = cf.update_origin_access_control(Id=oac["Id"], IfMatch=got["ETag"],
                                              OriginAccessControlConfig=config)
    assert updated["ETag"] != got["ETag"]
    listed = cf.list_origin_access_controls()["OriginAccessControlList"]
    assert oac["Id"] in [o["Id"] for o in listed["Items"]]
    cf.delete_origin_access_control(Id=oac["Id"], IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as e:
        cf.get_origin_access_control(Id=oac["Id"])
    assert code(e) == "NoSuchOriginAccessControl"


def test_distribution_lifecycle(cf, bucket: str, rsa_pem: str) -> None:
    key = new_key(cf, rsa_pem)["PublicKey"]
    group = new_group(cf, [key["Id"]])["KeyGroup"]
    oac = new_oac(cf)["OriginAccessControl"]
    alias = f"{unique('media')}.example.com"
    made = cf.create_distribution(DistributionConfig=dist_config(
        bucket, groups=[group["Id"]], oac=oac["Id"], aliases=[alias]))
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
    d = made["Distribution"]
    assert d["Id"].startswith("E") and len(d["Id"]) == 14
    assert d["ARN"] == f"arn:aws:cloudfront::000000000000:distribution/{d['Id']}"
    assert d["DomainName"] == f"{d['Id'].lower()}.cloudfront.localhost"
    assert d["Status"] == "Deployed"
    assert d["ActiveTrustedKeyGroups"]["Items"][0]["KeyPairIds"]["Items"] == [key["Id"]]
    cfg = d["DistributionConfig"]
    assert cfg["Aliases"]["Items"] == [alias]
    assert cfg["DefaultCacheBehavior"]["TrustedKeyGroups"]["Items"] == [group["Id"]]
    assert cfg["CacheBehaviors"]["Items"][0]["PathPattern"] == "/private/*"
    assert cfg["Origins"]["Items"][0]["OriginAccessControlId"] == oac["Id"]
    assert cfg["PriceClass"] == "PriceClass_All"  # CloudFront's defaults are filled in

    got = cf.get_distribution_config(Id=d["Id"])
    assert got["ETag"] == made["ETag"]
    assert [s["Id"] for s in cf.list_distributions()["DistributionList"]["Items"]].count(d["Id"]) == 1
    with pytest.raises(ClientError) as e:
        cf.delete_key_group(Id=group["Id"], IfMatch=cf.get_key_group(Id=group["Id"])["ETag"])
    assert code(e) == "ResourceInUse"
    with pytest.raises(ClientError) as e:
        cf.delete_distribution(Id=d["Id"], IfMatch=got["ETag"])
    assert code(e) == "DistributionNotDisabled" and status(e) == 409

    config = got["DistributionConfig"]
    config["Enabled"] = False
    with pytest.raises(ClientError) as e:
        cf.update_distribution(Id=d["Id"], IfMatch="ESTALE", DistributionConfig=config)
    assert code(e) == "PreconditionFailed"
    updated = cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"], DistributionConfig=config)
    assert updated["Distribution"]["DistributionConfig"]["Enabled"] is False
    bad = dict(config, CallerReference="another")
    with pytest.raises(ClientError) as e:
        cf.update_distribution(Id=d["Id"], IfMatch=updated["ETag"], DistributionConfig=bad)
    assert code(e) == "IllegalUpdate"

    inv = cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch={
        "Paths": {"Quantity": 2, "Items": ["/private/*", "/a.jpg"]}, "CallerReference": "inv-1"})
    assert inv["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert inv["Invalidation"]["Status"] == "Completed"
    got_inv = cf.get_invalidation(DistributionId=d["Id"], Id=inv["Invalidation"]["Id"])
    assert got_inv["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/private/*", "/a.jpg"]
    listed = cf.list_invalidations(DistributionId=d["Id"])["InvalidationList"]
    assert [i["Id"] for i in listed["Items"]] == [inv["Invalidation"]["Id"]]
    with pytest.raises(ClientError) as e:
        cf.get_invalidation(DistributionId=d["Id"], Id="INOSUCH")
    assert code(e) == "NoSuchInvalidation"

    cf.delete_distribution(Id=d["Id"], IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as e:
        cf.get_distribution(Id=d["Id"])
    assert code(e) == "NoSuchDistribution" and status(e) == 404


def test_distribution_refusals(cf, bucket: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (dist_config("no-such-bucket-" + uuid.uuid4().hex[:8]), "InvalidOrigin"),
        (dist_config(bucket, groups=["00000000-0000-0000-0000-000000000000"]),
         "TrustedKeyGroupDoesNotExist"),
        (dist_config(bucket, oac="ENOSUCHOAC0000"), "NoSuchOriginAccessControl"),
        (dict(dist_config(bucket), DefaultCacheBehavior=dict(behaviour(), TargetOriginId="x")),
         "NoSuchOrigin"),
        (dict(dist_config(bucket), DefaultCacheBehavior=dict(behaviour(), MinTTL=7200)),
         "InvalidTTLOrder"),
        (dict(dist_config(bucket), Aliases={"Quantity": 2, "Items": ["a.example.com"]}),
         "InconsistentQuantities"),
    ]
    for config, expected in cases:
        with pytest.raises(ClientError) as e:
            cf.create_distribution(DistributionConfig=config)
        assert code(e) == expected
        assert e.value.response["Error"]["Type"] == "Sender"
    config = dist_config(bucket, aliases=[f"{unique('dup')}.example.com"])
    cf.create_distribution(DistributionConfig=config)
    again = dict(config, CallerReference=unique("ref"))
    with pytest.raises(ClientError) as e:
        cf.create_distribution(DistributionConfig=again)
    assert code(e) == "CNAMEAlreadyExists"
    with pytest.raises(ClientError) as e:
        cf.create_distribution(DistributionConfig=dict(config, Comment="changed"))
    assert code(e) == "DistributionAlreadyExists"


def test_malformed_and_unsigned_requests_get_cloudfront_errors(server, signed) -> None:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def send(method: str, path: str, body: bytes, secret: str | None = None) -> requests.Response:
        req = AWSRequest(method=method, url=server.endpoint + path, data=body)
        SigV4Auth(Credentials(server.access_key, secret or server.secret_key),
                  "cloudfront", "us-east-1").add_auth(req)
        return requests.request(method, req.url, data=body, headers=dict(req.headers), timeout=30)

    for body in (b"<DistributionConfig><oops>", b"", b"x" * 10,
                 b'<!DOCTYPE a [<!ENTITY e "x">]><DistributionConfig>&e;</DistributionConfig>',
                 b"<Wrong/>"):
        r = send("POST", "/2020-05-31/distribution", body)
        assert r.status_code == 400, body
        assert b"<Type>Sender</Type>" in r.content
        assert (b"<Code>MalformedInput</Code>" in r.content or b"<Code>MissingBody</Code>" in r.content)
        assert r.content.startswith(b'<?xml version="1.0"')
        assert b'xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"' in r.content
    r = send("POST", "/2020-05-31/public-key", b"<PublicKeyConfig/>", secret="wrong")
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content
    r = send("GET", "/2020-05-31/nothing-here", b"")
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    r = send("POST", "/2020-05-31/distribution", b"<DistributionConfig>" + b"x" * (1024 * 1024 + 1))
    assert r.status_code == 400


# -- the AWS CLI ---------------------------------------------------------------


def test_seed_setup_with_the_aws_cli_alone(aws, tmp_path: Path, rsa_pem: str) -> None:
    """The seeds' steps: bucket, public key, key group, OAC, distribution with
    both, an invalidation; then everything taken down with --if-match."""
    bucket = unique("seed")
    aws("s3", "mb", f"s3://{bucket}", check=False)
    pem_file = tmp_path / "public_key.pem"
    pem_file.write_text(rsa_pem)
    # The CLI's shorthand cannot carry a PEM's newlines: a JSON file can.
    key_config = tmp_path / "key.json"
    key_config.write_text(json.dumps({"CallerReference": unique("k"), "Name": unique("seedkey"),
                                      "EncodedKey": rsa_pem, "Comment": "seed"}))
    key = aws("cloudfront", "create-public-key", "--public-key-config", f"file://{key_config}")
    key_id = key["PublicKey"]["Id"]
    group_config = tmp_path / "group.json"
    group_config.write_text(json.dumps({"Name": unique("seedgroup"), "Items": [key_id]}))
    group = aws("cloudfront", "create-key-group", "--key-group-config", f"file://{group_config}")
    group_id = group["KeyGroup"]["Id"]
    oac = aws("cloudfront", "create-origin-access-control", "--origin-access-control-config",
              f"Name={unique('seedoac')},SigningProtocol=sigv4,SigningBehavior=always,"
              "OriginAccessControlOriginType=s3")
    oac_id = oac["OriginAccessControl"]["Id"]
    config_file = tmp_path / "distribution.json"
    config_file.write_text(json.dumps(dist_config(bucket, groups=[group_id], oac=oac_id)))
    dist = aws("cloudfront", "create-distribution", "--distribution-config", f"file://{config_file}")
    dist_id = dist["Distribution"]["Id"]
    assert dist["Distribution"]["DomainName"].startswith(dist_id.lower() + ".")

    got = aws("cloudfront", "get-distribution", "--id", dist_id)
    assert got["Distribution"]["DistributionConfig"]["Origins"]["Items"][0][
        "OriginAccessControlId"] == oac_id
    assert dist_id in [d["Id"] for d in aws("cloudfront", "list-distributions")
                       ["DistributionList"]["Items"]]
    assert key_id in [k["Id"] for k in aws("cloudfront", "list-public-keys")["PublicKeyList"]["Items"]]
    assert group_id in [g["KeyGroup"]["Id"] for g in aws("cloudfront", "list-key-groups")
                        ["KeyGroupList"]["Items"]]
    assert oac_id in [o["Id"] for o in aws("cloudfront", "list-origin-access-controls")
                      ["OriginAccessControlList"]["Items"]]
    inv = aws("cloudfront", "create-invalidation", "--distribution-id", dist_id, "--paths", "/*")
    assert inv["Invalidation"]["Status"] == "Completed"
    aws("cloudfront", "get-invalidation", "--distribution-id", dist_id, "--id",
        inv["Invalidation"]["Id"])

    # Disable (get-distribution-config → edit → update-distribution), then delete.
    current = aws("cloudfront", "get-distribution-config", "--id", dist_id)
    current["DistributionConfig"]["Enabled"] = False
    config_file.write_text(json.dumps(current["DistributionConfig"]))
    refused = aws("cloudfront", "delete-distribution", "--id", dist_id, "--if-match",
                  current["ETag"], check=False)
    assert refused.returncode != 0 and "DistributionNotDisabled" in refused.stderr
    updated = aws("cloudfront", "update-distribution", "--id", dist_id, "--if-match",
                  current["ETag"], "--distribution-config", f"file://{config_file}")
    aws("cloudfront", "delete-distribution", "--id", dist_id, "--if-match", updated["ETag"])
    aws("cloudfront", "delete-origin-access-control", "--id", oac_id, "--if-match",
        aws("cloudfront", "get-origin-access-control", "--id", oac_id)["ETag"])
    aws("cloudfront", "delete-key-group", "--id", group_id, "--if-match",
        aws("cloudfront", "get-key-group", "--id", group_id)["ETag"])
    aws("cloudfront", "delete-public-key", "--id", key_id, "--if-match",
        aws("cloudfront", "get-public-key", "--id", key_id)["ETag"])
    missing = aws("cloudfront", "get-distribution", "--id", dist_id, check=False)
    assert missing.returncode != 0 and "NoSuchDistribution" in missing.stderr


def test_iam_users_are_judged_by_their_policies(server, client_factory, bucket: str) -> None:
    import boto3
    from botocore.config import Config

    iam, cf_root = client_factory("iam"), client_factory("cloudfront")
    name = unique("cfuser")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    cf = boto3.client("cloudfront", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"],
                      config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    d = cf_root.create_distribution(DistributionConfig=dist_config(bucket))["Distribution"]
    with pytest.raises(ClientError) as e:
        cf.get_distribution(Id=d["Id"])
    assert code(e) == "AccessDenied" and status(e) == 403
    iam.put_user_policy(UserName=name, PolicyName="read-one", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["cloudfront:GetDistribution"],
            "Resource": d["ARN"]}]}))
    assert cf.get_distribution(Id=d["Id"])["Distribution"]["Id"] == d["Id"]
    with pytest.raises(ClientError) as e:
        cf.list_distributions()
    assert code(e) == "AccessDenied"
