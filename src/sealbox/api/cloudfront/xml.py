"""The CloudFront API's XML (REST-XML, 2020-05-31): request bodies read
into ``edge_config`` trees, resources and errors written as botocore's
``cloudfront/2020-05-31/service-2.json`` names and orders them.

Bodies are parsed by ``sealbox.api.s3.xml.parse_xml`` (no DOCTYPE, no
entities, depth and size capped); any body it refuses is CloudFront's
``MalformedInput``. Namespaces are dropped on the way in; every answer
carries CloudFront's ``xmlns`` on its root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import Element

from sealbox.api.s3.xml import parse_xml, render
from sealbox.errors import S3Error
from sealbox.store.edge import (
    Distribution,
    EdgeError,
    Invalidation,
    KeyGroup,
    OriginAccessControl,
    PublicKey,
)
from sealbox.store.edge_config import Node, child

NAMESPACE = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
CONTENT_TYPE = "text/xml"
MAX_BODY = 1024 * 1024  # a DistributionConfig is a few KB; CloudFront caps far lower

Pairs = list[tuple[str, Any]]


# -- reading -------------------------------------------------------------------


def _tree(element: Element) -> Node:
    children = list(element)
    if not children:
        return element.text or ""
    return [[c.tag, _tree(c)] for c in children]


def parse_body(body: bytes, root: str) -> list[Any]:
    """The children of ``root`` in ``body`` as an ``edge_config`` tree, or
    ``MissingBody`` / ``MalformedInput``."""
    if not body.strip():
        raise EdgeError("MissingBody", "This operation requires a body. Ensure that the body "
                        "is present and the Content-Type header is set.")
    try:
        element = parse_xml(body, root, max_length=MAX_BODY)
    except S3Error:
        raise EdgeError("MalformedInput", f"The XML document is malformed or is not a {root}.") from None
    tree = _tree(element)
    return tree if isinstance(tree, list) else []


def text(tree: Node | None, name: str) -> str | None:
    value = child(tree, name)
    if value is None or value == []:
        return None if value is None else ""
    if not isinstance(value, str):
        raise EdgeError("MalformedInput", f"{name} must be text.")
    return value


# -- writing -------------------------------------------------------------------


def document(root: str, content: object) -> bytes:
    """A whole answer: declaration, ``root`` in CloudFront's namespace, ``content``."""
    body = render(root, content, namespace=False).decode()
    open_tag = f"<{root}>"
    at = body.find(open_tag)
    if at < 0:  # an empty root, written self-closing
        return body.replace(f"<{root}/>", f'<{root} xmlns="{NAMESPACE}"/>', 1).encode()
    return (body[:at] + f'<{root} xmlns="{NAMESPACE}">' + body[at + len(open_tag):]).encode()


def error_body(code: str, message: str, request_id: str, *, sender: bool = True) -> bytes:
    """CloudFront's error document (``<ErrorResponse>`` with ``Type``, ``Code``,
    ``Message`` and ``RequestId``), as botocore's REST-XML parser reads it."""
    error = [("Type", "Sender" if sender else "Receiver"), ("Code", code), ("Message", message)]
    return document("ErrorResponse", [("Error", error), ("RequestId", request_id)])


def public_key_config(k: PublicKey) -> Pairs:
    return [("CallerReference", k.caller_reference), ("Name", k.name),
            ("EncodedKey", k.encoded_key), ("Comment", k.comment)]


def public_key(k: PublicKey) -> Pairs:
    return [("Id", k.id), ("CreatedTime", k.created), ("PublicKeyConfig", public_key_config(k))]


def public_key_list(keys: Sequence[PublicKey], max_items: int, next_marker: str | None) -> Pairs:
    summaries = [("PublicKeySummary", [("Id", k.id), ("Name", k.name), ("CreatedTime", k.created),
                                       ("EncodedKey", k.encoded_key), ("Comment", k.comment)])
                 for k in keys]
    return [("NextMarker", next_marker), ("MaxItems", max_items), ("Quantity", len(keys)),
            ("Items", summaries if keys else None)]


def key_group_config(g: KeyGroup) -> Pairs:
    return [("Name", g.name), ("Items", [("PublicKey", k) for k in g.items]), ("Comment", g.comment)]


def key_group(g: KeyGroup) -> Pairs:
    return [("Id", g.id), ("LastModifiedTime", g.modified), ("KeyGroupConfig", key_group_config(g))]


