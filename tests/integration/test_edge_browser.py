# ruff: noqa: F811  (the browser fixture is imported from test_browser)
"""Signed cookies in a real browser (Debian's Chromium via Playwright), as
the seeds use them: a page served by the distribution (a public behaviour)
shows an image from a private one. With the three ``CloudFront-*`` cookies
that the site's signing endpoint would set, the image loads; without them,
or with cookies for another path, it does not."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest

from tests.integration.edge_site import Site, behaviour, make_site
from tests.integration.test_browser import browser  # noqa: F401  (fixture)

PAGE = b"""<!doctype html><meta charset="utf-8"><title>course</title>
<img id="cover" src="/course/cover.png" alt="cover">
<script>
  window.loaded = new Promise((resolve) => {
    const img = document.getElementById("cover");
    if (img.complete) resolve(img.naturalWidth);
    img.addEventListener("load", () => resolve(img.naturalWidth));
    img.addEventListener("error", () => resolve(0));
  });
</script>
"""


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


@pytest.fixture
def site(s3: Any, client_factory: Any, server: Any) -> Site:
    cf = client_factory("cloudfront")
    made = make_site(s3, cf, server.endpoint, server.port,
                     behaviours=[behaviour(PathPattern="/site/*")])
    s3.put_object(Bucket=made.bucket, Key="site/index.html", Body=PAGE, ContentType="text/html")
    s3.put_object(Bucket=made.bucket, Key="course/cover.png", Body=png(7, 5),
                  ContentType="image/png")
    return made


def cover_width(browser: Any, site: Site, cookies: dict[str, str] | None) -> int:
    context = browser.new_context()
    try:
        if cookies:
            context.add_cookies([{"name": name, "value": value, "url": site.url("/")}
                                 for name, value in cookies.items()])
        page = context.new_page()
        response = page.goto(site.url("/site/index.html"))
        assert response is not None and response.status == 200
        return int(page.evaluate("window.loaded"))
    finally:
        context.close()


def test_signed_cookies_let_the_page_show_the_private_image(browser: Any, site: Site) -> None:
    assert cover_width(browser, site, site.cookies(site.url("/course/*"))) == 7


def test_without_cookies_the_private_image_does_not_load(browser: Any, site: Site) -> None:
    assert cover_width(browser, site, None) == 0


def test_cookies_for_another_path_do_not_open_this_one(browser: Any, site: Site) -> None:
    assert cover_width(browser, site, site.cookies(site.url("/other/*"))) == 0
