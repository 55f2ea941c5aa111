"""The console's pages: Jinja2 templates, every value autoescaped, and the
headers every console answer carries.

The Content-Security-Policy allows only the console's own files: no inline
script or style, no other origin, no framing; so a name that escaped
escaping still could not run. Pages are never cached (they show private
names), the static files for an hour.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

from sealbox.server.responses import Response

PREFIX = "/_sealbox/console/"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_SECURITY = [("content-security-policy", CSP), ("x-content-type-options", "nosniff"),
             # same-origin, not no-referrer: under no-referrer Chromium sends
             # "Origin: null" with the console's own forms, which the origin
             # check must refuse (a sandboxed frame elsewhere sends it too).
             ("referrer-policy", "same-origin"), ("x-frame-options", "DENY")]
HTML = "text/html; charset=utf-8"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sealbox.console", "templates"),
        autoescape=True,  # every template is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.globals["prefix"] = PREFIX
    env.filters["size"] = human_size
    return env


def human_size(size: int) -> str:
    """1536 → ``1.5 KiB``; bytes below 1 KiB as they are."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def page(template: str, status: int = 200, headers: list[tuple[str, str]] | None = None,
         **values: Any) -> Response:
    body = environment().get_template(template).render(**values).encode()
    return Response(status, [("content-type", HTML), ("cache-control", "no-store"),
                             *_SECURITY, *(headers or [])], body)


def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """303 See Other: after a form, the browser GETs the next page."""
    return Response(303, [("location", location), ("cache-control", "no-store"), *_SECURITY,
                          *(headers or [])])


def json_answer(status: int, body: bytes) -> Response:
    return Response(status, [("content-type", "application/json"), ("cache-control", "no-store"),
                             *_SECURITY], body)


@lru_cache(maxsize=32)
def _static(name: str) -> bytes | None:
    files = resources.files("sealbox.console") / "static"
    for entry in files.iterdir():
        if entry.name == name and entry.is_file():
            return entry.read_bytes()
    return None


def static(name: str) -> Response | None:
    """One of the console's own files, by exact name; None for any other."""
    suffix = name[name.rfind("."):] if "." in name else ""
    if suffix not in STATIC_TYPES or "/" in name:
        return None
    body = _static(name)
    if body is None:
        return None
    return Response(200, [("content-type", STATIC_TYPES[suffix]),
                          ("cache-control", "private, max-age=3600"), *_SECURITY], body)
