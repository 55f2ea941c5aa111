"""Uploads from a real browser: Debian's Chromium, headless, driven by
Playwright, on a page from another loopback origin than sealbox.

This is the flow the presigned features exist for: a backend (here the test,
with boto3) signs, and the browser uploads straight to sealbox.

- a presigned PUT sent by ``fetch`` with a file from an ``<input type=file>``,
  which the bucket's CORS rules must allow (PUT is never a "simple" request,
  so Chromium sends a preflight first), and whose ETag the page can read only
  when a rule exposes it;
- a ``<form method=post enctype=multipart/form-data>`` built from
  ``generate_presigned_post`` and submitted as a navigation (no CORS at all),
  landing on ``success_action_redirect``; and the same POST by ``fetch`` with
  ``FormData``, reading the ``PostResponse`` of ``success_action_status=201``;
- refusals: an origin the rules do not list, and a header no rule allows,
  end in ``TypeError: Failed to fetch`` with nothing stored.

The page (tests/browser/upload.html) is served by a small ``http.server`` on
its own loopback port, so its origin differs from sealbox's by port. One
browser per module; each test gets a fresh context (its own preflight cache).

Needs the ``playwright`` package (pip, from the ``test`` extra; its driver
ships in the wheel) and Debian's ``chromium`` (scripts/install-test-deps.sh).
Playwright's own browser downloads are not used; ``SEALBOX_CHROMIUM`` names
another Chromium binary than the ``chromium`` on PATH. Without either the tests
are skipped, saying why, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

PAGES = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium keeps trying to reach Google's services, and
    # this network is closed.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
FAILED_TO_FETCH = "TypeError: Failed to fetch"
# Every byte value, and not a round size: what comes back must be exact.
PAYLOAD = bytes(range(256)) * 41 + b"end"


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the browser tests", pytrace=False)
    pytest.skip(why)


def _chromium_path() -> str | None:
    return os.environ.get("SEALBOX_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = _chromium_path()
    if executable is None:
        _unavailable("Debian's chromium is not installed (bash scripts/install-test-deps.sh)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The page's origin: tests/browser/ served on its own loopback port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(PAGES)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class Preflights:
    """The CORS preflights Chromium sends, seen through the DevTools protocol:
    Playwright's own network events leave them out."""

    def __init__(self, page) -> None:
        self._page = page
        self._methods: dict[str, str] = {}
        self._sent: dict[str, dict[str, str]] = {}
        self._status: dict[str, int] = {}
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._request)
        cdp.on("Network.requestWillBeSentExtraInfo", self._request_headers)
        cdp.on("Network.responseReceivedExtraInfo", self._response)
        cdp.send("Network.enable")

    def _request(self, event: dict) -> None:
        self._methods[event["requestId"]] = event["request"]["method"]

    def _request_headers(self, event: dict) -> None:
        self._sent[event["requestId"]] = {k.lower(): v for k, v in event["headers"].items()}

    def _response(self, event: dict) -> None:
        self._status[event["requestId"]] = event["statusCode"]

    def only(self) -> tuple[dict[str, str], int]:
        """The one preflight sent so far: its request headers and the status it got."""
        for _ in range(100):  # DevTools events may trail the page's answer a little
            ids = [i for i, m in self._methods.items() if m == "OPTIONS"]
            if len(ids) == 1 and ids[0] in self._sent and ids[0] in self._status:
                return self._sent[ids[0]], self._status[ids[0]]
            self._page.wait_for_timeout(20)
        raise AssertionError(f"not one answered preflight: {self._methods}")


@pytest.fixture
def page(browser, page_origin: str, server) -> Iterator[Any]:
    """The upload page in a fresh context. ``page.console`` collects what
    Chromium logs (its CORS refusals), ``page.preflights`` its preflights."""
    assert urlsplit(page_origin).netloc != urlsplit(server.endpoint).netloc
    context = browser.new_context()
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.console = []
    opened.on("console", lambda message: opened.console.append(message.text))
    opened.preflights = Preflights(opened)
    opened.goto(f"{page_origin}/upload.html")
    yield opened
    context.close()


