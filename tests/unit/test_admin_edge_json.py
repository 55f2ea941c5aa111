"""The edge's JSON in the admin API, with botocore as the reference: a
config in boto3's JSON becomes the tree the same config's XML (botocore's
serializer) parses to; every answer is what botocore's parser makes of the
CloudFront API's XML for the same result; the type tables are botocore's;
and any JSON at all is a tree or CloudFront's MalformedInput."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.loaders import Loader
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.api.admin.edge_json import (
    LIST_SHAPES,
    STRUCTURE_SHAPES,
    result_json,
    to_tree,
    with_defaults,
)
from sealbox.api.admin.edge_types import EXTRA_LISTS, EXTRA_STRUCTURES, SCALAR_TYPES
from sealbox.api.cloudfront import ops, xml
from sealbox.store.edge import DistributionConfig, EdgeError
from sealbox.store.edge_shapes import LISTS, STRUCTURES
from sealbox.store.meta import Bucket
from sealbox.store.sqlite import SqliteMetaStore

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
MODEL = botocore.session.get_session().get_service_model("cloudfront")
PEM = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
ROOTS = ("DistributionConfig", "PublicKeyConfig", "KeyGroupConfig", "OriginAccessControlConfig",
         "InvalidationBatch")


def behaviour(**extra: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "TargetOriginId": "o",
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
        "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
        "Compress": True,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"},
                            "Headers": {"Quantity": 1, "Items": ["Referer"]}},
        "MinTTL": 0, "DefaultTTL": 60, "MaxTTL": 3600,
    }
    b.update(extra)
    return b


def config(bucket: str = "media") -> dict[str, Any]:
    return {
        "CallerReference": "ref-1",
        "Aliases": {"Quantity": 1, "Items": ["cdn.example.com"]},
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "o", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com", "OriginPath": "",
            "S3OriginConfig": {"OriginAccessIdentity": ""}, "ConnectionAttempts": 3}]},
        "DefaultCacheBehavior": behaviour(),
        "CacheBehaviors": {"Quantity": 1, "Items": [behaviour(PathPattern="/private/*")]},
        "CustomErrorResponses": {"Quantity": 1, "Items": [
            {"ErrorCode": 404, "ResponsePagePath": "/404.html", "ResponseCode": "404",
             "ErrorCachingMinTTL": 10}]},
        "Comment": "admin api", "Logging": {"Enabled": False, "IncludeCookies": False,
                                            "Bucket": "", "Prefix": ""},
        "Enabled": True, "IsIPV6Enabled": False,
        "Restrictions": {"GeoRestriction": {"RestrictionType": "whitelist", "Quantity": 2,
                                            "Items": ["DE", "FR"]}},
    }


def botocore_xml_tree(operation: str, params: dict[str, Any], root: str) -> list[Any]:
    """What the CloudFront API reads from botocore's XML for ``params``."""
    request = create_serializer("rest-xml").serialize_to_request(
        params, MODEL.operation_model(operation))
    return xml.parse_body(request["body"], root)


def botocore_reads(operation: str, result: ops.Result) -> dict[str, Any]:
    """botocore's parse of the CloudFront API's answer for ``result``, times as
    the admin API writes them, ResponseMetadata and Location dropped."""
    assert result.root is not None
    parsed = create_parser("rest-xml").parse(
        {"body": xml.document(result.root, result.content), "status_code": result.status,
         "headers": {"ETag": result.etag} if result.etag else {}},
        MODEL.operation_model(operation).output_shape)
    parsed.pop("Location", None)
    parsed.pop("ResponseMetadata", None)
    return _times(parsed)  # type: ignore[no-any-return]


