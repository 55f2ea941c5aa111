"""The admin API's route table and matcher: which operation a method and
path reach, with what parameters; 404 and 405 otherwise; and that every
route names an operation that exists, judged by the action it should be."""

from __future__ import annotations

import pytest

from sealbox.api.admin import public_access as admin_pab
from sealbox.api.admin.routes import LINK_ACTIONS, PREFIX, ROUTES, RouteError, match, split_path
from sealbox.api.cloudfront import routes as cloudfront_routes
from sealbox.api.iam.ops import OPERATIONS as IAM_OPERATIONS

ARN = "arn:aws:iam::000000000000:policy/"


@pytest.mark.parametrize(
    ("method", "path", "operation", "params"),
    [
        ("GET", "users", "ListUsers", {}),
        ("POST", "users/", "CreateUser", {}),
        ("GET", "users/alice", "GetUser", {"UserName": "alice"}),
        ("GET", "users/a%40b.example", "GetUser", {"UserName": "a@b.example"}),
        ("POST", "users/alice/access-keys", "CreateAccessKey", {"UserName": "alice"}),
        ("PATCH", "users/alice/access-keys/AKIA1", "UpdateAccessKey",
         {"UserName": "alice", "AccessKeyId": "AKIA1"}),
        ("PUT", "users/alice/policies/read", "PutUserPolicy",
         {"UserName": "alice", "PolicyName": "read"}),
        ("DELETE", "users/alice/attached-policies/readers", "DetachUserPolicy",
         {"UserName": "alice", "PolicyArn": "readers"}),  # a name: resolved in the account
        ("DELETE", "users/alice/attached-policies/arn:aws:iam::000000000000:policy/team/r",
         "DetachUserPolicy", {"UserName": "alice", "PolicyArn": ARN + "team/r"}),
        ("GET", "policies/arn%3Aaws%3Aiam%3A%3A000000000000%3Apolicy%2Fteam%2Fr", "GetPolicy",
         {"PolicyArn": ARN + "team/r"}),
        ("PUT", "groups/ops/users/alice", "AddUserToGroup",
         {"GroupName": "ops", "UserName": "alice"}),
        ("GET", "groups/ops/attached-policies", "ListAttachedGroupPolicies", {"GroupName": "ops"}),
        ("PUT", "public-access-block", "PutPublicAccessBlock", {}),
        ("POST", "edge/public-keys", "CreatePublicKey", {}),
        ("PUT", "edge/key-groups/1c480ec2", "UpdateKeyGroup", {"Id": "1c480ec2"}),
        ("GET", "edge/distributions/E1/config", "GetDistributionConfig", {"Id": "E1"}),
        ("POST", "edge/distributions/E1/invalidations", "CreateInvalidation",
         {"DistributionId": "E1"}),
        ("GET", "edge/distributions/E1/invalidations/I1", "GetInvalidation",
         {"DistributionId": "E1", "Id": "I1"}),
    ],
)
def test_method_and_path_reach_the_operation(method: str, path: str, operation: str,
                                             params: dict[str, str]) -> None:
    route, found = match(method, PREFIX + path)
    assert route.operation == operation
    assert found == params


@pytest.mark.parametrize("path", [
    "/_sealbox/api/v2/users", "/_sealbox/api/v1", "/_sealbox/api/v1/nothing",
    PREFIX + "users/alice/extra/segments/here", PREFIX + "users//access-keys",
    PREFIX + "users/%ff%fe", PREFIX + "groups/ops/users", PREFIX + "edge",
])
def test_paths_no_route_has_are_404(path: str) -> None:
    with pytest.raises(RouteError) as info:
        match("GET", path)
    assert info.value.status == 404


def test_a_known_path_with_another_method_is_405_naming_the_allowed_ones() -> None:
    with pytest.raises(RouteError) as info:
        match("PATCH", PREFIX + "users")
    assert info.value.status == 405
    assert info.value.allowed == ("GET", "POST")
    with pytest.raises(RouteError) as info:
        match("POST", PREFIX + "edge/distributions/E1")
    assert set(info.value.allowed) == {"GET", "DELETE"}


def test_split_path_decodes_each_segment_once() -> None:
    assert split_path(PREFIX + "users/a%2Fb/") == ("users", "a/b")
    assert split_path("/elsewhere") is None


def test_every_route_names_an_operation_of_its_family() -> None:
    edge = {op.name for op in cloudfront_routes.OPERATIONS}
    for route in ROUTES:
        table = {"iam": IAM_OPERATIONS, "pab": admin_pab.OPERATIONS, "edge": edge,
                 "links": LINK_ACTIONS, "audit": {"ListAuditEvents"},
                 "doctor": {"Doctor"},
                 "accounts": {"ListAccounts", "CreateAccount", "GetAccount",
                              "DeleteAccount"},
                 "kms": {"ListKeys", "CreateKey", "DescribeKey", "DisableKey",
                         "EnableKey"}}[route.family]
        assert route.operation in table, route


def test_links_routes_are_judged_as_sealbox_actions() -> None:
    actions = {(r.method, r.pattern): r.action for r in ROUTES if r.family == "links"}
    assert actions == {
        ("POST", "links"): "sealbox:CreateLink", ("GET", "links"): "sealbox:ListLinks",
        ("GET", "links/{LinkId}"): "sealbox:GetLink",
        ("DELETE", "links/{LinkId}"): "sealbox:RevokeLink",
        ("POST", "revocations"): "sealbox:RevokeLink",
        ("GET", "link-rules"): "sealbox:GetLinkRules",
        ("PUT", "link-rules"): "sealbox:PutLinkRules",
    }


def test_each_method_and_pattern_is_routed_once() -> None:
    keys = [(r.method, r.pattern) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert len({r.operation for r in ROUTES}) == len(ROUTES)


def test_every_iam_operation_but_policy_versions_has_a_route() -> None:
    routed = {r.operation for r in ROUTES if r.family == "iam"}
    assert set(IAM_OPERATIONS) - routed == {"GetPolicyVersion"}  # GetPolicy carries the document


def test_actions_are_judged_as_iam_cloudfront_and_s3_control_judge_them() -> None:
    actions = {r.operation: r.action for r in ROUTES}
    assert actions["CreateUser"] == "iam:CreateUser"
    assert actions["CreateDistribution"] == "cloudfront:CreateDistribution"
    assert actions["GetPublicAccessBlock"] == "s3:GetAccountPublicAccessBlock"
    assert actions["DeletePublicAccessBlock"] == "s3:PutAccountPublicAccessBlock"


def test_edge_changes_and_deletes_need_if_match() -> None:
    needing = {r.operation for r in ROUTES if r.needs_if_match}
    assert needing == {"UpdatePublicKey", "DeletePublicKey", "UpdateKeyGroup", "DeleteKeyGroup",
                       "UpdateOriginAccessControl", "DeleteOriginAccessControl",
                       "UpdateDistribution", "DeleteDistribution"}


def test_edge_bodies_are_cloudfront_configs() -> None:
    shapes = {r.operation: r.body_shape for r in ROUTES if r.body_shape}
    assert shapes == {
        "CreatePublicKey": "PublicKeyConfig", "UpdatePublicKey": "PublicKeyConfig",
        "CreateKeyGroup": "KeyGroupConfig", "UpdateKeyGroup": "KeyGroupConfig",
        "CreateOriginAccessControl": "OriginAccessControlConfig",
        "UpdateOriginAccessControl": "OriginAccessControlConfig",
        "CreateDistribution": "DistributionConfig", "UpdateDistribution": "DistributionConfig",
        "CreateInvalidation": "InvalidationBatch",
    }
