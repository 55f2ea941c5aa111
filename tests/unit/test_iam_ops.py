"""The IAM operations as plain functions on a real (SQLite) identity store:
what each returns, paging, the caller as default user, and the resource
each action is judged on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.loaders import Loader

from sealbox.api.iam.ops import OPERATIONS, RootUser
from sealbox.api.iam.params import IamError, Params
from sealbox.auth.principal import Principal, root_principal
from sealbox.store.identity import IdentityError, NoSuchEntity, ValidationError
from sealbox.store.secrets import SecretCipher
from sealbox.store.sqlite import SqliteMetaStore

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
ROOT = root_principal("ROOTKEY")
ALICE = Principal("user", "alice", "arn:aws:iam::000000000000:user/alice", "AKIAALICE")
DOC = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})


@pytest.fixture
def store(tmp_path):
    meta = SqliteMetaStore(str(tmp_path / "meta.db"), cipher=SecretCipher([b"\x01" * 32]))
    yield meta
    meta.close()


def call(store: Any, action: str, caller: Principal = ROOT, **params: str) -> dict[str, Any]:
    return OPERATIONS[action].run(store, Params(params), caller, T0)


def resource(store: Any, action: str, caller: Principal = ROOT, **params: str) -> str:
    return OPERATIONS[action].resource(store, Params(params), caller)


def test_every_operation_is_an_iam_action_botocore_knows() -> None:
    known = set(Loader().load_service_model("iam", "service-2")["operations"])
    assert set(OPERATIONS) <= known
    wanted = ["CreateUser", "GetUser", "ListUsers", "DeleteUser", "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "DeleteUserPolicy", "CreatePolicy", "GetPolicy", "ListPolicies", "DeletePolicy", "GetPolicyVersion", "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies", "CreateGroup", "GetGroup", "ListGroups", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup", "ListGroupsForUser", "PutGroupPolicy", "GetGroupPolicy", "ListGroupPolicies", "DeleteGroupPolicy", "AttachGroupPolicy", "DetachGroupPolicy", "ListAttachedGroupPolicies"]
    assert set(wanted) == set(OPERATIONS)


def test_action_names_are_iam_prefixed() -> None:
    assert OPERATIONS["CreateUser"].action("CreateUser") == "iam:CreateUser"


def test_create_then_get_user(store: Any) -> None:
    created = call(store, "CreateUser", UserName="alice", Path="/team/")["User"]
    assert created.arn == "arn:aws:iam::000000000000:user/team/alice"
    assert call(store, "GetUser", UserName="ALICE")["User"] == created


def test_get_user_without_name_is_the_caller(store: Any) -> None:
    call(store, "CreateUser", UserName="alice")
    assert call(store, "GetUser")["User"] == RootUser()
    assert call(store, "GetUser", ALICE)["User"].name == "alice"


def test_list_users_pages_by_marker(store: Any) -> None:
    for name in ["e", "b", "D", "a", "c"]:
        call(store, "CreateUser", UserName=name)
    first = call(store, "ListUsers", MaxItems="2")
    assert [u.name for u in first["Users"]] == ["a", "b"]
    assert first["IsTruncated"] is True
    second = call(store, "ListUsers", MaxItems="2", Marker=first["Marker"])
    assert [u.name for u in second["Users"]] == ["c", "D"]
    last = call(store, "ListUsers", MaxItems="2", Marker=second["Marker"])
    assert [u.name for u in last["Users"]] == ["e"] and last == {**last, "IsTruncated": False}
    assert "Marker" not in last


def test_list_users_by_path_prefix(store: Any) -> None:
    call(store, "CreateUser", UserName="a", Path="/ops/")
    call(store, "CreateUser", UserName="b", Path="/dev/")
    assert [u.name for u in call(store, "ListUsers", PathPrefix="/ops")["Users"]] == ["a"]


def test_bad_path_prefix_is_a_validation_error(store: Any) -> None:
    with pytest.raises(IamError) as info:
        call(store, "ListUsers", PathPrefix="ops")
    assert info.value.code == "ValidationError"


def test_access_keys_default_to_the_callers_own(store: Any) -> None:
    call(store, "CreateUser", UserName="alice")
    key = call(store, "CreateAccessKey", ALICE)["AccessKey"]
    assert key.user_name == "alice" and key.secret_key
    listed = call(store, "ListAccessKeys", ALICE)["AccessKeyMetadata"]
    assert [k.access_key_id for k in listed] == [key.access_key_id]
    assert listed[0].secret_key is None
    call(store, "UpdateAccessKey", ALICE, AccessKeyId=key.access_key_id, Status="Inactive")
    assert call(store, "ListAccessKeys", UserName="alice")["AccessKeyMetadata"][0].status == "Inactive"
    call(store, "DeleteAccessKey", ALICE, AccessKeyId=key.access_key_id)
    assert call(store, "ListAccessKeys", ALICE)["AccessKeyMetadata"] == []


def test_root_access_keys_are_the_roots(store: Any) -> None:
    key = call(store, "CreateAccessKey")["AccessKey"]
    assert key.user_name is None
    assert [k.access_key_id for k in call(store, "ListAccessKeys")["AccessKeyMetadata"]] == [
        key.access_key_id]
    call(store, "DeleteAccessKey", AccessKeyId=key.access_key_id)


def test_list_access_keys_of_a_missing_user_is_no_such_entity(store: Any) -> None:
    with pytest.raises(NoSuchEntity):
        call(store, "ListAccessKeys", UserName="ghost")


def test_update_access_key_status_must_be_active_or_inactive(store: Any) -> None:
    with pytest.raises(IamError) as info:
        call(store, "UpdateAccessKey", AccessKeyId="AKIAAAAAAAAAAAAAAAAA", Status="Off")
    assert info.value.code == "ValidationError"


def test_bad_access_key_id_is_a_validation_error(store: Any) -> None:
    with pytest.raises(ValidationError):
        call(store, "DeleteAccessKey", AccessKeyId="short")


def test_inline_user_policy_round_trip_and_paging(store: Any) -> None:
    call(store, "CreateUser", UserName="alice")
    for name in ["p2", "p1", "p3"]:
        call(store, "PutUserPolicy", UserName="alice", PolicyName=name, PolicyDocument=DOC)
    got = call(store, "GetUserPolicy", UserName="alice", PolicyName="p1")
    assert got == {"UserName": "alice", "PolicyName": "p1", "PolicyDocument": DOC}
    page = call(store, "ListUserPolicies", UserName="alice", MaxItems="2")
    assert page == {"PolicyNames": ["p1", "p2"], "IsTruncated": True, "Marker": "p2"}
    rest = call(store, "ListUserPolicies", UserName="alice", Marker="p2")
    assert rest == {"PolicyNames": ["p3"], "IsTruncated": False}
    call(store, "DeleteUserPolicy", UserName="alice", PolicyName="p1")
    with pytest.raises(NoSuchEntity):
        call(store, "GetUserPolicy", UserName="alice", PolicyName="p1")


@pytest.mark.parametrize("document", [
    "not json", "{}", '{"Version": "2012-10-17", "Statement": []}',
    '{"Version": "2012-10-17", "Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}}',
    ('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", '
    '"Resource": "*", "Condition": {"NoSuchOperator": {"aws:SourceIp": "1.2.3.4"}}}}'),
])
def test_malformed_documents_are_refused_with_the_reason(store: Any, document: str) -> None:
    call(store, "CreateGroup", GroupName="g")
    for action, owner in [("PutGroupPolicy", {"GroupName": "g"}), ("CreatePolicy", {})]:
        with pytest.raises(IamError) as info:
            call(store, action, PolicyName="p", PolicyDocument=document, **owner)
        assert info.value.code == "MalformedPolicyDocument" and info.value.status == 400
        assert info.value.message


def test_document_with_characters_iam_refuses_is_a_validation_error(store: Any) -> None:
    with pytest.raises(ValidationError):
        call(store, "CreatePolicy", PolicyName="p", PolicyDocument="\x00" + DOC)


def test_managed_policy_lifecycle(store: Any) -> None:
    call(store, "CreateUser", UserName="alice")
    policy = call(store, "CreatePolicy", PolicyName="read", PolicyDocument=DOC, Path="/app/",
                  Description="reads")["Policy"]
    assert policy.arn == "arn:aws:iam::000000000000:policy/app/read"
    assert call(store, "GetPolicy", PolicyArn=policy.arn)["Policy"].description == "reads"
    listed = call(store, "ListPolicies", Scope="Local")["Policies"]
    assert [p.name for p in listed] == ["read"] and listed[0].description == ""
    assert call(store, "ListPolicies", Scope="AWS")["Policies"] == []
    assert call(store, "ListPolicies", OnlyAttached="true")["Policies"] == []
    call(store, "AttachUserPolicy", UserName="alice", PolicyArn=policy.arn)
    assert call(store, "ListPolicies", OnlyAttached="true")["Policies"][0].attachment_count == 1
    attached = call(store, "ListAttachedUserPolicies", UserName="alice")["AttachedPolicies"]
    assert [(p.policy_name, p.policy_arn) for p in attached] == [("read", policy.arn)]
    assert call(store, "ListAttachedUserPolicies", UserName="alice",
                PathPrefix="/other/")["AttachedPolicies"] == []
    assert call(store, "ListAttachedUserPolicies", UserName="alice",
                PathPrefix="/app/")["AttachedPolicies"] == attached
    version = call(store, "GetPolicyVersion", PolicyArn=policy.arn, VersionId="v1")
    assert version["PolicyVersion"].document == DOC
    with pytest.raises(NoSuchEntity):
        call(store, "GetPolicyVersion", PolicyArn=policy.arn, VersionId="v2")
    with pytest.raises(IdentityError) as info:
        call(store, "DeletePolicy", PolicyArn=policy.arn)
    assert info.value.code == "DeleteConflict"
    call(store, "DetachUserPolicy", UserName="alice", PolicyArn=policy.arn)
    call(store, "DeletePolicy", PolicyArn=policy.arn)


@pytest.mark.parametrize(("arn", "code"), [("x" * 19, "ValidationError"),
                                            ("not-an-arn-but-long-enough", "InvalidInput")])
def test_bad_policy_arn(store: Any, arn: str, code: str) -> None:
    with pytest.raises(IamError) as info:
        call(store, "GetPolicy", PolicyArn=arn)
    assert info.value.code == code


def test_groups_members_and_policies(store: Any) -> None:
    for name in ["alice", "bob", "carol"]:
        call(store, "CreateUser", UserName=name)
    call(store, "CreateGroup", GroupName="devs", Path="/eng/")
    for name in ["carol", "alice", "bob"]:
        call(store, "AddUserToGroup", GroupName="devs", UserName=name)
    page = call(store, "GetGroup", GroupName="devs", MaxItems="2")
    assert page["Group"].arn == "arn:aws:iam::000000000000:group/eng/devs"
    assert [u.name for u in page["Users"]] == ["alice", "bob"] and page["Marker"] == "bob"
    rest = call(store, "GetGroup", GroupName="devs", Marker="bob")
    assert [u.name for u in rest["Users"]] == ["carol"] and rest["IsTruncated"] is False
    assert [g.name for g in call(store, "ListGroupsForUser", UserName="bob")["Groups"]] == ["devs"]
    call(store, "PutGroupPolicy", GroupName="devs", PolicyName="gp", PolicyDocument=DOC)
    assert call(store, "ListGroupPolicies", GroupName="devs")["PolicyNames"] == ["gp"]
    assert call(store, "GetGroupPolicy", GroupName="devs", PolicyName="gp")["GroupName"] == "devs"
    policy = call(store, "CreatePolicy", PolicyName="gm", PolicyDocument=DOC)["Policy"]
    call(store, "AttachGroupPolicy", GroupName="devs", PolicyArn=policy.arn)
    assert len(call(store, "ListAttachedGroupPolicies", GroupName="devs")["AttachedPolicies"]) == 1
    with pytest.raises(IdentityError) as info:
        call(store, "DeleteGroup", GroupName="devs")
    assert info.value.code == "DeleteConflict"
    call(store, "DetachGroupPolicy", GroupName="devs", PolicyArn=policy.arn)
    call(store, "DeleteGroupPolicy", GroupName="devs", PolicyName="gp")
    for name in ["alice", "bob", "carol"]:
        call(store, "RemoveUserFromGroup", GroupName="devs", UserName=name)
    assert [g.name for g in call(store, "ListGroups", PathPrefix="/eng/")["Groups"]] == ["devs"]
    call(store, "DeleteGroup", GroupName="devs")
    assert call(store, "ListGroups")["Groups"] == []


def test_resources_name_the_entitys_arn_with_its_path(store: Any) -> None:
    call(store, "CreateUser", UserName="alice", Path="/team/")
    call(store, "CreateGroup", GroupName="devs", Path="/eng/")
    account = "arn:aws:iam::000000000000"
    assert resource(store, "CreateUser", UserName="bob", Path="/x/") == f"{account}:user/x/bob"
    assert resource(store, "DeleteUser", UserName="alice") == f"{account}:user/team/alice"
    assert resource(store, "DeleteUser", UserName="ghost") == f"{account}:user/ghost"
    assert resource(store, "GetUser") == f"{account}:root"
    assert resource(store, "CreateAccessKey", ALICE) == f"{account}:user/team/alice"
    assert resource(store, "AddUserToGroup", GroupName="devs", UserName="alice") == (
        f"{account}:group/eng/devs")
    assert resource(store, "CreatePolicy", PolicyName="p") == f"{account}:policy/p"
    assert resource(store, "GetPolicy", PolicyArn=f"{account}:policy/p") == f"{account}:policy/p"
    assert resource(store, "ListUsers") == f"{account}:user/*"
    assert resource(store, "ListGroups", PathPrefix="/eng/") == f"{account}:group/eng/*"
    assert resource(store, "ListPolicies") == "*"


def test_resource_of_a_missing_required_name_is_the_validation_error(store: Any) -> None:
    with pytest.raises(IamError) as info:
        resource(store, "DeleteUser")
    assert info.value.code == "ValidationError"


_PARAM_NAMES = ["UserName", "GroupName", "PolicyName", "PolicyArn", "PolicyDocument", "Path",
                "PathPrefix", "Marker", "MaxItems", "AccessKeyId", "Status", "VersionId",
                "Description", "OnlyAttached", "Scope"]


def test_any_parameters_give_a_result_or_an_iam_error(tmp_path) -> None:
    """Fuzzed: every operation, with any parameters, answers or raises one of
    IAM's errors (never a KeyError, TypeError, or a store exception)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    meta = SqliteMetaStore(str(tmp_path / "fuzz.db"), cipher=SecretCipher([b"\x01" * 32]))
    call(meta, "CreateUser", UserName="u")
    call(meta, "CreateGroup", GroupName="g")
    call(meta, "CreatePolicy", PolicyName="p", PolicyDocument=DOC)
    text = st.one_of(
        st.sampled_from(["u", "g", "p", "/", "v1", "Active", "true", "0", "1001", DOC, "{}",
                         "arn:aws:iam::000000000000:policy/p", "AKIA" + "A" * 16]),
        st.text(max_size=40))

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(OPERATIONS)), st.dictionaries(st.sampled_from(_PARAM_NAMES),
                                                                text, max_size=5),
           st.sampled_from([ROOT, ALICE]))
    def run(action: str, params: dict[str, str], caller: Principal) -> None:
        spec = OPERATIONS[action]
        try:
            spec.resource(meta, Params(params), caller)
            spec.run(meta, Params(params), caller, T0)
        except (IamError, IdentityError):
            pass

    try:
        run()
    finally:
        meta.close()
