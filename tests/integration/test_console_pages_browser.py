"""The console's second part in a real browser (Debian's Chromium via
Playwright): an access key and a distribution made by a person, and the
checks the issue asks of every page: usable with the keyboard alone, every
control named, nothing wider than the screen at a phone's 390 px or at
200 % zoom (a 1280 px window zoomed is a 640 px one).

One browser and one server for the module; each test its own context.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sealbox.testing.server import RunningServer
from tests.integration.chromium import launched_browser

CONSOLE = "/_sealbox/console/"
# Every control the page shows, and the ones without an accessible name.
UNNAMED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter(el => el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.textContent || '').trim() && !el.getAttribute('title'))
  .map(el => el.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with RunningServer(data_dir=tmp_path_factory.mktemp("console-pages") / "data") as running:
        yield running


def _client(server: RunningServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key,
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_browser()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(20_000)
    opened = context.new_page()
    blocked: list[str] = []  # what the Content-Security-Policy refused: nothing should be
    opened.on("console", lambda m: blocked.append(m.text)
              if "Content Security Policy" in m.text else None)
    yield opened
    context.close()
    assert blocked == []


def sign_in(page: Any, server: RunningServer) -> None:
    page.goto(server.endpoint + CONSOLE + "signin")
    page.get_by_label("Access key").fill(server.access_key)
    page.get_by_label("Secret key").fill(server.secret_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**" + CONSOLE)


def test_a_person_makes_an_access_key_a_policy_and_a_distribution(page: Any, server) -> None:
    s3 = _client(server, "s3")
    bucket = f"site-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    sign_in(page, server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access").click()
    user = f"ana-{uuid.uuid4().hex[:6]}"
    page.get_by_label("New user name").fill(user)
    page.get_by_role("button", name="Create user").click()
    page.get_by_role("heading", name=f"User {user}").wait_for()
    page.get_by_role("button", name="Create access key").click()
    secret = page.get_by_label("Secret key").input_value()
    assert len(secret) == 40
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("status").filter(has_text="Copied.").wait_for()
    stored = page.evaluate("() => JSON.stringify([document.cookie, {...localStorage}, "
                           "{...sessionStorage}])")
    assert secret not in stored
    page.get_by_role("link", name="Done").click()
    page.get_by_role("heading", name=f"User {user}").wait_for()
    assert secret not in page.content()
    assert page.get_by_role("button", name="Disable").count() == 1

    # The policy editor: the server's own refusal above the text as typed.
    page.get_by_role("link", name="New policy").first.click()
    page.get_by_label("Policy name").fill(f"p-{uuid.uuid4().hex[:6]}")
    page.get_by_label("Policy document (JSON)").fill('{"Version": "2012-10-17", "Statement": []')
    page.get_by_role("button", name="Create policy").click()
    alert = page.get_by_role("alert")
    assert "MalformedPolicyDocument" in alert.inner_text()
    assert page.get_by_label("Policy document (JSON)").input_value().endswith("[]")
    page.get_by_label("Policy document (JSON)").fill(json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                "Resource": f"arn:aws:s3:::{bucket}"}]}))
    page.get_by_role("button", name="Create policy").click()
    page.get_by_role("heading", name="Document").wait_for()

    # A distribution from the bucket, in one form, with a new origin access control.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Edge").click()
    page.get_by_label("Bucket").fill(bucket)
    page.get_by_label("Viewer protocol policy").select_option("https-only")
    page.get_by_label("Comment", exact=True).fill("made in the console")
    page.get_by_role("button", name="Create distribution").click()
    page.get_by_role("heading", name="Invalidations").wait_for()
    details = page.locator("dl.details").inner_text()
    assert f"{bucket}.s3.amazonaws.com with origin access control" in details
    assert "https-only" in details
    page.get_by_label("Paths to invalidate, one a line").fill("/index.html")
    page.get_by_role("button", name="Invalidate").click()
    page.get_by_role("heading", name="Invalidations").wait_for()
    assert page.locator("table.list tbody tr").count() == 1
    distributions = _client(server, "cloudfront").list_distributions()["DistributionList"]
    assert any(d["Comment"] == "made in the console" for d in distributions["Items"])


def test_the_console_is_usable_with_the_keyboard_alone(page: Any, server) -> None:
    def tab_to(selector: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate(f"() => document.activeElement.matches({json.dumps(selector)})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.goto(server.endpoint + CONSOLE + "signin")
    tab_to("#access_key")
    page.keyboard.type(server.access_key)
    page.keyboard.press("Tab")
    page.keyboard.type(server.secret_key)
    page.keyboard.press("Enter")
    page.wait_for_url("**" + CONSOLE)
    tab_to(f'a[href="{CONSOLE}access"]')
    # A focused control shows it (the stylesheet never hides the focus ring).
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_url("**/access")
    group = f"team-{uuid.uuid4().hex[:6]}"
    tab_to("#group_name")
    page.keyboard.type(group)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=f"Group {group}").wait_for()
    page.goto(server.endpoint + CONSOLE + "doctor")
    tab_to("#doctor_link")
    page.keyboard.type("https://example.com/b/k?X-Amz-Signature=00")
    tab_to("button[type=submit]:not(.signout button)")
    page.keyboard.press("Enter")
    page.get_by_role("alert").get_by_text("NotThisServer").wait_for()  # the doctor's own answer


@pytest.mark.parametrize(("width", "height"), [(390, 844), (640, 400)],
                         ids=["phone-390px", "zoom-200pc"])
def test_every_page_fits_the_screen_and_names_every_control(page: Any, server, width: int,
                                                            height: int) -> None:
    s3, iam = _client(server, "s3"), _client(server, "iam")
    bucket = f"fit-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    key = "reports/" + "a-long-name-without-spaces-" * 8 + ".csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x" * 2048)
    s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    user = f"fit-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.create_access_key(UserName=user)
    policy = iam.create_policy(PolicyName=f"fit-{uuid.uuid4().hex[:6]}", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                "Resource": "*"}]}))["Policy"]["Arn"]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, server)
    paths = ["", f"bucket?name={bucket}", f"bucket?name={bucket}&prefix=reports%2F",
             f"object?bucket={bucket}&key={key}", f"bucket/settings?name={bucket}",
             f"activity?Bucket={bucket}", "access", f"access/user?name={user}",
             f"access/policy?arn={policy}", "access/policies", "access/public-access",
             "edge", "doctor"]
    folder = os.environ.get("SEALBOX_CONSOLE_SCREENSHOTS")  # for a person to look at
    for number, path in enumerate(paths):
        page.goto(server.endpoint + CONSOLE + path)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{width}px-{number:02d}.png"),
                            full_page=True)
        assert page.evaluate("() => document.title") != ""
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= width, f"{path}: {overflow} px wide on a {width} px screen"
        assert page.evaluate(UNNAMED) == [], path
        assert page.get_by_role("button", name="Sign out").is_visible(), path
    # A row's actions stay on screen when its other columns give way.
    page.goto(server.endpoint + CONSOLE + f"access/user?name={user}")
    assert page.get_by_role("button", name="Disable").is_visible()
    assert page.get_by_role("link", name="Delete AKIA").is_visible()
