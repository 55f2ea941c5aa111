"""Nodes that share everything through the metadata store (issue 15): two
`sealbox serve` processes on one PostgreSQL, each with its own data
directory, agree on the keyring and the root credentials, refuse to start
when they cannot, and see each other's changes at their next request."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from sealbox.cli.client import AdminClient, path
from sealbox.store.secrets import new_key
from sealbox.testing.server import RunningServer
from tests.conftest import make_client
from tests.integration.edge_site import behaviour, make_site

ALLOW_LIST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:ListBucket"], "Resource": "*"}]})


def _node(data_dir: Path, dsn: str, **kwargs: Any) -> RunningServer:
    return RunningServer(data_dir=data_dir, extra_args=("--meta-dsn", dsn), **kwargs)


def _as(server: RunningServer, access_key: str, secret_key: str, service: str = "s3") -> Any:
    twin = RunningServer(data_dir=server.data_dir, port=server.port, access_key=access_key,
                         secret_key=secret_key)
    return make_client(twin, service)


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_a_node_without_the_first_nodes_keyring_refuses_to_start_and_says_what_to_set(
        tmp_path: Path, postgres_cluster: Any) -> None:
    dsn = postgres_cluster.new_database()
    # The first node: no keyring and no root keys given; it makes both.
    first = _node(tmp_path / "a", dsn, access_key="", secret_key="").start()
    try:
        root = json.loads((tmp_path / "a" / "root-credentials.json").read_text())
        iam = _as(first, root["access_key"], root["secret_key"], "iam")
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="list", PolicyDocument=ALLOW_LIST)

        # A second node with its own data dir, hence its own generated key.
        second = _node(tmp_path / "b", dsn, access_key="", secret_key="")
        with pytest.raises(RuntimeError, match="exited early") as failed:
            second.start()
        assert second.process is not None and second.process.returncode == 1
        message = str(failed.value)
        assert "refusing to start" in message and "SEALBOX_SECRET_KEY" in message
        assert "secret.key" in message and "Traceback" not in message
        keyring = (tmp_path / "a" / "secret.key").read_text()
        assert keyring.strip() not in message

        # Given the first node's keyring, it starts, and agrees on everything.
        second = _node(tmp_path / "b", dsn, access_key="", secret_key="",
                       env={"SEALBOX_SECRET_KEY": ",".join(keyring.split())}).start()
        try:
            # The root credentials made by the first node, from the store
            # (the second node keeps no copy of them on its disk).
            assert not (tmp_path / "b" / "root-credentials.json").exists()
            assert _as(second, root["access_key"], root["secret_key"]).list_buckets()[
                "ResponseMetadata"]["HTTPStatusCode"] == 200
            # An IAM key made on the first node signs on the second.
            reader = _as(second, key["AccessKeyId"], key["SecretAccessKey"])
            assert reader.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
            # And one made on the second signs on the first.
            iam_b = _as(second, root["access_key"], root["secret_key"], "iam")
            iam_b.create_user(UserName="writer")
            made_on_b = iam_b.create_access_key(UserName="writer")["AccessKey"]
            iam_b.put_user_policy(UserName="writer", PolicyName="list",
                                  PolicyDocument=ALLOW_LIST)
            on_a = _as(first, made_on_b["AccessKeyId"], made_on_b["SecretAccessKey"])
            assert on_a.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        finally:
            second.stop()
    finally:
        first.stop()


def test_rotating_the_keyring_keeps_old_secrets_readable_then_rewrites_them(
        tmp_path: Path, postgres_cluster: Any) -> None:
    dsn = postgres_cluster.new_database()
    old, new = new_key(), new_key()
    node = _node(tmp_path / "a", dsn, env={"SEALBOX_SECRET_KEY": old}).start()
    try:
        iam = make_client(node, "iam")
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="list", PolicyDocument=ALLOW_LIST)
    finally:
        node.stop()
    # NEW first (it encrypts), OLD still read: the old key still signs and
    # a key made now is under NEW.
    both = _node(tmp_path / "a", dsn, env={"SEALBOX_SECRET_KEY": f"{new},{old}"}).start()
    try:
        reader = _as(both, key["AccessKeyId"], key["SecretAccessKey"])
        assert reader.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        fresh = make_client(both, "iam").create_access_key(UserName="reader")["AccessKey"]
    finally:
        both.stop()
    # NEW alone cannot read the old secrets yet: refused, naming the variable.
    refused = _node(tmp_path / "a", dsn, env={"SEALBOX_SECRET_KEY": new})
    with pytest.raises(RuntimeError, match="SEALBOX_SECRET_KEY"):
        refused.start()
    # sealbox rotate-secrets rewrites them under NEW; then OLD can go.
    rotated = subprocess.run(
        [sys.executable, "-m", "sealbox", "rotate-secrets", "--data-dir", str(tmp_path / "a"),
         "--meta-dsn", dsn, "--json"], capture_output=True, text=True, timeout=120, check=False,
        env={**_env_without_keys(), "SEALBOX_SECRET_KEY": f"{new},{old}"})
    assert rotated.returncode == 0, rotated.stderr
    counts = json.loads(rotated.stdout)
    assert counts["AccessKeys"] == 1 and counts["Settings"] >= 1  # the keyring check
    only_new = _node(tmp_path / "a", dsn, env={"SEALBOX_SECRET_KEY": new}).start()
    try:
        for made in (key, fresh):
            client = _as(only_new, made["AccessKeyId"], made["SecretAccessKey"])
            assert client.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        only_new.stop()


def _env_without_keys() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "SEALBOX_ROOT_", "SEALBOX_SECRET_KEY"))}


@pytest.fixture
def two_nodes(tmp_path: Path, postgres_cluster: Any):
    """Two nodes on one database, each with its own data dir, one keyring."""
    dsn = postgres_cluster.new_database()
    env = {"SEALBOX_SECRET_KEY": new_key()}
    one = _node(tmp_path / "a", dsn, env=env).start()
    try:
        two = _node(tmp_path / "b", dsn, env=env).start()
        try:
            yield one, two
        finally:
            two.stop()
    finally:
        one.stop()


def test_changes_made_through_one_node_reach_the_other_nodes_caches(two_nodes: Any) -> None:
    one, two = two_nodes
    bucket = f"shared-{uuid.uuid4().hex[:8]}"
    make_client(one).create_bucket(Bucket=bucket)
    iam = make_client(one, "iam")
    iam.create_user(UserName="lister")
    key = iam.create_access_key(UserName="lister")["AccessKey"]
    iam.put_user_policy(UserName="lister", PolicyName="list", PolicyDocument=ALLOW_LIST)
    lister = _as(two, key["AccessKeyId"], key["SecretAccessKey"])
    # Presigned links made for the second node, used there: the signature's
    # verdict and the access decision are cached there from their first use.
    link = lister.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket},
                                         ExpiresIn=600)
    sibling = lister.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket},
                                            ExpiresIn=601)
    for _ in range(3):
        assert requests.get(link, timeout=30).status_code == 200
    assert requests.get(sibling, timeout=30).status_code == 200

    # A revocation made through the first node: the second refuses that
    # link at its next request, and only that one.
    admin = AdminClient(one.endpoint, one.access_key, one.secret_key)
    admin.call("POST", path("revocations"), {"Url": link})
    assert requests.get(link, timeout=30).status_code == 403
    assert requests.get(sibling, timeout=30).status_code == 200

    # A bucket policy denying the user, put through the first node.
    deny = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
        "Condition": {"StringEquals": {"aws:username": "lister"}}}]}
    make_client(one).put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    assert requests.get(sibling, timeout=30).status_code == 403
    make_client(one).delete_bucket_policy(Bucket=bucket)
    assert requests.get(sibling, timeout=30).status_code == 200

    # The user's policy removed on the first node: the second denies.
    assert lister.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    iam.delete_user_policy(UserName="lister", PolicyName="list")
    assert _code(lister.list_buckets) == "AccessDenied"
    assert requests.get(sibling, timeout=30).status_code == 403
    # The key deleted on the first node: unknown on the second.
    iam.delete_access_key(UserName="lister", AccessKeyId=key["AccessKeyId"])
    assert _code(lister.list_buckets) == "InvalidAccessKeyId"

    # A presigned link whose verdict the second node has cached stops when
    # its key is made inactive, then deleted, through the first node.
    iam.put_user_policy(UserName="lister", PolicyName="list", PolicyDocument=ALLOW_LIST)
    other = iam.create_access_key(UserName="lister")["AccessKey"]
    signer = _as(two, other["AccessKeyId"], other["SecretAccessKey"])
    cached = signer.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket},
                                           ExpiresIn=600)
    for _ in range(3):
        assert requests.get(cached, timeout=30).status_code == 200
    iam.update_access_key(UserName="lister", AccessKeyId=other["AccessKeyId"],
                          Status="Inactive")
    assert requests.get(cached, timeout=30).status_code == 403
    iam.update_access_key(UserName="lister", AccessKeyId=other["AccessKeyId"], Status="Active")
    assert requests.get(cached, timeout=30).status_code == 200
    iam.delete_access_key(UserName="lister", AccessKeyId=other["AccessKeyId"])
    refused = requests.get(cached, timeout=30)
    assert refused.status_code == 403 and "InvalidAccessKeyId" in refused.text


def test_link_rules_secret_is_stored_encrypted_and_never_shown(two_nodes: Any,
                                                                postgres_cluster: Any) -> None:
    one, two = two_nodes
    iam = make_client(one, "iam")
    iam.create_user(UserName="link-signer")
    iam.create_access_key(UserName="link-signer")
    iam.put_user_policy(UserName="link-signer", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::books/*"}]}))
    secret = "shop-signing-secret-" + uuid.uuid4().hex
    rules = {"Issuers": [{"Name": "shop", "Issuer": "https://shop.example",
                          "Audience": "sealbox", "HS256Secret": secret}],
             "Rules": [{"Issuer": "shop", "SignAs": "link-signer", "Methods": ["GET"],
                        "Resource": "books/${jwt:sub}/*", "MaxExpires": 900}]}
    admin = AdminClient(one.endpoint, one.access_key, one.secret_key)
    admin.call("PUT", path("link-rules"), rules)
    shown = AdminClient(two.endpoint, two.access_key, two.secret_key).call(
        "GET", path("link-rules")).body
    assert shown["Issuers"][0]["HS256Secret"] == "(set)"
    # What the database holds: no plaintext secret.
    import psycopg

    dsn = one.extra_args[one.extra_args.index("--meta-dsn") + 1]
    with psycopg.connect(dsn) as conn:
        stored = conn.execute(
            "SELECT document FROM server_settings WHERE name = 'link-rules'").fetchone()[0]
    assert secret not in stored and "sealbox-sealed:v1:" in stored
    # Both nodes open it: a token signed with it is admitted by either.
    import time

    import jwt

    claims = {"iss": "https://shop.example", "aud": "sealbox", "sub": "alice",
              "exp": int(time.time() + 300)}
    for node in (one, two):
        answer = requests.post(
            f"{node.endpoint}/_sealbox/sign", timeout=30,
            json={"Bucket": "books", "Key": "alice/a.pdf", "Method": "GET"},
            headers={"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["Url"].startswith(node.endpoint)


def test_the_edge_cache_of_one_node_obeys_an_invalidation_made_through_another(
        tmp_path: Path, postgres_cluster: Any) -> None:
    # One data dir for both (objects' bytes are local files until the S3
    # blob backend lands); each process keeps its own edge cache in it.
    dsn = postgres_cluster.new_database()
    with _node(tmp_path / "shared", dsn) as one, _node(tmp_path / "shared", dsn) as two:
        s3, cf = make_client(one), make_client(one, "cloudfront")
        site = make_site(s3, cf, one.endpoint, one.port, restricted=False,
                         default=behaviour(groups=None, ttl=(0, 3600, 3600)))
        s3.put_object(Bucket=site.bucket, Key="page.html", Body=b"first")
        at_two = dataclasses.replace(site, endpoint=two.endpoint, port=two.port)
        assert at_two.get(at_two.url("/page.html")).content == b"first"
        cached = at_two.get(at_two.url("/page.html"))
        assert cached.headers["x-cache"] == "Hit from cloudfront"
        # Replaced at the origin through the first node: the second node's
        # cache keeps the first bytes for their TTL, as CloudFront does...
        s3.put_object(Bucket=site.bucket, Key="page.html", Body=b"second")
        assert at_two.get(at_two.url("/page.html")).content == b"first"
        # ...until an invalidation made through the first node.
        cf.create_invalidation(DistributionId=site.distribution_id, InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/page.html"]}, "CallerReference": "inv-1"})
        fresh = at_two.get(at_two.url("/page.html"))
        assert fresh.content == b"second" and fresh.headers["x-cache"] == "Miss from cloudfront"
        # A distribution disabled through the first node: refused on the second.
        config = cf.get_distribution_config(Id=site.distribution_id)
        config["DistributionConfig"]["Enabled"] = False
        cf.update_distribution(Id=site.distribution_id, IfMatch=config["ETag"],
                               DistributionConfig=config["DistributionConfig"])
        assert at_two.get(at_two.url("/page.html")).status_code == 403
