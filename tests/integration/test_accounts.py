"""Several accounts (issue 17), against a real server (SQLite and
PostgreSQL), driven with boto3 and the admin JSON API as AWS clients sign:
accounts are the administrator's to make; each account sees its own buckets
and IAM entities only; bucket names are global; another account reads a
bucket only when the owner's bucket policy *and* its own identity policy
allow it (AWS's cross-account evaluation); canonical ids are per account."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer
from tests.integration.console_client import Console

ADMIN = "/_sealbox/api/v1/"


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str


def admin(server: RunningServer, keys: Keys, method: str, path: str,
          body: dict[str, Any] | None = None) -> requests.Response:
    data = b"" if body is None else json.dumps(body).encode()
    request = AWSRequest(method, server.endpoint + ADMIN + path, data=data,
                         headers={"content-type": "application/json"} if body else {})
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "sealbox",
              "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, data=data, headers=dict(prepared.headers),
                            timeout=30)


def client(server: RunningServer, keys: Keys, service: str = "s3") -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1, "mode": "standard"}))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def root_keys(server: RunningServer) -> Keys:
    return Keys(server.access_key, server.secret_key)


def new_account(server: RunningServer) -> tuple[str, Keys]:
    """A fresh account made by the administrator: its id and root keys."""
    answer = admin(server, root_keys(server), "POST", "accounts",
                   {"AccountName": unique("acct")})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    return made["Account"]["AccountId"], Keys(made["AccessKey"]["AccessKeyId"],
                                              made["AccessKey"]["SecretAccessKey"])


def new_user(server: RunningServer, root: Keys, policy: dict[str, Any] | None) -> tuple[str, Keys]:
    """An IAM user of ``root``'s account, with ``policy`` inline; its ARN and keys."""
    iam = client(server, root, "iam")
    name = unique("user")
    user_arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user_arn, Keys(key["AccessKeyId"], key["SecretAccessKey"])


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


READ_ANY = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                           "Resource": "*"}]}


def grant(bucket: str, principal: str, **condition: Any) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal},
                                 "Action": "s3:GetObject",
                                 "Resource": f"arn:aws:s3:::{bucket}/*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def owned(server: RunningServer) -> tuple[str, str, Any]:
    """A bucket of the first account holding ``k`` (its name, account, client)."""
    s3 = client(server, root_keys(server))
    name = unique("owned")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"secret")
    return name, "000000000000", s3


