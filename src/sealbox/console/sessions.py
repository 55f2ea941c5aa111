"""Console sessions: what the browser holds, and when it stops working (pure).

The browser holds a random 256-bit id in an HttpOnly, SameSite=Strict
cookie (Secure under TLS); the store holds its SHA-256 with the access key
it was issued for (``store.sql.sessions``). The secret key is checked once,
at sign-in, and never sent back or kept by the browser.

A session ends when idle for ``IDLE_SECONDS`` or ``ABSOLUTE_SECONDS`` after
sign-in, whichever is first, and at sign-out, on every node at once.

Every change (a POST) carries a CSRF token: an HMAC of the session id
under a fixed label. Only a page of the session can know it: a cross-site
form can neither read the cookie nor the page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "sealbox_console"
COOKIE_PATH = "/_sealbox/console/"
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
# A session's last use is written at most this often (a write per page
# view would cost the store more than the idle expiry needs).
TOUCH_EVERY = 60
_CSRF_LABEL = b"sealbox-console-csrf"
_ID_CHARS = 43  # token_urlsafe(32)


@dataclass(frozen=True)
class Session:
    """A live session: the id the cookie carries, and whose it is."""

    session_id: str
    access_key: str
    created: int
    seen: int

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def id_hash(session_id: str) -> str:
    """What the store keys a session by."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def plausible_id(session_id: str) -> bool:
    return len(session_id) == _ID_CHARS and session_id.replace("-", "").replace("_", "").isalnum()


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_matches(session_id: str, token: str | None) -> bool:
    """Whether ``token`` is the session's CSRF token (constant time)."""
    if not token:
        return False
    return hmac.compare_digest(csrf_token(session_id).encode(), token.encode("utf-8", "replace"))


def is_live(created: int, seen: int, now: int) -> bool:
    return now - seen < IDLE_SECONDS and now - created < ABSOLUTE_SECONDS


def secrets_match(expected: str | None, given: str) -> bool:
    """Whether the secret key ``given`` is ``expected`` (None: no such key),
    in time that depends on neither: both are hashed first, so the lengths
    compared are equal, and an unknown key costs what a known one does."""
    want = hashlib.sha256((expected or "\x00unknown").encode()).digest()
    got = hashlib.sha256(given.encode("utf-8", "replace")).digest()
    return hmac.compare_digest(want, got) and expected is not None


def cookie_value(cookie_header: str | None) -> str | None:
    """The session id the Cookie header carries, if it looks like one."""
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and plausible_id(value):
            return value
    return None


def set_cookie(session_id: str, secure: bool) -> str:
    """The Set-Cookie value that gives the browser its session. No Max-Age:
    the store decides when it ends; the browser forgets it when it closes."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={session_id}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict{flags}"


def clear_cookie(secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{flags}"