def _times(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    return value


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SqliteMetaStore(str(tmp_path / "m.db"))
    s.create_bucket(Bucket("media", T0, "us-east-1", "root"))
    yield s
    s.close()


def call(body: list[Any] | None = None, **ids: str) -> ops.Call:
    return ops.Call(ids, {}, body, None, T0, "http://127.0.0.1:9000", "cdn.test")


# -- the tables ------------------------------------------------------------------


def test_type_tables_match_botocores_model() -> None:
    shapes = Loader().load_service_model("cloudfront", "service-2", "2020-05-31")["shapes"]
    structs: dict[str, Any] = {}
    lists: dict[str, Any] = {}
    scalars: dict[tuple[str, str], str] = {}
    todo, seen = list(ROOTS), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        kids = shape["members"].items() if shape["type"] == "structure" else [
            ("*", shape["member"])]
        members = []
        for member, spec in kids:
            kind = shapes[spec["shape"]]["type"]
            nested = kind in ("structure", "list")
            members.append((member, spec["shape"] if nested else ""))
            if nested:
                todo.append(spec["shape"])
            elif kind in ("boolean", "integer", "long"):
                scalars[(name, member)] = "boolean" if kind == "boolean" else "integer"
        if shape["type"] == "structure":
            structs[name] = tuple(members)
        else:
            lists[name] = (shape["member"].get("locationName", "member"), members[0][1])
    assert structs == {**STRUCTURES, **EXTRA_STRUCTURES}
    assert lists == {**LISTS, **EXTRA_LISTS}
    assert scalars == SCALAR_TYPES


# -- JSON in -----------------------------------------------------------------------


def test_a_distribution_config_reads_as_its_botocore_xml_does() -> None:
    body = config()
    tree = to_tree(body, "DistributionConfig")
    assert tree == botocore_xml_tree("CreateDistribution", {"DistributionConfig": body},
                                     "DistributionConfig")
    assert DistributionConfig.from_document(tree).aliases == ("cdn.example.com",)


@pytest.mark.parametrize(("operation", "root", "body"), [
    ("CreatePublicKey", "PublicKeyConfig",
     {"CallerReference": "r", "Name": "k", "EncodedKey": PEM, "Comment": "c"}),
    ("CreateKeyGroup", "KeyGroupConfig", {"Name": "g", "Items": ["K1", "K2"], "Comment": ""}),
    ("CreateOriginAccessControl", "OriginAccessControlConfig",
     {"Name": "o", "Description": "d", "SigningProtocol": "sigv4", "SigningBehavior": "always",
      "OriginAccessControlOriginType": "s3"}),
    ("CreateInvalidation", "InvalidationBatch",
     {"Paths": {"Quantity": 2, "Items": ["/a", "/b/*"]}, "CallerReference": "r"}),
])
def test_the_other_configs_read_as_their_botocore_xml_does(operation: str, root: str,
                                                           body: dict[str, Any]) -> None:
    params = {root: body, **({"DistributionId": "E1"} if root == "InvalidationBatch" else {})}
    assert to_tree(body, root) == botocore_xml_tree(operation, params, root)


def test_quantity_is_counted_when_left_out() -> None:
    tree = to_tree({"Paths": {"Items": ["/a", "/b"]}, "CallerReference": "r"},
                   "InvalidationBatch")
    assert tree[0] == ["Paths", [["Quantity", "2"], ["Items", [["Path", "/a"], ["Path", "/b"]]]]]


def test_creates_may_leave_out_the_caller_reference_and_oac_signing() -> None:
    made = with_defaults("OriginAccessControlConfig", {"Name": "o"}, creating=True)
    assert made["SigningBehavior"] == "always" and made["SigningProtocol"] == "sigv4"
    assert with_defaults("DistributionConfig", {}, creating=True)["CallerReference"]
    assert with_defaults("DistributionConfig", {}, creating=False) == {}


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c.update(Bogus=1), "DistributionConfig has no member 'Bogus'"),
    (lambda c: c.update(Enabled="true"), "DistributionConfig.Enabled must be true or false"),
    (lambda c: c["DefaultCacheBehavior"].update(MinTTL=True), "MinTTL must be an integer"),
    (lambda c: c["DefaultCacheBehavior"].update(MinTTL="0"), "MinTTL must be an integer"),
    (lambda c: c.update(Comment=5), "DistributionConfig.Comment must be a string"),
    (lambda c: c.update(Comment=None), "Comment must be a string"),
    (lambda c: c.update(Aliases=["a.example"]), "DistributionConfig.Aliases must be a JSON object"),
    (lambda c: c["Aliases"].update(Items="a.example"), "Aliases.Items must be a JSON array"),
    (lambda c: c["Origins"]["Items"][0].update(Extra="x"),
     "DistributionConfig.Origins.Items[0] has no member 'Extra'"),
    (lambda c: c["CustomErrorResponses"]["Items"][0].update(ErrorCode="404"),
     "ErrorCode must be an integer"),
])
def test_members_that_do_not_fit_the_shape_are_malformed_input(change: Any,
                                                               message: str) -> None:
    body = copy.deepcopy(config())
    change(body)
    with pytest.raises(EdgeError) as info:
        to_tree(body, "DistributionConfig")
    assert info.value.code == "MalformedInput" and info.value.status == 400
    assert message in info.value.message


