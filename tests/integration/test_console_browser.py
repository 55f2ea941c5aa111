"""The web console in a real browser (Debian's Chromium, headless, driven by
Playwright) against a real server: the journeys a person makes, found by
the names the issue gives (labels "Access key", "Secret key", buttons
"Sign in", "Upload", "Create link", "Copy", "Revoke", "Sign out").

One browser and one server for the module; each test its own context
(its own cookies). Links made in the page are opened with requests, as the
person they are sent to would. Names shaped like HTML are shown as text:
no dialog ever opens.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from sealbox.testing.server import RunningServer
from tests.integration.chromium import launched_browser

XSS_KEY = '<img src=x onerror=alert(1)>"\u202eevil.txt'
CONSOLE = "/_sealbox/console/"




@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with RunningServer(data_dir=tmp_path_factory.mktemp("console") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def root_s3(console_server: RunningServer) -> Any:
    return boto3.client("s3", endpoint_url=console_server.endpoint, region_name="us-east-1",
                        aws_access_key_id=console_server.access_key,
                        aws_secret_access_key=console_server.secret_key,
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_browser()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context; any dialog (an ``alert`` a name managed to run) is recorded."""
    context = browser.new_context()
    context.set_default_timeout(20_000)
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
    refused: list[str] = []  # what the Content-Security-Policy blocked: nothing should be
    opened.on("console", lambda m: refused.append(m.text)
              if "Content Security Policy" in m.text else None)
    yield opened
    context.close()
    assert refused == []


