"""EdgeStore behaviour (CloudFront public keys, key groups, origin access
controls, distributions, invalidations) on SQLite and PostgreSQL, through
test_store_sqlite's ``meta_store`` fixture; and the pure config model."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.store.edge import (
    Distribution,
    DistributionConfig,
    EdgeError,
    EdgeStore,
    Invalidation,
    KeyGroup,
    OriginAccessControl,
    PublicKey,
    host_candidates,
    new_distribution_id,
    new_etag,
    new_public_key_id,
    path_matches,
)
from sealbox.store.edge_config import origin_bucket
from sealbox.store.meta import Bucket
from sealbox.store.sqlite import SqliteMetaStore
from tests.unit.test_store_sqlite import meta_store  # noqa: F401  (the fixture)

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
PEM = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"


def code_of(excinfo: pytest.ExceptionInfo[EdgeError]) -> str:
    return excinfo.value.code


@pytest.fixture
def store(meta_store: Any) -> EdgeStore:  # noqa: F811
    meta_store.create_bucket(Bucket("media", T0, "us-east-1", "arn:aws:iam::000000000000:root"))
    return meta_store  # type: ignore[no-any-return]


def public_key(name: str = "k1", caller: str = "c1") -> PublicKey:
    return PublicKey(new_public_key_id(), name, PEM, "", caller, T0, new_etag())


def key_group(keys: tuple[str, ...], name: str = "g1", gid: str = "g-1") -> KeyGroup:
    return KeyGroup(gid, name, keys, "a comment", T0, new_etag())


def oac(name: str = "o1", oid: str = "EOAC0000000001") -> OriginAccessControl:
    return OriginAccessControl(oid, name, "", "sigv4", "always", "s3", new_etag())


def behaviour(groups: tuple[str, ...] = (), *, pattern: str | None = None) -> list[Any]:
    tkg: list[Any] = [["Enabled", "true" if groups else "false"], ["Quantity", str(len(groups))]]
    if groups:
        tkg.append(["Items", [["KeyGroup", g] for g in groups]])
    node: list[Any] = [] if pattern is None else [["PathPattern", pattern]]
    node += [
        ["TargetOriginId", "o"],
        ["TrustedKeyGroups", tkg],
        ["ViewerProtocolPolicy", "redirect-to-https"],
        ["ForwardedValues", [["QueryString", "false"], ["Cookies", [["Forward", "none"]]],
                             ["Headers", [["Quantity", "1"], ["Items", [["Name", "Referer"]]]]]]],
        ["MinTTL", "0"], ["DefaultTTL", "60"], ["MaxTTL", "600"],
    ]
    return node


def config_doc(caller: str = "d1", *, groups: tuple[str, ...] = (), oac_id: str = "",
               bucket: str = "media", aliases: tuple[str, ...] = (), enabled: bool = True,
               behaviours: list[Any] | None = None) -> list[Any]:
    origin: list[Any] = [["Id", "o"], ["DomainName", f"{bucket}.s3.amazonaws.com"],
                         ["OriginPath", ""],
                         ["S3OriginConfig", [["OriginAccessIdentity", ""]]],
                         ["OriginAccessControlId", oac_id]]
    aliases_node: list[Any] = [["Quantity", str(len(aliases))]]
    if aliases:
        aliases_node.append(["Items", [["CNAME", a] for a in aliases]])
    doc: list[Any] = [
        ["CallerReference", caller],
        ["Aliases", aliases_node],
        ["Origins", [["Quantity", "1"], ["Items", [["Origin", origin]]]]],
        ["DefaultCacheBehavior", behaviour(groups)],
        ["Comment", "seed"],
        ["Enabled", "true" if enabled else "false"],
    ]
    if behaviours:
        doc.insert(4, ["CacheBehaviors", [["Quantity", str(len(behaviours))],
                                          ["Items", [["CacheBehavior", b] for b in behaviours]]]])
    return doc


def distribution(doc: list[Any], dist_id: str | None = None) -> Distribution:
    did = dist_id or new_distribution_id()
    return Distribution(did, f"{did.lower()}.cloudfront.localhost", "Deployed", T0, new_etag(),
                        DistributionConfig.from_document(doc))


# -- public keys -----------------------------------------------------------------


def test_public_key_round_trip_list_and_delete_with_if_match(store: EdgeStore) -> None:
    k = store.create_public_key(public_key())
    assert store.get_public_key(k.id) == k
    assert store.list_public_keys() == [k]
    with pytest.raises(EdgeError) as e:
        store.delete_public_key(k.id, None)
    assert code_of(e) == "InvalidIfMatchVersion"
    with pytest.raises(EdgeError) as e:
        store.delete_public_key(k.id, "ENOTTHEETAG")
    assert code_of(e) == "PreconditionFailed" and e.value.status == 412
    store.delete_public_key(k.id, k.etag)
    assert store.get_public_key(k.id) is None
    with pytest.raises(EdgeError) as e:
        store.delete_public_key(k.id, k.etag)
    assert code_of(e) == "NoSuchPublicKey"


def test_public_key_same_caller_reference_is_idempotent_else_already_exists(store: EdgeStore) -> None:
    k = store.create_public_key(public_key())
    again = store.create_public_key(public_key())  # new id, same config
    assert again == k
    with pytest.raises(EdgeError) as e:
        store.create_public_key(public_key(name="other"))  # same caller reference
    assert code_of(e) == "PublicKeyAlreadyExists" and e.value.status == 409
    with pytest.raises(EdgeError) as e:
        store.create_public_key(public_key(caller="c2"))  # same name
    assert code_of(e) == "PublicKeyAlreadyExists"


def test_public_key_update_renames_but_never_changes_the_pem(store: EdgeStore) -> None:
    k = store.create_public_key(public_key())
    new = store.update_public_key(k.id, k.etag, "renamed", "hi", "ENEWETAG", encoded_key=PEM)
    assert (new.name, new.comment, new.etag, new.encoded_key) == ("renamed", "hi", "ENEWETAG", PEM)
    assert store.get_public_key(k.id) == new
    with pytest.raises(EdgeError) as e:
        store.update_public_key(k.id, "ENEWETAG", "x", "", "E3", encoded_key="other")
    assert code_of(e) == "CannotChangeImmutablePublicKeyFields"


# -- key groups --------------------------------------------------------------------


def test_key_group_keeps_key_order_and_keys_in_use_cannot_go(store: EdgeStore) -> None:
    a = store.create_public_key(public_key("a", "ca"))
    b = store.create_public_key(public_key("b", "cb"))
    g = store.create_key_group(key_group((b.id, a.id)))
    assert store.get_key_group(g.id) == g
    assert store.list_key_groups() == [g]
    assert set(store.public_keys_for_groups([g.id])) == {a.id, b.id}
    assert store.public_keys_for_groups([]) == {}
    with pytest.raises(EdgeError) as e:
        store.delete_public_key(a.id, a.etag)
    assert code_of(e) == "PublicKeyInUse"
    g2 = KeyGroup(g.id, "g1", (a.id,), "", T0 + timedelta(1), "EV2")
    store.update_key_group(g2, g.etag)
    assert store.get_key_group(g.id) == g2
    store.delete_public_key(b.id, b.etag)  # no longer in the group
    store.delete_key_group(g.id, "EV2")
    assert store.get_key_group(g.id) is None
    store.delete_public_key(a.id, a.etag)


def test_key_group_refuses_unknown_keys_and_duplicate_names(store: EdgeStore) -> None:
    a = store.create_public_key(public_key())
    with pytest.raises(EdgeError) as e:
        store.create_key_group(key_group(("KNOSUCHKEY0000",)))
    assert code_of(e) == "InvalidArgument"
    assert store.get_key_group("g-1") is None  # nothing half-saved
    store.create_key_group(key_group((a.id,)))
    with pytest.raises(EdgeError) as e:
        store.create_key_group(key_group((a.id,), gid="g-2"))
    assert code_of(e) == "KeyGroupAlreadyExists"
    with pytest.raises(EdgeError) as e:
        store.delete_key_group("nope", "E")
    assert code_of(e) == "NoSuchResource"


# -- origin access controls --------------------------------------------------------


def test_origin_access_control_round_trip_update_and_delete(store: EdgeStore) -> None:
    o = store.create_origin_access_control(oac())
    assert store.get_origin_access_control(o.id) == o
    assert store.list_origin_access_controls() == [o]
    with pytest.raises(EdgeError) as e:
        store.create_origin_access_control(oac(oid="EOAC0000000002"))
    assert code_of(e) == "OriginAccessControlAlreadyExists"
    o2 = OriginAccessControl(o.id, "o1", "d", "sigv4", "no-override", "s3", "EV2")
    assert store.update_origin_access_control(o2, o.etag) == o2
    store.delete_origin_access_control(o.id, "EV2")
    assert store.get_origin_access_control(o.id) is None


# -- distributions -----------------------------------------------------------------


def seeded(store: EdgeStore) -> tuple[PublicKey, KeyGroup, OriginAccessControl]:
    k = store.create_public_key(public_key())
    g = store.create_key_group(key_group((k.id,)))
    o = store.create_origin_access_control(oac())
    return k, g, o


def test_distribution_found_by_id_domain_and_alias_with_its_trusted_keys(store: EdgeStore) -> None:
    k, g, o = seeded(store)
    d = store.create_distribution(distribution(
        config_doc(groups=(g.id,), oac_id=o.id, aliases=("Media.Example.com", "*.cdn.example.org"))
    ))
    got = store.get_distribution(d.id)
    assert got == d and got.config.document == d.config.document
    assert d.arn == f"arn:aws:cloudfront::000000000000:distribution/{d.id}"
    assert store.list_distributions() == [d]
    for host in (d.domain_name, d.domain_name.upper() + ":8443", "media.example.com",
                 "media.example.com.", "img.cdn.example.org"):
        assert store.distribution_for_host(host) == d, host
    for host in ("example.com", "a.b.cdn.example.org", "", "[::1]:80"):
        assert store.distribution_for_host(host) is None, host
    b = d.config.behavior_for("/anything.jpg")
    assert b.restricted and b.trusted_key_groups == (g.id,) and b.forward_referer
    assert (b.min_ttl, b.default_ttl, b.max_ttl) == (0, 60, 600)
    assert d.config.origin(b.target_origin_id).bucket == "media"
    assert d.config.origin("o").origin_access_control_id == o.id
    assert store.public_keys_for_groups(b.trusted_key_groups) == {k.id: k}


def test_distribution_refuses_missing_bucket_key_group_oac_and_taken_alias(store: EdgeStore) -> None:
    _, _g, _o = seeded(store)
    cases = [
        (config_doc(bucket="nobucket"), "InvalidOrigin"),
        (config_doc(groups=("no-such-group",)), "TrustedKeyGroupDoesNotExist"),
        (config_doc(oac_id="ENOSUCHOAC0000"), "NoSuchOriginAccessControl"),
    ]
    for doc, code in cases:
        with pytest.raises(EdgeError) as e:
            store.create_distribution(distribution(doc))
        assert code_of(e) == code
    assert store.list_distributions() == []
    store.create_distribution(distribution(config_doc("a", aliases=("x.example.com",))))
    with pytest.raises(EdgeError) as e:
        store.create_distribution(distribution(config_doc("b", aliases=("X.example.com",))))
    assert code_of(e) == "CNAMEAlreadyExists"
    assert len(store.list_distributions()) == 1


def test_distribution_caller_reference_idempotent_else_already_exists(store: EdgeStore) -> None:
    d = store.create_distribution(distribution(config_doc()))
    assert store.create_distribution(distribution(config_doc())) == d
    with pytest.raises(EdgeError) as e:
        store.create_distribution(distribution(config_doc(aliases=("new.example.com",))))
    assert code_of(e) == "DistributionAlreadyExists"


def test_update_distribution_needs_if_match_keeps_caller_reference_and_moves_aliases(
    store: EdgeStore,
) -> None:
    _, g, _o = seeded(store)
    d = store.create_distribution(distribution(config_doc(aliases=("a.example.com",))))
    new_cfg = DistributionConfig.from_document(config_doc(groups=(g.id,), aliases=("b.example.com",)))
    with pytest.raises(EdgeError) as e:
        store.update_distribution(d.id, None, new_cfg, "EV2", T0)
    assert code_of(e) == "InvalidIfMatchVersion"
    with pytest.raises(EdgeError) as e:
        store.update_distribution(d.id, "EWRONG", new_cfg, "EV2", T0)
    assert code_of(e) == "PreconditionFailed"
    with pytest.raises(EdgeError) as e:
        store.update_distribution(
            d.id, d.etag, DistributionConfig.from_document(config_doc("other")), "EV2", T0)
    assert code_of(e) == "IllegalUpdate"
    later = T0 + timedelta(seconds=5)
    new = store.update_distribution(d.id, d.etag, new_cfg, "EV2", later)
    assert (new.etag, new.modified, new.domain_name) == ("EV2", later, d.domain_name)
    assert store.get_distribution(d.id) == new
    assert store.distribution_for_host("a.example.com") is None
    assert store.distribution_for_host("b.example.com") == new
    # the key group is now in use by the distribution
    with pytest.raises(EdgeError) as e:
        store.delete_key_group(g.id, g.etag)
    assert code_of(e) == "ResourceInUse"


def test_delete_distribution_must_be_disabled_first(store: EdgeStore) -> None:
    _, g, o = seeded(store)
    d = store.create_distribution(distribution(config_doc(groups=(g.id,), oac_id=o.id)))
    store.create_invalidation(Invalidation("I1", d.id, ("/*",), "r1", "Completed", T0))
    with pytest.raises(EdgeError) as e:
        store.delete_distribution(d.id, d.etag)
    assert code_of(e) == "DistributionNotDisabled" and e.value.status == 409
    with pytest.raises(EdgeError) as e:
        store.delete_origin_access_control(o.id, o.etag)
    assert code_of(e) == "OriginAccessControlInUse"
    off = store.update_distribution(
        d.id, d.etag, DistributionConfig.from_document(config_doc(groups=(g.id,), oac_id=o.id,
                                                                  enabled=False)), "EV2", T0)
    store.delete_distribution(d.id, off.etag)
    assert store.get_distribution(d.id) is None
    assert store.distribution_for_host(d.domain_name) is None
    store.delete_key_group(g.id, g.etag)  # free again
    store.delete_origin_access_control(o.id, o.etag)
    with pytest.raises(EdgeError) as e:
        store.delete_distribution(d.id, "E")
    assert code_of(e) == "NoSuchDistribution"


# -- invalidations -----------------------------------------------------------------


def test_invalidations_listed_newest_first_and_idempotent_by_caller_reference(
    store: EdgeStore,
) -> None:
    d = store.create_distribution(distribution(config_doc()))
    i1 = store.create_invalidation(Invalidation("I1", d.id, ("/a", "/b*"), "r1", "Completed", T0))
    i2 = store.create_invalidation(
        Invalidation("I2", d.id, ("/*",), "r2", "Completed", T0 + timedelta(seconds=1)))
    assert store.create_invalidation(Invalidation("I3", d.id, ("/a", "/b*"), "r1", "Completed", T0)) == i1
    with pytest.raises(EdgeError):
        store.create_invalidation(Invalidation("I4", d.id, ("/c",), "r1", "Completed", T0))
    assert store.get_invalidation(d.id, "I1") == i1
    assert store.get_invalidation("EOTHER", "I1") is None
    assert store.list_invalidations(d.id) == [i2, i1]
    assert store.list_invalidations(d.id, since=T0 + timedelta(milliseconds=500)) == [i2]
    with pytest.raises(EdgeError) as e:
        store.create_invalidation(Invalidation("I5", "ENOSUCH", ("/a",), "r", "Completed", T0))
    assert code_of(e) == "NoSuchDistribution"


def test_access_version_moves_with_every_edge_change(store: Any) -> None:
    """Edge nodes cache hosts, trusted keys and invalidations by the access
    version (sealbox.edge.directory): every edge write must move it."""
    seen = [store.access_version()]

    def moved() -> None:
        now = store.access_version()
        assert now > seen[-1]
        seen.append(now)

    k = store.create_public_key(public_key())
    moved()
    g = store.create_key_group(key_group((k.id,)))
    moved()
    o = store.create_origin_access_control(oac())
    moved()
    d = store.create_distribution(distribution(config_doc(groups=(g.id,), oac_id=o.id)))
    moved()
    store.create_invalidation(Invalidation("I1", d.id, ("/a",), "r1", "Completed", T0))
    moved()
    d = store.update_distribution(d.id, d.etag, DistributionConfig.from_document(
        config_doc(enabled=False)), new_etag(), T0)
    moved()
    store.delete_distribution(d.id, d.etag)
    moved()


def test_concurrent_creators_of_one_name_one_wins(store: EdgeStore) -> None:
    results: list[str] = []

    def create(i: int) -> None:
        try:
            store.create_public_key(public_key("same", f"c{i}"))
            results.append("ok")
        except EdgeError as e:
            results.append(e.code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["PublicKeyAlreadyExists"] * 5 + ["ok"]


def test_sqlite_v4_database_migrates_to_the_edge_schema(
    tmp_path: Any, schema_history: dict[str, list[list[str]]]
) -> None:
    from sealbox.store import sqlite as mod

    path = str(tmp_path / "m.db")
    conn = sqlite3.connect(path)
    for v in range(4):
        for stmt in schema_history["sqlite"][v]:
            conn.execute(stmt)
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    s = SqliteMetaStore(path)
    assert s._conn().execute("PRAGMA user_version").fetchone()[0] == mod.SCHEMA_VERSION >= 5
    assert s.list_distributions() == []
    s.close()


# -- the pure config model ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "/a/b.jpg", True),
        ("images/*.jpg", "/images/a.jpg", True),
        ("/images/*.jpg", "/images/sub/a.jpg", True),
        ("/images/*.jpg", "/Images/a.jpg", False),  # case-sensitive
        ("/a?c", "/abc", True),
        ("/a?c", "/abbc", False),
        ("/private/*", "/public/x", False),
        ("/a.b", "/aXb", False),  # dots are literal
        ("/[x]", "/[x]", True),  # brackets are literal, not a class
    ],
)
def test_path_patterns_as_cloudfront_matches_them(pattern: str, path: str, matches: bool) -> None:
    assert path_matches(pattern, path) is matches


def old_path_matches(pattern: str, path: str) -> bool:
    """store/edge_config.path_matches before sealbox.wildcards (issue 11), the oracle."""
    p = pattern if pattern.startswith(("/", "*")) else "/" + pattern
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p)
    return re.compile(body, re.DOTALL).fullmatch(path) is not None


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet="ab*?./[\n", max_size=10), st.text(alphabet="ab*?./[\n", max_size=14))
def test_path_matches_agrees_with_the_regex_it_replaced(pattern: str, path: str) -> None:
    assert path_matches(pattern, path) is old_path_matches(pattern, path)


def test_behaviour_for_path_first_match_else_default() -> None:
    cfg = DistributionConfig.from_document(config_doc(behaviours=[
        behaviour(("g-1",), pattern="/private/*"), behaviour(pattern="*.jpg")]))
    assert cfg.behavior_for("/private/a.jpg").path_pattern == "/private/*"
    assert cfg.behavior_for("/x/a.jpg").path_pattern == "*.jpg"
    assert cfg.behavior_for("/x/a.png") is cfg.default_behavior
    assert cfg.key_group_ids == {"g-1"}


def test_forwarded_headers_from_legacy_lists_and_managed_origin_request_policies() -> None:
    """Legacy ForwardedValues headers are forwarded and keyed; a managed origin
    request policy's are forwarded only (Using the managed origin request policies)."""
    legacy = DistributionConfig.from_document(config_doc()).default_behavior
    assert legacy.forward_referer and not legacy.forward_origin
    assert legacy.cache_key_headers == ("referer",)
    node = behaviour()
    node[3] = ["ForwardedValues", [["QueryString", "false"], ["Cookies", [["Forward", "none"]]],
                                   ["Headers", [["Quantity", "0"]]]]]
    node.append(["OriginRequestPolicyId", "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"])  # CORS-S3Origin
    doc = config_doc()
    doc[3] = ["DefaultCacheBehavior", node]
    cors = DistributionConfig.from_document(doc).default_behavior
    assert cors.forward_origin and not cors.forward_referer and cors.cache_key_headers == ()
    node[-1] = ["OriginRequestPolicyId", "216adef6-5c7f-47e4-b989-5492eafa07d3"]  # AllViewer
    every = DistributionConfig.from_document(doc).default_behavior
    assert every.forward_origin and every.forward_referer


