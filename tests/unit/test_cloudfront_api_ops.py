"""The CloudFront API's operations on a real SQLite store, its routing table
and the resources it is judged on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealbox.api.cloudfront import ops, routes
from sealbox.store.edge import EdgeError
from sealbox.store.meta import Bucket
from sealbox.store.sqlite import SqliteMetaStore

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
PEM = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SqliteMetaStore(str(tmp_path / "m.db"))
    s.create_bucket(Bucket("media", T0, "us-east-1", "root"))
    yield s
    s.close()


def call(body: list[Any] | None = None, *, if_match: str | None = None,
         **ids: str) -> ops.Call:
    query = {k[2:]: v for k, v in ids.items() if k.startswith("q_")}
    ids = {k: v for k, v in ids.items() if not k.startswith("q_")}
    return ops.Call(ids, query, body, if_match, T0, "http://127.0.0.1:9000", "cdn.test")


def key_body(n: int) -> list[Any]:
    return [["CallerReference", f"r{n}"], ["Name", f"k{n}"], ["EncodedKey", PEM]]


@pytest.mark.parametrize(
    ("method", "path", "name", "ids"),
    [
        ("POST", "/2020-05-31/public-key", "CreatePublicKey", {}),
        ("GET", "/2020-05-31/public-key/K1/config", "GetPublicKeyConfig", {"Id": "K1"}),
        ("PUT", "/2020-05-31/key-group/g-1", "UpdateKeyGroup", {"Id": "g-1"}),
        ("PUT", "/2020-05-31/distribution/E1/config", "UpdateDistribution", {"Id": "E1"}),
        ("DELETE", "/2020-05-31/distribution/E1", "DeleteDistribution", {"Id": "E1"}),
        ("GET", "/2020-05-31/distribution/E1/invalidation/I1", "GetInvalidation",
         {"DistributionId": "E1", "Id": "I1"}),
        ("GET", "/2020-05-31/origin-access-control/E2/config", "GetOriginAccessControlConfig",
         {"Id": "E2"}),
    ],
)
def test_routes_as_botocore_addresses_them(method: str, path: str, name: str,
                                           ids: dict[str, str]) -> None:
    found = routes.route(method, path)
    assert found is not None
    assert (found[0].name, found[1]) == (name, ids)


def test_unknown_routes_and_resources() -> None:
    assert routes.route("PATCH", "/2020-05-31/distribution") is None
    assert routes.route("GET", "/2019-03-26/distribution") is None
    assert routes.route("GET", "/2020-05-31/distribution/E1/extra/x") is None
    op, ids = routes.route("GET", "/2020-05-31/distribution/E1/invalidation")  # type: ignore[misc]
    assert routes.resource_arn(op, ids) == "arn:aws:cloudfront::000000000000:distribution/E1"
    op, ids = routes.route("POST", "/2020-05-31/distribution")  # type: ignore[misc]
    assert routes.resource_arn(op, ids) == "arn:aws:cloudfront::000000000000:distribution/*"
    op, ids = routes.route("GET", "/2020-05-31/public-key")  # type: ignore[misc]
    assert routes.resource_arn(op, ids) == "*"


def test_create_public_key_answers_201_with_etag_and_location(store: Any) -> None:
    r = ops.create_public_key(store, call(key_body(1)))
    assert r.status == 201 and r.etag and r.root == "PublicKey"
    key_id = dict(r.content)["Id"]  # type: ignore[call-overload]
    assert r.location == f"http://127.0.0.1:9000/2020-05-31/public-key/{key_id}"


def test_list_pages_with_max_items_and_marker(store: Any) -> None:
    for n in range(5):
        ops.create_public_key(store, call(key_body(n)))
    first = dict(ops.list_public_keys(store, call(q_MaxItems="2")).content)  # type: ignore[call-overload]
    assert first["Quantity"] == 2 and first["NextMarker"]
    ids = [dict(s[1])["Id"] for s in first["Items"]]
    rest = dict(ops.list_public_keys(store, call(q_Marker=first["NextMarker"])).content)  # type: ignore[call-overload]
    assert rest["Quantity"] == 3 and rest["NextMarker"] is None
    assert not set(ids) & {dict(s[1])["Id"] for s in rest["Items"]}
    for bad in ("0", "x", "1001", "-1"):
        with pytest.raises(EdgeError) as e:
            ops.list_public_keys(store, call(q_MaxItems=bad))
        assert e.value.code == "InvalidArgument"


def test_key_group_limits(store: Any) -> None:
    ids = [dict(ops.create_public_key(store, call(key_body(n))).content)["Id"]  # type: ignore[call-overload]
           for n in range(6)]
    items = [["PublicKey", i] for i in ids]
    with pytest.raises(EdgeError) as e:
        ops.create_key_group(store, call([["Name", "g"], ["Items", items]]))
    assert e.value.code == "TooManyPublicKeysInKeyGroup"
    with pytest.raises(EdgeError) as e:
        ops.create_key_group(store, call([["Name", "g"], ["Items", ""]]))
    assert e.value.code == "InvalidArgument"
    with pytest.raises(EdgeError) as e:
        ops.create_key_group(store, call([["Name", "bad name!"], ["Items", items[:1]]]))
    assert e.value.code == "InvalidArgument"


@pytest.mark.parametrize(
    ("field", "value"),
    [("SigningProtocol", "sigv2"), ("SigningBehavior", "sometimes"),
     ("OriginAccessControlOriginType", "lambda"), ("Name", "")],
)
def test_origin_access_control_refusals(store: Any, field: str, value: str) -> None:
    body = [["Name", "o"], ["SigningProtocol", "sigv4"], ["SigningBehavior", "always"],
            ["OriginAccessControlOriginType", "s3"]]
    body = [[n, value if n == field else v] for n, v in body]
    with pytest.raises(EdgeError) as e:
        ops.create_origin_access_control(store, call(body))
    assert e.value.code == "InvalidArgument"


def test_ids_that_cannot_exist_are_not_found_before_the_store(store: Any) -> None:
    for bad in ("a/b", "x" * 65, "K\x00", "é"):
        with pytest.raises(EdgeError) as e:
            ops.get_public_key(store, call(Id=bad))
        assert e.value.code == "NoSuchPublicKey"
        with pytest.raises(EdgeError) as e:
            ops.get_distribution(store, call(Id=bad))
        assert e.value.code == "NoSuchDistribution"


def _distribution(store: Any) -> str:
    origin = [["Id", "o"], ["DomainName", "media"]]
    behaviour = [["TargetOriginId", "o"], ["ViewerProtocolPolicy", "allow-all"],
                 ["CachePolicyId", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"]]
    body = [["CallerReference", "d"], ["Origins", [["Quantity", "1"], ["Items", [["Origin", origin]]]]],
            ["DefaultCacheBehavior", behaviour], ["Comment", ""], ["Enabled", "true"]]
    r = ops.create_distribution(store, call(body))
    content = dict(r.content)  # type: ignore[call-overload]
    assert content["DomainName"] == f"{content['Id'].lower()}.cdn.test"
    return str(content["Id"])


@pytest.mark.parametrize(
    ("paths", "code"),
    [
        ([["Quantity", "1"], ["Items", [["Path", "no-slash"]]]], "InvalidArgument"),
        ([["Quantity", "1"], ["Items", [["Path", "/a*b"]]]], "InvalidArgument"),
        ([["Quantity", "0"]], "InvalidArgument"),
        ([["Quantity", "2"], ["Items", [["Path", "/a"]]]], "InconsistentQuantities"),
        ([["Quantity", "3001"], ["Items", [["Path", "/a"]] * 3001]], "BatchTooLarge"),
    ],
)
def test_invalidation_paths_refused(store: Any, paths: list[Any], code: str) -> None:
    did = _distribution(store)
    with pytest.raises(EdgeError) as e:
        ops.create_invalidation(store, call([["Paths", paths], ["CallerReference", "c"]],
                                            DistributionId=did))
    assert e.value.code == code


def test_invalidation_for_a_missing_distribution(store: Any) -> None:
    body = [["Paths", [["Quantity", "1"], ["Items", [["Path", "/a"]]]]], ["CallerReference", "c"]]
    with pytest.raises(EdgeError) as e:
        ops.create_invalidation(store, call(body, DistributionId="ENOSUCH"))
    assert e.value.code == "NoSuchDistribution"
    with pytest.raises(EdgeError) as e:
        ops.list_invalidations(store, call(DistributionId="ENOSUCH"))
    assert e.value.code == "NoSuchDistribution"
