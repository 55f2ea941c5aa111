"""The IAM Query API over real HTTP, driven by boto3's ``iam`` client and the
AWS CLI unchanged, on SQLite and PostgreSQL: every operation, IAM's errors
in IAM's XML, forged and missing signatures, oversized and garbage bodies."""

from __future__ import annotations

import json
import random
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
ACCOUNT = "arn:aws:iam::000000000000"


def doc(resource: str = "arn:aws:s3:::bkt/*", pad: int = 0) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "s" + "x" * pad, "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": resource}]})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def iam(client_factory):
    return client_factory("iam")


@pytest.fixture(scope="session")
def raw(server):
    """POST a form to the server, signed as botocore signs IAM calls (or not)."""
    session = requests.Session()

    def send(params: dict[str, str] | bytes, *, sign: bool = True, secret: str | None = None,
             headers: dict[str, str] | None = None, query: str = "") -> requests.Response:
        body = params if isinstance(params, bytes) else urlencode(
            {"Version": "2010-05-08", **params}).encode()
        url = server.endpoint + "/" + (f"?{query}" if query else "")
        all_headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                       **(headers or {})}
        request = AWSRequest("POST", url, data=body, headers=all_headers)
        if sign:
            credentials = Credentials(server.access_key, secret or server.secret_key)
            SigV4Auth(credentials, "iam", "us-east-1").add_auth(request)
        prepared = request.prepare()
        return session.post(prepared.url, data=body, headers=dict(prepared.headers), timeout=30)

    return send