@pytest.mark.parametrize(
    ("domain", "bucket"),
    [
        ("media.s3.amazonaws.com", "media"),
        ("media.s3.eu-west-1.amazonaws.com", "media"),
        ("my.dotted.bucket.s3-us-west-2.amazonaws.com", "my.dotted.bucket"),
        ("media", "media"),
        ("Media.s3.amazonaws.com", None),
        ("x", None),
        ("example.com/path", None),
    ],
)
def test_origin_domain_names_name_a_bucket(domain: str, bucket: str | None) -> None:
    assert origin_bucket(domain) == bucket


def test_config_defaults_are_added_in_botocore_order() -> None:
    cfg = DistributionConfig.from_document(config_doc())
    names = [p[0] for p in cfg.document]
    assert names[:6] == ["CallerReference", "Aliases", "DefaultRootObject", "Origins",
                         "OriginGroups", "DefaultCacheBehavior"]
    assert "PriceClass" in names and "IsIPV6Enabled" in names


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.pop(0), "MalformedInput"),  # no CallerReference
        (lambda d: d[2][1].__setitem__(0, ["Quantity", "2"]), "InconsistentQuantities"),
        (lambda d: d[3][1].__setitem__(0, ["TargetOriginId", "nope"]), "NoSuchOrigin"),
        (lambda d: d[3][1].__setitem__(2, ["ViewerProtocolPolicy", "ftp"]), "InvalidArgument"),
        (lambda d: d[3][1].__setitem__(4, ["MinTTL", "700"]), "InvalidTTLOrder"),
        (lambda d: d[3][1].__setitem__(4, ["MinTTL", "soon"]), "MalformedInput"),
        (lambda d: d[5].__setitem__(1, "yes"), "MalformedInput"),
        (lambda d: d[4].__setitem__(1, "x" * 129), "InvalidArgument"),
        (lambda d: d[1].__setitem__(1, [["Quantity", "1"], ["Items", [["CNAME", "bad host"]]]]),
         "InvalidArgument"),
    ],
)
def test_config_refusals_carry_cloudfront_codes(mutate: Any, code: str) -> None:
    doc = config_doc()
    mutate(doc)
    with pytest.raises(EdgeError) as e:
        DistributionConfig.from_document(doc)
    assert code_of(e) == code


