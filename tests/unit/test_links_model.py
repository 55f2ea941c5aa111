"""The links' pure parts: specs, expiries, bound addresses, fingerprints,
what a signed URL says it is (``links.revoke.identify``), the signed link
itself (``links.create.link_url``), and the gate's decisions over a real
store (a limited link judged with its use, an unlimited one held)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sealbox.auth.authenticate import authenticate
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import AuthResult, Credential, Principal, root_principal
from sealbox.errors import S3Error
from sealbox.links import model
from sealbox.links.create import create_link, link_url, url_signature
from sealbox.links.gate import LinkGate
from sealbox.links.model import LinkError, LinkRecord, LinkSpec
from sealbox.links.revoke import identify
from sealbox.links.terms import LinkRequest, LinkTerms
from sealbox.links.uses import UseBatches

NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
ROOT = Credential("AKIDROOT", "secret", root_principal("AKIDROOT"))


@pytest.mark.parametrize("given, seconds", [
    (3600, 3600), ("3600", 3600), ("15m", 900), ("12h", 43200), ("7d", 604800), ("1s", 1),
])
def test_expires_reads_seconds_and_durations(given: object, seconds: int) -> None:
    assert model.parse_expires(given) == seconds


@pytest.mark.parametrize("given", [0, -1, 604801, "8d", "soon", "1w", True, "1.5h"])
def test_expires_outside_one_second_to_seven_days_is_refused(given: object) -> None:
    with pytest.raises(LinkError):
        model.parse_expires(given)


def test_spec_parses_every_member() -> None:
    spec = LinkSpec.parse({"Bucket": "b", "Key": "u/a.png", "Method": "put", "Expires": "15m",
                           "MaxUses": 1, "BindIp": ["10.1.2.3/8", "2001:db8::1"],
                           "ContentType": "image/png", "MaxSize": 10, "Note": "avatar"})
    assert spec == LinkSpec("b", "u/a.png", "PUT", 900, 1, ("10.0.0.0/8", "2001:db8::1/128"),
                            "image/png", 10, "avatar")


@pytest.mark.parametrize("body, words", [
    ({"Key": "k"}, "Bucket"),
    ({"Bucket": "b"}, "Key"),
    ({"Bucket": "b", "Key": "k", "Method": "DELETE"}, "Method"),
    ({"Bucket": "b", "Key": "k", "MaxUses": 0}, "MaxUses"),
    ({"Bucket": "b", "Key": "k", "MaxUses": True}, "MaxUses"),
    ({"Bucket": "b", "Key": "k", "MaxUses": "3"}, "MaxUses"),
    ({"Bucket": "b", "Key": "k", "BindIp": ["nowhere"]}, "BindIp"),
    ({"Bucket": "b", "Key": "k", "BindIp": "10.0.0.0/8"}, "BindIp"),
    ({"Bucket": "b", "Key": "k", "ContentType": "text/plain"}, "PUT links only"),
    ({"Bucket": "b", "Key": "k", "Method": "PUT", "MaxSize": -1}, "MaxSize"),
    ({"Bucket": "b", "Key": "k", "Method": "PUT", "ResponseContentType": "a/b"}, "GET and HEAD"),
    ({"Bucket": "b", "Key": "k", "Note": "x" * 1025}, "Note"),
    ({"Bucket": "b", "Key": "k", "Note": "line\nbreak"}, "Note"),
])
def test_spec_refusals_name_the_member(body: dict[str, Any], words: str) -> None:
    with pytest.raises(LinkError) as refused:
        LinkSpec.parse(body)
    assert words in refused.value.message and refused.value.status == 400


@pytest.mark.parametrize("address, networks, inside", [
    ("127.0.0.2", ("127.0.0.2/32",), True),
    ("127.0.0.1", ("127.0.0.2/32",), False),
    ("::ffff:10.1.2.3", ("10.0.0.0/8",), True),
    ("2001:db8::5", ("2001:db8::/32",), True),
    ("", ("10.0.0.0/8",), False),
    ("anything", (), True),
])
def test_address_in_bound_networks(address: str, networks: tuple[str, ...],
                                   inside: bool) -> None:
    assert model.address_in(address, networks) is inside


def test_fingerprint_is_sha256_and_reads_hex_in_any_case() -> None:
    sig = "AB" * 32
    assert model.fingerprint(sig) == model.fingerprint(sig.lower())
    assert len(model.fingerprint("base64+/=")) == 64 and "base64" not in model.fingerprint("x")


def test_link_ids_are_fresh_and_recognised() -> None:
    ids = {model.new_link_id() for _ in range(100)}
    assert len(ids) == 100 and all(model.is_link_id(i) for i in ids)
    assert not model.is_link_id("lnk-../../etc") and not model.is_link_id("x")


def test_link_url_is_a_presigned_url_the_verifier_admits() -> None:
    spec = LinkSpec("bkt", "a b/c.txt", response_content_disposition="attachment")
    url = link_url(spec, "lnk-abcdefghijkmnpqrstuv", ROOT, "http://127.0.0.1:9000",
                   "us-east-1", NOW)
    parts = urlsplit(url)
    facts = RequestFacts("GET", parts.path, parts.query, {"host": "127.0.0.1:9000"})
    auth = authenticate(facts, {"AKIDROOT": ROOT}.get, NOW, "us-east-1")
    assert auth.auth_type == "REST-QUERY-STRING" and auth.signature == url_signature(url)
    # The link id is signed: changing it breaks the signature.
    forged = RequestFacts("GET", parts.path, parts.query.replace("uv&", "uw&"),
                          {"host": "127.0.0.1:9000"})
    with pytest.raises(S3Error) as refused:
        authenticate(forged, {"AKIDROOT": ROOT}.get, NOW, "us-east-1")
    assert refused.value.code == "SignatureDoesNotMatch"
    signed = identify(url)
    assert signed.kind == "sigv4" and signed.link_id == "lnk-abcdefghijkmnpqrstuv"
    assert signed.expires == int(NOW.timestamp()) + 3600


def test_identify_reads_sigv2_and_cloudfront_urls() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:9000/bkt/key")
    HmacV1QueryAuth(Credentials("AKIDROOT", "secret"), expires=600).add_auth(request)
    v2 = identify(request.url)
    assert v2.kind == "sigv2" and v2.link_id is None and v2.expires > 0
    cf = identify("https://d1.example/x.mp4?Expires=4102444800&Signature=a~b-c_&Key-Pair-Id=K1")
    assert (cf.kind, cf.signature, cf.expires) == ("cloudfront", "a~b-c_", 4102444800)
    by_cookie = identify("https://d1.example/x.mp4", {
        "CloudFront-Expires": "4102444800", "CloudFront-Signature": "sig",
        "CloudFront-Key-Pair-Id": "K1"})
    assert by_cookie.signature == "sig"


@pytest.mark.parametrize("url", [
    "https://example.com/plain", "ftp://x/y?X-Amz-Signature=1", "nonsense",
    "http://h/k?X-Amz-Signature=abc",  # the other X-Amz-* parameters missing
])
def test_identify_refuses_what_is_not_a_signed_url(url: str) -> None:
    with pytest.raises(LinkError):
        identify(url)


def test_created_link_names_the_headers_a_put_must_send() -> None:
    class Store:
        def insert_link(self, record: LinkRecord) -> None:
            self.record = record

    store = Store()
    created = create_link(store, ROOT, LinkSpec("b", "k", "PUT", content_type="image/png",
                                                max_uses=1, bind=("10.0.0.1/32",)),
                          NOW, endpoint="https://files.example", region="us-east-1")
    assert created.headers == {"Content-Type": "image/png"}
    assert store.record == created.record and created.record.access_key == "AKIDROOT"
    assert created.url.startswith("https://files.example/b/k?X-Sealbox-Link=")
    assert created.record.fingerprint == model.fingerprint(url_signature(created.url))
    assert created.as_json()["MaxUses"] == 1


# -- the gate ------------------------------------------------------------------------


class CountingReads:
    """A store's revoked set, counting reads."""

    def __init__(self) -> None:
        self.revoked: frozenset[str] = frozenset()
        self.reads = 0

    def revoked_fingerprints(self, now: int) -> frozenset[str]:
        self.reads += 1
        return self.revoked


