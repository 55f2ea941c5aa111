"""What the doctor judges and what it answers.

A ``Seen`` request is what reached (or would reach) the server: a URL the
user gives (``from_url``) or a failed request the server recorded
(``sealbox.server.auth_failures``). A ``Diagnosis`` is its ``Causes``,
each with a ``Code`` from ``CODES``; none means the request is valid.
A recorded request holds its signature as a fingerprint only
(``links.model.fingerprint``), so a candidate signature is compared by
``signature_matches``, which takes either form.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sealbox.auth.principal import Credential
from sealbox.links.model import fingerprint

# The causes the doctor names (issue 14's list, plus Malformed for a
# request no signer could have made and Unsigned for one with no signature).
CODES = frozenset({
    "Expired", "NotYetValid", "ExpiresTooLong", "ClockSkew", "UnknownAccessKey",
    "AccessKeyInactive", "WrongSecret", "WrongRegion", "WrongService", "HostChanged",
    "SchemeChanged", "PathEncoding", "QueryChanged", "MethodMismatch", "SignedHeaderMissing",
    "SignedHeaderChanged", "PayloadHashMismatch", "Revoked", "UsedUp", "AddressNotAllowed",
    "AccessDenied", "KeyNotTrusted", "PolicyResourceMismatch", "PolicyExpired", "IpNotAllowed",
    "MalformedPolicy", "BadBase64", "Malformed", "Unsigned",
})
FINGERPRINT_PREFIX = "sha256:"  # a recorded signature: "sha256:" + links.model.fingerprint
MAX_URL_CHARS = 16 * 1024  # longer than any URL a client sends (S3: 8 KB of headers)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class NotAUrl(ValueError):
    """The text to diagnose is not an http(s) URL the doctor can read."""


@dataclass(frozen=True)
class Cause:
    """One thing wrong, in plain words; ``expected``/``got`` when there is a
    value the signer used and a value the request carries."""

    code: str
    message: str
    expected: str | None = None
    got: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"Code": self.code, "Message": self.message, "Expected": self.expected,
                "Got": self.got}


@dataclass(frozen=True)
class Diagnosis:
    """The doctor's answer: valid when there is no cause."""

    causes: tuple[Cause, ...] = ()
    kind: str = ""  # what was judged: "SigV4-Presigned", "SigV2", "CloudFront-URL", …

    @property
    def verdict(self) -> str:
        return "invalid" if self.causes else "valid"

    def as_json(self) -> dict[str, Any]:
        return {"Verdict": self.verdict, "Causes": [c.as_json() for c in self.causes],
                "Kind": self.kind}


def invalid(kind: str, *causes: Cause) -> Diagnosis:
    return Diagnosis(tuple(causes), kind)


@dataclass(frozen=True)
class Seen:
    """A request as the server sees it: ``host`` is the Host header,
    ``raw_path`` and ``raw_query`` exactly as sent, ``headers`` with
    lower-case names (``host`` among them); ``at`` is when it arrived (for
    a URL: now); ``client_ip`` the viewer's address, when known."""

    method: str
    scheme: str
    host: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str] = field(default_factory=dict)
    at: datetime | None = None
    client_ip: str | None = None

    @property
    def url(self) -> str:
        query = f"?{self.raw_query}" if self.raw_query else ""
        return f"{self.scheme}://{self.host}{self.raw_path}{query}"

    def with_host(self, host: str) -> Seen:
        return replace(self, host=host, headers={**self.headers, "host": host})


@dataclass(frozen=True)
class Server:
    """What the server knows that a diagnosis needs: the key lookup
    (``access_key -> Credential | None``), the time, its region, and the Host
    headers it answers as (the candidates when a host may have changed)."""

    lookup: Callable[[str], Credential | None]
    now: datetime
    region: str
    hosts: tuple[str, ...] = ()
    # The bucket a Host header names (virtual-host style), for SigV2.
    virtual_bucket: Callable[[str], str | None] = lambda _host: None


def host_header(scheme: str, hostname: str, port: int | None) -> str:
    """The Host header a client sends for ``scheme://hostname:port``."""
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host


def from_url(url: str, method: str = "GET", headers: Mapping[str, str] | None = None,
             at: datetime | None = None, client_ip: str | None = None) -> Seen:
    """The request a client makes for ``url`` (its Host header from the
    URL unless ``headers`` name one); ``NotAUrl`` for anything else."""
    if len(url) > MAX_URL_CHARS:
        raise NotAUrl(f"the URL is {len(url)} characters; at most {MAX_URL_CHARS} are read")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise NotAUrl("a URL holds no spaces or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise NotAUrl(f"not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotAUrl("not an http:// or https:// URL with a host")
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    lowered.setdefault("host", host_header(parts.scheme, parts.hostname, port))
    return Seen(method.upper(), parts.scheme, lowered["host"], parts.path or "/",
                parts.query, lowered, at, client_ip)


def signature_matches(expected: str, provided: str) -> bool:
    """Whether ``expected`` is the signature ``provided`` (as sent, or as a
    recorded fingerprint); constant time either way."""
    if provided.startswith(FINGERPRINT_PREFIX):
        candidate = FINGERPRINT_PREFIX + fingerprint(expected)
        return hmac.compare_digest(candidate.encode(), provided.encode("utf-8", "replace"))
    return hmac.compare_digest(expected.encode("utf-8", "surrogateescape"),
                               provided.encode("utf-8", "surrogateescape"))


def recorded_signature(signature: str) -> str:
    """What a failure record keeps of a signature."""
    return FINGERPRINT_PREFIX + fingerprint(signature)


def forwarded_hosts(headers: Mapping[str, str]) -> list[str]:
    """The hosts ``X-Forwarded-Host`` and ``Forwarded: host=`` name, first first."""
    found = [h.strip() for h in headers.get("x-forwarded-host", "").split(",")[:4]]
    for element in headers.get("forwarded", "").split(",")[:4]:
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() == "host":
                found.append(value.strip().strip('"'))
    return [h for h in found if h and len(h) <= 255]


def candidate_hosts(seen: Seen, server: Server) -> list[str]:
    """Hosts the signer may have named: the server's, and the same port on
    the loopback names, the port dropped or added."""
    found: list[str] = []
    host = seen.host
    name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not name:
        name, port = host, ""
    # A proxy that rewrote Host often says what it was (the host signed for).
    candidates = [*forwarded_hosts(seen.headers), *server.hosts]
    if port:
        candidates.append(name)
        for loopback in ("127.0.0.1", "localhost", "[::1]"):
            candidates.append(f"{loopback}:{port}")
    else:
        candidates += [f"{host}:443", f"{host}:80"]
    for candidate in candidates:
        if candidate and candidate != host and candidate not in found:
            found.append(candidate)
    return found
