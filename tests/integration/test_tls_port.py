"""HTTP and HTTPS in one server (issue 15): ``--port`` plain and
``--tls-port`` TLS together, ``redirect-to-https`` pointing at the port
that speaks it, a plain-HTTP client at the TLS port answered 400, and
``sealbox tls self-signed`` covering the edge's names."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from sealbox.testing.server import RunningServer, free_port
from tests.conftest import make_client
from tests.integration.edge_site import behaviour, make_site


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("tls") / "pair"
    made = subprocess.run([sys.executable, "-m", "sealbox", "tls", "self-signed",
                           "--out-dir", str(out), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(made.stdout)


@pytest.fixture(scope="module")
def both(pair: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[RunningServer, int]]:
    tls_port = free_port()
    with RunningServer(data_dir=tmp_path_factory.mktemp("both") / "data",
                       extra_args=("--tls-cert", pair["cert"], "--tls-key", pair["key"],
                                   "--tls-port", str(tls_port))) as server:
        yield server, tls_port


def test_self_signed_covers_the_edge_domains_wildcard_by_default(pair: dict[str, Any]) -> None:
    assert "*.cloudfront.localhost" in pair["names"]
    assert {"localhost", "127.0.0.1"} <= set(pair["names"])


def test_one_server_speaks_http_and_https_on_two_ports(both: tuple[RunningServer, int],
                                                      pair: dict[str, Any]) -> None:
    server, tls_port = both
    plain = make_client(server)
    plain.create_bucket(Bucket="both")
    plain.put_object(Bucket="both", Key="k", Body=b"over http")
    s3 = boto3.client("s3", endpoint_url=f"https://localhost:{tls_port}",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key, region_name="us-east-1",
                      verify=pair["cert"], config=Config(s3={"addressing_style": "path"}))
    assert s3.get_object(Bucket="both", Key="k")["Body"].read() == b"over http"
    curl = subprocess.run(["curl", "-sS", "--cacert", pair["cert"], "-o", "/dev/null",
                           "-w", "%{http_code}", f"https://localhost:{tls_port}/_sealbox/health"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert curl.stdout == "200", curl.stderr


def test_plain_http_to_the_tls_port_gets_a_clear_400(both: tuple[RunningServer, int],
                                                     pair: dict[str, Any]) -> None:
    _, tls_port = both
    curl = subprocess.run(["curl", "-sS", "-i", f"http://127.0.0.1:{tls_port}/bucket/key"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert curl.returncode == 0, curl.stderr  # an answer, not "Empty reply from server"
    assert curl.stdout.startswith("HTTP/1.1 400")
    assert "The plain HTTP request was sent to HTTPS port" in curl.stdout
    # A client that sends a body too still reads the answer (no reset).
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as sock:
        sock.sendall(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                     + b"x" * 100_000)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request")
    # And the TLS port still serves TLS afterwards.
    assert requests.get(f"https://localhost:{tls_port}/_sealbox/health", verify=pair["cert"],
                        timeout=10).status_code == 200


def test_redirect_to_https_sends_viewers_to_the_tls_port(both: tuple[RunningServer, int],
                                                         pair: dict[str, Any]) -> None:
    server, tls_port = both
    site = make_site(make_client(server), make_client(server, "cloudfront"), server.endpoint,
                     server.port, restricted=False, default=behaviour(
                         groups=None, viewer_protocol="redirect-to-https"))
    make_client(server).put_object(Bucket=site.bucket, Key="page.html", Body=b"<p>hello</p>")
    moved = site.get(site.url("/page.html?x=1"))
    assert moved.status_code == 301
    assert moved.headers["location"] == f"https://{site.domain}:{tls_port}/page.html?x=1"
    # curl follows it: *.localhost resolves to the loopback, and the
    # self-signed certificate covers *.cloudfront.localhost.
    curl = subprocess.run(["curl", "-sS", "-L", "--cacert", pair["cert"],
                           f"http://{site.domain}:{server.port}/page.html"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert curl.stdout == "<p>hello</p>", curl.stderr