def key_group_list(groups: Sequence[KeyGroup], max_items: int, next_marker: str | None) -> Pairs:
    summaries = [("KeyGroupSummary", [("KeyGroup", key_group(g))]) for g in groups]
    return [("NextMarker", next_marker), ("MaxItems", max_items), ("Quantity", len(groups)),
            ("Items", summaries if groups else None)]


def oac_config(o: OriginAccessControl) -> Pairs:
    return [("Name", o.name), ("Description", o.description),
            ("SigningProtocol", o.signing_protocol), ("SigningBehavior", o.signing_behavior),
            ("OriginAccessControlOriginType", o.origin_type)]


def oac(o: OriginAccessControl) -> Pairs:
    return [("Id", o.id), ("OriginAccessControlConfig", oac_config(o))]


def _paged(items: Pairs, marker: str, max_items: int, next_marker: str | None) -> Pairs:
    return [("Marker", marker), ("NextMarker", next_marker), ("MaxItems", max_items),
            ("IsTruncated", next_marker is not None), ("Quantity", len(items)),
            ("Items", items if items else None)]


def oac_list(oacs: Sequence[OriginAccessControl], marker: str, max_items: int,
             next_marker: str | None) -> Pairs:
    items = [("OriginAccessControlSummary",
              [("Id", o.id), ("Description", o.description), ("Name", o.name),
               ("SigningProtocol", o.signing_protocol), ("SigningBehavior", o.signing_behavior),
               ("OriginAccessControlOriginType", o.origin_type)]) for o in oacs]
    return _paged(items, marker, max_items, next_marker)


def active_trusted_key_groups(d: Distribution, keys_by_group: dict[str, tuple[str, ...]]) -> Pairs:
    groups = sorted(d.config.key_group_ids)
    items = [("KeyGroup", [("KeyGroupId", g), ("KeyPairIds", [
        ("Quantity", len(keys_by_group.get(g, ()))),
        ("Items", [("KeyPairId", k) for k in keys_by_group.get(g, ())] or None)])])
        for g in groups]
    return [("Enabled", bool(groups)), ("Quantity", len(groups)), ("Items", items or None)]


def distribution(d: Distribution, keys_by_group: dict[str, tuple[str, ...]]) -> Pairs:
    return [
        ("Id", d.id), ("ARN", d.arn), ("Status", d.status), ("LastModifiedTime", d.modified),
        ("InProgressInvalidationBatches", 0), ("DomainName", d.domain_name),
        ("ActiveTrustedSigners", [("Enabled", False), ("Quantity", 0)]),
        ("ActiveTrustedKeyGroups", active_trusted_key_groups(d, keys_by_group)),
        ("DistributionConfig", d.config.document),  # [name, value] lists render as pairs
    ]


# DistributionSummary's members taken from the config, in botocore's order.
_SUMMARY_FROM_CONFIG = (
    "Aliases", "Origins", "OriginGroups", "DefaultCacheBehavior", "CacheBehaviors",
    "CustomErrorResponses", "Comment", "PriceClass", "Enabled", "ViewerCertificate",
    "Restrictions", "WebACLId", "HttpVersion", "IsIPV6Enabled",
)


def distribution_summary(d: Distribution) -> Pairs:
    doc = d.config.document
    out: Pairs = [("Id", d.id), ("ARN", d.arn), ("ETag", d.etag), ("Status", d.status),
                  ("LastModifiedTime", d.modified), ("DomainName", d.domain_name)]
    out += [(name, child(doc, name)) for name in _SUMMARY_FROM_CONFIG]
    out.append(("Staging", child(doc, "Staging") or "false"))
    return out


def distribution_list(dists: Sequence[Distribution], marker: str, max_items: int,
                      next_marker: str | None) -> Pairs:
    items = [("DistributionSummary", distribution_summary(d)) for d in dists]
    return _paged(items, marker, max_items, next_marker)


def invalidation_batch(i: Invalidation) -> Pairs:
    return [("Paths", [("Quantity", len(i.paths)), ("Items", [("Path", p) for p in i.paths] or None)]),
            ("CallerReference", i.caller_reference)]


def invalidation(i: Invalidation) -> Pairs:
    return [("Id", i.id), ("Status", i.status), ("CreateTime", i.created),
            ("InvalidationBatch", invalidation_batch(i))]


def invalidation_list(invs: Sequence[Invalidation], marker: str, max_items: int,
                      next_marker: str | None) -> Pairs:
    items = [("InvalidationSummary", [("Id", i.id), ("CreateTime", i.created), ("Status", i.status)])
             for i in invs]
    return _paged(items, marker, max_items, next_marker)
