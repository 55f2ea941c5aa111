"""The edge's configuration per account (issue 17), against a real server
(SQLite and PostgreSQL): public keys, key groups, origin access controls and
distributions belong to the account that made them, through boto3's
``cloudfront`` client, the admin API and ``sealbox edge``; another account's
ids are answered as missing ones; a key group names only its own account's
keys; a distribution's ARN names its account, and another account's
distribution reads a bucket only when the bucket owner's policy names that
ARN, as on AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.testing.server import RunningServer
from tests.integration.edge_site import make_site, oac_policy, public_pem, unique
from tests.integration.test_accounts import Keys, admin, client, new_account, new_user, root_keys

FIRST = "000000000000"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def new_key(cf: Any) -> str:
    pem = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return str(cf.create_public_key(PublicKeyConfig={
        "CallerReference": unique("k"), "Name": unique("key"),
        "EncodedKey": pem})["PublicKey"]["Id"])


def new_oac(cf: Any) -> str:
    return str(cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": unique("oac"), "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"])


def config(bucket: str, *, group: str | None = None, oac: str = "",
           enabled: bool = True, log_bucket: str | None = None) -> dict[str, Any]:
    behaviour: dict[str, Any] = {
        "TargetOriginId": "b", "ViewerProtocolPolicy": "allow-all",
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        "MinTTL": 0, "DefaultTTL": 60, "MaxTTL": 3600}
    if group is not None:
        behaviour["TrustedKeyGroups"] = {"Enabled": True, "Quantity": 1, "Items": [group]}
    made: dict[str, Any] = {
        "CallerReference": unique("ref"),
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "b", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac}]},
        "DefaultCacheBehavior": behaviour, "Comment": "", "Enabled": enabled}
    if log_bucket is not None:
        made["Logging"] = {"Enabled": True, "IncludeCookies": False,
                           "Bucket": f"{log_bucket}.s3.amazonaws.com", "Prefix": "cf/"}
    return made


class Edge:
    """One account's edge configuration: a bucket, a key in a key group, an
    OAC and a distribution of them."""

    def __init__(self, server: RunningServer, keys: Keys) -> None:
        self.cf = client(server, keys, "cloudfront")
        self.s3 = client(server, keys)
        self.bucket = unique("scoped")
        self.s3.create_bucket(Bucket=self.bucket)
        self.key = new_key(self.cf)
        self.group = str(self.cf.create_key_group(KeyGroupConfig={
            "Name": unique("group"), "Items": [self.key]})["KeyGroup"]["Id"])
        self.oac = new_oac(self.cf)
        made = self.cf.create_distribution(DistributionConfig=config(
            self.bucket, group=self.group, oac=self.oac))
        self.distribution = str(made["Distribution"]["Id"])
        self.arn = str(made["Distribution"]["ARN"])
        self.etag = str(made["ETag"])


@pytest.fixture
def two(server: RunningServer) -> tuple[Edge, Edge, str]:
    """The first account's edge and a new account's, and that account's id."""
    account, keys = new_account(server)
    return Edge(server, root_keys(server)), Edge(server, keys), account


def test_each_account_lists_only_its_own_edge_configuration(two) -> None:
    first, other, account = two
    assert first.arn == f"arn:aws:cloudfront::{FIRST}:distribution/{first.distribution}"
    assert other.arn == f"arn:aws:cloudfront::{account}:distribution/{other.distribution}"
    for mine, theirs in ((first, other), (other, first)):
        cf = mine.cf
        distributions = [d["Id"] for d in cf.list_distributions()["DistributionList"]
                         .get("Items", [])]
        assert mine.distribution in distributions and theirs.distribution not in distributions
        keys = [k["Id"] for k in cf.list_public_keys()["PublicKeyList"].get("Items", [])]
        assert mine.key in keys and theirs.key not in keys
        groups = [g["KeyGroup"]["Id"] for g in cf.list_key_groups()["KeyGroupList"]
                  .get("Items", [])]
        assert mine.group in groups and theirs.group not in groups
        oacs = [o["Id"] for o in cf.list_origin_access_controls()["OriginAccessControlList"]
                .get("Items", [])]
        assert mine.oac in oacs and theirs.oac not in oacs


