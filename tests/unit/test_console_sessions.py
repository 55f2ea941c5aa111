"""Console sessions' pure rules (sealbox.console.sessions): expiry, CSRF
tokens, the secret check, the cookie's flags."""

from __future__ import annotations

import pytest

from sealbox.console import sessions as S


def test_a_session_ends_when_idle_or_too_old_whichever_is_first() -> None:
    created = 1_000_000
    assert S.is_live(created, created, created + S.IDLE_SECONDS - 1)
    assert not S.is_live(created, created, created + S.IDLE_SECONDS)
    # Kept busy, it still ends at the absolute limit.
    late = created + S.ABSOLUTE_SECONDS
    assert not S.is_live(created, late - 1, late)
    assert S.is_live(created, late - 2, late - 1)


def test_csrf_token_belongs_to_one_session() -> None:
    one, other = S.new_session_id(), S.new_session_id()
    assert one != other and S.plausible_id(one)
    assert S.csrf_matches(one, S.csrf_token(one))
    assert not S.csrf_matches(one, S.csrf_token(other))
    assert not S.csrf_matches(one, None)
    assert not S.csrf_matches(one, "")
    assert not S.csrf_matches(one, "é" * 64)
    assert S.csrf_token(one) != S.id_hash(one)  # the token does not reveal the stored key


def test_secret_check_refuses_unknown_keys_and_other_secrets() -> None:
    assert S.secrets_match("s3cret", "s3cret")
    assert not S.secrets_match("s3cret", "s3cre")
    assert not S.secrets_match("s3cret", "s3cret ")
    assert not S.secrets_match(None, "\x00unknown")  # the stand-in never matches
    assert not S.secrets_match(None, "")


def test_cookie_is_http_only_strict_and_secure_under_tls() -> None:
    session_id = S.new_session_id()
    plain = S.set_cookie(session_id, secure=False)
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    assert "Path=/_sealbox/console/" in plain
    assert "; Secure" in S.set_cookie(session_id, secure=True)
    assert "Max-Age=0" in S.clear_cookie(secure=True)


@pytest.mark.parametrize("header, found", [
    (None, False), ("", False), ("other=1", False),
    ("sealbox_console=short", False),
    ("a=b; sealbox_console={id}; c=d", True),
    ("sealbox_console={id}x", False),
    ("sealbox_console=<script>alert(1)</script>aaaaaaaaaaaaaaaaaaaaaa", False),
])
def test_cookie_value_is_read_only_when_it_looks_like_a_session_id(header: str | None,
                                                                    found: bool) -> None:
    session_id = S.new_session_id()
    text = None if header is None else header.replace("{id}", session_id)
    assert (S.cookie_value(text) == session_id) is found
