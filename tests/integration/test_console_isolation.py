"""Objects never script the console (``sealbox.server.isolation``).

Without ``--console-port`` the console and S3 share one origin. An HTML
object opened from a presigned link by a signed-in admin must not be able
to act as the admin: its script runs, but in an opaque origin (the CSP
sandbox), so fetching a console page fails and a console page it opens is
not its to read. In a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from sealbox.testing.server import RunningServer
from tests.integration.chromium import launched_browser

CONSOLE = "/_sealbox/console/"
# What a hostile object would try, each outcome written into the page.
HOSTILE = b"""<!doctype html><title>report</title><body><script>
document.body.dataset.ran = "yes";
fetch("/_sealbox/console/", {credentials: "include"})
  .then(r => r.text())
  .then(t => { document.body.dataset.fetch = t.includes('name="csrf"') ? "read-token" : "no-token"; },
        () => { document.body.dataset.fetch = "failed"; });
const opened = window.open("/_sealbox/console/");
setTimeout(() => {
  try { document.body.dataset.open = opened.document.body.innerHTML.includes("csrf") ? "read-dom" : "empty"; }
  catch (e) { document.body.dataset.open = "blocked"; }
}, 1500);
</script></body>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with RunningServer(data_dir=tmp_path_factory.mktemp("isolation") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def s3(server: RunningServer) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key,
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_browser()


def test_objects_on_the_console_origin_carry_a_sandbox_and_pdfs_do_not(server, s3) -> None:
    s3.create_bucket(Bucket="iso-headers")
    s3.put_object(Bucket="iso-headers", Key="a.svg", Body=b"<svg/>", ContentType="image/svg+xml")
    s3.put_object(Bucket="iso-headers", Key="a.pdf", Body=b"%PDF-1.4", ContentType="application/pdf")
    for method in ("get", "head"):
        url = s3.generate_presigned_url(f"{method}_object",
                                        Params={"Bucket": "iso-headers", "Key": "a.svg"})
        answer = requests.request(method.upper(), url)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert policy.startswith("sandbox ") and "allow-same-origin" not in policy
    pdf = requests.get(s3.generate_presigned_url(
        "get_object", Params={"Bucket": "iso-headers", "Key": "a.pdf"}))
    assert "content-security-policy" not in pdf.headers
    # S3 clients read the object as before.
    assert s3.get_object(Bucket="iso-headers", Key="a.svg")["Body"].read() == b"<svg/>"


def test_an_html_object_opened_by_a_signed_in_admin_cannot_reach_the_console(
        server, s3, browser) -> None:
    s3.create_bucket(Bucket="iso-page")
    s3.put_object(Bucket="iso-page", Key="report.html", Body=HOSTILE, ContentType="text/html")
    link = s3.generate_presigned_url("get_object",
                                     Params={"Bucket": "iso-page", "Key": "report.html"})
    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(server.endpoint + CONSOLE + "signin")
        page.get_by_label("Access key").fill(server.access_key)
        page.get_by_label("Secret key").fill(server.secret_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**" + CONSOLE)
        # Signed in: the same origin's console answers this browser.
        assert page.locator('input[name="csrf"]').count() >= 1
        page.goto(link)
        page.wait_for_function("() => document.body.dataset.fetch && document.body.dataset.open")
        seen = page.evaluate("() => ({...document.body.dataset})")
        assert seen == {"ran": "yes", "fetch": "failed", "open": "blocked"}
        assert page.evaluate("() => window.origin") == "null"  # an opaque origin
    finally:
        context.close()


def test_the_console_is_not_served_on_a_distributions_name(server, s3) -> None:
    """A distribution's pages run scripts on its name: the console is not
    offered there, only on the server's own address."""
    s3.create_bucket(Bucket="iso-site")
    alias = "site.iso.example"
    cf = boto3.client("cloudfront", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key)
    origin = {"Id": "o", "DomainName": "iso-site.s3.amazonaws.com",
              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    cf.create_distribution(DistributionConfig={
        "CallerReference": "iso", "Comment": "", "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [alias]},
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all",
                                 "ForwardedValues": {"QueryString": False,
                                                     "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0}})
    port = server.endpoint.rsplit(":", 1)[1]
    for path in (CONSOLE + "signin", CONSOLE):
        there = requests.get(server.endpoint + path, headers={"host": f"{alias}:{port}"},
                             allow_redirects=False)
        assert there.status_code == 404
        assert there.json()["error"]["code"] == "NotFound"
        assert "set-cookie" not in there.headers
    here = requests.get(server.endpoint + CONSOLE + "signin")
    assert here.status_code == 200 and "Sign in" in here.text