def test_another_accounts_ids_are_answered_as_missing(two) -> None:
    first, other, _ = two
    cf = other.cf
    refusals = {
        "NoSuchDistribution": (
            lambda: cf.get_distribution(Id=first.distribution),
            lambda: cf.get_distribution_config(Id=first.distribution),
            lambda: cf.update_distribution(Id=first.distribution, IfMatch=first.etag,
                                           DistributionConfig=config(first.bucket)),
            lambda: cf.delete_distribution(Id=first.distribution, IfMatch=first.etag),
            lambda: cf.create_invalidation(DistributionId=first.distribution, InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": unique("i")}),
            lambda: cf.list_invalidations(DistributionId=first.distribution)),
        "NoSuchPublicKey": (
            lambda: cf.get_public_key(Id=first.key),
            lambda: cf.delete_public_key(Id=first.key, IfMatch="E1"),
            lambda: cf.update_public_key(Id=first.key, IfMatch="E1", PublicKeyConfig={
                "CallerReference": "x", "Name": "stolen", "EncodedKey": "x"})),
        "NoSuchResource": (
            lambda: cf.get_key_group(Id=first.group),
            lambda: cf.delete_key_group(Id=first.group, IfMatch="E1")),
        "NoSuchOriginAccessControl": (
            lambda: cf.get_origin_access_control(Id=first.oac),
            lambda: cf.delete_origin_access_control(Id=first.oac, IfMatch="E1")),
    }
    for expected, calls in refusals.items():
        for call in calls:
            with pytest.raises(ClientError) as refused:
                call()
            assert code(refused) == expected
    # Nothing of the first account's changed: it still reads them all.
    assert first.cf.get_distribution(Id=first.distribution)["ETag"] == first.etag
    assert first.cf.get_key_group(Id=first.group)["KeyGroup"]["KeyGroupConfig"]["Items"] == \
        [first.key]
    first.cf.get_public_key(Id=first.key)
    first.cf.get_origin_access_control(Id=first.oac)


def test_references_reach_only_the_accounts_own_keys_groups_and_oacs(two) -> None:
    first, other, _ = two
    cf = other.cf
    with pytest.raises(ClientError) as refused:
        cf.create_key_group(KeyGroupConfig={"Name": unique("g"), "Items": [first.key]})
    assert code(refused) == "InvalidArgument" and first.key in str(refused.value)
    with pytest.raises(ClientError) as refused:
        cf.create_key_group(KeyGroupConfig={"Name": unique("g"),
                                            "Items": [other.key, first.key]})
    assert code(refused) == "InvalidArgument"
    with pytest.raises(ClientError) as refused:
        cf.create_distribution(DistributionConfig=config(other.bucket, group=first.group))
    assert code(refused) == "TrustedKeyGroupDoesNotExist"
    with pytest.raises(ClientError) as refused:
        cf.create_distribution(DistributionConfig=config(other.bucket, oac=first.oac))
    assert code(refused) == "NoSuchOriginAccessControl"
    # Access logs go only into the account's own buckets.
    with pytest.raises(ClientError) as refused:
        cf.create_distribution(DistributionConfig=config(other.bucket, log_bucket=first.bucket))
    assert code(refused) == "InvalidArgument" and "your account" in str(refused.value)
    # Its own are fine.
    made = cf.create_distribution(DistributionConfig=config(
        other.bucket, group=other.group, oac=other.oac, log_bucket=other.bucket))
    assert made["Distribution"]["Id"]


def test_another_accounts_distribution_reads_a_bucket_only_as_its_policy_allows(
        server: RunningServer) -> None:
    account, keys = new_account(server)
    owner_s3 = client(server, root_keys(server))
    # The first account's bucket behind the new account's distribution; the
    # bucket owner's policy names that distribution's ARN.
    site = make_site(owner_s3, client(server, keys, "cloudfront"), server.endpoint, server.port)
    owner_s3.put_object(Bucket=site.bucket, Key="page.html", Body=b"across accounts")
    assert site.arn == f"arn:aws:cloudfront::{account}:distribution/{site.distribution_id}"
    served = site.get(site.signed("/page.html"))
    assert served.status_code == 200 and served.content == b"across accounts"
    # The same id under another account's ARN admits nothing: the account counts.
    owner_s3.put_bucket_policy(Bucket=site.bucket, Policy=oac_policy(
        site.bucket, f"arn:aws:cloudfront::{FIRST}:distribution/{site.distribution_id}"))
    owner_s3.put_object(Bucket=site.bucket, Key="wrong.html", Body=b"x")
    assert site.get(site.signed("/wrong.html")).status_code == 403
    # aws:SourceAccount is the distribution's account.
    policy = json.loads(oac_policy(site.bucket, site.arn))
    policy["Statement"]["Condition"] = {"StringEquals": {"AWS:SourceAccount": account}}
    owner_s3.put_bucket_policy(Bucket=site.bucket, Policy=json.dumps(policy))
    owner_s3.put_object(Bucket=site.bucket, Key="account.html", Body=b"x")
    assert site.get(site.signed("/account.html")).status_code == 200
    owner_s3.delete_bucket_policy(Bucket=site.bucket)
    owner_s3.put_object(Bucket=site.bucket, Key="closed.html", Body=b"x")
    assert site.get(site.signed("/closed.html")).status_code == 403


def test_an_accounts_users_are_judged_by_their_own_policies(server: RunningServer) -> None:
    account, keys = new_account(server)
    theirs = Edge(server, keys)
    _, reader = new_user(server, keys, {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["cloudfront:ListDistributions",
                                      "cloudfront:GetDistribution"],
        "Resource": f"arn:aws:cloudfront::{account}:distribution/*"}]})
    cf = client(server, reader, "cloudfront")
    listed = [d["Id"] for d in cf.list_distributions()["DistributionList"].get("Items", [])]
    assert listed == [theirs.distribution]
    assert cf.get_distribution(Id=theirs.distribution)["Distribution"]["ARN"] == theirs.arn
    with pytest.raises(ClientError) as refused:
        cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": unique("oac"), "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})
    assert code(refused) == "AccessDenied"


