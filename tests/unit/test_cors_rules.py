"""CORS rule matching and response headers (sealbox.http.cors), and the
CORSConfiguration document as PutBucketCors reads it (sealbox.api.s3.cors).

Tables: the AWS User Guide's example configurations ("Examples of CORS
configurations"), and the requests and answers LocalStack recorded against
AWS (tests/aws/services/s3/test_s3_cors.snapshot.json)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.api.s3.cors import (
    decode_rules,
    encode_rules,
    parse_cors_xml,
    render_cors,
    servable_rules,
)
from sealbox.errors import S3Error
from sealbox.http.cors import (
    VARY,
    CorsRule,
    find_rule,
    parse_header_list,
    response_headers,
    wildcard_match,
)

# -- wildcards ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "https://anything:8443", True),
        ("http://www.example.com", "http://www.example.com", True),
        ("http://www.example.com", "http://www.example.com/", False),
        ("http://www.example.com", "https://www.example.com", False),
        ("http://www.example.com", "HTTP://WWW.EXAMPLE.COM", False),  # origins: exact case
        ("http://*.example.com", "http://app.example.com", True),
        ("http://*.example.com", "http://a.b.example.com", True),
        ("http://*.example.com", "http://example.com", False),
        ("http://*.example.com", "http://app.example.com.evil.net", False),
        ("http://*.origin.com", "http://test.origin.com/", False),  # AWS-recorded: fails
        ("http://*.example.com", "https://app.example.com", False),
        ("http://*.example.com", "http://.example.com", True),  # the run may be empty
        ("http://localhost:*", "http://localhost:5173", True),
        ("*.example.com", "https://x.example.com", True),
        ("x-amz-*", "x-amz-date", True),
        ("x-amz-*", "x-amz-", True),
        ("x-amz-*", "x-am", False),
        ("ab*ba", "aba", False),  # head and tail may not overlap
        ("ab*ba", "abba", True),
    ],
)
def test_wildcard_match(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def old_wildcard_match(pattern: str, value: str) -> bool:
    """http/cors.wildcard_match before sealbox.wildcards (issue 11), the oracle."""
    star = pattern.find("*")
    if star < 0:
        return pattern == value
    head, tail = pattern[:star], pattern[star + 1 :]
    return (
        len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)
    )


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet="ab*?.:/\n", max_size=8), st.text(alphabet="ab*?.:/\n", max_size=12))
def test_wildcard_match_agrees_with_the_matcher_it_replaced(pattern: str, value: str) -> None:
    # Only the first * is a wildcard; ? is itself (CORS has no one-character wildcard).
    assert wildcard_match(pattern, value) is old_wildcard_match(pattern, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("content-type", ("content-type",)),
        ("Content-Type,X-Amz-Date", ("content-type", "x-amz-date")),
        ("x-amz-request-payer, x-amz-expected-bucket-owner",
         ("x-amz-request-payer", "x-amz-expected-bucket-owner")),
        (" a ,, b ,", ("a", "b")),
    ],
)
def test_parse_header_list(value: str, expected: tuple[str, ...]) -> None:
    assert parse_header_list(value) == expected


# -- rule selection ----------------------------------------------------------------

# User Guide, "Examples of CORS configurations", example 1.
AWS_EXAMPLE_1 = (
    CorsRule(("http://www.example1.com",), ("PUT", "POST", "DELETE"), ("*",)),
    CorsRule(("http://www.example2.com",), ("PUT", "POST", "DELETE"), ("*",)),
    CorsRule(("*",), ("GET",)),
)
# User Guide, example 2 (MaxAgeSeconds and ExposeHeader).
AWS_EXAMPLE_2 = (
    CorsRule(
        ("http://www.example.com",),
        ("PUT", "POST", "DELETE"),
        ("*",),
        ("x-amz-server-side-encryption", "x-amz-request-id", "x-amz-id-2"),
        3000,
    ),
)
HEADERS_RULES = (
    CorsRule(("https://app.example.com",), ("GET",),
             ("x-amz-expected-bucket-owner", "x-AMZ-server-SIDE-encryption"), id="exact"),
    CorsRule(("https://app.example.com",), ("GET", "PUT"), ("Content-*", "x-amz-*"), id="prefix"),
    CorsRule(("https://*.example.com",), ("GET",), ("*",), id="any"),
)
RULE_SETS = {"aws1": AWS_EXAMPLE_1, "aws2": AWS_EXAMPLE_2, "headers": HEADERS_RULES}

# (rule set, origin, method, requested headers) -> index of the rule, or None
SELECTION = [
    ("aws1", "http://www.example1.com", "PUT", "", 0),
    ("aws1", "http://www.example1.com", "DELETE", "content-type, x-amz-date", 0),
    ("aws1", "http://www.example2.com", "POST", "", 1),
    ("aws1", "http://www.example1.com", "GET", "", 2),  # falls through to the * rule
    ("aws1", "http://www.example3.com", "GET", "", 2),
    ("aws1", "http://www.example3.com", "PUT", "", None),
    ("aws1", "http://www.example3.com", "GET", "x-amz-date", None),  # rule 3 has no headers
    ("aws1", "http://www.example1.com", "HEAD", "", None),
    ("aws1", "http://www.example1.com", "put", "", None),  # methods: exact case
    ("aws1", "https://www.example1.com", "PUT", "", None),
    ("aws2", "http://www.example.com", "PUT", "x-anything", 0),
    ("aws2", "http://www.example.com", "GET", "", None),
    ("headers", "https://app.example.com", "GET", "x-amz-expected-bucket-owner", 0),
    # AWS-recorded: requested in any case, allowed in any case
    ("headers", "https://app.example.com", "GET",
     "x-AMZ-expected-BUCKET-owner, x-amz-server-side-encryption", 0),
    ("headers", "https://app.example.com", "GET", "x-amz-request-payer", 1),
    ("headers", "https://app.example.com", "PUT", "content-type, content-md5, x-amz-date", 1),
    ("headers", "https://app.example.com", "PUT", "content-type, authorization", None),
    ("headers", "https://app.example.com", "GET", "authorization", 2),  # falls through
    ("headers", "https://cdn.example.com", "GET", "authorization", 2),
    ("headers", "https://cdn.example.com", "PUT", "", None),
]


@pytest.mark.parametrize(("rules", "origin", "method", "requested", "expected"), SELECTION)
def test_find_rule(rules: str, origin: str, method: str, requested: str,
                   expected: int | None) -> None:
    rule_set = RULE_SETS[rules]
    found = find_rule(rule_set, origin, method, parse_header_list(requested))
    assert found is (None if expected is None else rule_set[expected])


def test_find_rule_without_rules() -> None:
    assert find_rule((), "https://a", "GET") is None


# -- response headers --------------------------------------------------------------

ORIGIN = "https://localhost:4200"


def test_headers_for_a_named_origin_allow_credentials() -> None:
    # AWS-recorded "opt-right-origin"
    rule = CorsRule((ORIGIN,), ("GET", "PUT"), ("*",), max_age_seconds=3000)
    assert dict(response_headers(rule, ORIGIN)) == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-max-age": "3000",
        "vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }


def test_headers_for_the_any_origin_rule_are_a_star_without_credentials() -> None:
    # AWS-recorded "opt-random-wildcard-origin"
    rule = CorsRule(("*",), ("GET", "PUT"), ("*",), max_age_seconds=3000)
    assert dict(response_headers(rule, "http://random:1234")) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, PUT",
        "access-control-max-age": "3000",
        "vary": VARY,
    }


def test_headers_for_a_wildcard_origin_echo_the_origin() -> None:
    # AWS-recorded "options_match_partial_origin"
    rule = CorsRule(("http://*.origin.com",), ("GET", "PUT"), ("*",), max_age_seconds=3000)
    headers = dict(response_headers(rule, "http://test.origin.com"))
    assert headers["access-control-allow-origin"] == "http://test.origin.com"
    assert headers["access-control-allow-credentials"] == "true"


def test_headers_echo_requested_headers_lower_cased() -> None:
    # AWS-recorded "opt-get-allowed-diff-casing"
    rule = CorsRule((ORIGIN,), ("GET",), ("x-amz-expected-bucket-owner",))
    requested = parse_header_list("x-AMZ-expected-BUCKET-owner, x-amz-server-side-encryption")
    headers = dict(response_headers(rule, ORIGIN, requested))
    assert headers["access-control-allow-headers"] == (
        "x-amz-expected-bucket-owner, x-amz-server-side-encryption"
    )


def test_headers_expose_in_rule_order_and_defaults_leave_out_max_age() -> None:
    # AWS-recorded "opt-get" of test_cors_expose_headers / test_put_cors_default_values
    rule = CorsRule(("*",), ("GET",), (), ("x-amz-id-2", "x-amz-request-id", "x-amz-request-payer"))
    assert response_headers(rule, "localhost:4566") == [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET"),
        ("access-control-expose-headers", "x-amz-id-2, x-amz-request-id, x-amz-request-payer"),
        ("vary", VARY),
    ]


def test_headers_max_age_zero_is_sent() -> None:
    rule = CorsRule(("*",), ("GET",), max_age_seconds=0)
    assert ("access-control-max-age", "0") in response_headers(rule, "https://a")


# -- the document ------------------------------------------------------------------


def _xml(*rules: str, ns: bool = True) -> bytes:
    attr = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' if ns else ""
    return f"<CORSConfiguration{attr}>{''.join(rules)}</CORSConfiguration>".encode()


def _rule(*children: str) -> str:
    return "<CORSRule>" + "".join(children) + "</CORSRule>"


def test_parse_the_aws_example_with_every_element() -> None:
    body = _xml(_rule(
        "<ID>rule-1</ID>",
        "<AllowedOrigin>http://www.example.com</AllowedOrigin>",
        "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>",
        "<AllowedMethod>DELETE</AllowedMethod>",
        "<AllowedHeader>*</AllowedHeader>",
        "<MaxAgeSeconds>3000</MaxAgeSeconds>",
        "<ExposeHeader>x-amz-server-side-encryption</ExposeHeader>",
        "<ExposeHeader>x-amz-request-id</ExposeHeader>",
    ), _rule("<AllowedOrigin>*</AllowedOrigin>", "<AllowedMethod>GET</AllowedMethod>"), ns=False)
    rules = parse_cors_xml(body)
    assert rules == (
        CorsRule(("http://www.example.com",), ("PUT", "POST", "DELETE"), ("*",),
                 ("x-amz-server-side-encryption", "x-amz-request-id"), 3000, "rule-1"),
        CorsRule(("*",), ("GET",)),
    )
    assert decode_rules(encode_rules(rules)) == rules


def test_render_round_trips_through_parse() -> None:
    rules = (
        CorsRule(("https://a.example", "http://*.b.example"), ("GET", "HEAD"),
                 ("x-AMZ-Mixed-Case", "content-*"), ("ETag",), 0, "id <&>"),
        CorsRule(("",), ("PUT",)),  # AWS keeps an empty AllowedOrigin
    )
    body = render_cors(rules)
    assert b"<MaxAgeSeconds>0</MaxAgeSeconds>" in body
    assert b"<ID>id &lt;&amp;&gt;</ID>" in body
    assert parse_cors_xml(body) == rules


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (_xml(), "MalformedXML", None),  # AWS-recorded: no rules
        (b"", "MalformedXML", None),
        (b"<CORSConfiguration><CORSRule>", "MalformedXML", None),
        (b"<CORSRules/>", "MalformedXML", None),
        (_xml(_rule("<AllowedMethod>GET</AllowedMethod>")), "MalformedXML", None),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin>")), "MalformedXML", None),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                    "<Bogus>1</Bogus>")), "MalformedXML", None),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                    "<MaxAgeSeconds>soon</MaxAgeSeconds>")), "MalformedXML", None),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                    "<MaxAgeSeconds>-1</MaxAgeSeconds>")), "MalformedXML", None),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                    "<ID>a</ID><ID>b</ID>")), "MalformedXML", None),
        # AWS-recorded wording, no quotes around the method
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedOrigin>https://test.com"
                    "</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                    "<AllowedMethod>MYMETHOD</AllowedMethod>")),
         "InvalidRequest",
         "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD"),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>")),
         "InvalidRequest",
         "Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS"),
        (_xml(_rule("<AllowedOrigin>http://*.*.com</AllowedOrigin>",
                    "<AllowedMethod>GET</AllowedMethod>")),
         "InvalidRequest", 'AllowedOrigin "http://*.*.com" can not have more than one wildcard.'),
        (_xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                    "<AllowedHeader>x-*-*</AllowedHeader>")),
         "InvalidRequest", 'AllowedHeader "x-*-*" can not have more than one wildcard.'),
        (_xml(*[_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")]
              * 101), "InvalidRequest",
         "The number of CORS rules should not exceed allowed limit of 100 rules."),
    ],
)
def test_parse_refuses(body: bytes, code: str, message: str | None) -> None:
    with pytest.raises(S3Error) as e:
        parse_cors_xml(body)
    assert e.value.code == code
    if message is not None:
        assert e.value.message == message


def test_parse_accepts_a_hundred_rules() -> None:
    one = _rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")
    assert len(parse_cors_xml(_xml(*[one] * 100))) == 100


def test_parse_refuses_more_than_64_kib() -> None:
    big = _rule("<AllowedOrigin>" + "a" * 70_000 + "</AllowedOrigin>",
                "<AllowedMethod>GET</AllowedMethod>")
    with pytest.raises(S3Error) as e:
        parse_cors_xml(_xml(big))
    assert e.value.code == "MaxMessageLengthExceeded"


# -- values that become headers ------------------------------------------------------


@pytest.mark.parametrize("element", ["AllowedOrigin", "AllowedHeader", "ExposeHeader"])
@pytest.mark.parametrize("char", ["&#10;", "&#13;", "\x7f"])  # what XML 1.0 can carry
def test_parse_refuses_a_control_character_in_a_header_value(element: str, char: str) -> None:
    rule = {"AllowedOrigin": "*", "AllowedMethod": "GET", element: f"x{char}y"}
    body = _xml(_rule(*[f"<{k}>{v}</{k}>" for k, v in rule.items()]))
    with pytest.raises(S3Error) as e:
        parse_cors_xml(body)
    assert e.value.code == "InvalidRequest"


@pytest.mark.parametrize("element", ["AllowedHeader", "ExposeHeader"])
def test_parse_refuses_non_ascii_header_names(element: str) -> None:
    body = _xml(_rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
                      f"<{element}>x-日本</{element}>"))
    with pytest.raises(S3Error) as e:
        parse_cors_xml(body)
    assert e.value.code == "InvalidRequest"


def test_parse_keeps_a_non_ascii_origin_and_tabs() -> None:
    body = _xml(_rule("<AllowedOrigin>https://bücher.example</AllowedOrigin>",
                      "<AllowedMethod>GET</AllowedMethod><ExposeHeader>x-a&#9;</ExposeHeader>"))
    (rule,) = parse_cors_xml(body)
    assert rule.allowed_origins == ("https://bücher.example",)
    assert rule.expose_headers == ("x-a\t",)


def test_rules_kept_unchecked_are_served_without_their_bad_values() -> None:
    kept = (CorsRule(("*",), ("GET", "P\nUT"), (), ("ETag", "x\r\ny", "x-日本", "x-ok")),)
    assert servable_rules(kept) == (CorsRule(("*",), ("GET",), (), ("ETag", "x-ok")),)
    good = (CorsRule(("*",), ("GET",), (), ("ETag",)),)
    assert servable_rules(good) is good
