"""The web console over plain HTTP (requests), on SQLite and PostgreSQL:
the redirect of browsers at ``/`` (and only of them), sign-in, the session
cookie's flags, CSRF and origin checks, sign-out ending the session, a
principal without rights seeing S3's refusal in a page, and the console's
own files under their budget. The journeys a person makes are in
test_console_browser.py."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

import sealbox.console
from sealbox.testing.server import RunningServer

CONSOLE = "/_sealbox/console/"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def sign_in(endpoint: str, access_key: str, secret_key: str) -> tuple[requests.Session, str]:
    """A signed-in session and its CSRF token."""
    session = requests.Session()
    signed = session.post(endpoint + CONSOLE + "signin", allow_redirects=False,
                          data={"access_key": access_key, "secret_key": secret_key})
    assert signed.status_code == 303, signed.text[:500]
    answer = session.get(endpoint + CONSOLE)  # the bucket list, or the refusal of it
    found = _CSRF.search(answer.text)
    assert found is not None, answer.text[:500]
    return session, found.group(1)


def test_a_browser_at_the_root_is_sent_to_the_console_and_s3_clients_see_s3(server, s3) -> None:
    opened = requests.get(server.endpoint + "/", allow_redirects=False,
                          headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert opened.status_code == 302
    assert opened.headers["location"] == CONSOLE
    # No HTML asked for: S3's own anonymous answer, as before.
    plain = requests.get(server.endpoint + "/", allow_redirects=False)
    assert plain.status_code == 403
    assert "<Code>AccessDenied</Code>" in plain.text
    # A signed ListBuckets is S3, whatever it accepts.
    assert "Buckets" in s3.list_buckets()
    page = requests.get(server.endpoint + CONSOLE)
    assert page.url.endswith(CONSOLE + "signin")
    assert 'for="access_key">Access key<' in page.text
    assert 'for="secret_key">Secret key<' in page.text


def test_sign_in_checks_the_secret_and_sets_a_strict_session_cookie(server) -> None:
    wrong = requests.post(server.endpoint + CONSOLE + "signin", allow_redirects=False,
                          data={"access_key": server.access_key, "secret_key": "not-it"})
    assert wrong.status_code == 403
    assert "set-cookie" not in wrong.headers
    unknown = requests.post(server.endpoint + CONSOLE + "signin", allow_redirects=False,
                            data={"access_key": "AKIANOSUCHKEY0000000", "secret_key": "x"})
    assert unknown.status_code == 403
    right = requests.post(server.endpoint + CONSOLE + "signin", allow_redirects=False,
                          data={"access_key": server.access_key,
                                "secret_key": server.secret_key})
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/_sealbox/console/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; under TLS it is Secure
    assert server.secret_key not in cookie
    page = requests.get(server.endpoint + CONSOLE, cookies={
        "sealbox_console": cookie.split(";")[0].split("=", 1)[1]})
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert server.secret_key not in page.text


def test_a_change_without_the_csrf_token_or_from_another_origin_is_refused(server, s3) -> None:
    session, csrf = sign_in(server.endpoint, server.access_key, server.secret_key)
    name = f"console-csrf-{uuid.uuid4().hex[:8]}"
    missing = session.post(server.endpoint + CONSOLE + "buckets", data={"name": name})
    assert missing.status_code == 403
    forged = session.post(server.endpoint + CONSOLE + "buckets",
                          data={"name": name, "csrf": "0" * 64})
    assert forged.status_code == 403
    elsewhere = session.post(server.endpoint + CONSOLE + "buckets",
                             data={"name": name, "csrf": csrf},
                             headers={"origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    upload_plan = session.post(server.endpoint + CONSOLE + "api/uploads",
                               json={"bucket": name, "key": "k", "size": 1})
    assert upload_plan.status_code == 403
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    made = session.post(server.endpoint + CONSOLE + "buckets", data={"name": name, "csrf": csrf})
    assert made.status_code == 200
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_sign_out_ends_the_session_for_its_cookie(server) -> None:
    session, csrf = sign_in(server.endpoint, server.access_key, server.secret_key)
    cookie = session.cookies.get("sealbox_console")
    out = session.post(server.endpoint + CONSOLE + "signout", data={"csrf": csrf},
                       allow_redirects=False)
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["set-cookie"]
    # The same cookie sent again (as a thief who copied it would) no longer works.
    again = requests.get(server.endpoint + CONSOLE, cookies={"sealbox_console": cookie},
                         allow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].endswith("/signin")
    change = requests.post(server.endpoint + CONSOLE + "buckets",
                           cookies={"sealbox_console": cookie},
                           data={"name": "after-sign-out", "csrf": csrf})
    assert change.status_code == 403


def test_a_principal_without_rights_sees_access_denied_in_a_page(server, client_factory) -> None:
    iam = client_factory("iam")
    user = f"console-nobody-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    session, _ = sign_in(server.endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    page = session.get(server.endpoint + CONSOLE)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "AccessDenied" in page.text
    assert "Traceback" not in page.text
    # A disabled key ends its sessions.
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    after = session.get(server.endpoint + CONSOLE, allow_redirects=False)
    assert after.status_code == 303


def test_a_key_of_a_thousand_characters_with_quotes_and_rtl_marks_is_shown_whole(
        server, s3, bucket: str) -> None:
    key = ("\u202e\"'<x>" + "ka" * 497)[:1000]  # 1 002 bytes of UTF-8
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    session, _ = sign_in(server.endpoint, server.access_key, server.secret_key)
    page = session.get(server.endpoint + CONSOLE + "object", params={"bucket": bucket,
                                                                       "key": key})
    assert page.status_code == 200
    escaped = key.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace('"', "&#34;").replace("'", "&#39;")
    assert escaped in page.text
    listing = session.get(server.endpoint + CONSOLE + "bucket", params={"name": bucket})
    assert escaped in listing.text


def test_a_shared_link_bound_to_other_addresses_is_refused_from_here(server, s3,
                                                                      bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="lab.txt", Body=b"lab only")
    session, csrf = sign_in(server.endpoint, server.access_key, server.secret_key)
    made = session.post(server.endpoint + CONSOLE + "links", data={
        "csrf": csrf, "bucket": bucket, "key": "lab.txt", "bind": "192.0.2.0/24, 2001:db8::/32",
        "expires": "15m", "note": "lab"})
    assert made.status_code == 200
    url = re.search(r'id="link-url" class="url" readonly value="([^"]+)"',
                    made.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert requests.get(url).status_code == 403  # the tests ask from 127.0.0.1
    bad = session.post(server.endpoint + CONSOLE + "links", data={
        "csrf": csrf, "bucket": bucket, "key": "lab.txt", "bind": "not-an-address"})
    assert bad.status_code == 400 and "BindIp" in bad.text


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_session_works_on_every_node_and_sign_out_ends_it_on_all(
        store: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    args: tuple[str, ...] = ()
    if store == "postgres":
        cluster: Any = request.getfixturevalue("postgres_cluster")
        args = ("--meta-dsn", cluster.new_database())
    # Two nodes on one store (and one data directory, as nodes share blobs).
    with RunningServer(data_dir=tmp_path / "data", extra_args=args) as one, \
            RunningServer(data_dir=tmp_path / "data", extra_args=args) as two:
        session, csrf = sign_in(one.endpoint, one.access_key, one.secret_key)
        cookie = {"sealbox_console": session.cookies["sealbox_console"]}
        on_two = requests.get(two.endpoint + CONSOLE, cookies=cookie, allow_redirects=False)
        assert on_two.status_code == 200
        out = requests.post(two.endpoint + CONSOLE + "signout", cookies=cookie,
                            data={"csrf": csrf}, allow_redirects=False)
        assert out.status_code == 303
        on_one = requests.get(one.endpoint + CONSOLE, cookies=cookie, allow_redirects=False)
        assert on_one.status_code == 303


def test_the_console_files_are_packaged_and_small() -> None:
    root = Path(sealbox.console.__file__).parent
    files = [p for p in (root / "static").iterdir()] + [p for p in (root / "templates").iterdir()]
    assert {p.name for p in files} >= {"console.css", "upload.js", "copy.js", "base.html"}
    assert sum(p.stat().st_size for p in files) < 300_000


@pytest.mark.parametrize("name", ["../app.py", "nope.js", "console.css/x"])
def test_only_the_consoles_own_static_files_are_served(server, name: str) -> None:
    answer = requests.get(server.endpoint + CONSOLE + "static/" + name)
    assert answer.status_code == 404