def choose(page, selector: str, name: str = "photo.bin", data: bytes = PAYLOAD) -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": "application/octet-stream",
                                           "buffer": data}])


def put_cors(s3, bucket: str, *rules: dict) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": list(rules)})


def stored(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def presigned_put(s3, bucket: str, key: str) -> str:
    return s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                     ExpiresIn=600)


# -- (a) presigned PUT by fetch ----------------------------------------------------------


def test_fetch_put_to_a_presigned_url_with_the_etag_exposed(page, page_origin, s3,
                                                            bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [page_origin], "AllowedMethods": ["PUT"],
                          "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]})
    choose(page, "#put-file")
    result = page.evaluate("url => putFile(url)", presigned_put(s3, bucket, "from/browser.bin"))
    assert result["status"] == 200, result
    assert result["etag"] == md5_etag(PAYLOAD)
    assert s3.get_object(Bucket=bucket, Key="from/browser.bin")["Body"].read() == PAYLOAD
    # PUT is never a simple request; the File's type makes content-type a
    # requested header, so a rule must allow it (or "*").
    sent, status = page.preflights.only()
    assert (sent["origin"], sent["access-control-request-method"],
            sent["access-control-request-headers"], status) == (page_origin, "PUT",
                                                                "content-type", 200)


def test_fetch_put_cannot_read_the_etag_unless_exposed(page, page_origin, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [page_origin], "AllowedMethods": ["PUT"],
                          "AllowedHeaders": ["content-type"]})
    choose(page, "#put-file")
    result = page.evaluate("url => putFile(url)", presigned_put(s3, bucket, "k"))
    assert (result["status"], result["etag"]) == (200, None)
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == md5_etag(PAYLOAD)


# -- (b) browser POST uploads ------------------------------------------------------------


def test_form_post_from_generate_presigned_post_redirects_back(page, page_origin, s3,
                                                               bucket) -> None:
    # A form submission is a navigation, not a fetch: no CORS rule is needed.
    done = f"{page_origin}/done.html"
    post = s3.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"success_action_redirect": done, "Content-Type": "image/png"},
        Conditions=[{"success_action_redirect": done}, ["starts-with", "$key", "uploads/"],
                    ["starts-with", "$Content-Type", "image/"],
                    ["content-length-range", 1, 1 << 20]],
        ExpiresIn=600)
    page.evaluate("([url, fields]) => fillForm(url, fields)", [post["url"], post["fields"]])
    choose(page, "#post-file", "cat.png")
    with page.expect_navigation(url=f"{done}?**"):
        page.click("#post-submit")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"bucket": [bucket], "key": ["uploads/cat.png"], "etag": [md5_etag(PAYLOAD)]}
    assert page.inner_text("#result").startswith(f"bucket: {bucket}\nkey: uploads/cat.png")
    got = s3.get_object(Bucket=bucket, Key="uploads/cat.png")
    assert (got["Body"].read(), got["ContentType"]) == (PAYLOAD, "image/png")


def test_form_post_with_non_ascii_fields_downloads_under_its_name(page, page_origin, s3,
                                                                 bucket) -> None:
    # Issue 11: a browser sends these fields as UTF-8; every GET of such an
    # object answered 500. Now Content-Disposition goes out with RFC 6266's
    # filename* and Chromium saves the file under the name the form gave.
    done = f"{page_origin}/done.html"
    disposition = 'attachment; filename="résumé ✓ 日本.pdf"'
    post = s3.generate_presigned_post(
        bucket, "cv.pdf",
        Fields={"success_action_redirect": done, "Content-Disposition": disposition,
                "x-amz-meta-title": "履歴書"},
        Conditions=[{"success_action_redirect": done}, {"Content-Disposition": disposition},
                    {"x-amz-meta-title": "履歴書"}],
        ExpiresIn=600)
    page.evaluate("([url, fields]) => fillForm(url, fields)", [post["url"], post["fields"]])
    choose(page, "#post-file", "cv.pdf")
    with page.expect_navigation(url=f"{done}?**"):
        page.click("#post-submit")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "cv.pdf"},
                                    ExpiresIn=600)
    with page.expect_download() as download:
        page.evaluate("url => { const a = document.createElement('a'); a.href = url; "
                      "document.body.appendChild(a); a.click(); }", url)
    assert download.value.suggested_filename == "résumé ✓ 日本.pdf"
    assert s3.head_object(Bucket=bucket, Key="cv.pdf")["Metadata"] == {
        "title": "=?UTF-8?B?5bGl5q205pu4?="}


