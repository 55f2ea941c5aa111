"""How long the edge keeps an object: CloudFront's expiration rules. Pure.

From the CloudFront Developer Guide, "Manage how long content stays in the
cache (expiration)", for a cache behaviour's Minimum, Default and Maximum
TTL (the legacy settings, and the managed cache policies that carry the same
three numbers):

- the origin sends ``Cache-Control: s-maxage`` (it wins over ``max-age``)
  or ``max-age``: that many seconds, raised to the Minimum TTL and lowered
  to the Maximum TTL;
- else it sends ``Expires``: the seconds until then, clamped the same way
  (a date in the past, or one that does not parse, is "expired now");
- else the Default TTL;
- ``Cache-Control: no-cache``, ``no-store`` or ``private``: not cached when
  the Minimum TTL is 0, else cached for the Minimum TTL.

A TTL of 0 means "do not keep": the edge fetches from the origin every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sealbox.http.dates import parse_http_date

_UNCACHEABLE = frozenset({"no-cache", "no-store", "private"})


@dataclass(frozen=True)
class TtlSettings:
    """A cache behaviour's three TTLs, in seconds."""

    min_ttl: int
    default_ttl: int
    max_ttl: int


def cache_control_directives(value: str | None) -> dict[str, str]:
    """``Cache-Control`` as lower-case directive names to their values
    (``""`` for a directive without one); quotes around a value removed."""
    directives: dict[str, str] = {}
    if not value:
        return directives
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        name = name.strip().lower()
        if name and name not in directives:
            directives[name] = argument.strip().strip('"')
    return directives


def _seconds(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def cache_ttl(headers: Mapping[str, str], settings: TtlSettings, now: datetime) -> int:
    """Seconds the edge may keep a response with these (lower-case) headers."""
    def clamp(seconds: int) -> int:
        return max(settings.min_ttl, min(seconds, settings.max_ttl))

    directives = cache_control_directives(headers.get("cache-control"))
    if _UNCACHEABLE & directives.keys():
        return settings.min_ttl
    for name in ("s-maxage", "max-age"):
        if name in directives:
            seconds = _seconds(directives[name])
            if seconds is not None:
                return clamp(seconds)
    expires = headers.get("expires")
    if expires is not None:
        try:
            remaining = int((parse_http_date(expires, now=now) - now).total_seconds())
        except ValueError:
            remaining = 0  # RFC 9111 §5.3: an invalid date means already expired
        return clamp(max(remaining, 0))
    return settings.default_ttl
