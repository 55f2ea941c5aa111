"""The CloudFront API's XML: bodies botocore serialises are read back whole,
and every answer parses with botocore's own REST-XML parser into the shape
its operation promises."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.loaders import Loader  # type: ignore[import-untyped]
from botocore.model import ServiceModel  # type: ignore[import-untyped]
from botocore.parsers import RestXMLParser  # type: ignore[import-untyped]
from botocore.serialize import RestXMLSerializer  # type: ignore[import-untyped]

from sealbox.api.cloudfront import xml
from sealbox.store.edge import (
    Distribution,
    DistributionConfig,
    EdgeError,
    Invalidation,
    KeyGroup,
    OriginAccessControl,
    PublicKey,
)

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
MODEL = ServiceModel(Loader().load_service_model("cloudfront", "service-2", "2020-05-31"))
PEM = "-----BEGIN PUBLIC KEY-----\nMFkw&<>\n-----END PUBLIC KEY-----"
KEY = PublicKey("K2JCJMDEHXQW5F", "seed-key", PEM, "a & b", "ref-1", T0, "E2QWRUHAPOMQZL")
GROUP = KeyGroup("1a2b3c4d-0000-4000-8000-000000000000", "seed", ("K2JCJMDEHXQW5F",), "", T0, "EV1")
OAC = OriginAccessControl("E1OAC00000000A", "oac", "desc", "sigv4", "always", "s3", "EV2")

CONFIG: dict[str, Any] = {
    "CallerReference": "ref-d",
    "Aliases": {"Quantity": 1, "Items": ["media.example.com"]},
    "Origins": {"Quantity": 1, "Items": [{
        "Id": "o1", "DomainName": "media.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": OAC.id}]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "o1", "ViewerProtocolPolicy": "redirect-to-https",
        "TrustedKeyGroups": {"Enabled": True, "Quantity": 1, "Items": [GROUP.id]},
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"},
                            "Headers": {"Quantity": 1, "Items": ["Referer"]}},
        "MinTTL": 0, "DefaultTTL": 60, "MaxTTL": 600,
    },
    "CacheBehaviors": {"Quantity": 1, "Items": [{
        "PathPattern": "/public/*", "TargetOriginId": "o1", "ViewerProtocolPolicy": "allow-all",
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}]},
    "Comment": "seed <distribution>",
    "Logging": {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""},
    "Enabled": True,
}


def request_body(operation: str, params: dict[str, Any]) -> bytes:
    serialized = RestXMLSerializer().serialize_to_request(params, MODEL.operation_model(operation))
    return serialized["body"]  # type: ignore[no-any-return]


def parse(operation: str, root: str, content: object, headers: dict[str, str] | None = None,
          status: int = 200) -> dict[str, Any]:
    body = xml.document(root, content)
    shape = MODEL.operation_model(operation).output_shape
    return RestXMLParser().parse(  # type: ignore[no-any-return]
        {"body": body, "headers": headers or {}, "status_code": status}, shape)


def config_from_botocore(config: dict[str, Any]) -> DistributionConfig:
    body = request_body("CreateDistribution", {"DistributionConfig": config})
    return DistributionConfig.from_document(xml.parse_body(body, "DistributionConfig"))


def test_distribution_config_from_botocore_reads_what_the_edge_needs() -> None:
    cfg = config_from_botocore(CONFIG)
    assert cfg.aliases == ("media.example.com",)
    assert cfg.origins[0].bucket == "media" and cfg.origins[0].origin_access_control_id == OAC.id
    d = cfg.default_behavior
    assert d.trusted_key_groups == (GROUP.id,) and d.forward_referer
    assert (d.min_ttl, d.default_ttl, d.max_ttl, d.viewer_protocol_policy) == (
        0, 60, 600, "redirect-to-https")
    public = cfg.behavior_for("/public/x.css")
    assert public.cache_policy_id and not public.restricted and public.min_ttl == 1


def test_distribution_round_trips_through_botocore() -> None:
    cfg = config_from_botocore(CONFIG)
    dist = Distribution("EDFDVBD6EXAMPL", "edfdvbd6exampl.cloudfront.localhost", "Deployed", T0,
                        "EV3", cfg)
    parsed = parse("GetDistribution", "Distribution",
                   xml.distribution(dist, {GROUP.id: GROUP.items}), {"ETag": "EV3"})
    assert parsed["ETag"] == "EV3"
    d = parsed["Distribution"]
    assert d["ARN"] == "arn:aws:cloudfront::000000000000:distribution/EDFDVBD6EXAMPL"
    assert d["ActiveTrustedKeyGroups"]["Items"] == [
        {"KeyGroupId": GROUP.id, "KeyPairIds": {"Quantity": 1, "Items": [KEY.id]}}]
    got = d["DistributionConfig"]
    for name, value in CONFIG.items():
        assert got[name] == value, name
    assert got["PriceClass"] == "PriceClass_All" and got["HttpVersion"] == "http2"
    # get-distribution-config → update-distribution: the same config again
    # (element order inside may differ: botocore writes its params' order)
    again = parse("GetDistributionConfig", "DistributionConfig", dist.config.document)
    stored = config_from_botocore(again["DistributionConfig"])
    assert stored == cfg
    assert parse("GetDistributionConfig", "DistributionConfig", stored.document) == again


def test_distribution_list_summary_parses() -> None:
    cfg = config_from_botocore(CONFIG)
    dist = Distribution("EDFDVBD6EXAMPL", "x.cloudfront.localhost", "Deployed", T0, "EV3", cfg)
    parsed = parse("ListDistributions", "DistributionList",
                   xml.distribution_list([dist], "", 100, None))["DistributionList"]
    assert parsed["IsTruncated"] is False and parsed["Quantity"] == 1
    summary = parsed["Items"][0]
    assert summary["Id"] == dist.id and summary["ETag"] == "EV3" and summary["Enabled"] is True
    assert summary["Staging"] is False and summary["Comment"] == "seed <distribution>"


def test_public_key_and_lists_parse_with_escaped_text() -> None:
    parsed = parse("GetPublicKey", "PublicKey", xml.public_key(KEY))["PublicKey"]
    assert parsed["PublicKeyConfig"] == {"CallerReference": "ref-1", "Name": "seed-key",
                                         "EncodedKey": PEM, "Comment": "a & b"}
    assert parsed["CreatedTime"] == T0
    listed = parse("ListPublicKeys", "PublicKeyList", xml.public_key_list([KEY], 1, "K2"))
    assert listed["PublicKeyList"]["NextMarker"] == "K2"
    assert listed["PublicKeyList"]["Items"][0]["EncodedKey"] == PEM
    empty = parse("ListPublicKeys", "PublicKeyList", xml.public_key_list([], 100, None))
    assert empty["PublicKeyList"]["Quantity"] == 0 and "Items" not in empty["PublicKeyList"]


def test_key_group_oac_and_invalidation_parse() -> None:
    g = parse("GetKeyGroup", "KeyGroup", xml.key_group(GROUP))["KeyGroup"]
    assert g["KeyGroupConfig"]["Items"] == list(GROUP.items)
    groups = parse("ListKeyGroups", "KeyGroupList", xml.key_group_list([GROUP], 100, None))
    assert groups["KeyGroupList"]["Items"][0]["KeyGroup"]["Id"] == GROUP.id
    o = parse("GetOriginAccessControl", "OriginAccessControl", xml.oac(OAC))["OriginAccessControl"]
    assert o["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    oacs = parse("ListOriginAccessControls", "OriginAccessControlList",
                 xml.oac_list([OAC], "", 100, None))["OriginAccessControlList"]
    assert oacs["Items"][0]["Name"] == "oac" and oacs["IsTruncated"] is False
    inv = Invalidation("I2J0I21PCUYOIK", "EDFDVBD6EXAMPL", ("/a b", "/c*"), "r", "Completed", T0)
    got = parse("GetInvalidation", "Invalidation", xml.invalidation(inv))["Invalidation"]
    assert got["InvalidationBatch"]["Paths"]["Items"] == ["/a b", "/c*"]
    listed = parse("ListInvalidations", "InvalidationList",
                   xml.invalidation_list([inv], "", 100, None))["InvalidationList"]
    assert listed["Items"] == [{"Id": inv.id, "CreateTime": T0, "Status": "Completed"}]


def test_error_body_is_cloudfronts_and_botocore_reads_its_code() -> None:
    body = xml.error_body("NoSuchDistribution", "The specified distribution does not exist.", "R1")
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error>'
        b"<Type>Sender</Type><Code>NoSuchDistribution</Code>"
        b"<Message>The specified distribution does not exist.</Message></Error>"
        b"<RequestId>R1</RequestId></ErrorResponse>"
    )
    parsed = RestXMLParser().parse({"body": body, "headers": {}, "status_code": 404},
                                   MODEL.operation_model("GetDistribution").output_shape)
    assert parsed["Error"]["Code"] == "NoSuchDistribution"
    assert parsed["Error"]["Type"] == "Sender"


def test_bodies_from_botocore_parse_for_each_create() -> None:
    key = xml.parse_body(request_body("CreatePublicKey", {"PublicKeyConfig": {
        "CallerReference": "r", "Name": "n", "EncodedKey": PEM}}), "PublicKeyConfig")
    assert xml.text(key, "EncodedKey") == PEM
    group = xml.parse_body(request_body("CreateKeyGroup", {"KeyGroupConfig": {
        "Name": "g", "Items": ["K1", "K2"]}}), "KeyGroupConfig")
    assert group[1] == ["Items", [["PublicKey", "K1"], ["PublicKey", "K2"]]]
    batch = xml.parse_body(request_body("CreateInvalidation", {
        "DistributionId": "E1", "InvalidationBatch": {
            "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "c"}}), "InvalidationBatch")
    assert batch[0] == ["Paths", [["Quantity", "1"], ["Items", [["Path", "/*"]]]]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "MissingBody"),
        (b"   ", "MissingBody"),
        (b"<DistributionConfig>", "MalformedInput"),
        (b"<Other/>", "MalformedInput"),
        ((b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><DistributionConfig>&x;'
          b"</DistributionConfig>"), "MalformedInput"),
        (b"<DistributionConfig>" + (b"<a>" * 100) + (b"</a>" * 100) + b"</DistributionConfig>",
         "MalformedInput"),
        (b"<DistributionConfig>" + b" " * xml.MAX_BODY + b"</DistributionConfig>", "MalformedInput"),
        (b"\xff\xfe<DistributionConfig/>", "MalformedInput"),
    ],
)
def test_bad_bodies_are_refused_with_cloudfront_codes(body: bytes, code: str) -> None:
    with pytest.raises(EdgeError) as e:
        xml.parse_body(body, "DistributionConfig")
    assert e.value.code == code and e.value.status == 400


def test_namespaced_and_bare_bodies_read_alike() -> None:
    bare = xml.parse_body(b"<KeyGroupConfig><Name>g</Name></KeyGroupConfig>", "KeyGroupConfig")
    spaced = xml.parse_body(
        b'<KeyGroupConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
        b"<Name>g</Name></KeyGroupConfig>", "KeyGroupConfig")
    assert bare == spaced == [["Name", "g"]]
