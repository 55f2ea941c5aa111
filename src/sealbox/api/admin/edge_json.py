"""The edge's JSON in the admin API: CloudFront's configs as boto3 writes
them (``create_distribution(DistributionConfig={...})``, the file
``aws cloudfront create-distribution --distribution-config`` reads) turned
into the trees ``cloudfront_ops`` reads and the store keeps, and the
operations' results turned back into boto3's JSON. Pure.

A tree is ``store.edge_config``'s: ``[name, value]`` pairs where a value is
text or child pairs; a list's items are elements named as CloudFront's XML
names them (``Aliases.Items`` holds ``CNAME``s). The walk follows botocore's
shapes (``store.edge_shapes`` and ``admin_edge_types``), so a member a
shape does not have, a string where an object belongs, or a boolean that is
not JSON ``true``/``false`` is CloudFront's ``MalformedInput``, as the same
mistake in XML is. Two conveniences over boto3: ``Quantity`` may be left
out beside ``Items`` (it is counted), and ``CallerReference`` may be left
out of a create (a UUID is made).

On the way out, scalar members are typed again (``"true"`` → ``true``,
``"60"`` → ``60``) by the same shapes; elements outside any known shape
(kept from XML bodies) come back as text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sealbox.api.admin.edge_types import EXTRA_LISTS, EXTRA_STRUCTURES, SCALAR_TYPES
from sealbox.store.edge import EdgeError
from sealbox.store.edge_shapes import LISTS, STRUCTURES

STRUCTURE_SHAPES: dict[str, tuple[tuple[str, str], ...]] = {**STRUCTURES, **EXTRA_STRUCTURES}
LIST_SHAPES: dict[str, tuple[str, str]] = {**LISTS, **EXTRA_LISTS}
CONFIG = "DistributionConfig"
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_MAX_NAME_SHOWN = 64

# Members of results that hold a config (or a piece of one) outside a config:
# a Distribution's DistributionConfig, a DistributionSummary's Origins …
_MEMBER_SHAPES: dict[str, str] = {
    **{name: shape for name, shape in STRUCTURES[CONFIG] if shape},
    CONFIG: CONFIG,
    "PublicKeyConfig": "PublicKeyConfig",
    "KeyGroupConfig": "KeyGroupConfig",
    "OriginAccessControlConfig": "OriginAccessControlConfig",
    "InvalidationBatch": "InvalidationBatch",
}

# What a create may leave out, filled in before the body is read.
_DEFAULTS: dict[str, dict[str, str]] = {
    "OriginAccessControlConfig": {
        "SigningProtocol": "sigv4",
        "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3",
    },
}
_CALLER_REFERENCE_SHAPES = frozenset({CONFIG, "PublicKeyConfig", "InvalidationBatch"})


def malformed(message: str) -> EdgeError:
    return EdgeError("MalformedInput", message)


def _shown(name: str) -> str:
    return repr(name if len(name) <= _MAX_NAME_SHOWN else name[:_MAX_NAME_SHOWN] + "…")


# -- JSON in -------------------------------------------------------------------


def with_defaults(shape: str, body: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    """``body`` with what a create may leave out filled in."""
    out = dict(body)
    if creating:
        if shape in _CALLER_REFERENCE_SHAPES and "CallerReference" not in out:
            out["CallerReference"] = str(uuid.uuid4())
        for name, value in _DEFAULTS.get(shape, {}).items():
            out.setdefault(name, value)
    return out


def to_tree(value: Any, shape: str, where: str = "") -> list[Any]:
    """The tree of a JSON ``value`` of ``shape`` (a structure or list shape),
    or ``MalformedInput`` naming the first member that does not fit."""
    where = where or shape
    if shape in LIST_SHAPES:
        if not isinstance(value, list):
            raise malformed(f"{where} must be a JSON array.")
        item, item_shape = LIST_SHAPES[shape]
        kind = SCALAR_TYPES.get((shape, "*"), "string")
        return [[item, _node(v, item_shape, kind, f"{where}[{i}]")] for i, v in enumerate(value)]
    if not isinstance(value, dict):
        raise malformed(f"{where} must be a JSON object.")
    members = dict(STRUCTURE_SHAPES[shape])
    out: list[Any] = []
    for name, inner in value.items():
        if name not in members:
            raise malformed(f"{where} has no member {_shown(name)}.")
        kind = SCALAR_TYPES.get((shape, name), "string")
        out.append([name, _node(inner, members[name], kind, f"{where}.{name}")])
    items = value.get("Items")
    if "Quantity" in members and "Quantity" not in value and isinstance(items, list):
        out.insert(0, ["Quantity", str(len(items))])
    return out


def _node(value: Any, shape: str, kind: str, where: str) -> Any:
    if shape:
        return to_tree(value, shape, where)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise malformed(f"{where} must be true or false.")
        return "true" if value else "false"
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise malformed(f"{where} must be an integer.")
        return str(value)
    if not isinstance(value, str):
        raise malformed(f"{where} must be a string.")
    return value


# -- JSON out ------------------------------------------------------------------


def iso_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_json(value: Any, shape: str = "", kind: str = "") -> Any:
    """A result's value (``cloudfront_xml``'s pairs, or a stored tree) as
    JSON, typed by ``shape`` where it is known."""
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _typed(value, kind)
    if not isinstance(value, list | tuple):
        return str(value)
    if shape in LIST_SHAPES:
        _item, item_shape = LIST_SHAPES[shape]
        item_kind = SCALAR_TYPES.get((shape, "*"), "")
        return [to_json(pair[1], item_shape, item_kind) for pair in value]
    return _structure(value, shape)


def _structure(pairs: list[Any] | tuple[Any, ...], shape: str) -> dict[str, Any]:
    members = dict(STRUCTURE_SHAPES.get(shape, ()))
    out: dict[str, Any] = {}
    for pair in pairs:
        name, inner = pair[0], pair[1]
        if inner is None:  # left out, as the XML leaves it out
            continue
        if shape:
            out[name] = to_json(inner, members.get(name, ""), SCALAR_TYPES.get((shape, name), ""))
        elif name == "Items" and isinstance(inner, list | tuple):
            # Outside a known shape, every CloudFront list is an Items element.
            out[name] = [to_json(item[1]) for item in inner]
        else:
            out[name] = to_json(inner, _MEMBER_SHAPES.get(name, ""),
                                SCALAR_TYPES.get((CONFIG, name), ""))
    return out


def _typed(text: str, kind: str) -> Any:
    value = text.strip()
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    return text


def result_json(root: str | None, content: object, etag: str | None) -> dict[str, Any]:
    """An operation's answer as boto3 returns it: ``{root: …, "ETag": …}``."""
    out: dict[str, Any] = {}
    if root is not None:
        out[root] = to_json(content, root if root in STRUCTURE_SHAPES else "")
    if etag:
        out["ETag"] = etag
    return out
