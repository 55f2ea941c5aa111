"""IAM's XML as botocore's own parser reads it, and exact bodies where IAM's
wire form matters (namespace, member order, error layout)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import QueryParser

from sealbox.api.iam.ops import PolicyVersion, RootUser
from sealbox.api.iam.params import IamError
from sealbox.api.iam.xml import encode_document, escape, render_error, render_result
from sealbox.store.identity import AccessKey, AttachedPolicy, Group, ManagedPolicy, User

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
MODEL = ServiceModel(Loader().load_service_model("iam", "service-2"))
USER = User("AIDAEXAMPLEEXAMPLE001", "alice", "/team/", T0)
GROUP = Group("AGPAEXAMPLEEXAMPLE001", "devs", "/", T0)
DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                          "Resource": "arn:aws:s3:::b/a b+c&d"}]})
POLICY = ManagedPolicy("ANPAEXAMPLEEXAMPLE001", "read", "/", DOC, "reads things", T0, T0, 2)


def parse(action: str, result: dict[str, Any]) -> dict[str, Any]:
    body = render_result(action, result, "REQ1")
    shape = MODEL.operation_model(action).output_shape
    parsed = QueryParser().parse({"body": body, "headers": {}, "status_code": 200}, shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "REQ1"
    return parsed


def test_create_user_response_is_iams_exact_xml() -> None:
    body = render_result("CreateUser", {"User": USER}, "REQ1").decode()
    assert body.endswith(
        '<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<CreateUserResult><User><Path>/team/</Path><UserName>alice</UserName>"
        "<UserId>AIDAEXAMPLEEXAMPLE001</UserId>"
        "<Arn>arn:aws:iam::000000000000:user/team/alice</Arn>"
        "<CreateDate>2024-05-06T07:08:09Z</CreateDate></User></CreateUserResult>"
        "<ResponseMetadata><RequestId>REQ1</RequestId></ResponseMetadata></CreateUserResponse>"
    )


def test_operation_without_result_has_only_response_metadata() -> None:
    body = render_result("DeleteUser", {}, "REQ1").decode()
    assert "<DeleteUserResult>" not in body
    assert body.endswith(
        '<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<ResponseMetadata><RequestId>REQ1</RequestId></ResponseMetadata></DeleteUserResponse>"
    )


def test_user_list_with_marker_parses_with_botocore() -> None:
    parsed = parse("ListUsers", {"Users": [USER, USER], "IsTruncated": True, "Marker": "alice"})
    assert [u["UserName"] for u in parsed["Users"]] == ["alice", "alice"]
    assert parsed["Users"][0]["CreateDate"] == T0.replace(microsecond=0)
    assert parsed["IsTruncated"] is True and parsed["Marker"] == "alice"


def test_empty_list_is_an_empty_element() -> None:
    assert parse("ListUsers", {"Users": [], "IsTruncated": False})["Users"] == []


def test_root_user_has_account_id_and_root_arn_only() -> None:
    user = parse("GetUser", {"User": RootUser()})["User"]
    assert user == {"UserId": "000000000000", "Arn": "arn:aws:iam::000000000000:root"}


def test_created_access_key_carries_its_secret_and_listed_keys_do_not() -> None:
    key = AccessKey("AKIAEXAMPLEEXAMPLE01", "alice", "Active", T0, secret_key="s3cr3t/+")
    created = parse("CreateAccessKey", {"AccessKey": key})["AccessKey"]
    assert created["SecretAccessKey"] == "s3cr3t/+" and created["UserName"] == "alice"
    listed = AccessKey("AKIAEXAMPLEEXAMPLE01", "alice", "Inactive", T0)
    meta = parse("ListAccessKeys", {"AccessKeyMetadata": [listed], "IsTruncated": False})
    assert meta["AccessKeyMetadata"] == [
        {"UserName": "alice", "AccessKeyId": "AKIAEXAMPLEEXAMPLE01", "Status": "Inactive",
         "CreateDate": T0.replace(microsecond=0)}
    ]


def test_root_access_key_has_no_user_name() -> None:
    key = AccessKey("AKIAEXAMPLEEXAMPLE01", None, "Active", T0, secret_key="x")
    assert "UserName" not in parse("CreateAccessKey", {"AccessKey": key})["AccessKey"]


def test_inline_policy_document_goes_out_percent_encoded() -> None:
    parsed = parse("GetUserPolicy", {"UserName": "alice", "PolicyName": "p", "PolicyDocument": DOC})
    assert "{" not in parsed["PolicyDocument"]
    assert json.loads(unquote(parsed["PolicyDocument"])) == json.loads(DOC)


def test_managed_policy_members_in_iams_order() -> None:
    policy = parse("GetPolicy", {"Policy": POLICY})["Policy"]
    assert list(policy) == ["PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId",
                            "AttachmentCount", "PermissionsBoundaryUsageCount", "IsAttachable",
                            "Description", "CreateDate", "UpdateDate"]
    assert policy["AttachmentCount"] == 2 and policy["IsAttachable"] is True


def test_policy_version_document_is_encoded_and_default_is_a_boolean() -> None:
    version = PolicyVersion(DOC, "v1", True, T0)
    parsed = parse("GetPolicyVersion", {"PolicyVersion": version})["PolicyVersion"]
    assert json.loads(unquote(parsed["Document"])) == json.loads(DOC)
    assert parsed["IsDefaultVersion"] is True and parsed["VersionId"] == "v1"


def test_group_with_users_and_attached_policies() -> None:
    parsed = parse("GetGroup", {"Group": GROUP, "Users": [USER], "IsTruncated": False})
    assert parsed["Group"]["GroupName"] == "devs" and parsed["Users"][0]["Path"] == "/team/"
    attached = AttachedPolicy("read", POLICY.arn)
    listed = parse("ListAttachedGroupPolicies", {"AttachedPolicies": [attached],
                                                 "IsTruncated": False})
    assert listed["AttachedPolicies"] == [{"PolicyName": "read", "PolicyArn": POLICY.arn}]


def test_policy_names_are_members() -> None:
    parsed = parse("ListUserPolicies", {"PolicyNames": ["a", "b"], "IsTruncated": False})
    assert parsed["PolicyNames"] == ["a", "b"]


def test_error_body_is_iams_layout() -> None:
    body = render_error(IamError("NoSuchEntity", "The user with name x cannot be found.", 404),
                        "REQ9").decode()
    assert body.endswith(
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        "<Type>Sender</Type><Code>NoSuchEntity</Code>"
        "<Message>The user with name x cannot be found.</Message></Error>"
        "<RequestId>REQ9</RequestId></ErrorResponse>"
    )


@pytest.mark.parametrize("text", ["a<b>&c", "\x00\x01\x1f", "\ud800", "\ufffe", "é\t\n"])
def test_escape_always_gives_well_formed_xml(text: str) -> None:
    from xml.etree import ElementTree

    element = ElementTree.fromstring(f"<m>{escape(text)}</m>".encode())
    assert element.text is not None


def test_error_message_with_control_characters_is_well_formed_xml() -> None:
    from xml.etree import ElementTree

    body = render_error(IamError("ValidationError", "Value 'a\x00<b>' bad"), "R")
    ElementTree.fromstring(body)


def test_document_encoding_keeps_unreserved_characters_only() -> None:
    assert encode_document('{"a": "b/c é"}') == "%7B%22a%22%3A%20%22b%2Fc%20%C3%A9%22%7D"