def test_the_admin_api_and_the_cli_act_in_the_callers_account(
        server: RunningServer, two, tmp_path) -> None:
    first, other, _ = two
    _, other_keys = new_account(server)  # a third account, with nothing
    answer = admin(server, root_keys(server), "GET", "edge/distributions")
    assert answer.status_code == 200, answer.text
    listed = [d["Id"] for d in answer.json()["DistributionList"].get("Items", [])]
    assert first.distribution in listed and other.distribution not in listed
    missing = admin(server, root_keys(server), "GET", f"edge/distributions/{other.distribution}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NoSuchDistribution"
    empty = admin(server, other_keys, "GET", "edge/distributions")
    assert empty.status_code == 200 and not empty.json()["DistributionList"].get("Items")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=other_keys.access_key,
               AWS_SECRET_ACCESS_KEY=other_keys.secret_key)
    done = subprocess.run([sys.executable, "-m", "sealbox", "edge", "distribution", "list",
                           "--json", "--endpoint-url", server.endpoint,
                           "--data-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert first.distribution not in done.stdout and other.distribution not in done.stdout


def test_an_account_with_edge_configuration_is_not_deleted(server: RunningServer) -> None:
    answer = admin(server, root_keys(server), "POST", "accounts", {"AccountName": unique("cf")})
    made = answer.json()
    name = made["Account"]["AccountName"]
    keys = Keys(made["AccessKey"]["AccessKeyId"], made["AccessKey"]["SecretAccessKey"])
    cf = client(server, keys, "cloudfront")
    oac = new_oac(cf)
    refused = admin(server, root_keys(server), "DELETE", f"accounts/{name}")
    assert refused.status_code == 409, refused.text
    assert "origin access controls" in refused.json()["error"]["message"]
    etag = cf.get_origin_access_control(Id=oac)["ETag"]
    cf.delete_origin_access_control(Id=oac, IfMatch=etag)
    gone = admin(server, root_keys(server), "DELETE", f"accounts/{name}")
    assert gone.status_code == 204, gone.text


def test_names_and_caller_references_are_per_account(two) -> None:
    first, other, _ = two
    cf_first, cf_other = first.cf, other.cf
    name, reference = unique("shared"), unique("ref")
    pem = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    made = [cf.create_public_key(PublicKeyConfig={
        "CallerReference": reference, "Name": name, "EncodedKey": pem})["PublicKey"]["Id"]
        for cf in (cf_first, cf_other)]
    assert made[0] != made[1]  # the same name and reference: two keys, one per account
    for cf, key in zip((cf_first, cf_other), made, strict=True):
        group = cf.create_key_group(KeyGroupConfig={"Name": name, "Items": [key]})
        assert group["KeyGroup"]["KeyGroupConfig"]["Name"] == name
        oac = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": name, "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})
        assert oac["OriginAccessControl"]["OriginAccessControlConfig"]["Name"] == name
    # Within one account a name is still taken.
    with pytest.raises(ClientError) as refused:
        cf_other.create_key_group(KeyGroupConfig={"Name": name, "Items": [made[1]]})
    assert code(refused) == "KeyGroupAlreadyExists"
    shared = config(first.bucket)
    one = cf_first.create_distribution(DistributionConfig=shared)["Distribution"]["Id"]
    two_ = cf_other.create_distribution(DistributionConfig={
        **shared, "Origins": config(other.bucket)["Origins"]})["Distribution"]["Id"]
    assert one != two_


def test_a_cloudfront_url_is_revoked_by_its_distributions_account(
        server: RunningServer) -> None:
    _, keys = new_account(server)
    site = make_site(client(server, keys), client(server, keys, "cloudfront"),
                     server.endpoint, server.port)
    client(server, keys).put_object(Bucket=site.bucket, Key="film.mp4", Body=b"frames")
    url = site.signed("/film.mp4")
    assert site.get(url).status_code == 200
    # Another account, the first included, may not take it back.
    refused = admin(server, root_keys(server), "POST", "revocations", {"Url": url})
    assert refused.status_code == 403, refused.text
    assert site.get(url).status_code == 200
    revoked = admin(server, keys, "POST", "revocations", {"Url": url})
    assert revoked.status_code == 200, revoked.text
    assert site.get(url).status_code == 403
