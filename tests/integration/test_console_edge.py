"""The console's Edge pages over plain HTTP, on SQLite and PostgreSQL: a
public key added from its PEM, a key group, a distribution made from a
bucket in one form (with a new origin access control and the key group),
an invalidation, disable and delete; each checked with boto3's CloudFront
client, as another client sees it, and CloudFront's refusals shown in a
page."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.console_client import Console


@pytest.fixture
def console(server) -> Console:
    return Console(server, server.access_key, server.secret_key)


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_a_distribution_is_made_from_a_bucket_with_an_oac_and_a_key_group(
        console: Console, client_factory, bucket: str) -> None:
    cf = client_factory("cloudfront")
    name = f"viewer-{uuid.uuid4().hex[:8]}"
    assert console.post("edge/public-keys", name=name, pem=_pem()).status_code == 303
    key_id = next(k["Id"] for k in cf.list_public_keys()["PublicKeyList"]["Items"]
                  if k["Name"] == name)
    refused = console.post("edge/public-keys", name="bad", pem="not a key")
    assert refused.status_code == 400 and "InvalidArgument" in refused.text

    group = f"viewers-{uuid.uuid4().hex[:8]}"
    assert console.post("edge/key-groups", name=group, key=key_id).status_code == 303
    group_id = next(g["KeyGroup"]["Id"] for g in cf.list_key_groups()["KeyGroupList"]["Items"]
                    if g["KeyGroup"]["KeyGroupConfig"]["Name"] == group)
    overview = console.get("edge").text
    assert name in overview and group in overview and f'value="{bucket}"' in overview

    made = console.post("edge/distributions", bucket=bucket, oac="new", key_group=group_id,
                        aliases=f"{group}.example.com", protocol="https-only",
                        comment="<b>from the console</b>")
    assert made.status_code == 303
    distribution_id = re.search(r"id=([A-Z0-9]+)$", made.headers["location"]).group(1)
    config = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    origin = config["Origins"]["Items"][0]
    assert origin["DomainName"] == f"{bucket}.s3.amazonaws.com"
    oac = cf.get_origin_access_control(Id=origin["OriginAccessControlId"])
    assert oac["OriginAccessControl"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["TrustedKeyGroups"]["Items"] == [group_id]
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert config["Aliases"]["Items"] == [f"{group}.example.com"]
    shown = console.get("edge/distribution", id=distribution_id).text
    assert "&lt;b&gt;from the console&lt;/b&gt;" in shown and group_id in shown

    assert console.post("edge/invalidations", id=distribution_id,
                        paths="/index.html\n/images/*\n").status_code == 303
    listed = cf.list_invalidations(DistributionId=distribution_id)["InvalidationList"]["Items"]
    batch = cf.get_invalidation(DistributionId=distribution_id, Id=listed[0]["Id"])
    assert batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == [
        "/index.html", "/images/*"]

    # CloudFront's rule: an enabled distribution is not deleted; its refusal, in a page.
    enabled = console.post("edge/delete", kind="distribution", id=distribution_id)
    assert enabled.status_code == 409 and "DistributionNotDisabled" in enabled.text
    assert console.post("edge/distribution/enabled", id=distribution_id,
                        enabled="false").status_code == 303
    assert cf.get_distribution_config(Id=distribution_id)["DistributionConfig"][
        "Enabled"] is False
    assert console.get("edge/delete", kind="distribution", id=distribution_id).status_code == 200
    assert console.post("edge/delete", kind="distribution", id=distribution_id).status_code == 303
    with pytest.raises(ClientError):
        cf.get_distribution(Id=distribution_id)
    for kind, resource in (("oac", origin["OriginAccessControlId"]), ("key-group", group_id),
                           ("public-key", key_id)):
        assert console.post("edge/delete", kind=kind, id=resource).status_code == 303
    assert cf.list_key_groups()["KeyGroupList"].get("Items", []) == [] or all(
        g["KeyGroup"]["Id"] != group_id for g in cf.list_key_groups()["KeyGroupList"]["Items"])
    assert console.post("edge/delete", kind="bucket", id="x").status_code == 400


def test_a_principal_without_cloudfront_rights_sees_the_refusal(server, client_factory) -> None:
    iam = client_factory("iam")
    user = f"console-no-edge-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    nobody = Console(server, key["AccessKeyId"], key["SecretAccessKey"])
    page = nobody.get("edge")
    assert page.status_code == 403 and "AccessDenied" in page.text
    assert "Traceback" not in page.text
    # Allowed to list distributions only: those, and the refusal of the rest.
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "cloudfront:ListDistributions", "Resource": "*"}]}))
    partial = nobody.get("edge")
    assert partial.status_code == 200 and "Create a distribution from a bucket" in partial.text
    assert partial.text.count("AccessDenied") == 3  # keys, key groups, OACs
    made = nobody.post("edge/oacs", name="sneaky")
    assert made.status_code == 403 and "AccessDenied" in made.text
