"""The Cookie header as browsers send it (RFC 6265 §5.4)."""

from __future__ import annotations

from sealbox.http.cookies import MAX_COOKIES, parse_cookie_header


def test_pairs_are_split_on_semicolons_and_trimmed() -> None:
    header = "CloudFront-Policy=eyJ; CloudFront-Signature=a~b_; CloudFront-Key-Pair-Id=K2"
    assert parse_cookie_header(header) == {
        "CloudFront-Policy": "eyJ", "CloudFront-Signature": "a~b_", "CloudFront-Key-Pair-Id": "K2"}


def test_first_of_a_repeated_name_wins_and_quotes_are_removed() -> None:
    assert parse_cookie_header('a="1"; a=2; b=x=y') == {"a": "1", "b": "x=y"}


def test_malformed_pairs_are_skipped() -> None:
    assert parse_cookie_header("novalue; =nameless; ok=1;;") == {"ok": "1"}
    assert parse_cookie_header("") == {} and parse_cookie_header(None) == {}


def test_names_are_case_sensitive() -> None:
    assert parse_cookie_header("cloudfront-policy=x") == {"cloudfront-policy": "x"}


def test_a_flood_of_cookies_is_capped() -> None:
    header = "; ".join(f"c{i}=v" for i in range(MAX_COOKIES * 4))
    assert len(parse_cookie_header(header)) == MAX_COOKIES
