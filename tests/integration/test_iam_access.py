"""Who may call IAM: every action is judged by the policy engine with the
caller's identity policies, on the entity's ARN. The root user may do
anything; an IAM user only what its policies allow, refused in IAM's words."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "arn:aws:iam::000000000000"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def caller(iam_root, server) -> Iterator[tuple[str, Any]]:
    """A fresh IAM user with a key, and a boto3 iam client signed as it."""
    name = f"caller-{uuid.uuid4().hex[:8]}"
    iam_root.create_user(UserName=name, Path="/staff/")
    key = iam_root.create_access_key(UserName=name)["AccessKey"]
    client = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"],
                          config=Config(retries={"max_attempts": 1}))
    yield name, client
    for inline in iam_root.list_user_policies(UserName=name)["PolicyNames"]:
        iam_root.delete_user_policy(UserName=name, PolicyName=inline)
    iam_root.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam_root.delete_user(UserName=name)


@pytest.fixture(scope="session")
def iam_root(client_factory):
    return client_factory("iam")


def denied(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(error["Message"])


def test_user_without_policies_is_refused_in_iams_words(caller) -> None:
    name, client = caller
    message = denied(lambda: client.create_user(UserName="someone-else"))
    assert message == (
        f"User: {ACCOUNT}:user/staff/{name} is not authorized to perform: iam:CreateUser "
        f"on resource: {ACCOUNT}:user/someone-else because no identity-based policy allows "
        "the iam:CreateUser action")


def test_user_may_read_itself_with_a_policy_variable(caller, iam_root) -> None:
    name, client = caller
    iam_root.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=policy({
        "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"],
        "Resource": f"{ACCOUNT}:user/staff/${{aws:username}}"}))
    assert client.get_user()["User"]["UserName"] == name
    keys = client.list_access_keys()["AccessKeyMetadata"]
    assert len(keys) == 1 and keys[0]["UserName"] == name
    denied(lambda: client.get_user(UserName="root-only-user"))
    denied(lambda: client.list_users())


def test_explicit_deny_wins_and_says_so(caller, iam_root) -> None:
    name, client = caller
    iam_root.put_user_policy(UserName=name, PolicyName="mixed", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}))
    assert isinstance(client.list_users()["Users"], list)
    message = denied(lambda: client.create_user(UserName="nope"))
    assert message.endswith("with an explicit deny in an identity-based policy")


def test_admin_user_can_manage_users_on_a_path(caller, iam_root) -> None:
    name, client = caller
    iam_root.put_user_policy(UserName=name, PolicyName="admin-of-app", PolicyDocument=policy({
        "Effect": "Allow", "Action": ["iam:CreateUser", "iam:DeleteUser"],
        "Resource": f"{ACCOUNT}:user/app/*"}))
    made = f"app-user-{uuid.uuid4().hex[:6]}"
    client.create_user(UserName=made, Path="/app/")
    denied(lambda: client.create_user(UserName=made + "x", Path="/other/"))
    client.delete_user(UserName=made)