def error_of(response: requests.Response) -> tuple[int, str, str]:
    """(status, code, message) of IAM's <ErrorResponse>, checking its layout."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{NS}ErrorResponse", response.text
    error = root.find(f"{NS}Error")
    assert error is not None and error.findtext(f"{NS}Type") in ("Sender", "Receiver")
    assert root.findtext(f"{NS}RequestId") == response.headers["x-amz-request-id"]
    assert response.headers["content-type"] == "text/xml"
    return response.status_code, error.findtext(f"{NS}Code", ""), error.findtext(
        f"{NS}Message", "")


def refused(call: Any, code: str, status: int) -> str:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert (error["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, status), error
    assert error["Type"] == "Sender"
    return str(error["Message"])


# -- users -------------------------------------------------------------------------


def test_user_lifecycle(iam) -> None:
    name = unique("alice")
    user = iam.create_user(UserName=name, Path="/team/")["User"]
    assert user["Arn"] == f"{ACCOUNT}:user/team/{name}" and user["UserId"].startswith("AIDA")
    assert iam.get_user(UserName=name.upper())["User"]["UserName"] == name
    iam.delete_user(UserName=name)
    message = refused(lambda: iam.get_user(UserName=name), "NoSuchEntity", 404)
    assert message == f"The user with name {name} cannot be found."


def test_get_user_without_name_is_the_root_caller(iam) -> None:
    assert iam.get_user()["User"]["Arn"] == f"{ACCOUNT}:root"


def test_list_users_pages_with_a_paginator(iam) -> None:
    path = f"/{unique('page')}/"
    names = sorted(unique("u") for _ in range(5))
    for name in names:
        iam.create_user(UserName=name, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Users"]) == 2
    pages = list(iam.get_paginator("list_users").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [u["UserName"] for p in pages for u in p["Users"]] == names
    for name in names:
        iam.delete_user(UserName=name)
    assert iam.list_users(PathPrefix=path)["Users"] == []


def test_duplicate_user_in_any_case_already_exists(iam) -> None:
    name = unique("dup")
    iam.create_user(UserName=name)
    message = refused(lambda: iam.create_user(UserName=name.upper()), "EntityAlreadyExists", 409)
    assert message == f"User with name {name.upper()} already exists."
    iam.delete_user(UserName=name)


@pytest.mark.parametrize("name", ["has space", "slash/", "x" * 65, "é"])
def test_bad_user_name_is_a_validation_error(iam, name: str) -> None:
    message = refused(lambda: iam.create_user(UserName=name), "ValidationError", 400)
    assert message.startswith("1 validation error detected: Value ")
    assert "at 'userName' failed to satisfy constraint" in message


# -- access keys ---------------------------------------------------------------------


def test_access_keys_lifecycle_and_quota(iam) -> None:
    name = unique("keys")
    iam.create_user(UserName=name)
    first = iam.create_access_key(UserName=name)["AccessKey"]
    assert first["Status"] == "Active" and len(first["SecretAccessKey"]) == 40
    second = iam.create_access_key(UserName=name)["AccessKey"]
    refused(lambda: iam.create_access_key(UserName=name), "LimitExceeded", 409)
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all("SecretAccessKey" not in k for k in listed)
    iam.update_access_key(UserName=name, AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"]
                for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
    assert statuses == {first["AccessKeyId"]: "Inactive", second["AccessKeyId"]: "Active"}
    message = refused(lambda: iam.delete_user(UserName=name), "DeleteConflict", 409)
    assert message == "Cannot delete entity, must delete access keys first."
    for key in (first, second):
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    refused(lambda: iam.delete_access_key(UserName=name, AccessKeyId=first["AccessKeyId"]),
            "NoSuchEntity", 404)
    iam.delete_user(UserName=name)


def test_access_key_status_outside_the_enum_is_refused(raw) -> None:
    status, code, message = error_of(raw({"Action": "UpdateAccessKey",
                                          "AccessKeyId": "AKIAAAAAAAAAAAAAAAAA",
                                          "Status": "Enabled"}))
    assert (status, code) == (400, "ValidationError")
    assert "enum value set: [Active, Inactive]" in message


def test_access_keys_of_a_missing_user_are_no_such_entity(iam) -> None:
    refused(lambda: iam.list_access_keys(UserName=unique("ghost")), "NoSuchEntity", 404)
    refused(lambda: iam.create_access_key(UserName=unique("ghost")), "NoSuchEntity", 404)


# -- inline policies -------------------------------------------------------------------


def test_user_inline_policies(iam) -> None:
    name = unique("inline")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=doc())
    iam.put_user_policy(UserName=name, PolicyName="also", PolicyDocument=doc("*"))
    got = iam.get_user_policy(UserName=name, PolicyName="read")
    assert got["PolicyDocument"] == json.loads(doc())  # botocore decoded IAM's encoding
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["also", "read"]
    page = iam.list_user_policies(UserName=name, MaxItems=1)
    assert page["IsTruncated"] is True and page["PolicyNames"] == ["also"]
    rest = iam.list_user_policies(UserName=name, Marker=page["Marker"])
    assert rest["PolicyNames"] == ["read"] and rest["IsTruncated"] is False
    refused(lambda: iam.delete_user(UserName=name), "DeleteConflict", 409)
    iam.delete_user_policy(UserName=name, PolicyName="read")
    iam.delete_user_policy(UserName=name, PolicyName="also")
    refused(lambda: iam.get_user_policy(UserName=name, PolicyName="read"), "NoSuchEntity", 404)
    iam.delete_user(UserName=name)


@pytest.mark.parametrize("document", [
    "not json",
    '{"Version": "2012-10-17"}',
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}',
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
    '"Resource": "*", "Condition": {"StringLikeish": {"aws:Referer": "x"}}}]}'),
    # a lone surrogate escape: JSON's syntax, but no text to store (once a 500)
    doc(resource="arn:aws:s3:::bkt/\ud800"),
])
def test_malformed_policy_document(iam, document: str) -> None:
    name = unique("malformed")
    iam.create_user(UserName=name)
    message = refused(lambda: iam.put_user_policy(UserName=name, PolicyName="p",
                                                  PolicyDocument=document),
                      "MalformedPolicyDocument", 400)
    assert message
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    iam.delete_user(UserName=name)


def test_inline_policies_past_the_user_quota_are_limit_exceeded(iam) -> None:
    name = unique("quota")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="big", PolicyDocument=doc(pad=1900))
    refused(lambda: iam.put_user_policy(UserName=name, PolicyName="more",
                                        PolicyDocument=doc(pad=200)), "LimitExceeded", 409)
    iam.delete_user_policy(UserName=name, PolicyName="big")
    iam.delete_user(UserName=name)


# -- managed policies ---------------------------------------------------------------------


def test_managed_policy_lifecycle(iam) -> None:
    user, policy_name = unique("mp-user"), unique("mp")
    iam.create_user(UserName=user)
    policy = iam.create_policy(PolicyName=policy_name, PolicyDocument=doc(), Path="/app/",
                               Description="reads bkt")["Policy"]
    arn = policy["Arn"]
    assert arn == f"{ACCOUNT}:policy/app/{policy_name}" and policy["DefaultVersionId"] == "v1"
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["Description"] == "reads bkt" and got["AttachmentCount"] == 0
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(doc()) and version["IsDefaultVersion"] is True
    listed = [p for p in iam.list_policies(Scope="Local", PathPrefix="/app/")["Policies"]
              if p["Arn"] == arn]
    assert len(listed) == 1 and "Description" not in listed[0]
    refused(lambda: iam.create_policy(PolicyName=policy_name, PolicyDocument=doc()),
            "EntityAlreadyExists", 409)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # idempotent, as IAM
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy_name, "PolicyArn": arn}]
    assert arn in {p["Arn"] for p in iam.list_policies(OnlyAttached=True)["Policies"]}
    message = refused(lambda: iam.delete_policy(PolicyArn=arn), "DeleteConflict", 409)
    assert message == "Cannot delete a policy attached to entities."
    refused(lambda: iam.delete_user(UserName=user), "DeleteConflict", 409)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    iam.delete_policy(PolicyArn=arn)
    refused(lambda: iam.get_policy(PolicyArn=arn), "NoSuchEntity", 404)
    iam.delete_user(UserName=user)


def test_attaching_a_missing_policy_is_no_such_entity(iam) -> None:
    user = unique("attach")
    iam.create_user(UserName=user)
    refused(lambda: iam.attach_user_policy(UserName=user, PolicyArn=f"{ACCOUNT}:policy/none"),
            "NoSuchEntity", 404)
    iam.delete_user(UserName=user)


def test_malformed_managed_policy_is_refused(iam) -> None:
    refused(lambda: iam.create_policy(PolicyName=unique("bad"), PolicyDocument="[]"),
            "MalformedPolicyDocument", 400)
    refused(lambda: iam.create_policy(PolicyName=unique("bad"),
                                      PolicyDocument=doc(resource="arn:aws:s3:::b/\udfff")),
            "MalformedPolicyDocument", 400)


# -- groups ------------------------------------------------------------------------------


def test_groups_membership_and_policies(iam) -> None:
    group, user, policy_name = unique("devs"), unique("member"), unique("gpol")
    iam.create_user(UserName=user)
    created = iam.create_group(GroupName=group, Path="/eng/")["Group"]
    assert created["Arn"] == f"{ACCOUNT}:group/eng/{group}"
    refused(lambda: iam.create_group(GroupName=group), "EntityAlreadyExists", 409)
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in {g["GroupName"] for g in iam.list_groups(PathPrefix="/eng/")["Groups"]}
    iam.put_group_policy(GroupName=group, PolicyName="inline", PolicyDocument=doc())
    assert iam.get_group_policy(GroupName=group, PolicyName="inline")["PolicyDocument"] == (
        json.loads(doc()))
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["inline"]
    arn = iam.create_policy(PolicyName=policy_name, PolicyDocument=doc())["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == [
        {"PolicyName": policy_name, "PolicyArn": arn}]
    message = refused(lambda: iam.delete_group(GroupName=group), "DeleteConflict", 409)
    assert message.startswith("Cannot delete entity, must ")
    refused(lambda: iam.delete_user(UserName=user), "DeleteConflict", 409)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.delete_group_policy(GroupName=group, PolicyName="inline")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    refused(lambda: iam.remove_user_from_group(GroupName=group, UserName=user),
            "NoSuchEntity", 404)
    iam.delete_group(GroupName=group)
    refused(lambda: iam.get_group(GroupName=group), "NoSuchEntity", 404)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=user)


def test_groups_per_user_quota(iam) -> None:
    user = unique("joiner")
    iam.create_user(UserName=user)
    groups = [unique("g") for _ in range(11)]
    for group in groups:
        iam.create_group(GroupName=group)
    for group in groups[:10]:
        iam.add_user_to_group(GroupName=group, UserName=user)
    refused(lambda: iam.add_user_to_group(GroupName=groups[10], UserName=user),
            "LimitExceeded", 409)
    page = iam.list_groups_for_user(UserName=user, MaxItems=4)
    assert page["IsTruncated"] is True and len(page["Groups"]) == 4
    everything = [g for p in iam.get_paginator("list_groups_for_user").paginate(
        UserName=user, PaginationConfig={"PageSize": 3}) for g in p["Groups"]]
    assert sorted(g["GroupName"] for g in everything) == sorted(groups[:10])
    for group in groups:
        if group in groups[:10]:
            iam.remove_user_from_group(GroupName=group, UserName=user)
        iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)


# -- the wire: errors, signatures, bodies ------------------------------------------------


def test_unknown_action_is_invalid_action(raw) -> None:
    status, code, message = error_of(raw({"Action": "CreateUserPlease"}))
    assert (status, code) == (400, "InvalidAction")
    assert message == "Could not find operation CreateUserPlease for version 2010-05-08"


def test_unknown_version_is_invalid_action(raw) -> None:
    status, code, _ = error_of(raw({"Action": "ListUsers", "Version": "2099-01-01"}))
    assert (status, code) == (400, "InvalidAction")


def test_missing_action_is_refused(raw) -> None:
    status, code, _ = error_of(raw({"UserName": "x"}))
    assert (status, code) == (400, "MissingAction")


def test_missing_parameter_is_a_validation_error(raw) -> None:
    status, code, message = error_of(raw({"Action": "CreateUser"}))
    assert (status, code) == (400, "ValidationError")
    assert message == ("1 validation error detected: Value null at 'userName' failed to "
                       "satisfy constraint: Member must not be null")


def test_parameters_in_the_query_string_are_read(raw) -> None:
    response = raw(b"", query="Action=GetUser&Version=2010-05-08")
    assert response.status_code == 200, response.text
    assert "<Arn>arn:aws:iam::000000000000:root</Arn>" in response.text


def test_anonymous_call_is_missing_authentication_token(raw) -> None:
    status, code, message = error_of(raw({"Action": "ListUsers"}, sign=False))
    assert (status, code, message) == (403, "MissingAuthenticationToken",
                                       "Request is missing Authentication Token")


def test_forged_signature_is_signature_does_not_match(raw) -> None:
    status, code, message = error_of(raw({"Action": "ListUsers"}, secret="f" * 40))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message.startswith("The request signature we calculated does not match")
    assert "StringToSign" not in message


def test_body_changed_after_signing_does_not_match(raw, server) -> None:
    body = urlencode({"Action": "ListUsers", "Version": "2010-05-08"}).encode()
    request = AWSRequest("POST", server.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(server.access_key, server.secret_key), "iam",
              "us-east-1").add_auth(request)
    forged = body.replace(b"ListUsers", b"ListGroups")
    response = requests.post(server.endpoint + "/", data=forged,
                             headers=dict(request.headers), timeout=30)
    assert error_of(response)[:2] == (403, "SignatureDoesNotMatch")


def test_unknown_access_key_is_invalid_client_token(server) -> None:
    import boto3

    client = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key="x" * 40)
    refused_code = None
    with pytest.raises(ClientError) as info:
        client.list_users()
    refused_code = info.value.response["Error"]["Code"]
    assert refused_code == "InvalidClientTokenId"


def test_s3_scoped_signature_is_refused(raw, server) -> None:
    body = urlencode({"Action": "ListUsers", "Version": "2010-05-08"}).encode()
    request = AWSRequest("POST", server.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(server.access_key, server.secret_key), "s3",
              "us-east-1").add_auth(request)
    response = requests.post(server.endpoint + "/", data=body, headers=dict(request.headers),
                             timeout=30)
    status, code, message = error_of(response)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message == "Credential should be scoped to correct service: 'iam'."


def test_oversized_body_is_refused_without_reading_it(raw) -> None:
    big = doc(pad=70_000)
    status, code, _ = error_of(raw({"Action": "PutUserPolicy", "UserName": "x",
                                    "PolicyName": "p", "PolicyDocument": big}))
    assert (status, code) == (413, "RequestEntityTooLarge")


def test_non_ascii_body_is_malformed(raw) -> None:
    status, code, _ = error_of(raw("Action=ListUsers&UserName=café".encode()))
    assert (status, code) == (400, "MalformedQueryString")


def test_fuzzed_forms_never_fail_inside(raw) -> None:
    """Random actions with random, partly valid parameters: always IAM's XML,
    a 2xx or a 4xx, never a 500 or a traceback."""
    from sealbox.api.iam.ops import OPERATIONS

    rng = random.Random(5)
    actions = sorted(OPERATIONS) + ["", "Bogus"]
    names = ["UserName", "GroupName", "PolicyName", "PolicyArn", "PolicyDocument", "Path",
             "PathPrefix", "Marker", "MaxItems", "AccessKeyId", "Status", "VersionId",
             "Description", "OnlyAttached", "Scope"]
    values = ["", "a", "/", "//", "x" * 600, "\x00", "\u00ff\u0100", "-1", "0", "1001", "true",
              "Active", "v1", "{}", doc(), f"{ACCOUNT}:policy/none", "arn:", "%", "é" * 10,
              "AKIA" + "A" * 16, "../../etc", "<x>&amp;"]
    for _ in range(150):
        params = {"Action": rng.choice(actions)}
        for name in rng.sample(names, rng.randint(0, 5)):
            params[name] = rng.choice(values)
        if params["Action"].startswith(("Delete", "Remove", "Detach", "Update")):
            params["UserName"] = params.get("UserName", "") + "-fuzz"  # keep others' entities
        response = raw(params)
        assert response.status_code < 500, (params, response.text)
        if response.status_code >= 400:
            error_of(response)


# -- the AWS CLI -----------------------------------------------------------------------


@pytest.fixture
def aws(server, aws_env):
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["aws", "--endpoint-url", server.endpoint, "--output", "json",
                               *args], capture_output=True, text=True, env=aws_env,
                              timeout=120, check=check)
    return run


def test_aws_cli_iam_commands(aws, tmp_path: Path) -> None:
    user, group, policy_name = unique("cli"), unique("cli-g"), unique("cli-p")
    created = json.loads(aws("iam", "create-user", "--user-name", user).stdout)["User"]
    assert created["UserName"] == user
    key = json.loads(aws("iam", "create-access-key", "--user-name", user).stdout)["AccessKey"]
    keys = json.loads(aws("iam", "list-access-keys", "--user-name", user).stdout)
    assert [k["AccessKeyId"] for k in keys["AccessKeyMetadata"]] == [key["AccessKeyId"]]
    aws("iam", "update-access-key", "--user-name", user, "--access-key-id", key["AccessKeyId"],
        "--status", "Inactive")
    keys = json.loads(aws("iam", "list-access-keys", "--user-name", user).stdout)
    assert keys["AccessKeyMetadata"][0]["Status"] == "Inactive"
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(doc())
    aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "read",
        "--policy-document", f"file://{policy_file}")
    got = json.loads(aws("iam", "get-user-policy", "--user-name", user, "--policy-name",
                         "read").stdout)
    assert got["PolicyDocument"] == json.loads(doc())
    arn = json.loads(aws("iam", "create-policy", "--policy-name", policy_name,
                         "--policy-document", f"file://{policy_file}").stdout)["Policy"]["Arn"]
    aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", arn)
    attached = json.loads(aws("iam", "list-attached-user-policies", "--user-name", user).stdout)
    assert attached["AttachedPolicies"] == [{"PolicyName": policy_name, "PolicyArn": arn}]
    aws("iam", "create-group", "--group-name", group)
    aws("iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    groups = json.loads(aws("iam", "list-groups-for-user", "--user-name", user).stdout)
    assert [g["GroupName"] for g in groups["Groups"]] == [group]
    users = json.loads(aws("iam", "list-users").stdout)["Users"]  # the CLI pages through all
    assert user in {u["UserName"] for u in users}
    failed = aws("iam", "delete-user", "--user-name", user, check=False)
    assert failed.returncode != 0 and "DeleteConflict" in failed.stderr
    aws("iam", "remove-user-from-group", "--group-name", group, "--user-name", user)
    aws("iam", "delete-group", "--group-name", group)
    aws("iam", "detach-user-policy", "--user-name", user, "--policy-arn", arn)
    aws("iam", "delete-policy", "--policy-arn", arn)
    aws("iam", "delete-user-policy", "--user-name", user, "--policy-name", "read")
    aws("iam", "delete-access-key", "--user-name", user, "--access-key-id", key["AccessKeyId"])
    aws("iam", "delete-user", "--user-name", user)
    missing = aws("iam", "get-user", "--user-name", user, check=False)
    assert missing.returncode != 0
    assert "NoSuchEntity" in missing.stderr and f"The user with name {user} cannot be found" in (
        missing.stderr)


def test_aws_cli_get_user_of_the_caller(aws) -> None:
    assert json.loads(aws("iam", "get-user").stdout)["User"]["Arn"] == f"{ACCOUNT}:root"
