"""Where ``redirect-to-https`` sends a viewer (edge/serve.https_url): the
port that speaks HTTPS here (``--tls-port``), or, behind a trusted proxy or
with no TLS port, the default 443 of the same name; never the plain port."""

from __future__ import annotations

import pytest

from sealbox.edge.serve import https_url
from sealbox.server.request import Request


def viewer(host: str, *, proxied: bool = False, query: str = "") -> Request:
    return Request(method="GET", raw_path="/a/b.txt", raw_query=query, headers={"host": host},
                   client="127.0.0.1", scheme="http", receive=None, proxied=proxied)


@pytest.mark.parametrize(("host", "proxied", "tls_port", "location"), [
    ("d1.cloudfront.localhost:9000", False, 9443, "https://d1.cloudfront.localhost:9443/a/b.txt"),
    ("d1.cloudfront.localhost:9000", False, 443, "https://d1.cloudfront.localhost/a/b.txt"),
    ("d1.cloudfront.localhost:9000", False, None, "https://d1.cloudfront.localhost/a/b.txt"),
    ("cdn.example.com", True, 9443, "https://cdn.example.com/a/b.txt"),
    ("cdn.example.com:8080", True, 9443, "https://cdn.example.com/a/b.txt"),
    ("[::1]:9000", False, 9443, "https://[::1]:9443/a/b.txt"),
])
def test_redirect_to_https_names_the_port_that_speaks_it(host: str, proxied: bool,
                                                         tls_port: int | None,
                                                         location: str) -> None:
    assert https_url(viewer(host, proxied=proxied), tls_port) == location


def test_redirect_keeps_the_query() -> None:
    assert https_url(viewer("x.test", query="a=1&b"), 8443) == "https://x.test:8443/a/b.txt?a=1&b"
