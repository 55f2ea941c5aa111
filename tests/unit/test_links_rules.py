"""sealbox.links.rules: the signing endpoint's rules document, parsed and
checked, with claims substituted as literal text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sealbox.links.rules import (
    MAX_DOCUMENT,
    RulesError,
    claim_text,
    parse_resource,
    parse_rules,
    parse_rules_text,
)

SECRET = "s" * 32


def document(**rule: Any) -> dict[str, Any]:
    return {"Issuers": [{"Name": "shop", "Issuer": "https://shop.example",
                         "Audience": "sealbox", "HS256Secret": SECRET}],
            "Rules": [{"Issuer": "shop", "SignAs": "signer", "Methods": ["GET"],
                       "Resource": "books/${jwt:sub}/*", **rule}]}


def test_a_good_document_parses_with_defaults() -> None:
    rules = parse_rules(document())
    rule = rules.rules[0]
    assert rule.max_expires == 900 and rule.max_uses is None and not rule.bind_client_ip
    assert rules.issuers[0].algorithm == "HS256"
    assert SECRET not in repr(rules.issuers[0])


def test_shown_hides_the_secret() -> None:
    shown = parse_rules(document()).shown()
    assert shown["Issuers"][0]["HS256Secret"] == "(set)"
    assert SECRET not in json.dumps(shown)


@pytest.mark.parametrize("rule, field", [
    ({"Colour": "blue"}, "Rules[0].Colour"),
    ({"Resource": "books/" + "*" * 65}, "Rules[0].Resource"),
    ({"Resource": "books"}, "Rules[0].Resource"),
    ({"Resource": "Bo*ks/x"}, "Rules[0].Resource"),
    ({"Resource": "books/${jwt:}/x"}, "Rules[0].Resource"),
    ({"Resource": "books/$HOME/x"}, "Rules[0].Resource"),
    ({"Issuer": "other"}, "Rules[0].Issuer"),
    ({"SignAs": "a b"}, "Rules[0].SignAs"),
    ({"Methods": []}, "Rules[0].Methods"),
    ({"Methods": ["get"]}, "Rules[0].Methods"),
    ({"MaxExpires": 0}, "Rules[0].MaxExpires"),
    ({"MaxUses": True}, "Rules[0].MaxUses"),
    ({"BindClientIp": "yes"}, "Rules[0].BindClientIp"),
    ({"ContentTypes": ["image/*"]}, "Rules[0]"),  # PUT only
    ({"AllowedOrigins": ["https://" + "*" * 65]}, "Rules[0].AllowedOrigins[0]"),
])
def test_bad_rules_name_their_field(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(RulesError) as refused:
        parse_rules(document(**rule))
    assert refused.value.field == field


@pytest.mark.parametrize("issuer, field", [
    ({"HS256Secret": "short"}, "Issuers[0].HS256Secret"),
    ({"PublicKeyPem": "not a pem"}, "Issuers[0]"),
    ({"JwksFile": "/etc/passwd"}, "Issuers[0]"),
    ({"Name": "has space"}, "Issuers[0].Name"),
    ({"Extra": 1}, "Issuers[0].Extra"),
])
def test_bad_issuers_name_their_field(issuer: dict[str, Any], field: str) -> None:
    doc = document()
    doc["Issuers"][0].update(issuer)
    with pytest.raises(RulesError) as refused:
        parse_rules(doc)
    assert refused.value.field == field


def test_a_large_document_is_refused() -> None:
    with pytest.raises(RulesError, match="at most"):
        parse_rules_text(b" " * (MAX_DOCUMENT + 1))
    doc = document()
    doc["Issuers"][0]["Issuer"] = "x" * MAX_DOCUMENT
    with pytest.raises(RulesError, match="at most"):
        parse_rules(doc)


@pytest.mark.parametrize("sub, key, matches", [
    ("alice", "alice/a.txt", True),
    ("alice", "bob/a.txt", False),
    ("a*", "a*/a.txt", True),
    ("a*", "ab/a.txt", False),
    ("a?", "ab/a.txt", False),
    ("a?", "a?/a.txt", True),
])
def test_claims_match_only_literally(sub: str, key: str, matches: bool) -> None:
    glob = parse_resource("books/${jwt:sub}/*", "Resource").glob({"sub": sub})
    assert glob is not None and glob.match(key) is matches


@pytest.mark.parametrize("value", ["", ".", "..", "../*", "a/b", "a\\b", "a\nb", None, True,
                                   ["a"], "x" * 257])
def test_claims_that_are_not_one_segment_make_the_rule_not_apply(value: object) -> None:
    assert claim_text(value) is None
    assert parse_resource("books/${jwt:sub}/*", "R").glob({"sub": value}) is None


def test_a_missing_claim_makes_the_rule_not_apply() -> None:
    assert parse_resource("books/${jwt:tenant}/*", "R").glob({"sub": "a"}) is None
