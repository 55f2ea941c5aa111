"""The console's Access pages over plain HTTP, on SQLite and PostgreSQL:
users, access keys (the secret shown once), groups, managed policies (the
server's own grammar judging the editor's text), a bucket's policy, Block
Public Access and CORS, and the server's Block Public Access. Each change
is checked with boto3, as another client sees it; each refusal is the
server's own code, shown in a page with the text as typed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer
from tests.integration.console_client import Console

READ_ONE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::some-bucket/*"}]}


@pytest.fixture
def console(server: RunningServer) -> Console:
    return Console(server, server.access_key, server.secret_key)


def _name(kind: str) -> str:
    return f"console-{kind}-{uuid.uuid4().hex[:8]}"


def test_a_user_gets_a_key_whose_secret_is_shown_once_then_disabled_and_deleted(
        server, console: Console, client_factory) -> None:
    iam = client_factory("iam")
    user = _name("user")
    made = console.post("access/users", name=user)
    assert made.status_code == 303 and made.headers["location"].endswith(f"name={user}")
    assert iam.get_user(UserName=user)["User"]["UserName"] == user
    assert user in console.get("access").text

    created = console.post("access/keys", user=user)
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    key_id = re.search(r'id="new-key-id">([A-Z0-9]+)<', created.text).group(1)
    secret = re.search(r'id="new-secret"[^>]* value="([^"]+)"', created.text).group(1)
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)
            ["AccessKeyMetadata"]] == [key_id]
    # Shown once: the user's page lists the key, never its secret; and it works.
    listed = console.get("access/user", name=user)
    assert key_id in listed.text and secret not in listed.text
    Console(server, key_id, secret)

    disabled = console.post("access/key/status", user=user, key=key_id, status="Inactive")
    assert disabled.status_code == 303
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert console.post("access/key/status", user=user, key=key_id,
                        status="Maybe").status_code == 400
    # Delete asks first (GET), then deletes (POST).
    asked = console.get("access/key/delete", user=user, key=key_id)
    assert asked.status_code == 200 and key_id in asked.text
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] != []
    assert console.post("access/key/delete", user=user, key=key_id).status_code == 303
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    assert console.post("access/user/delete", name=user).status_code == 303
    with pytest.raises(ClientError):
        iam.get_user(UserName=user)


def test_groups_and_policies_with_the_servers_own_judgement_of_a_document(
        server, console: Console, client_factory) -> None:
    iam = client_factory("iam")
    user, group, policy = _name("member"), _name("group"), _name("policy")
    iam.create_user(UserName=user)
    assert console.post("access/groups", name=group).status_code == 303
    assert console.post("access/group/members", group=group, user=user).status_code == 303
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]
    assert user in console.get("access/group", name=group).text

    # A malformed document: IAM's own code and reason, the text kept as typed
    # (escaped: it cannot close the textarea).
    bad = '{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]} </textarea><b>x</b>'
    refused = console.post("access/policies", name=policy, document=bad,
                           description="<script>alert(1)</script>")
    assert refused.status_code == 400
    assert "MalformedPolicyDocument" in refused.text
    assert "&lt;/textarea&gt;&lt;b&gt;x&lt;/b&gt;" in refused.text
    assert "<b>x</b>" not in refused.text and "<script>alert" not in refused.text
    with pytest.raises(ClientError):
        iam.get_policy(PolicyArn=f"arn:aws:iam::000000000000:policy/{policy}")

    made = console.post("access/policies", name=policy, document=json.dumps(READ_ONE),
                        description="<script>alert(1)</script>")
    assert made.status_code == 303
    arn = iam.list_policies(Scope="Local")["Policies"]
    arn = next(p["Arn"] for p in arn if p["PolicyName"] == policy)
    shown = console.get("access/policy", arn=arn)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert "s3:GetObject" in shown.text

    assert console.post("access/attach", kind="group", owner=group,
                        policy=policy).status_code == 303
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=group)
            ["AttachedPolicies"]] == [arn]
    # IAM refuses to delete an attached policy: its refusal, in a page.
    in_use = console.post("access/policy/delete", arn=arn)
    assert in_use.status_code == 409 and "DeleteConflict" in in_use.text
    assert console.post("access/detach", kind="group", owner=group,
                        policy=arn).status_code == 303
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == []
    assert console.post("access/policy/delete", arn=arn).status_code == 303
    assert console.post("access/group/members/remove", group=group,
                        user=user).status_code == 303
    assert console.post("access/group/delete", name=group).status_code == 303
    assert group not in console.get("access").text


def test_a_principal_without_iam_rights_sees_iams_refusal(server, console: Console,
                                                         client_factory) -> None:
    iam = client_factory("iam")
    user = _name("nobody")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    nobody = Console(server, key["AccessKeyId"], key["SecretAccessKey"])
    page = nobody.get("access")
    assert page.status_code == 403 and "AccessDenied" in page.text
    made = nobody.post("access/users", name=_name("sneaky"))
    assert made.status_code == 403 and "AccessDenied" in made.text
    # Allowed to list users only: the users, and IAM's refusal for the rest.
    iam.put_user_policy(UserName=user, PolicyName="list-users", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers",
                                                "Resource": "*"}]}))
    partial = nobody.get("access")
    assert partial.status_code == 200 and user in partial.text
    assert partial.text.count("AccessDenied") == 2  # groups and policies
    # Without the CSRF token, nothing is even asked.
    forged = nobody.http.post(nobody.base + "access/users", data={"name": "x"},
                              allow_redirects=False)
    assert forged.status_code == 403 and "CSRF" in forged.text


def test_a_buckets_policy_block_public_access_and_cors_are_set_as_s3_judges(
        server, console: Console, s3: Any, bucket: str) -> None:
    page = console.get("bucket/settings", name=bucket)
    assert page.status_code == 200 and 'for="bucket_policy"' in page.text
    missing = console.get("bucket/settings", name=f"{bucket}-gone")
    assert missing.status_code == 404 and "NoSuchBucket" in missing.text

    malformed = console.post("bucket/policy", bucket=bucket, policy='{"Statement": 1}')
    assert malformed.status_code == 400 and "MalformedPolicy" in malformed.text
    assert "{&#34;Statement&#34;: 1}" in malformed.text  # kept as typed
    private = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    assert console.post("bucket/policy", bucket=bucket,
                        policy=json.dumps(private)).status_code == 303
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == private
    assert console.post("bucket/policy", bucket=bucket, policy="").status_code == 303
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)

    assert console.post("bucket/public-access", bucket=bucket,
                        BlockPublicPolicy="on").status_code == 303
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                     "BlockPublicPolicy": True, "RestrictPublicBuckets": False}
    assert 'id="bucket-block-BlockPublicPolicy" name="BlockPublicPolicy" checked' in \
        console.get("bucket/settings", name=bucket).text
    public = {**private, "Statement": [{**private["Statement"][0], "Principal": "*"}]}
    blocked = console.post("bucket/policy", bucket=bucket, policy=json.dumps(public))
    assert blocked.status_code == 403 and "AccessDenied" in blocked.text

    rules = ("<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>"
             "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
    assert console.post("bucket/cors", bucket=bucket, cors=rules).status_code == 303
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedOrigins"] == [
        "https://app.example"]
    wrong = console.post("bucket/cors", bucket=bucket, cors="<CORSConfiguration><Nope/>")
    assert wrong.status_code == 400 and "MalformedXML" in wrong.text
    assert console.post("bucket/cors", bucket=bucket, cors="").status_code == 303
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_the_servers_block_public_access_is_set_through_the_admin_api(
        server, console: Console) -> None:
    before = console.get("access/public-access")
    assert before.status_code == 200
    assert console.post("access/public-access", IgnorePublicAcls="on").status_code == 303
    shown = console.get("access/public-access").text
    assert 'name="IgnorePublicAcls" checked' in shown
    assert 'name="BlockPublicPolicy" checked' not in shown
    assert console.post("access/public-access").status_code == 303  # all off again
    assert 'checked' not in console.get("access/public-access").text


def test_an_inline_policy_is_written_as_iam_judges_it_and_deleted(
        server, console: Console, client_factory) -> None:
    iam = client_factory("iam")
    user = _name("inline")
    iam.create_user(UserName=user)
    assert console.get("access/inline", kind="user", owner=user).status_code == 200
    refused = console.post("access/inline", kind="user", owner=user, name="read",
                           document='{"Version": "2012-10-17", "Statement": [{"Effect": 1}]}')
    assert refused.status_code == 400 and "MalformedPolicyDocument" in refused.text
    assert "&#34;Effect&#34;: 1" in refused.text
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
    assert console.post("access/inline", kind="user", owner=user, name="read",
                        document=json.dumps(READ_ONE)).status_code == 303
    assert iam.get_user_policy(UserName=user, PolicyName="read")["PolicyDocument"] == READ_ONE
    edited = console.get("access/inline", kind="user", owner=user, name="read")
    assert "s3:GetObject" in edited.text and 'value="read"' in edited.text
    assert console.post("access/inline", kind="team", owner=user, name="x",
                        document="{}").status_code == 400
    assert console.post("access/inline/delete", kind="user", owner=user,
                        name="read").status_code == 303
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
