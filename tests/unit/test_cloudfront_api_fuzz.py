"""Any body or config answers with a config or a CloudFront error, never
anything else (hypothesis): the API's "never a 500" for bad input."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.api.cloudfront import xml
from sealbox.store.edge import DistributionConfig, EdgeError

NAMES = st.sampled_from([
    "CallerReference", "Aliases", "Quantity", "Items", "CNAME", "Origins", "Origin", "Id",
    "DomainName", "OriginPath", "OriginAccessControlId", "DefaultCacheBehavior", "CacheBehaviors",
    "CacheBehavior", "PathPattern", "TargetOriginId", "ViewerProtocolPolicy", "TrustedKeyGroups",
    "Enabled", "KeyGroup", "ForwardedValues", "Headers", "Name", "QueryString", "MinTTL",
    "DefaultTTL", "MaxTTL", "CachePolicyId", "Comment", "DefaultRootObject", "Unknown",
])
TEXT = st.one_of(st.sampled_from(["0", "1", "2", "-1", "true", "false", "o", "media", "*",
                                  "allow-all", "x" * 200, ""]), st.text(max_size=20))
TREE: Any = st.recursive(
    TEXT, lambda inner: st.lists(st.tuples(NAMES, inner).map(list), max_size=6), max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(NAMES, TREE).map(list), max_size=10))
def test_any_config_tree_is_a_config_or_a_cloudfront_error(tree: list[Any]) -> None:
    try:
        cfg = DistributionConfig.from_document(tree)
    except EdgeError as error:
        assert error.code and 400 <= error.status < 500
    else:
        assert cfg.origins and cfg.default_behavior.target_origin_id in {o.id for o in cfg.origins}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_body_is_a_tree_or_a_cloudfront_error(body: bytes) -> None:
    try:
        tree = xml.parse_body(b"<DistributionConfig>" + body + b"</DistributionConfig>",
                              "DistributionConfig")
    except EdgeError as error:
        assert error.code in ("MalformedInput", "MissingBody")
        return
    try:
        DistributionConfig.from_document(tree)
    except EdgeError as error:
        assert 400 <= error.status < 500