def test_fetch_formdata_post_reads_the_post_response(page, page_origin, server, s3,
                                                     bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [page_origin], "AllowedMethods": ["POST"]})
    post = s3.generate_presigned_post(
        bucket, "docs/${filename}", Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}, ["starts-with", "$key", "docs/"]],
        ExpiresIn=600)
    choose(page, "#post-file", "report.pdf")
    result = page.evaluate("([url, fields]) => postFormData(url, fields)",
                           [post["url"], post["fields"]])
    assert (result["status"], result["root"]) == (201, "PostResponse"), result
    assert result["fields"] == {"Location": f"{server.endpoint}/{bucket}/docs%2Freport.pdf",
                                "Bucket": bucket, "Key": "docs/report.pdf",
                                "ETag": md5_etag(PAYLOAD)}
    assert s3.get_object(Bucket=bucket, Key="docs/report.pdf")["Body"].read() == PAYLOAD


# -- (c) refusals ------------------------------------------------------------------------


def test_fetch_put_from_an_origin_no_rule_lists_is_refused(page, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["https://app.example.com"],
                          "AllowedMethods": ["PUT", "POST"], "AllowedHeaders": ["*"]})
    choose(page, "#put-file")
    result = page.evaluate("url => putFile(url)", presigned_put(s3, bucket, "k"))
    assert result == {"error": FAILED_TO_FETCH}
    assert stored(s3, bucket) == []
    assert page.preflights.only()[1] == 403
    assert any("preflight" in line for line in page.console), page.console


def test_fetch_put_with_a_header_no_rule_allows_is_refused(page, page_origin, s3,
                                                           bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [page_origin], "AllowedMethods": ["PUT"],
                          "AllowedHeaders": ["content-type"]})
    choose(page, "#put-file")
    url = presigned_put(s3, bucket, "k")
    result = page.evaluate("url => putFile(url, {'x-amz-meta-note': 'hi'})", url)
    assert result == {"error": FAILED_TO_FETCH}
    assert stored(s3, bucket) == []
    sent, status = page.preflights.only()
    assert (sent["access-control-request-headers"], status) == (
        "content-type,x-amz-meta-note", 403)
    # S3 answers the refused preflight 403 with no CORS headers, so Chromium
    # reports a missing Access-Control-Allow-Origin, not the header.
    assert any("preflight" in line for line in page.console), page.console
    # The same upload without the extra header goes through.
    assert page.evaluate("url => putFile(url)", url)["status"] == 200
    assert stored(s3, bucket) == ["k"]


def test_fetch_put_to_a_bucket_without_cors_is_refused(page, s3, bucket) -> None:
    choose(page, "#put-file")
    result = page.evaluate("url => putFile(url)", presigned_put(s3, bucket, "k"))
    assert result == {"error": FAILED_TO_FETCH}
    assert page.preflights.only()[1] == 403
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_fetch_formdata_post_from_another_origin_is_hidden_but_not_stopped(page, s3,
                                                                          bucket) -> None:
    # multipart/form-data POST is a CORS "simple request": no preflight, so
    # the browser sends it and only hides the answer from the page. What
    # stops a stranger's upload is the signed policy, not CORS (as on S3).
    put_cors(s3, bucket, {"AllowedOrigins": ["https://app.example.com"],
                          "AllowedMethods": ["POST"]})
    key = f"simple/{uuid.uuid4().hex}"
    post = s3.generate_presigned_post(bucket, key, ExpiresIn=600)
    choose(page, "#post-file")
    result = page.evaluate("([url, fields]) => postFormData(url, fields)",
                           [post["url"], post["fields"]])
    assert result == {"error": FAILED_TO_FETCH}
    assert stored(s3, bucket) == [key]
    assert not any("preflight" in line for line in page.console), page.console
