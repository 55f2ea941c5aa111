"""``sealbox serve --edge-port``: a second port where only distributions
answer — by the Host header, or the one distribution when there is only one
— and where neither the S3 API nor the service paths are reachable."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sealbox.cli.client import AdminClient, path
from sealbox.testing.server import RunningServer, free_port
from tests.conftest import make_client
from tests.integration.edge_site import Site, make_site


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, int]]:
    edge_port = free_port()
    base = tmp_path_factory.mktemp("sealbox-edge-port")
    with RunningServer(data_dir=base / "data",
                       extra_args=("--edge-port", str(edge_port))) as running:
        yield running, edge_port


def fetch(port: int, url: str, host: str | None = None) -> requests.Response:
    """GET ``url``'s path and query from the edge port, with ``host`` (default:
    the URL's own) as the Host header."""
    scheme_host = url.split("/", 3)
    path = "/" + scheme_host[3] if len(scheme_host) > 3 else "/"
    return requests.get(f"http://127.0.0.1:{port}{path}",
                        headers={"Host": host or scheme_host[2]}, timeout=30)


def test_the_edge_port_serves_distributions_and_nothing_else(
        edge_server: tuple[RunningServer, int]) -> None:
    server, edge_port = edge_server
    s3 = make_client(server)
    cf = make_client(server, "cloudfront")
    # The S3 API and the service paths are not on the edge port.
    assert requests.get(f"http://127.0.0.1:{edge_port}/_sealbox/health", timeout=10).status_code == 403
    assert requests.get(f"http://127.0.0.1:{server.port}/_sealbox/health",
                        timeout=10).status_code == 200

    # One distribution: it answers whatever the Host, on the edge port only.
    first: Site = make_site(s3, cf, server.endpoint, edge_port)
    s3.put_object(Bucket=first.bucket, Key="book.epub", Body=b"first")
    by_address = Site(**{**first.__dict__, "domain": "127.0.0.1"})
    link = by_address.signed("/book.epub")
    got = fetch(edge_port, link)
    assert got.status_code == 200 and got.content == b"first"
    assert got.headers["x-cache"] in ("Miss from cloudfront", "Hit from cloudfront")
    # The same link to the S3 port is an S3 request: the bucket stays closed.
    s3_port = requests.get(link.replace(f":{edge_port}", f":{server.port}"), timeout=10)
    assert s3_port.status_code == 403 and "x-cache" not in s3_port.headers
    # Unsigned: CloudFront's refusal, from the edge.
    refused = fetch(edge_port, f"http://127.0.0.1:{edge_port}/book.epub")
    assert refused.status_code == 403 and refused.headers["x-cache"] == "Error from cloudfront"
    # A link naming the edge port's address (no distribution's name) can be
    # revoked; its sibling keeps working.
    admin = AdminClient(server.endpoint, server.access_key, server.secret_key)
    doomed, sibling = by_address.signed("/book.epub", seconds=600), by_address.signed("/book.epub")
    answer = admin.call("POST", path("revocations"), {"Url": doomed}).body
    assert len(answer["Revoked"]) == 64  # the signature's fingerprint
    assert fetch(edge_port, doomed).status_code == 403
    assert fetch(edge_port, sibling).status_code == 200

    # Two distributions: each answers on its own name; an unknown Host is a 403.
    second: Site = make_site(s3, cf, server.endpoint, edge_port)
    s3.put_object(Bucket=second.bucket, Key="book.epub", Body=b"second")
    assert fetch(edge_port, first.signed("/book.epub")).content == b"first"
    assert fetch(edge_port, second.signed("/book.epub")).content == b"second"
    unknown = fetch(edge_port, by_address.signed("/book.epub"))
    assert unknown.status_code == 403
    assert "The request could not be satisfied" in unknown.text
    assert unknown.headers["x-cache"] == "Error from cloudfront"


@pytest.mark.parametrize("args, message", [
    (["--edge-port", "0"], "--edge-port must be a port"),
    (["--port", "9555", "--edge-port", "9555"], "other than --port"),
    (["--edge-port", "9556", "--http-server", "uvicorn"], "--edge-port needs --http-server sealbox"),
])
def test_bad_edge_ports_are_refused_in_one_line(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "sealbox", "serve", "--data-dir",
                           str(tmp_path / "d"), *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "d").exists()  # refused before anything is made