def test_host_candidates() -> None:
    assert host_candidates("A.Example.COM:443") == ("a.example.com", "*.example.com")
    assert host_candidates("localhost") == ("localhost",)
    assert host_candidates("[::1]:9000") == ()


def _botocore_shapes() -> tuple[dict[str, Any], dict[str, Any]]:
    """edge_shapes' tables, rebuilt from the installed botocore's model."""
    from botocore.loaders import Loader  # type: ignore[import-untyped]

    shapes = Loader().load_service_model("cloudfront", "service-2", "2020-05-31")["shapes"]
    structs: dict[str, Any] = {}
    lists: dict[str, Any] = {}
    todo, seen = ["DistributionConfig"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        if shape["type"] == "structure":
            members = []
            for member, spec in shape["members"].items():
                nested = shapes[spec["shape"]]["type"] in ("structure", "list")
                members.append((spec.get("locationName", member), spec["shape"] if nested else ""))
                if nested:
                    todo.append(spec["shape"])
            structs[name] = tuple(members)
        elif shape["type"] == "list":
            item = shape["member"]
            nested = shapes[item["shape"]]["type"] in ("structure", "list")
            lists[name] = (item.get("locationName", "member"), item["shape"] if nested else "")
            if nested:
                todo.append(item["shape"])
    return structs, lists


def test_edge_shapes_match_botocores_model() -> None:
    from sealbox.store.edge_shapes import LISTS, STRUCTURES

    structs, lists = _botocore_shapes()
    assert structs == STRUCTURES
    assert lists == LISTS


def test_nested_elements_are_put_in_botocores_order() -> None:
    doc = config_doc()
    default = doc[3][1]
    default.reverse()  # MaxTTL … TargetOriginId
    cfg = DistributionConfig.from_document(doc)
    names = [p[0] for p in {p[0]: p[1] for p in cfg.document}["DefaultCacheBehavior"]]
    assert names == ["TargetOriginId", "TrustedKeyGroups", "ViewerProtocolPolicy",
                     "ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"]
    again = DistributionConfig.from_document(cfg.document)
    assert again.document == cfg.document


def _with_custom_header(name: str, value: str) -> list[Any]:
    doc = config_doc()
    origin = doc[2][1][1][1][0][1]
    origin.append(["CustomHeaders", [["Quantity", "1"], ["Items", [["OriginCustomHeader", [
        ["HeaderName", name], ["HeaderValue", value]]]]]]])
    return doc


def test_origin_custom_headers_that_could_be_sent_are_kept() -> None:
    assert DistributionConfig.from_document(_with_custom_header("X-Origin-Key", "a\tb é"))


@pytest.mark.parametrize(("name", "value"), [
    ("X-Key", "a\r\nb"), ("X-Key", "a\x00b"), ("X-Key", "\x7f"),
    ("X Key", "v"), ("X-Kéy", "v"), ("", "v"),
])
def test_origin_custom_headers_that_could_never_be_sent_are_invalid(name: str,
                                                                    value: str) -> None:
    with pytest.raises(EdgeError) as e:
        DistributionConfig.from_document(_with_custom_header(name, value))
    assert code_of(e) == "InvalidArgument"
