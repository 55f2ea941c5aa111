"""sealbox.links.signing: tokens verified with each issuer's one algorithm,
against a fixed clock, and the first rule that admits a request."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.links.rules import parse_rules
from sealbox.links.signing import (
    LEEWAY,
    SignError,
    SignRequest,
    bearer_token,
    choose,
    verify_token,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
SECRET = "s" * 32
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()
RULES = parse_rules({
    "Issuers": [{"Name": "shop", "Issuer": "https://shop", "Audience": "sb",
                 "HS256Secret": SECRET},
                {"Name": "rsa", "Issuer": "https://rsa", "Audience": "sb", "PublicKeyPem": PEM}],
    "Rules": [{"Issuer": "shop", "SignAs": "u", "Methods": ["GET"],
               "Resource": "books/${jwt:sub}/*", "MaxExpires": 600, "MaxUses": 2},
              {"Issuer": "shop", "SignAs": "u", "Methods": ["PUT"],
               "Resource": "ups/${jwt:sub}/*", "ContentTypes": ["image/*"], "MaxSize": 10,
               "AllowedOrigins": ["https://shop"]}]})


def hs(**claims: object) -> str:
    return jwt.encode({"iss": "https://shop", "aud": "sb", "sub": "al", "exp": T + 60,
                       **claims}, SECRET, algorithm="HS256")


def test_a_good_token_gives_its_issuer_and_claims() -> None:
    issuer, claims = verify_token(hs(), RULES, NOW)
    assert issuer.name == "shop" and claims["sub"] == "al"


@pytest.mark.parametrize("token, said", [
    (hs(exp=T - LEEWAY - 1), "expired"),
    (hs(nbf=T + LEEWAY + 1), "not valid yet"),
    (hs(aud="other"), "audience"),
    (hs(iss="https://nobody"), "issuer"),
    (hs(exp="tomorrow"), "exp"),
    (jwt.encode({"iss": "https://shop", "aud": "sb"}, SECRET, algorithm="HS256"), "'exp'"),
    (jwt.encode({"iss": "https://shop", "aud": "sb", "exp": T + 60}, None, algorithm="none"),
     "HS256"),
    (jwt.encode({"iss": "https://rsa", "aud": "sb", "exp": T + 60}, SECRET,
                algorithm="HS256"), "RS256"),
    ("x.y.z", "not a JWT"),
])
def test_bad_tokens_are_401(token: str, said: str) -> None:
    with pytest.raises(SignError) as refused:
        verify_token(token, RULES, NOW)
    assert refused.value.status == 401 and said in refused.value.message


def test_within_the_leeway_is_accepted() -> None:
    verify_token(hs(exp=T - LEEWAY + 1, nbf=T + LEEWAY - 1), RULES, NOW)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer " + "x" * 9000])
def test_bearer_token_refuses_what_is_not_one(header: str | None) -> None:
    with pytest.raises(SignError):
        bearer_token(header)


def test_choose_caps_expires_and_carries_uses_and_size() -> None:
    issuer, claims = verify_token(hs(), RULES, NOW)
    got = choose(RULES, issuer, claims, SignRequest("books", "al/x", "GET", None, 99999), None)
    assert (got.expires, got.max_uses) == (600, 2)
    put = choose(RULES, issuer, claims, SignRequest("ups", "al/x.png", "PUT", "image/png"),
                 "https://shop")
    assert put.max_size == 10


@pytest.mark.parametrize("asked, origin", [
    (SignRequest("books", "bob/x", "GET"), None),
    (SignRequest("books", "al/x", "HEAD"), None),
    (SignRequest("books", "al/x", "GET"), "https://shop"),  # the GET rule allows no page
    (SignRequest("ups", "al/x", "PUT", "text/html"), "https://shop"),
    (SignRequest("ups", "al/x", "PUT", "image/png"), "https://evil"),
])
def test_choose_refuses_what_no_rule_admits(asked: SignRequest, origin: str | None) -> None:
    issuer, claims = verify_token(hs(), RULES, NOW)
    with pytest.raises(SignError) as refused:
        choose(RULES, issuer, claims, asked, origin)
    assert refused.value.status == 403


@pytest.mark.parametrize("body", [b"{", b"1", b'{"Bucket": "b", "Key": "a//b"}',
                                  b'{"Bucket": "b", "Key": "./b"}',
                                  b'{"Bucket": "b", "Key": "k", "ContentType": "a/b"}'])
def test_sign_request_refuses_bad_bodies(body: bytes) -> None:
    with pytest.raises(SignError) as refused:
        SignRequest.parse(body)
    assert refused.value.status == 400


def test_an_unknown_client_address_cannot_be_bound() -> None:
    from sealbox.api.sign.endpoint import _host_network

    assert _host_network("127.0.0.2") == "127.0.0.2/32"
    assert _host_network("::1") == "::1/128"
    with pytest.raises(SignError) as refused:
        _host_network("")
    assert refused.value.status == 403
