"""Client address and TLS as believed: X-Forwarded-* only from trusted proxies."""

from __future__ import annotations

import pytest

from sealbox.server.forwarded import (
    ClientFacts,
    client_facts,
    parse_networks,
    tls_version_name,
)

LOOPBACK = parse_networks(["127.0.0.0/8", "::1"])
PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])



def Proxied(client_ip: str, secure: bool) -> ClientFacts:
    """The facts of a request that came through a trusted proxy."""
    return ClientFacts(client_ip, secure, proxied=True)


# (id, peer, ASGI scheme, headers, trusted networks, expected facts)
CASES = [
    # No trusted proxies: the connection alone decides; headers change nothing.
    ("plain-http", "192.0.2.7", "http", {}, (), ClientFacts("192.0.2.7", False)),
    ("direct-tls", "192.0.2.7", "https", {}, (), ClientFacts("192.0.2.7", True)),
    ("forged-proto-no-trust", "192.0.2.7", "http", {"x-forwarded-proto": "https"}, (),
     ClientFacts("192.0.2.7", False)),
    ("forged-for-no-trust", "192.0.2.7", "http", {"x-forwarded-for": "198.51.100.1"}, (),
     ClientFacts("192.0.2.7", False)),
    ("forged-http-over-tls", "192.0.2.7", "https", {"x-forwarded-proto": "http"}, (),
     ClientFacts("192.0.2.7", True)),
    # Trusted networks configured, but the peer is outside them: still ignored.
    ("forged-from-untrusted-peer", "192.0.2.7", "http",
     {"x-forwarded-proto": "https", "x-forwarded-for": "10.0.0.1"}, PROXIES,
     ClientFacts("192.0.2.7", False)),
    ("forged-loopback-when-only-proxies-trusted", "127.0.0.1", "http",
     {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.1"}, PROXIES,
     ClientFacts("127.0.0.1", False)),
    ("unparsable-peer", "not-an-ip", "http",
     {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.1"}, PROXIES,
     ClientFacts("not-an-ip", False)),
    ("no-peer", "", "http", {"x-forwarded-proto": "https"}, PROXIES, ClientFacts("", False)),
    # Trusted peer: believed (and the request known to come through it).
    ("trusted-proto-https", "10.1.2.3", "http", {"x-forwarded-proto": "https"}, PROXIES,
     Proxied("10.1.2.3", True)),
    ("trusted-proto-upper-case", "10.1.2.3", "http", {"x-forwarded-proto": "HTTPS"}, PROXIES,
     Proxied("10.1.2.3", True)),
    ("trusted-proto-http-over-tls-leg", "10.1.2.3", "https", {"x-forwarded-proto": "http"},
     PROXIES, Proxied("10.1.2.3", False)),
    ("trusted-proto-garbage-is-not-secure", "10.1.2.3", "https",
     {"x-forwarded-proto": "httpsx"}, PROXIES, Proxied("10.1.2.3", False)),
    ("trusted-proto-rightmost-wins", "10.1.2.3", "http", {"x-forwarded-proto": "https, http"},
     PROXIES, Proxied("10.1.2.3", False)),
    ("trusted-proto-rightmost-wins-https", "10.1.2.3", "http",
     {"x-forwarded-proto": "http,https"}, PROXIES, Proxied("10.1.2.3", True)),
    ("trusted-no-proto-uses-connection", "10.1.2.3", "https", {}, PROXIES,
     Proxied("10.1.2.3", True)),
    ("trusted-for-one-hop", "10.1.2.3", "http", {"x-forwarded-for": "198.51.100.1"}, PROXIES,
     Proxied("198.51.100.1", False)),
    ("trusted-for-rightmost-untrusted", "10.1.2.3", "http",
     {"x-forwarded-for": "203.0.113.9, 198.51.100.1"}, PROXIES,
     Proxied("198.51.100.1", False)),
    ("trusted-for-walks-through-proxies", "10.1.2.3", "http",
     {"x-forwarded-for": "203.0.113.9, 198.51.100.1, 10.9.9.9, 10.8.8.8"}, PROXIES,
     Proxied("198.51.100.1", False)),
    ("trusted-for-all-proxies-leftmost", "10.1.2.3", "http",
     {"x-forwarded-for": "10.5.5.5, 10.6.6.6"}, PROXIES, Proxied("10.5.5.5", False)),
    ("trusted-for-client-spoofs-left-entry", "10.1.2.3", "http",
     {"x-forwarded-for": "10.0.0.1, 198.51.100.1"}, PROXIES,
     Proxied("198.51.100.1", False)),
    ("trusted-for-garbage-stops-at-last-proxy", "10.1.2.3", "http",
     {"x-forwarded-for": "198.51.100.1, garbage, 10.7.7.7"}, PROXIES,
     Proxied("10.7.7.7", False)),
    ("trusted-for-garbage-rightmost-keeps-peer", "10.1.2.3", "http",
     {"x-forwarded-for": "198.51.100.1, unknown"}, PROXIES, Proxied("10.1.2.3", False)),
    ("trusted-for-empty-entries", "10.1.2.3", "http", {"x-forwarded-for": " , "}, PROXIES,
     Proxied("10.1.2.3", False)),
    ("trusted-for-with-port", "10.1.2.3", "http", {"x-forwarded-for": "198.51.100.1:5555"},
     PROXIES, Proxied("198.51.100.1", False)),
    ("trusted-for-ipv6-bracketed-port", "10.1.2.3", "http",
     {"x-forwarded-for": "[2001:db8::1]:443"}, PROXIES, Proxied("2001:db8::1", False)),
    ("trusted-for-ipv6", "fd00::1", "http",
     {"x-forwarded-for": "2001:db8::5, fd12::1", "x-forwarded-proto": "https"}, PROXIES,
     Proxied("2001:db8::5", True)),
    ("trusted-for-ipv4-mapped-hop", "10.1.2.3", "http",
     {"x-forwarded-for": "::ffff:198.51.100.1"}, PROXIES, Proxied("198.51.100.1", False)),
    ("trusted-for-mapped-proxy-hop-is-trusted", "10.1.2.3", "http",
     {"x-forwarded-for": "198.51.100.1, ::ffff:10.2.2.2"}, PROXIES,
     Proxied("198.51.100.1", False)),
    ("trusted-loopback-proxy", "127.0.0.1", "http",
     {"x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "https"}, LOOPBACK,
     Proxied("198.51.100.1", True)),
    ("trusted-ipv6-loopback-proxy", "::1", "http", {"x-forwarded-proto": "https"}, LOOPBACK,
     Proxied("::1", True)),
    # A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 addresses.
    ("mapped-peer-trusted", "::ffff:10.1.2.3", "http", {"x-forwarded-proto": "https"},
     PROXIES, Proxied("10.1.2.3", True)),
    ("mapped-peer-untrusted-normalised", "::ffff:192.0.2.7", "http",
     {"x-forwarded-proto": "https"}, PROXIES, ClientFacts("192.0.2.7", False)),
    ("mapped-peer-no-trust-normalised", "::FFFF:192.0.2.7", "http", {}, (),
     ClientFacts("192.0.2.7", False)),
]


@pytest.mark.parametrize(("peer", "scheme", "headers", "trusted", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_client_facts(peer: str, scheme: str, headers: dict[str, str], trusted: tuple,
                      expected: ClientFacts) -> None:
    assert client_facts(peer, scheme, headers, trusted) == expected


def test_tls_version_kept_for_tls_ending_here() -> None:
    facts = client_facts("192.0.2.7", "https", {}, (), "1.3")
    assert facts == ClientFacts("192.0.2.7", True, "1.3")


def test_tls_version_dropped_without_tls() -> None:
    assert client_facts("192.0.2.7", "http", {}, (), "1.3").tls_version is None


def test_tls_version_unknown_behind_proxy() -> None:
    """The version the client negotiated with the proxy is not ours to know."""
    facts = client_facts("10.1.2.3", "https", {"x-forwarded-proto": "https"}, PROXIES, "1.3")
    assert facts == ClientFacts("10.1.2.3", True, None, proxied=True)


def test_tls_version_forged_proto_from_untrusted_peer_changes_nothing() -> None:
    facts = client_facts("192.0.2.7", "https", {"x-forwarded-proto": "http"}, PROXIES, "1.2")
    assert facts == ClientFacts("192.0.2.7", True, "1.2")


@pytest.mark.parametrize(("wire", "name"), [(0x0303, "1.2"), (0x0304, "1.3"), (0x0301, "1.0"),
                                            (0x9999, None), (None, None), ("1.3", None)])
def test_tls_version_name(wire: object, name: str | None) -> None:
    assert tls_version_name(wire) == name


@pytest.mark.parametrize(("text", "network"), [
    ("10.0.0.0/8", "10.0.0.0/8"),
    ("10.1.2.3/8", "10.0.0.0/8"),  # host bits allowed: the prefix says what is meant
    ("192.168.1.7", "192.168.1.7/32"),
    (" fd00::/8 ", "fd00::/8"),
    ("::1", "::1/128"),
])
def test_parse_networks(text: str, network: str) -> None:
    assert [str(n) for n in parse_networks([text])] == [network]


@pytest.mark.parametrize("text", ["10.0.0.0/33", "not-a-cidr", "", "10.0.0.0/8/8",
                                  "300.1.1.1", "fd00::/129"])
def test_parse_networks_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--trusted-proxy"):
        parse_networks([text])


def scope(peer: str, scheme: str, headers: dict[str, str], tls: dict | None = None) -> dict:
    return {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"",
            "scheme": scheme, "client": (peer, 5555),
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "extensions": {"tls": tls} if tls is not None else {}}


def test_request_view_carries_believed_facts() -> None:
    from sealbox.server.request import Request

    behind = Request.from_scope(scope("10.1.2.3", "http", {"x-forwarded-proto": "https",
                                                           "x-forwarded-for": "198.51.100.1"}),
                                None, trusted_proxies=PROXIES)
    assert (behind.client, behind.client_ip, behind.secure, behind.scheme) == (
        "10.1.2.3", "198.51.100.1", True, "https")
    forged = Request.from_scope(scope("192.0.2.7", "http", {"x-forwarded-proto": "https",
                                                            "x-forwarded-for": "10.0.0.1"}),
                                None, trusted_proxies=PROXIES)
    assert (forged.client_ip, forged.secure, forged.scheme) == ("192.0.2.7", False, "http")
    direct = Request.from_scope(scope("192.0.2.7", "https", {}, {"tls_version": 0x0304}), None)
    assert (direct.secure, direct.scheme, direct.tls_version) == (True, "https", "1.3")
