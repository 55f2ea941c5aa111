"""sealbox.auth.cloudfront_sign: the smithy-rs vectors reproduced
byte-for-byte (RSA) or verified (ECDSA), the canned/custom choice, SHA256,
cookies, and the inputs a signer must refuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from sealbox.auth.cloudfront import (
    CloudFrontRefusal,
    PublicKey,
    b64decode_cloudfront,
    canned_policy,
    verify_request,
)
from sealbox.auth.cloudfront_sign import (
    custom_policy,
    epoch_seconds,
    load_private_key,
    sign,
    sign_cookies,
    sign_policy,
    sign_url,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "cloudfront"
CASES = json.loads((VECTORS / "test-cases.json").read_text())
KEYS: dict[str, Any] = {name: serialization.load_pem_private_key((VECTORS / name).read_bytes(), None)
        for name in ("test-rsa-key.pem", "test-ecdsa-key.pem")}  # RSA-1024: built directly
NOW = 1767290000


def _sign_case(case: dict[str, Any]) -> Any:
    given = case["input"]
    return sign(given["resource"], given["keyPairId"], KEYS[given["privateKeyFile"]],
                date_less_than=given.get("expirationDate"),
                date_greater_than=given.get("activeDate"), ip_address=given.get("ipRange"))


def _policy_of(case: dict[str, Any]) -> str:
    given = case["input"]
    if "Expires" in case["expected"].get("queryParams", {}) or \
            "CloudFront-Expires" in case["expected"].get("cookies", {}):
        return canned_policy(given["resource"], given["expirationDate"])
    return custom_policy(given["resource"], given["expirationDate"], given.get("activeDate"),
                         given.get("ipRange"))


@pytest.mark.parametrize("case", [c for c in CASES if "policyJson" in c["expected"]],
                         ids=lambda case: case["id"])
def test_policy_json_matches_the_vector(case: dict[str, Any]) -> None:
    assert _policy_of(case) == case["expected"]["policyJson"]


RSA_CASES = [c for c in CASES if c["expected"].get("signatureAlgorithm") == "RSA-SHA1"]


@pytest.mark.parametrize("case", RSA_CASES, ids=lambda case: case["id"])
def test_rsa_signature_matches_the_vector_byte_for_byte(case: dict[str, Any]) -> None:
    expected = case["expected"]
    key = KEYS[case["input"]["privateKeyFile"]]
    signature = expected.get("signature") or expected["cookies"]["CloudFront-Signature"]
    assert sign_policy(expected["policyJson"].encode(), key) == signature


@pytest.mark.parametrize("case", [c for c in RSA_CASES if c["id"] != "json-injection-ip-range"],
                         ids=lambda case: case["id"])
def test_signed_parameters_match_the_vector(case: dict[str, Any]) -> None:
    signed = _sign_case(case)
    expected = case["expected"]
    if "cookies" in expected:
        assert {k: v for k, v in signed.cookies().items() if k != "CloudFront-Policy"} == \
            {k: v for k, v in expected["cookies"].items() if k != "CloudFront-Policy"}
        if "CloudFront-Policy" in expected["cookies"]:
            assert b64decode_cloudfront(signed.cookies()["CloudFront-Policy"]) == \
                b64decode_cloudfront(expected["cookies"]["CloudFront-Policy"])
        return
    parameters = dict(signed.parameters)
    assert parameters["Signature"] == expected["signature"]
    assert parameters["Key-Pair-Id"] == expected["queryParams"]["Key-Pair-Id"]
    assert parameters.get("Expires") == expected["queryParams"].get("Expires")
    if "Policy" in parameters:
        assert b64decode_cloudfront(parameters["Policy"]).decode() == expected["policyJson"]


def test_ecdsa_vector_signs_and_verifies() -> None:
    case = next(c for c in CASES if c["id"] == "ecdsa-canned-policy-url")
    given = case["input"]
    url = sign_url(given["resource"], given["keyPairId"], KEYS[given["privateKeyFile"]],
                   date_less_than=given["expirationDate"])
    assert "Expires=1767290400&Signature=" in url
    trusted: dict[str, PublicKey] = {"K2ECDSATEST": KEYS["test-ecdsa-key.pem"].public_key()}
    grant = verify_request(url, {}, source_ip=None, now=NOW, trusted_keys=trusted)
    assert (grant.key_pair_id, grant.policy) == ("K2ECDSATEST", "canned")


@pytest.mark.parametrize(("case_id", "words"), [
    ("error-missing-expiration", ["expiration", "required"]),
    ("error-active-after-expiration", ["active", "before", "expiration"]),
])
def test_vector_errors_are_refused_saying_why(case_id: str, words: list[str]) -> None:
    case = next(c for c in CASES if c["id"] == case_id)
    with pytest.raises(ValueError) as caught:
        _sign_case(case)
    assert all(word in str(caught.value) for word in words)


def test_an_address_range_that_is_not_a_cidr_is_refused() -> None:
    # The vector signs it (escaped, harmlessly); sealbox's signer refuses it
    # up front, since CloudFront could never match it.
    case = next(c for c in CASES if c["id"] == "json-injection-ip-range")
    with pytest.raises(ValueError, match="ip address"):
        _sign_case(case)


# --- round trips through the verifier ----------------------------------------------------

RSA_2048 = rsa.generate_private_key(65537, 2048)
P256 = ec.generate_private_key(ec.SECP256R1())
TRUSTED: dict[str, PublicKey] = {"KRSA": RSA_2048.public_key(), "KEC": P256.public_key()}
URL = "https://cdn.example/videos/intro.mp4?lang=en"


def judge(url: str, cookies: dict[str, str] | None = None, *, ip: str = "10.1.2.3",
          now: float = NOW) -> Any:
    return verify_request(url if cookies is None else URL, cookies or {}, source_ip=ip,
                          now=now, trusted_keys=TRUSTED)


@pytest.mark.parametrize("key_id", ["KRSA", "KEC"])
@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
@pytest.mark.parametrize("options", [
    {}, {"date_greater_than": NOW - 60}, {"ip_address": "10.0.0.0/8"},
    {"resource": "https://cdn.example/videos/*"}, {"policy": "custom"},
], ids=["canned", "start", "ip", "wildcard", "forced-custom"])
@pytest.mark.parametrize("as_cookies", [False, True], ids=["url", "cookies"])
def test_signed_links_verify(key_id: str, algorithm: str, options: dict[str, Any],
                             as_cookies: bool) -> None:
    key = RSA_2048 if key_id == "KRSA" else P256
    common = {"date_less_than": NOW + 3600, "hash_algorithm": algorithm, **options}
    if as_cookies:
        grant = judge(URL, sign_cookies(URL, key_id, key, **common))
    else:
        grant = judge(sign_url(URL, key_id, key, **common))
    assert grant.key_pair_id == key_id and grant.expires == NOW + 3600
    assert grant.hash_algorithm == algorithm
    assert grant.policy == ("canned" if not options else "custom")
    with pytest.raises(CloudFrontRefusal):
        judge(sign_url(URL, key_id, key, **common), now=NOW + 3600)


def test_parameters_come_in_the_sdks_order() -> None:
    signed = sign(URL, "KRSA", RSA_2048, date_less_than=NOW + 60, hash_algorithm="SHA256")
    assert [name for name, _ in signed.parameters] == \
        ["Expires", "Signature", "Key-Pair-Id", "Hash-Algorithm"]
    assert list(signed.cookies()) == ["CloudFront-Expires", "CloudFront-Signature",
                                      "CloudFront-Key-Pair-Id", "CloudFront-Hash-Algorithm"]
    custom = sign(URL, "KRSA", RSA_2048, date_less_than=NOW + 60, ip_address="10.0.0.1")
    assert [name for name, _ in custom.parameters] == ["Policy", "Signature", "Key-Pair-Id"]
    assert b'"AWS:SourceIp":"10.0.0.1/32"' in b64decode_cloudfront(dict(custom.parameters)["Policy"])


def test_dates_may_be_datetimes_naive_meaning_utc() -> None:
    moment = datetime(2026, 1, 1, 18, 0, 0)
    assert epoch_seconds(moment) == 1767290400
    assert epoch_seconds(moment.replace(tzinfo=UTC)) == 1767290400
    assert epoch_seconds(datetime(2026, 1, 1, 20, 0, tzinfo=timezone(timedelta(hours=2)))) == \
        1767290400


@pytest.mark.parametrize(("options", "error", "says"), [
    ({"date_less_than": None}, ValueError, "expiration"),
    ({"date_less_than": "tomorrow"}, TypeError, "not a date"),
    ({"date_less_than": NOW, "date_greater_than": NOW}, ValueError, "before the expiration"),
    ({"date_less_than": NOW, "ip_address": "2001:db8::/32"}, ValueError, "IPv4"),
    ({"date_less_than": NOW, "ip_address": "10.0.0.0/33"}, ValueError, "ip address"),
    ({"date_less_than": NOW, "policy": "canned", "ip_address": "10.0.0.1"}, ValueError, "canned"),
    ({"date_less_than": NOW, "policy": "canned", "resource": "https://cdn.example/*"},
     ValueError, "canned"),
    ({"date_less_than": NOW, "hash_algorithm": "MD5"}, ValueError, "SHA1 or SHA256"),
])
def test_bad_signing_options_are_refused(options: dict[str, Any], error: type[Exception],
                                         says: str) -> None:
    with pytest.raises(error, match=says):
        sign(URL, "KRSA", RSA_2048, **options)


def _private_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_load_private_key_takes_rsa_2048_and_p256() -> None:
    assert isinstance(load_private_key(_private_pem(RSA_2048)), rsa.RSAPrivateKey)
    traditional = P256.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())
    assert isinstance(load_private_key(traditional.decode()), ec.EllipticCurvePrivateKey)


@pytest.mark.parametrize(("pem", "error", "says"), [
    (lambda: (VECTORS / "test-rsa-key.pem").read_bytes(), ValueError, "1024 bits"),
    (lambda: _private_pem(ec.generate_private_key(ec.SECP384R1())), ValueError, "P-256"),
    (lambda: _private_pem(ed25519.Ed25519PrivateKey.generate()), TypeError, "RSA 2048"),
    (lambda: b"not a key", ValueError, "not a PEM private key"),
], ids=["rsa-1024", "p384", "ed25519", "garbage"])
def test_load_private_key_refuses_other_keys(pem: Any, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=says):
        load_private_key(pem())