LINK_ID = "lnk-abcdefghijkmnpqrstuv"
RECORD = LinkRecord(LINK_ID, "AKIDROOT", "arn", "bkt", "k", "PUT", 0, 10**10, 1,
                    ("10.0.0.0/8",), "image/png", 100, "", model.fingerprint("f" * 64))
UNLIMITED = dataclasses.replace(RECORD, link_id="lnk-unlimitedunlimitedun", max_uses=None)
AUTH = AuthResult(root_principal("AKIDROOT"), "REST-QUERY-STRING", signature="f" * 64)
QUERY = {model.LINK_PARAMETER: LINK_ID}
GOOD = {"content-type": "image/png", "content-length": "50"}


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[Any]:
    """A real store holding RECORD and UNLIMITED."""
    from sealbox.store.sqlite import SqliteMetaStore

    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    store.insert_link(RECORD)
    store.insert_link(UNLIMITED)
    yield store
    store.close()


async def _inline(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _check(gate: LinkGate, *, auth: AuthResult = AUTH, headers: dict[str, str] = GOOD,
           ip: str = "10.0.0.1", operation: str = "PutObject", key: str = "k",
           version: int = 1, link_id: str = LINK_ID) -> Any:
    return gate.check_s3(auth, {model.LINK_PARAMETER: link_id}, headers, ip, operation, "bkt",
                         key, version)


def _admit(gate: LinkGate, meta: Any, found: Any) -> LinkTerms:
    assert isinstance(found, LinkRequest)
    return asyncio.run(gate.admit(found, UseBatches(meta, _inline)))


def _reason(call: Any) -> str:
    with pytest.raises(S3Error) as refused:
        call()
    assert refused.value.code == "AccessDenied"
    return refused.value.message


def test_gate_judges_a_limited_link_with_its_use_and_counts_it(meta: Any) -> None:
    gate = LinkGate(meta, lambda: 0)
    terms = _admit(gate, meta, _check(gate))
    assert terms == LinkTerms.of(RECORD) and terms.max_size == 100
    assert meta.get_link(LINK_ID).uses == 1
    # A limited link is never judged from memory: its use is counted with it.
    assert isinstance(_check(gate), LinkRequest)
    assert _reason(lambda: _admit(gate, meta, _check(gate))) == model.USED_UP
    assert meta.get_link(LINK_ID).uses == 1


REFUSALS = [
    ({"ip": "192.0.2.1"}, model.WRONG_ADDRESS),
    ({"headers": {"content-type": "text/html", "content-length": "5"}},
     "The link requires the Content-Type image/png"),
    ({"headers": {"content-type": "image/png", "content-length": "101"}},
     "The link allows a body of at most 100 bytes"),
    ({"headers": {"content-type": "image/png"}}, model.NO_LENGTH),
    ({"operation": "CopyObject"}, model.WRONG_OPERATION),
    ({"key": "other"}, model.WRONG_OPERATION),
    ({"auth": AuthResult(Principal("user", "u", "arn:u", "AKIDUSER"), "REST-QUERY-STRING",
                         signature="f" * 64)}, model.WRONG_SIGNER),
]


@pytest.mark.parametrize("change, why", REFUSALS)
def test_gate_refuses_a_limited_link_with_the_reason_and_spends_no_use(
        meta: Any, change: dict[str, Any], why: str) -> None:
    gate = LinkGate(meta, lambda: 0)
    assert _reason(lambda: _admit(gate, meta, _check(gate, **change))) == why
    assert meta.get_link(LINK_ID).uses == 0
    _admit(gate, meta, _check(gate))  # the one use is still there


@pytest.mark.parametrize("change, why", REFUSALS)
def test_gate_holds_an_unlimited_link_and_refuses_from_memory(
        meta: Any, change: dict[str, Any], why: str) -> None:
    gate = LinkGate(meta, lambda: 0)
    first = _check(gate, link_id=UNLIMITED.link_id)
    assert isinstance(first, LinkRequest)  # not held yet: judged in the store
    _admit(gate, meta, first)
    meta.close()  # from now on the gate answers alone
    assert _check(gate, link_id=UNLIMITED.link_id) == LinkTerms.of(UNLIMITED)
    assert _reason(lambda: _check(gate, link_id=UNLIMITED.link_id, **change)) == why


def test_gate_refuses_unknown_links(meta: Any) -> None:
    gate = LinkGate(meta, lambda: 0)
    unknown = _check(gate, link_id="lnk-zzzzzzzzzzzzzzzzzzzz")
    assert _reason(lambda: _admit(gate, meta, unknown)) == model.UNKNOWN_LINK
    # Not a link id at all: refused before any store is asked.
    assert _reason(lambda: _check(gate, link_id="lnk-' OR 1=1 --")) == model.UNKNOWN_LINK


def test_gate_judges_for_the_doctor_without_a_use(meta: Any) -> None:
    gate = LinkGate(meta, lambda: 0)
    record = meta.get_link(LINK_ID)
    gate.judge(AUTH, QUERY, GOOD, "10.0.0.1", "PutObject", "bkt", "k", 1, record)
    assert _reason(lambda: gate.judge(AUTH, QUERY, GOOD, "192.0.2.1", "PutObject", "bkt",
                                      "k", 1, record)) == model.WRONG_ADDRESS
    assert _reason(lambda: gate.judge(AUTH, QUERY, GOOD, "10.0.0.1", "PutObject", "bkt",
                                      "k", 1, None)) == model.UNKNOWN_LINK
    assert meta.get_link(LINK_ID).uses == 0


def test_gate_reads_revocations_once_per_access_version() -> None:
    store = CountingReads()
    gate = LinkGate(store, lambda: 0)
    plain = AuthResult(root_principal("AKIDROOT"), "REST-QUERY-STRING", signature="e" * 64)
    for _ in range(3):
        assert gate.check_s3(plain, {}, {}, "", "GetObject", "bkt", "k", 7) is None
    assert store.reads == 1
    store.revoked = frozenset({model.fingerprint("E" * 64)})
    assert gate.check_s3(plain, {}, {}, "", "GetObject", "bkt", "k", 7) is None  # cached
    assert _reason(lambda: gate.check_s3(plain, {}, {}, "", "GetObject", "bkt", "k", 8)) == \
        model.REVOKED


def test_gate_leaves_header_signed_requests_alone() -> None:
    gate = LinkGate(CountingReads(), lambda: 0)
    header = AuthResult(root_principal("AKIDROOT"), "REST-HEADER", signature="f" * 64)
    assert gate.check_s3(header, QUERY, {}, "", "GetObject", "x", "y", 1) is None
