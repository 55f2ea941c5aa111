"""The signing endpoint from a real browser (issue 13): Debian's Chromium,
headless, on a page from another loopback origin than sealbox, asks
``POST /_sealbox/sign`` for a PUT link with the application's token and
uploads with ``fetch`` and the ``Headers`` the answer names. A page on an
origin no rule allows cannot read the endpoint's answer. Setup as in
test_browser.py (skipped, saying why, without Chromium or Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sealbox.cli.client import AdminClient, path
from tests.integration.test_browser import (  # noqa: F401 - fixtures
    FAILED_TO_FETCH,
    browser,
    page_origin,
    put_cors,
)
from tests.integration.test_signing_endpoint import SECRET, set_up, token

SIGN_AND_PUT = """async ([endpoint, bearer, bucket, key]) => {
  try {
    const asked = await fetch(endpoint + "/_sealbox/sign", {method: "POST",
      headers: {"Authorization": "Bearer " + bearer, "Content-Type": "application/json"},
      body: JSON.stringify({Bucket: bucket, Key: key, Method: "PUT",
                            ContentType: "image/png"})});
    const link = await asked.json();
    if (asked.status !== 200) return {sign: asked.status, error: link.error};
    const put = await fetch(link.Url, {method: "PUT", headers: link.Headers,
                                       body: new Uint8Array([137, 80, 78, 71])});
    return {sign: asked.status, put: put.status};
  } catch (e) {
    return {error: String(e)};
  }
}"""


@pytest.fixture(scope="module")
def shop(s3: Any, server: Any, page_origin: str) -> Iterator[str]:  # noqa: F811
    """A bucket whose PUT rule allows the page's origin, and CORS for its PUTs."""
    admin = AdminClient(server.endpoint, server.access_key, server.secret_key)
    bucket = set_up(s3, admin)
    document = admin.call("GET", path("link-rules")).body
    document["Issuers"][0]["HS256Secret"] = SECRET
    for rule in document["Rules"]:
        if rule["Methods"] == ["PUT"]:
            rule["AllowedOrigins"] = [page_origin]
    admin.call("PUT", path("link-rules"), document)
    put_cors(s3, bucket, {"AllowedOrigins": [page_origin], "AllowedMethods": ["PUT"],
                          "AllowedHeaders": ["content-type"]})
    return bucket


@pytest.fixture
def page(browser: Any, page_origin: str) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context()
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.goto(f"{page_origin}/upload.html")
    yield opened
    context.close()


def test_a_page_on_another_origin_signs_and_uploads(page: Any, server: Any, shop: str,
                                                    s3: Any) -> None:
    key = "uploads/alice/from-browser.png"
    result = page.evaluate(SIGN_AND_PUT, [server.endpoint, token(), shop, key])
    assert result == {"sign": 200, "put": 200}
    got = s3.get_object(Bucket=shop, Key=key)
    assert got["ContentType"] == "image/png" and got["Body"].read() == b"\x89PNG"


def test_a_bad_token_is_a_401_the_page_can_read(page: Any, server: Any, shop: str) -> None:
    result = page.evaluate(SIGN_AND_PUT, [server.endpoint, "not-a-jwt", shop, "uploads/alice/x"])
    assert result["sign"] == 401 and result["error"]["code"] == "InvalidToken"


def test_a_page_on_an_origin_no_rule_allows_cannot_call_it(browser: Any, server: Any,  # noqa: F811
                                                           shop: str) -> None:
    context = browser.new_context()
    try:
        opened = context.new_page()
        # Another origin for the same page server: localhost instead of 127.0.0.1.
        opened.goto(server.endpoint.replace("127.0.0.1", "localhost") + "/_sealbox/health")
        result = opened.evaluate(SIGN_AND_PUT, [server.endpoint, token(), shop,
                                                "uploads/alice/y"])
        assert result == {"error": FAILED_TO_FETCH}
    finally:
        context.close()
