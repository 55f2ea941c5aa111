"""``sealbox serve --console-port``: the web console on an origin of its
own. There: the console (at ``/`` too) and the presigned uploads its page
sends, nothing else, so no object S3 serves ever shares the console's
origin. On the S3 port, the console's paths and a browser at ``/`` are sent
there; links and downloads the console makes name the S3 port."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from sealbox.testing.server import RunningServer, free_port

CONSOLE = "/_sealbox/console/"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    port = free_port()
    base = tmp_path_factory.mktemp("sealbox-console-port")
    with RunningServer(data_dir=base / "data",
                       extra_args=("--console-port", str(port))) as running:
        yield running, f"http://127.0.0.1:{port}"


def test_the_console_port_serves_the_console_and_sends_s3_readers_away(
        served: tuple[RunningServer, str]) -> None:
    server, console = served
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key,
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="port-test")
    s3.put_object(Bucket="port-test", Key="page.html", Body=b"<script>1</script>",
                  ContentType="text/html")
    root = requests.get(console + "/", allow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (302, CONSOLE)
    browser = requests.get(server.endpoint + "/", headers={"accept": "text/html"},
                           allow_redirects=False)
    assert browser.headers["location"] == console + CONSOLE
    moved = requests.get(server.endpoint + CONSOLE + "signin?x=1", allow_redirects=False)
    assert moved.headers["location"] == console + CONSOLE + "signin?x=1"
    # An object (HTML here) is never served on the console's origin, signed or not.
    signed = s3.generate_presigned_url("get_object", Params={"Bucket": "port-test",
                                                              "Key": "page.html"})
    parts = urlsplit(signed)
    assert requests.get(f"{console}{parts.path}?{parts.query}").status_code == 404
    on_s3 = requests.get(signed)
    assert on_s3.status_code == 200
    # The S3 port is not the console's origin: objects there need no sandbox.
    assert "content-security-policy" not in on_s3.headers
    assert requests.get(console + "/_sealbox/api/v1/links").status_code == 404


def test_uploads_go_to_the_console_port_and_links_name_the_s3_port(
        served: tuple[RunningServer, str]) -> None:
    server, console = served
    session = requests.Session()
    signed_in = session.post(console + CONSOLE + "signin", allow_redirects=False,
                             data={"access_key": server.access_key,
                                   "secret_key": server.secret_key})
    assert signed_in.status_code == 303
    page = session.get(console + CONSOLE)
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
    made = session.post(console + CONSOLE + "buckets", data={"name": "via-port", "csrf": csrf},
                        headers={"origin": console})
    assert made.status_code == 200
    plan = session.post(console + CONSOLE + "api/uploads",
                        json={"bucket": "via-port", "key": "a.txt", "size": 5},
                        headers={"x-csrf-token": csrf, "origin": console}).json()
    assert plan["url"].startswith(console + "/via-port/a.txt?")
    assert requests.put(plan["url"], data=b"hello").status_code == 200
    download = session.get(console + CONSOLE + "download?bucket=via-port&key=a.txt",
                           allow_redirects=False)
    assert download.headers["location"].startswith(server.endpoint + "/via-port/a.txt?")
    assert requests.get(download.headers["location"]).content == b"hello"
    shared = session.post(console + CONSOLE + "links", headers={"origin": console},
                          data={"bucket": "via-port", "key": "a.txt", "csrf": csrf})
    url = re.search(r'id="link-url" class="url" readonly value="([^"]+)"',
                    shared.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert url.startswith(server.endpoint + "/via-port/a.txt?")
    assert requests.get(url).content == b"hello"


def test_sign_in_is_refused_for_a_while_after_ten_failures(
        served: tuple[RunningServer, str]) -> None:
    # Last in this module: its server's loopback address is blocked afterwards.
    server, console = served
    for _ in range(10):
        wrong = requests.post(console + CONSOLE + "signin", allow_redirects=False,
                              data={"access_key": server.access_key, "secret_key": "guess"})
        assert wrong.status_code == 403
    right = requests.post(console + CONSOLE + "signin", allow_redirects=False,
                          data={"access_key": server.access_key,
                                "secret_key": server.secret_key})
    assert right.status_code == 429
    assert 0 < int(right.headers["retry-after"]) <= 300
    assert "set-cookie" not in right.headers