JSON: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.sampled_from(["Origins", "Items", "Quantity", "true", "o", "media"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from([n for n, _ in STRUCTURES["DistributionConfig"]]
                                      + ["Items", "Quantity", "Id", "DomainName", "Bogus"]),
                      inner, max_size=6),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON, st.sampled_from(sorted(STRUCTURE_SHAPES) + sorted(LIST_SHAPES)))
def test_any_json_is_a_tree_or_malformed_input(value: Any, shape: str) -> None:
    try:
        tree = to_tree(value, shape)
    except EdgeError as error:
        assert error.code == "MalformedInput"
        return
    if shape == "DistributionConfig":
        try:
            DistributionConfig.from_document(tree)
        except EdgeError as error:
            assert 400 <= error.status < 500


# -- JSON out: what botocore reads from the CloudFront API's XML -------------------------


def test_every_answer_is_what_botocore_reads_from_the_xml(store: Any) -> None:
    def check(operation: str, result: ops.Result) -> dict[str, Any]:
        ours = result_json(result.root, result.content, result.etag)
        assert ours == botocore_reads(operation, result), operation
        return ours

    key = check("CreatePublicKey", ops.create_public_key(store, call(
        to_tree({"CallerReference": "r", "Name": "k", "EncodedKey": PEM}, "PublicKeyConfig"))))
    key_id = key["PublicKey"]["Id"]
    check("GetPublicKey", ops.get_public_key(store, call(Id=key_id)))
    check("ListPublicKeys", ops.list_public_keys(store, call()))
    group = check("CreateKeyGroup", ops.create_key_group(store, call(
        to_tree({"Name": "g", "Items": [key_id]}, "KeyGroupConfig"))))
    group_id = group["KeyGroup"]["Id"]
    check("ListKeyGroups", ops.list_key_groups(store, call()))
    oac = check("CreateOriginAccessControl", ops.create_origin_access_control(store, call(
        to_tree(with_defaults("OriginAccessControlConfig", {"Name": "o"}, True),
                "OriginAccessControlConfig"))))
    check("ListOriginAccessControls", ops.list_origin_access_controls(store, call()))
    body = config()
    body["DefaultCacheBehavior"]["TrustedKeyGroups"] = {"Enabled": True, "Quantity": 1,
                                                        "Items": [group_id]}
    body["Origins"]["Items"][0]["OriginAccessControlId"] = oac["OriginAccessControl"]["Id"]
    made = check("CreateDistribution", ops.create_distribution(store, call(
        to_tree(body, "DistributionConfig"))))
    did = made["Distribution"]["Id"]
    check("GetDistribution", ops.get_distribution(store, call(Id=did)))
    got = check("GetDistributionConfig", ops.get_distribution_config(store, call(Id=did)))
    for name, value in body.items():  # what was sent comes back, CloudFront's defaults added
        assert got["DistributionConfig"][name] == value, name
    assert got["DistributionConfig"]["PriceClass"] == "PriceClass_All"
    check("ListDistributions", ops.list_distributions(store, call()))
    batch = to_tree({"Paths": {"Items": ["/a"]}, "CallerReference": "r"}, "InvalidationBatch")
    check("CreateInvalidation", ops.create_invalidation(store, call(batch, DistributionId=did)))
    check("ListInvalidations", ops.list_invalidations(store, call(DistributionId=did)))
