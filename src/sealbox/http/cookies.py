"""The ``Cookie`` request header, read as browsers send it. Pure.

RFC 6265 §5.4: ``name=value`` pairs separated by ``; ``. Names are case
sensitive. When a name repeats (a cookie set for two paths), the first is
the one with the longer path, which browsers send first; that one is kept.
A value in double quotes loses them (§4.1.1 allows the quotes). Pairs
without ``=`` are skipped, as are empty names.
"""

from __future__ import annotations

MAX_COOKIES = 256  # more than any browser sends for one host


def parse_cookie_header(header: str | None) -> dict[str, str]:
    """Cookie names to values, the first of each name; ``{}`` for none."""
    cookies: dict[str, str] = {}
    if not header:
        return cookies
    for part in header.split(";")[:MAX_COOKIES]:
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name or name in cookies:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies
