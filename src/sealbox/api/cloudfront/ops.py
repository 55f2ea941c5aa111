"""The CloudFront API's operations, as plain functions over an EdgeStore.

Each takes the store and a ``Call`` (path ids, query, parsed body, If-Match,
the time, where the API is served and the edge's domain) and returns a
``Result``: status, ETag, Location, and the XML root and content. They run
in the thread pool (``cloudfront_api``), raise ``EdgeError`` with
CloudFront's code, and do no I/O of their own besides the store.

``cloudfront_routes`` maps (method, path) to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sealbox.api.cloudfront import xml
from sealbox.api.cloudfront.xml import text
from sealbox.auth.cloudfront import load_public_key
from sealbox.store.edge import (
    Distribution,
    DistributionConfig,
    EdgeError,
    EdgeStore,
    Invalidation,
    KeyGroup,
    OriginAccessControl,
    PublicKey,
    new_distribution_id,
    new_etag,
    new_invalidation_id,
    new_key_group_id,
    new_oac_id,
    new_public_key_id,
)
from sealbox.store.edge_config import child, items

VERSION = "2020-05-31"
MAX_KEYS_PER_GROUP = 5  # CloudFront quota: public keys in a key group
MAX_PATHS = 3000  # CloudFront quota: paths in one invalidation batch
MAX_PATH_LENGTH = 4000
_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    ids: dict[str, str]
    query: dict[str, str]
    body: list[Any] | None
    if_match: str | None
    now: datetime
    base_url: str  # where the API is served: Location headers point there
    edge_domain: str


@dataclass(frozen=True)
class Result:
    root: str | None = None
    content: object = None
    status: int = 200
    etag: str | None = None
    location: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def _id(call: Call, missing: Callable[[str], EdgeError], name: str = "Id") -> str:
    value = call.ids[name]
    if not _ID.fullmatch(value):
        raise missing(value[:64])
    return value


def _required(tree: Any, name: str, where: str) -> str:
    value = text(tree, name)
    if value is None or not value.strip():
        raise EdgeError("InvalidArgument", f"{where}: {name} is required.")
    return value.strip()


def _comment(tree: Any) -> str:
    comment = text(tree, "Comment") or ""
    if len(comment) > 128:
        raise EdgeError("InvalidArgument", "The parameter Comment is too long.")
    return comment


def _page(all_items: Sequence[T], key: Callable[[T], str], call: Call) -> tuple[list[T], str | None, int]:
    """One page after ``Marker`` of at most ``MaxItems`` (default 100)."""
    raw = call.query.get("MaxItems", "100")
    if not raw.isdigit() or not 0 < int(raw) <= 1000:
        raise EdgeError("InvalidArgument", "MaxItems must be a number from 1 to 1000.")
    limit = int(raw)
    start = 0
    marker = call.query.get("Marker", "")
    if marker:
        keys = [key(i) for i in all_items]
        start = keys.index(marker) + 1 if marker in keys else 0
    page = list(all_items[start:start + limit])
    more = start + limit < len(all_items)
    return page, (key(page[-1]) if more and page else None), limit


def _location(call: Call, path: str) -> str:
    return f"{call.base_url}/{VERSION}/{path}"


# -- public keys ---------------------------------------------------------------


def _no_public_key(key_id: str) -> EdgeError:
    return EdgeError("NoSuchPublicKey", f"The specified public key does not exist: {key_id}")


def _key_config(tree: Any) -> tuple[str, str, str, str]:
    caller = _required(tree, "CallerReference", "PublicKeyConfig")
    name = _required(tree, "Name", "PublicKeyConfig")
    if not _NAME.fullmatch(name):
        raise EdgeError("InvalidArgument", "The public key name may have up to 128 letters, "
                        "digits, hyphens and underscores.")
    pem = _required(tree, "EncodedKey", "PublicKeyConfig")
    try:
        load_public_key(pem)
    except ValueError as error:
        raise EdgeError("InvalidArgument", f"Invalid public key: {error}.") from None
    return caller, name, pem, _comment(tree)


def create_public_key(store: EdgeStore, call: Call) -> Result:
    caller, name, pem, comment = _key_config(call.body)
    key = store.create_public_key(
        PublicKey(new_public_key_id(), name, pem, comment, caller, call.now, new_etag()))
    return Result("PublicKey", xml.public_key(key), 201, key.etag,
                  _location(call, f"public-key/{key.id}"))


def _public_key(store: EdgeStore, call: Call) -> PublicKey:
    key_id = _id(call, _no_public_key)
    key = store.get_public_key(key_id)
    if key is None:
        raise _no_public_key(key_id)
    return key


def get_public_key(store: EdgeStore, call: Call) -> Result:
    key = _public_key(store, call)
    return Result("PublicKey", xml.public_key(key), etag=key.etag)


def get_public_key_config(store: EdgeStore, call: Call) -> Result:
    key = _public_key(store, call)
    return Result("PublicKeyConfig", xml.public_key_config(key), etag=key.etag)


def list_public_keys(store: EdgeStore, call: Call) -> Result:
    page, next_marker, limit = _page(store.list_public_keys(), lambda k: k.id, call)
    return Result("PublicKeyList", xml.public_key_list(page, limit, next_marker))


def update_public_key(store: EdgeStore, call: Call) -> Result:
    key_id = _id(call, _no_public_key)
    tree = call.body
    name = _required(tree, "Name", "PublicKeyConfig")
    if not _NAME.fullmatch(name):
        raise EdgeError("InvalidArgument", "The public key name is not valid.")
    key = store.update_public_key(
        key_id, call.if_match, name, _comment(tree), new_etag(),
        encoded_key=text(tree, "EncodedKey"), caller_reference=text(tree, "CallerReference"))
    return Result("PublicKey", xml.public_key(key), etag=key.etag)


def delete_public_key(store: EdgeStore, call: Call) -> Result:
    store.delete_public_key(_id(call, _no_public_key), call.if_match)
    return Result(status=204)


# -- key groups ----------------------------------------------------------------


def _no_key_group(group_id: str) -> EdgeError:
    return EdgeError("NoSuchResource", f"The specified key group does not exist: {group_id}")


def _group(call: Call, group_id: str) -> KeyGroup:
    tree = call.body
    name = _required(tree, "Name", "KeyGroupConfig")
    if not _NAME.fullmatch(name):
        raise EdgeError("InvalidArgument", "The key group name may have up to 128 letters, "
                        "digits, hyphens and underscores.")
    found = child(tree, "Items")
    keys = [v for n, v in found] if isinstance(found, list) else []
    if any(not isinstance(k, str) for k in keys) or (
        isinstance(found, list) and any(n != "PublicKey" for n, _ in found)
    ):
        raise EdgeError("MalformedInput", "KeyGroupConfig.Items holds PublicKey elements.")
    if not keys:
        raise EdgeError("InvalidArgument", "A key group needs at least one public key.")
    if len(keys) > MAX_KEYS_PER_GROUP:
        raise EdgeError("TooManyPublicKeysInKeyGroup",
                        f"A key group may hold at most {MAX_KEYS_PER_GROUP} public keys.")
    return KeyGroup(group_id, name, tuple(k.strip() for k in keys), _comment(tree), call.now, new_etag())


def create_key_group(store: EdgeStore, call: Call) -> Result:
    group = store.create_key_group(_group(call, new_key_group_id()))
    return Result("KeyGroup", xml.key_group(group), 201, group.etag,
                  _location(call, f"key-group/{group.id}"))


def _key_group(store: EdgeStore, call: Call) -> KeyGroup:
    group_id = _id(call, _no_key_group)
    group = store.get_key_group(group_id)
    if group is None:
        raise _no_key_group(group_id)
    return group


def get_key_group(store: EdgeStore, call: Call) -> Result:
    g = _key_group(store, call)
    return Result("KeyGroup", xml.key_group(g), etag=g.etag)


def get_key_group_config(store: EdgeStore, call: Call) -> Result:
    g = _key_group(store, call)
    return Result("KeyGroupConfig", xml.key_group_config(g), etag=g.etag)


def list_key_groups(store: EdgeStore, call: Call) -> Result:
    page, next_marker, limit = _page(store.list_key_groups(), lambda g: g.id, call)
    return Result("KeyGroupList", xml.key_group_list(page, limit, next_marker))


def update_key_group(store: EdgeStore, call: Call) -> Result:
    group = store.update_key_group(_group(call, _id(call, _no_key_group)), call.if_match)
    return Result("KeyGroup", xml.key_group(group), etag=group.etag)


def delete_key_group(store: EdgeStore, call: Call) -> Result:
    store.delete_key_group(_id(call, _no_key_group), call.if_match)
    return Result(status=204)


# -- origin access controls ------------------------------------------------------


def _no_oac(_oac_id: str) -> EdgeError:
    return EdgeError("NoSuchOriginAccessControl", "The specified origin access control does not exist.")


def _oac(call: Call, oac_id: str) -> OriginAccessControl:
    tree = call.body
    name = _required(tree, "Name", "OriginAccessControlConfig")
    if len(name) > 64:
        raise EdgeError("InvalidArgument", "The origin access control name is longer than 64 characters.")
    description = text(tree, "Description") or ""
    if len(description) > 256:
        raise EdgeError("InvalidArgument", "The description is longer than 256 characters.")
    protocol = _required(tree, "SigningProtocol", "OriginAccessControlConfig")
    behavior = _required(tree, "SigningBehavior", "OriginAccessControlConfig")
    origin_type = _required(tree, "OriginAccessControlOriginType", "OriginAccessControlConfig")
    if protocol != "sigv4":
        raise EdgeError("InvalidArgument", "SigningProtocol must be sigv4.")
    if behavior not in ("always", "never", "no-override"):
        raise EdgeError("InvalidArgument", "SigningBehavior must be always, never or no-override.")
    if origin_type != "s3":
        raise EdgeError("InvalidArgument", "sealbox serves origin access control for s3 origins only.")
    return OriginAccessControl(oac_id, name, description, protocol, behavior, origin_type, new_etag())


def create_origin_access_control(store: EdgeStore, call: Call) -> Result:
    o = store.create_origin_access_control(_oac(call, new_oac_id()))
    return Result("OriginAccessControl", xml.oac(o), 201, o.etag,
                  _location(call, f"origin-access-control/{o.id}"))


def _get_oac(store: EdgeStore, call: Call) -> OriginAccessControl:
    oac_id = _id(call, _no_oac)
    o = store.get_origin_access_control(oac_id)
    if o is None:
        raise _no_oac(oac_id)
    return o


def get_origin_access_control(store: EdgeStore, call: Call) -> Result:
    o = _get_oac(store, call)
    return Result("OriginAccessControl", xml.oac(o), etag=o.etag)


def get_origin_access_control_config(store: EdgeStore, call: Call) -> Result:
    o = _get_oac(store, call)
    return Result("OriginAccessControlConfig", xml.oac_config(o), etag=o.etag)


def list_origin_access_controls(store: EdgeStore, call: Call) -> Result:
    page, next_marker, limit = _page(store.list_origin_access_controls(), lambda o: o.id, call)
    marker = call.query.get("Marker", "")
    return Result("OriginAccessControlList", xml.oac_list(page, marker, limit, next_marker))


def update_origin_access_control(store: EdgeStore, call: Call) -> Result:
    o = store.update_origin_access_control(_oac(call, _id(call, _no_oac)), call.if_match)
    return Result("OriginAccessControl", xml.oac(o), etag=o.etag)


def delete_origin_access_control(store: EdgeStore, call: Call) -> Result:
    store.delete_origin_access_control(_id(call, _no_oac), call.if_match)
    return Result(status=204)


# -- distributions -------------------------------------------------------------


def _no_distribution(_distribution_id: str) -> EdgeError:
    return EdgeError("NoSuchDistribution", "The specified distribution does not exist.")


def _keys_by_group(store: EdgeStore, d: Distribution) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for gid in d.config.key_group_ids:
        g = store.get_key_group(gid)
        out[gid] = g.items if g is not None else ()
    return out


def _distribution_result(store: EdgeStore, d: Distribution, status: int = 200,
                         location: str | None = None) -> Result:
    return Result("Distribution", xml.distribution(d, _keys_by_group(store, d)), status, d.etag,
                  location)


def create_distribution(store: EdgeStore, call: Call) -> Result:
    config = DistributionConfig.from_document(call.body or [])
    did = new_distribution_id()
    d = store.create_distribution(Distribution(
        did, f"{did.lower()}.{call.edge_domain}", "Deployed", call.now, new_etag(), config))
    return _distribution_result(store, d, 201, _location(call, f"distribution/{d.id}"))


def _distribution(store: EdgeStore, call: Call, name: str = "Id") -> Distribution:
    did = _id(call, _no_distribution, name)
    d = store.get_distribution(did)
    if d is None:
        raise _no_distribution(did)
    return d


def get_distribution(store: EdgeStore, call: Call) -> Result:
    return _distribution_result(store, _distribution(store, call))


def get_distribution_config(store: EdgeStore, call: Call) -> Result:
    d = _distribution(store, call)
    return Result("DistributionConfig", d.config.document, etag=d.etag)


def list_distributions(store: EdgeStore, call: Call) -> Result:
    page, next_marker, limit = _page(store.list_distributions(), lambda d: d.id, call)
    marker = call.query.get("Marker", "")
    return Result("DistributionList", xml.distribution_list(page, marker, limit, next_marker))


def update_distribution(store: EdgeStore, call: Call) -> Result:
    did = _id(call, _no_distribution)
    config = DistributionConfig.from_document(call.body or [])
    d = store.update_distribution(did, call.if_match, config, new_etag(), call.now)
    return _distribution_result(store, d)


def delete_distribution(store: EdgeStore, call: Call) -> Result:
    store.delete_distribution(_id(call, _no_distribution), call.if_match)
    return Result(status=204)


# -- invalidations ---------------------------------------------------------------


def _paths(tree: Any) -> tuple[str, ...]:
    values = items(child(tree, "Paths"), "Path", where="Paths")
    if child(tree, "Paths") is None or not values:
        raise EdgeError("InvalidArgument", "An invalidation batch needs at least one path.")
    if len(values) > MAX_PATHS:
        raise EdgeError("BatchTooLarge", f"An invalidation batch may hold at most {MAX_PATHS} paths.")
    paths = []
    for p in values:
        if not isinstance(p, str) or not p.startswith("/") or len(p) > MAX_PATH_LENGTH or (
            "*" in p[:-1]
        ):
            raise EdgeError("InvalidArgument",
                            "Your request contains one or more invalid invalidation paths.")
        paths.append(p)
    return tuple(paths)


def create_invalidation(store: EdgeStore, call: Call) -> Result:
    did = _id(call, _no_distribution, "DistributionId")
    tree = call.body
    inv = Invalidation(new_invalidation_id(), did, _paths(tree),
                       _required(tree, "CallerReference", "InvalidationBatch"), "Completed", call.now)
    inv = store.create_invalidation(inv)
    return Result("Invalidation", xml.invalidation(inv), 201,
                  location=_location(call, f"distribution/{did}/invalidation/{inv.id}"))


def get_invalidation(store: EdgeStore, call: Call) -> Result:
    d = _distribution(store, call, "DistributionId")
    inv_id = call.ids["Id"]
    inv = store.get_invalidation(d.id, inv_id) if _ID.fullmatch(inv_id) else None
    if inv is None:
        raise EdgeError("NoSuchInvalidation", "The specified invalidation does not exist.")
    return Result("Invalidation", xml.invalidation(inv))


def list_invalidations(store: EdgeStore, call: Call) -> Result:
    d = _distribution(store, call, "DistributionId")
    page, next_marker, limit = _page(store.list_invalidations(d.id), lambda i: i.id, call)
    marker = call.query.get("Marker", "")
    return Result("InvalidationList", xml.invalidation_list(page, marker, limit, next_marker))