def shot(page: Any, name: str) -> None:
    """A screenshot for a person to look at (not committed): into
    ``$SEALBOX_CONSOLE_SCREENSHOTS`` when set, else nowhere."""
    folder = os.environ.get("SEALBOX_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page: Any, endpoint: str, access_key: str, secret_key: str) -> None:
    page.goto(endpoint + "/")  # a browser at the root is sent to the console
    shot(page, "01-sign-in")
    page.get_by_label("Access key").fill(access_key)
    page.get_by_label("Secret key").fill(secret_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**" + CONSOLE)


def test_sign_in_create_a_bucket_upload_files_and_sign_out(page: Any, console_server, root_s3,
                                                           tmp_path: Path) -> None:
    endpoint = console_server.endpoint
    sign_in(page, endpoint, console_server.access_key, console_server.secret_key)
    # The secret is in no browser storage.
    stored = page.evaluate("() => JSON.stringify([document.cookie, {...localStorage}, "
                           "{...sessionStorage}])")
    assert console_server.secret_key not in stored
    bucket = f"console-{uuid.uuid4().hex[:8]}"
    shot(page, "02-buckets")
    page.get_by_label("New bucket name").fill(bucket)
    page.get_by_role("button", name="Create bucket").click()
    page.wait_for_url("**/bucket?name=" + bucket)

    small = []
    for i in range(3):
        path = tmp_path / f"note-{i}.txt"
        path.write_bytes(f"file {i}\n".encode() * (i + 1))
        small.append(path)
    # 200 MiB, as the issue asks: a multipart upload of 13 parts of 16 MiB,
    # in parallel, with its progress shown as it goes.
    large = tmp_path / "large.bin"
    block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB, not all one byte
    with large.open("wb") as f:
        for _ in range(200):
            f.write(block)
    page.get_by_label("Choose files").set_input_files([*small, large])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_function("() => { const p = document.getElementById('overall-progress');"
                           " return p && p.value > 0 && p.value < p.max; }")
    page.get_by_role("status").filter(has_text="Uploaded 4 file(s).").wait_for(timeout=120_000)
    page.wait_for_load_state()  # the list reloads
    page.get_by_role("link", name="large.bin").wait_for()
    shot(page, "03-bucket-after-upload")
    for path in small:
        assert page.get_by_role("link", name=path.name).count() == 1
    got = root_s3.get_object(Bucket=bucket, Key="large.bin")
    assert got["ContentLength"] == 200 << 20
    assert got["ETag"].endswith('-13"')  # multipart: thirteen parts
    digest = hashlib.sha256()
    for chunk in got["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(large.read_bytes()).hexdigest()
    assert root_s3.get_object(Bucket=bucket, Key="note-2.txt")["Body"].read() == b"file 2\n" * 3

    # A folder, and breadcrumbs back out of it.
    page.get_by_label("New folder").fill("reports")
    page.get_by_role("button", name="Create folder").click()
    page.wait_for_url("**prefix=reports%2F")
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name=bucket).click()
    page.get_by_role("link", name="reports/").wait_for()

    # A distribution in front of the bucket, from the Edge page's one form.
    page.goto(endpoint + CONSOLE + "edge")
    page.get_by_label("Bucket", exact=True).fill(bucket)
    page.get_by_label("Comment", exact=True).fill("made in the browser")
    page.get_by_role("button", name="Create distribution").click()
    page.wait_for_url("**/edge/distribution?id=*")
    distribution_id = page.url.rsplit("=", 1)[1]
    cf = boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=console_server.access_key,
                      aws_secret_access_key=console_server.secret_key)
    config = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    assert config["Origins"]["Items"][0]["DomainName"] == f"{bucket}.s3.amazonaws.com"
    assert config["Comment"] == "made in the browser"

    cookie = next(c for c in page.context.cookies() if c["name"] == "sealbox_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    replayed = requests.get(endpoint + CONSOLE, allow_redirects=False,
                            cookies={"sealbox_console": cookie["value"]})
    assert replayed.status_code == 303  # the session ended on the server, not only here
    assert page.dialogs == []


def test_share_a_link_open_it_revoke_another_and_see_both_in_activity(
        page: Any, console_server, root_s3) -> None:
    endpoint = console_server.endpoint
    bucket = f"share-{uuid.uuid4().hex[:8]}"
    root_s3.create_bucket(Bucket=bucket)
    root_s3.put_object(Bucket=bucket, Key="docs/report.pdf", Body=b"%PDF-1.7 report",
                       ContentType="application/pdf", Metadata={"owner": "<b>ana</b>"},
                       Tagging="team=finance")
    sign_in(page, endpoint, console_server.access_key, console_server.secret_key)
    page.goto(endpoint + CONSOLE + f"bucket?name={bucket}")
    page.get_by_role("link", name="docs/").click()
    page.get_by_role("link", name="report.pdf").click()
    shot(page, "04-object")
    details = page.locator("dl.details").first
    assert "application/pdf" in details.inner_text()
    assert page.get_by_text("<b>ana</b>").count() == 1  # metadata shown as text
    assert page.get_by_text("finance").count() == 1

    page.get_by_label("Number of uses").fill("1")
    page.get_by_label("Note").fill("for <script>ana</script>")
    page.get_by_role("button", name="Create link").click()
    page.get_by_role("heading", name="Link created").wait_for()
    shot(page, "05-link-created")
    url = page.get_by_label("Link").input_value()
    assert page.get_by_role("img", name="QR code of the link").count() == 1
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("status").filter(has_text="Copied.").wait_for()
    first = requests.get(url)
    assert first.status_code == 200 and first.content == b"%PDF-1.7 report"
    assert requests.get(url).status_code == 403  # one use only

    # A second link, revoked from the object's list.
    page.get_by_role("link", name="Back to the object").click()
    page.get_by_label("Note").fill("to revoke")
    page.get_by_role("button", name="Create link").click()
    other = page.get_by_label("Link").input_value()
    other_id = page.locator("code").first.inner_text()
    assert requests.get(other).status_code == 200
    page.get_by_role("link", name="Back to the object").click()
    page.get_by_role("button", name=f"Revoke {other_id}").click()
    page.get_by_role("heading", name="Share").wait_for()
    row = page.get_by_role("row").filter(has_text=other_id)
    assert "revoked" in row.inner_text()
    assert requests.get(other).status_code == 403
    # The bucket's links: both, with their uses so far.
    page.goto(endpoint + CONSOLE + f"bucket?name={bucket}")
    page.get_by_role("link", name="Links of this bucket").click()
    table = page.locator("table.list").inner_text()
    assert "1 of 1" in table and "for <script>ana</script>" in table and "to revoke" in table
    assert page.get_by_role("button", name="Revoke").count() == 1  # the revoked one has none

    # Activity, filtered by the revoked link: its use and its refusal.
    deadline = time.monotonic() + 15
    while True:
        page.goto(endpoint + CONSOLE + f"activity?LinkId={other_id}")
        rows = page.locator("table.events tbody tr")
        if rows.count() >= 2 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)  # the audit trail is written in batches
    shot(page, "06-activity")
    text = page.locator("table.events").inner_text()
    assert "200" in text and "403" in text
    assert page.get_by_text(f"Timeline of link {other_id}").count() == 1
    assert page.dialogs == []