def test_account_is_made_listed_and_its_root_signs(server: RunningServer) -> None:
    name = unique("team")
    made = admin(server, root_keys(server), "POST", "accounts", {"AccountName": name})
    assert made.status_code == 201
    account_id = made.json()["Account"]["AccountId"]
    assert len(account_id) == 12 and account_id.isdigit() and account_id != "000000000000"
    keys = Keys(made.json()["AccessKey"]["AccessKeyId"],
                made.json()["AccessKey"]["SecretAccessKey"])
    listed = admin(server, root_keys(server), "GET", "accounts").json()["Accounts"]
    assert {"AccountId": account_id, "AccountName": name} in [
        {k: a[k] for k in ("AccountId", "AccountName")} for a in listed]
    assert [a["AccountName"] for a in listed if a["Administrator"]] == ["main"]
    caller = client(server, keys, "iam")
    assert caller.get_user()["User"]["Arn"] == f"arn:aws:iam::{account_id}:root"
    again = admin(server, root_keys(server), "POST", "accounts", {"AccountName": name})
    assert again.status_code == 409 and again.json()["error"]["code"] == "EntityAlreadyExists"
    bad = admin(server, root_keys(server), "POST", "accounts", {"AccountName": "No_Such!"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ValidationError"


def test_only_the_administrator_manages_accounts(server: RunningServer) -> None:
    _, other_root = new_account(server)
    refused = admin(server, other_root, "GET", "accounts")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "AccessDenied"
    refused = admin(server, other_root, "POST", "accounts", {"AccountName": unique("x")})
    assert refused.status_code == 403
    # A user of the first account needs sealbox:ManageAccounts in its policies.
    _, plain = new_user(server, root_keys(server), READ_ANY)
    assert admin(server, plain, "GET", "accounts").status_code == 403
    _, manager = new_user(server, root_keys(server), {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sealbox:ManageAccounts", "Resource": "*"}]})
    assert admin(server, manager, "GET", "accounts").status_code == 200


def test_delete_is_refused_while_the_account_owns_buckets(server: RunningServer) -> None:
    name = unique("leaving")
    made = admin(server, root_keys(server), "POST", "accounts", {"AccountName": name}).json()
    keys = Keys(made["AccessKey"]["AccessKeyId"], made["AccessKey"]["SecretAccessKey"])
    s3 = client(server, keys)
    bucket = unique("theirs")
    s3.create_bucket(Bucket=bucket)
    refused = admin(server, root_keys(server), "DELETE", f"accounts/{name}")
    assert refused.status_code == 409
    assert "owns buckets" in refused.json()["error"]["message"]
    s3.delete_bucket(Bucket=bucket)
    assert admin(server, root_keys(server), "DELETE", f"accounts/{name}").status_code == 204
    with pytest.raises(ClientError) as gone:
        s3.list_buckets()
    assert code(gone) == "InvalidAccessKeyId"
    missing = admin(server, root_keys(server), "DELETE", f"accounts/{name}")
    assert missing.status_code == 404


def test_list_buckets_shows_the_callers_account_only(server: RunningServer, owned) -> None:
    bucket, _, _ = owned
    _, other_root = new_account(server)
    theirs = client(server, other_root)
    assert theirs.list_buckets()["Buckets"] == []
    mine = unique("mine")
    theirs.create_bucket(Bucket=mine)
    assert [b["Name"] for b in theirs.list_buckets()["Buckets"]] == [mine]
    first = [b["Name"] for b in client(server, root_keys(server)).list_buckets()["Buckets"]]
    assert bucket in first and mine not in first
    # An IAM user of the account sees the account's buckets too.
    _, user = new_user(server, other_root, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
    assert [b["Name"] for b in client(server, user).list_buckets()["Buckets"]] == [mine]


def test_bucket_names_are_global(server: RunningServer, owned) -> None:
    bucket, _, s3 = owned
    _, other_root = new_account(server)
    with pytest.raises(ClientError) as taken:
        client(server, other_root).create_bucket(Bucket=bucket)
    assert code(taken) == "BucketAlreadyExists"
    assert taken.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    s3.create_bucket(Bucket=bucket)  # us-east-1: the owner's own name again is a 200


def test_canonical_ids_are_the_accounts(server: RunningServer) -> None:
    account, other_root = new_account(server)
    expected = hashlib.sha256(f"arn:aws:iam::{account}:root".encode()).hexdigest()
    assert client(server, other_root).list_buckets()["Owner"]["ID"] == expected
    _, user = new_user(server, other_root, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
    assert client(server, user).list_buckets()["Owner"]["ID"] == expected
    first = client(server, root_keys(server)).list_buckets()["Owner"]["ID"]
    assert first == hashlib.sha256(b"arn:aws:iam::000000000000:root").hexdigest()


@pytest.mark.parametrize(("bucket_policy", "identity_policy", "allowed"), [
    (True, True, True),
    (True, False, False),   # the owner allows, the caller's own account does not
    (False, True, False),   # the caller's account allows, the owner does not
])
def test_cross_account_read_needs_both_policies(server: RunningServer, owned, bucket_policy,
                                                identity_policy, allowed) -> None:
    bucket, _, s3 = owned
    _, other_root = new_account(server)
    user_arn, user = new_user(server, other_root, READ_ANY if identity_policy else None)
    if bucket_policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=grant(bucket, user_arn))
    reader = client(server, user)
    if allowed:
        assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"
    else:
        with pytest.raises(ClientError) as refused:
            reader.get_object(Bucket=bucket, Key="k")
        assert code(refused) == "AccessDenied"


def test_another_accounts_root_needs_the_bucket_policy(server: RunningServer, owned) -> None:
    bucket, _, s3 = owned
    account, other_root = new_account(server)
    outsider = client(server, other_root)
    for call in (lambda: outsider.get_object(Bucket=bucket, Key="k"),
                 lambda: outsider.get_bucket_policy(Bucket=bucket),
                 lambda: outsider.delete_bucket(Bucket=bucket)):
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == "AccessDenied"
    # Naming the account (its root ARN) admits its root: its own permissions are implicit.
    s3.put_bucket_policy(Bucket=bucket, Policy=grant(bucket, f"arn:aws:iam::{account}:root"))
    assert outsider.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"
    with pytest.raises(ClientError) as refused:
        outsider.put_object(Bucket=bucket, Key="k", Body=b"overwritten")
    assert code(refused) == "AccessDenied"


def test_principal_account_and_resource_account_conditions(server: RunningServer,
                                                           owned) -> None:
    bucket, owner, s3 = owned
    account, other_root = new_account(server)
    _, wrong_root = new_account(server)
    s3.put_bucket_policy(Bucket=bucket, Policy=grant(
        bucket, "*", StringEquals={"aws:PrincipalAccount": account,
                                   "s3:ResourceAccount": owner}))
    assert client(server, other_root).get_object(Bucket=bucket, Key="k")["Body"].read() \
        == b"secret"
    with pytest.raises(ClientError) as refused:
        client(server, wrong_root).get_object(Bucket=bucket, Key="k")
    assert code(refused) == "AccessDenied"


def test_iam_acts_in_the_callers_account(server: RunningServer) -> None:
    account, other_root = new_account(server)
    theirs = client(server, other_root, "iam")
    first = client(server, root_keys(server), "iam")
    name = unique("same")
    made = theirs.create_user(UserName=name)["User"]
    assert made["Arn"] == f"arn:aws:iam::{account}:user/{name}"
    # Names are unique per account: the first account may have its own.
    assert first.create_user(UserName=name)["User"]["Arn"] == \
        f"arn:aws:iam::000000000000:user/{name}"
    assert [u["UserName"] for u in theirs.list_users()["Users"]] == [name]
    policy = theirs.create_policy(PolicyName="only-theirs", PolicyDocument=json.dumps(READ_ANY))
    assert policy["Policy"]["Arn"] == f"arn:aws:iam::{account}:policy/only-theirs"
    with pytest.raises(ClientError) as missing:
        first.get_policy(PolicyArn=policy["Policy"]["Arn"])
    assert code(missing) == "NoSuchEntity"
    with pytest.raises(ClientError) as missing:
        first.attach_user_policy(UserName=name, PolicyArn=policy["Policy"]["Arn"])
    assert code(missing) == "NoSuchEntity"
    # The admin API too, with a policy named without its ARN.
    attached = admin(server, other_root, "POST", f"users/{name}/attached-policies",
                     {"PolicyArn": "only-theirs"})
    assert attached.status_code == 204, attached.text
    listed = admin(server, other_root, "GET", f"users/{name}/attached-policies").json()
    assert [p["PolicyArn"] for p in listed["AttachedPolicies"]] == [policy["Policy"]["Arn"]]
    users = admin(server, other_root, "GET", "users").json()["Users"]
    assert [u["UserName"] for u in users] == [name]


def control(server: RunningServer, keys: Keys, method: str, account: str,
            body: bytes = b"") -> requests.Response:
    """S3 Control's account Block Public Access, signed by botocore and sent
    directly (its client puts the account id in the host name)."""
    url = server.endpoint + "/v20180820/configuration/publicAccessBlock"
    request = AWSRequest(method, url, data=body, headers={"x-amz-account-id": account})
    S3SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3",
                "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(method, url, data=body, headers=dict(prepared.headers), timeout=30)


def public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_account_block_public_access_is_per_account(server: RunningServer, owned) -> None:
    bucket, _, s3 = owned
    account, other_root = new_account(server)
    theirs = client(server, other_root)
    their_bucket = unique("theirs")
    theirs.create_bucket(Bucket=their_bucket)
    config = (b'<PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/'
              b'2018-08-20/"><BlockPublicPolicy>true</BlockPublicPolicy>'
              b"</PublicAccessBlockConfiguration>")
    assert control(server, other_root, "PUT", account, config).status_code == 200
    assert b"<BlockPublicPolicy>true</BlockPublicPolicy>" in \
        control(server, other_root, "GET", account).content
    assert control(server, other_root, "GET", "000000000000").status_code == 403
    assert admin(server, other_root, "GET", "public-access-block").json()[
        "PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    # The owner account's setting applies to its buckets only.
    theirs.delete_public_access_block(Bucket=their_bucket)
    with pytest.raises(ClientError) as refused:
        theirs.put_bucket_policy(Bucket=their_bucket, Policy=public_policy(their_bucket))
    assert code(refused) == "AccessDenied"
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    s3.delete_bucket_policy(Bucket=bucket)


def test_links_stay_inside_their_account(server: RunningServer, owned) -> None:
    bucket, _, _ = owned
    first = root_keys(server)
    made = admin(server, first, "POST", "links", {"Bucket": bucket, "Key": "k"})
    assert made.status_code == 201, made.text
    link = made.json()
    assert requests.get(link["Url"], timeout=30).content == b"secret"
    _, other_root = new_account(server)
    # Another account neither sees nor revokes the first account's links.
    assert admin(server, other_root, "GET", f"links/{link['LinkId']}").status_code == 404
    assert admin(server, other_root, "DELETE", f"links/{link['LinkId']}").status_code == 404
    listed = admin(server, other_root, "GET", f"links?Bucket={bucket}").json()["Links"]
    assert listed == []
    refused = admin(server, other_root, "POST", "revocations", {"Url": link["Url"]})
    assert refused.status_code == 403
    assert requests.get(link["Url"], timeout=30).status_code == 200
    # A link its root signs for the first account's bucket is refused on use
    # (another account, no bucket policy), as the presigned URL under it.
    theirs = admin(server, other_root, "POST", "links", {"Bucket": bucket, "Key": "k"})
    assert theirs.status_code == 201, theirs.text
    assert requests.get(theirs.json()["Url"], timeout=30).status_code == 403
    # Link rules and the edge are per account: it reads its own (empty), not
    # the first account's (tests/integration/test_accounts_edge.py and
    # test_accounts_rules_doctor.py say more).
    assert admin(server, other_root, "GET", "link-rules").json().get("Rules", []) == []
    assert admin(server, other_root, "GET", "edge/distributions").status_code == 200


def test_audit_shows_an_account_its_own_events(server: RunningServer, owned) -> None:
    bucket, _, _ = owned
    account, other_root = new_account(server)
    theirs = client(server, other_root)
    their_bucket = unique("audited")
    theirs.create_bucket(Bucket=their_bucket)
    theirs.put_object(Bucket=their_bucket, Key="mine", Body=b"x")
    with pytest.raises(ClientError):
        theirs.get_object(Bucket=bucket, Key="k")
    import time

    deadline = time.monotonic() + 20
    while True:  # the trail is written in batches
        events = admin(server, other_root, "GET", "audit?MaxItems=1000").json()["Events"]
        if any(e["Bucket"] == their_bucket and e["Key"] == "mine" for e in events) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert any(e["Bucket"] == their_bucket and e["Key"] == "mine" for e in events)
    for event in events:
        assert event["Principal"].startswith(f"arn:aws:iam::{account}:") \
            or event["Bucket"] == their_bucket
    # The administrator reads the whole trail, the first account's bucket included.
    everything = admin(server, root_keys(server), "GET",
                       f"audit?Bucket={their_bucket}").json()["Events"]
    assert any(e["Key"] == "mine" for e in everything)


def test_the_account_commands(server: RunningServer, tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def sealbox(*args: str, keys: Keys | None = None) -> subprocess.CompletedProcess[str]:
        environment = dict(env)
        if keys is not None:
            environment.update(AWS_ACCESS_KEY_ID=keys.access_key,
                               AWS_SECRET_ACCESS_KEY=keys.secret_key)
        return subprocess.run([sys.executable, "-m", "sealbox", "admin", "account", *args,
                               "--endpoint-url", server.endpoint,
                               "--data-dir", str(tmp_path / "none")],
                              capture_output=True, text=True, timeout=60, env=environment,
                              check=False)

    name = unique("cli")
    made = sealbox("create", name)
    assert made.returncode == 0, made.stderr
    printed = dict(line.split("=", 1) for line in made.stdout.splitlines() if "=" in line)
    keys = Keys(printed["AWS_ACCESS_KEY_ID"], printed["AWS_SECRET_ACCESS_KEY"])
    assert client(server, keys, "iam").get_user()["User"]["Arn"] == \
        f"arn:aws:iam::{printed['ACCOUNT_ID']}:root"
    listed = sealbox("list")
    assert f"{printed['ACCOUNT_ID']}\t{name}" in listed.stdout.splitlines()
    assert json.loads(sealbox("list", "--json").stdout)  # the API's answer, for scripts
    taken = sealbox("create", name)
    assert taken.returncode == 1 and "EntityAlreadyExists" in taken.stderr
    refused = sealbox("list", keys=keys)  # not the administrator
    assert refused.returncode == 1 and "AccessDenied" in refused.stderr
    bucket = unique("cli-bucket")
    client(server, keys).create_bucket(Bucket=bucket)
    kept = sealbox("delete", name)
    assert kept.returncode == 1 and "owns buckets" in kept.stderr
    client(server, keys).delete_bucket(Bucket=bucket)
    gone = sealbox("delete", name)
    assert gone.returncode == 0 and gone.stdout.strip() == f"deleted account {name}"
    assert name not in sealbox("list").stdout


def test_the_console_shows_the_signed_in_accounts_buckets(server: RunningServer, owned) -> None:
    bucket, _, _ = owned
    _, other_root = new_account(server)
    theirs = unique("console")
    client(server, other_root).create_bucket(Bucket=theirs)
    page = Console(server, other_root.access_key, other_root.secret_key).get("").text
    assert theirs in page and bucket not in page
    first = Console(server, server.access_key, server.secret_key).get("").text
    assert bucket in first and theirs not in first


def test_expected_bucket_owner_names_the_owning_account(server: RunningServer, owned) -> None:
    bucket, owner, s3 = owned
    account, _ = new_account(server)
    assert s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=owner)["Body"].read() \
        == b"secret"
    for call in (lambda: s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=account),
                 lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x",
                                       ExpectedBucketOwner=account),
                 lambda: s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=account)):
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"