def test_names_shaped_like_html_are_inert_and_a_user_without_rights_sees_the_refusal(
        page: Any, console_server, root_s3) -> None:
    endpoint = console_server.endpoint
    bucket = f"xss-{uuid.uuid4().hex[:8]}"
    root_s3.create_bucket(Bucket=bucket)
    root_s3.put_object(Bucket=bucket, Key=XSS_KEY, Body=b"x",
                       Metadata={"note": "<script>alert(2)</script>"})
    sign_in(page, endpoint, console_server.access_key, console_server.secret_key)
    page.goto(endpoint + CONSOLE + f"bucket?name={bucket}")
    page.get_by_role("link", name=XSS_KEY).click()
    page.get_by_role("heading", name=XSS_KEY).wait_for()
    assert page.locator("img[src=x]").count() == 0
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/bucket?name=" + bucket)
    assert root_s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert page.dialogs == []

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id=console_server.access_key,
                       aws_secret_access_key=console_server.secret_key)
    user = f"reader-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    alert = page.get_by_role("alert")
    assert "AccessDenied" in alert.inner_text()
    shot(page, "07-refused")
    # Not allowed to list every bucket, still a way into one by name.
    page.get_by_label("Open a bucket by name").fill(bucket)
    page.get_by_role("button", name="Open").click()
    page.goto(endpoint + CONSOLE + f"bucket?name={bucket}")
    assert "AccessDenied" in page.get_by_role("alert").inner_text()


def test_a_failed_part_is_retried_and_cancel_aborts_the_upload(page: Any, console_server,
                                                               root_s3, tmp_path: Path) -> None:
    endpoint = console_server.endpoint
    bucket = f"retry-{uuid.uuid4().hex[:8]}"
    root_s3.create_bucket(Bucket=bucket)
    sign_in(page, endpoint, console_server.access_key, console_server.secret_key)
    page.goto(endpoint + CONSOLE + f"bucket?name={bucket}")
    # The first send of part 2 fails on the network; the page sends it again.
    failed: list[str] = []

    def fail_once(route: Any) -> None:
        if not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/*partNumber=2*", fail_once)
    data = os.urandom(20 << 20)
    (tmp_path / "twice.bin").write_bytes(data)
    page.get_by_label("Choose files").set_input_files(tmp_path / "twice.bin")
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("status").filter(has_text="Uploaded 1 file(s).").wait_for()
    assert failed
    got = root_s3.get_object(Bucket=bucket, Key="twice.bin")
    assert got["ETag"].endswith('-2"') and got["Body"].read() == data
    page.unroute("**/*partNumber=2*")

    # A slow link (1 MB/s up), and Cancel while the parts are on their way.
    page.goto(endpoint + CONSOLE + f"bucket?name={bucket}")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": 1_000_000})
    (tmp_path / "big.bin").write_bytes(os.urandom(40 << 20))
    page.get_by_label("Choose files").set_input_files(tmp_path / "big.bin")
    page.get_by_role("button", name="Upload").click()
    progress = page.locator("#overall-progress")
    deadline = time.monotonic() + 20
    while float(progress.get_attribute("value") or 0) == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # (wait_for_function would eval, which the CSP forbids)
    assert float(progress.get_attribute("value") or 0) > 0
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("status").filter(has_text="Cancelled.").wait_for()
    deadline = time.monotonic() + 10
    while root_s3.list_multipart_uploads(Bucket=bucket).get("Uploads") and \
            time.monotonic() < deadline:
        time.sleep(0.2)  # the abort is sent as the page cancels
    assert not root_s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    keys = [o["Key"] for o in root_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["twice.bin"]
