"""Who is really asking, and over what: the client address and whether the
client's connection was TLS, believing ``X-Forwarded-*`` only from proxies
the operator named (``--trusted-proxy CIDR``). Pure: strings in, facts out.

These facts become ``aws:SourceIp`` and ``aws:SecureTransport``, so a forged
header must change nothing: unless the *direct* peer is inside a trusted
network, ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are ignored entirely.

uvicorn has its own proxy-header middleware, which by default believes these
headers from 127.0.0.1 and ::1 (and from whatever ``FORWARDED_ALLOW_IPS``
says), so any local process could claim HTTPS. ``sealbox serve`` turns it
off and decides here instead.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The ASGI TLS extension's ``tls_version`` (the TLS wire version) → the
# number AWS's ``s3:TlsVersion`` condition key compares against.
_TLS_VERSIONS = {0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}


@dataclass(frozen=True)
class ClientFacts:
    """The request's origin as far as it can be believed.

    ``client_ip`` is the direct peer, or, behind trusted proxies, the
    nearest address in ``X-Forwarded-For`` that no trusted proxy vouches for
    further. ``secure`` is true when the client's own connection was TLS.
    ``tls_version`` (``"1.2"``, ``"1.3"``) is known only for TLS ending here,
    and only when the ASGI server reports it; behind a proxy it is None.
    """

    client_ip: str
    secure: bool
    tls_version: str | None = None
    # Through a trusted proxy (a redirect to HTTPS then names the proxy's
    # default HTTPS port, not this server's --tls-port).
    proxied: bool = False


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) to networks; ``ValueError`` names a bad one.

    Host bits are allowed (``10.1.2.3/8`` is ``10.0.0.0/8``), as the operator
    plainly meant the network the prefix length says.
    """
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy {value!r} is not a CIDR "
                             "(e.g. 10.0.0.0/8, 192.168.1.7, fd00::/8)") from None
    return tuple(networks)


def tls_version_name(version: object) -> str | None:
    """``"1.3"`` for the ASGI TLS extension's ``0x0304``; None if unknown."""
    return _TLS_VERSIONS.get(version) if isinstance(version, int) else None


def client_facts(peer: str, scheme: str, headers: Mapping[str, str],
                 trusted: Sequence[Network], tls_version: str | None = None) -> ClientFacts:
    """The client address, TLS and TLS version of one request.

    ``peer`` is the direct peer's address (ASGI ``client[0]``; may be empty),
    ``scheme`` the ASGI scheme of the connection to us, ``headers`` the
    request headers with lower-case names (repeated ones joined with ``,``),
    ``trusted`` the operator's proxy networks, ``tls_version`` the version
    of the TLS connection to us, if known.

    Behind a trusted peer, ``X-Forwarded-For`` is walked right to left: each
    hop a trusted proxy appended names who connected to it; the first hop
    that is not itself a trusted proxy is the client. A hop that is not an
    address stops the walk at the last proxy believed (an address that
    cannot be checked is never the answer). ``X-Forwarded-Proto``'s
    rightmost value, set by the proxy nearest to us, says whether the
    client's leg was TLS; only ``https`` counts as secure.
    """
    secure = scheme in ("https", "wss")
    if peer[:7].lower() == "::ffff:":
        # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; policies
        # and CIDRs name them as IPv4.
        peer = str(_parse_address(peer) or peer)
    if not trusted:
        return ClientFacts(peer, secure, tls_version if secure else None)
    classify = _classifier(trusted)
    if not classify(peer)[1]:
        return ClientFacts(peer, secure, tls_version if secure else None)
    client = peer
    forwarded_for = headers.get("x-forwarded-for")
    if forwarded_for:
        for hop in reversed(forwarded_for.split(",")):
            address, inside = classify(_strip_port(hop.strip()))
            if address is None:
                break
            client = address
            if not inside:
                break
    proto = headers.get("x-forwarded-proto")
    if proto is not None:
        believed = proto.rsplit(",", 1)[-1].strip().lower()
        secure = believed == "https"
        # The proxy's leg to us may be TLS too, but the version the client
        # negotiated with the proxy is not ours to know.
        tls_version = None
    return ClientFacts(client, secure, tls_version if secure else None, proxied=True)


Classifier = Callable[[str], tuple[str | None, bool]]
# One classifier per set of trusted networks, found by the identity of the
# sequence the caller holds (the app parses its networks once), so that
# neither the networks nor the addresses are hashed or parsed per request.
_CLASSIFIERS: dict[int, tuple[Sequence[Network], Classifier]] = {}


def _classifier(trusted: Sequence[Network]) -> Classifier:
    entry = _CLASSIFIERS.get(id(trusted))
    if entry is not None and entry[0] is trusted:  # held, so its id is not reused
        return entry[1]
    networks = tuple(trusted)

    @functools.lru_cache(maxsize=4096)
    def classify(text: str) -> tuple[str | None, bool]:
        """``text`` as a normalised address (None if it is not one), and
        whether it is inside the trusted networks. Cached: ``ipaddress``
        takes microseconds, and behind a proxy the same addresses recur."""
        address = _parse_address(text)
        if address is None:
            return None, False
        return str(address), any(address in network for network in networks)

    if len(_CLASSIFIERS) >= 64:
        _CLASSIFIERS.clear()
    _CLASSIFIERS[id(trusted)] = (trusted, classify)
    return classify


def _parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _strip_port(hop: str) -> str:
    """``[2001:db8::1]:443`` → ``2001:db8::1``; ``192.0.2.1:80`` → ``192.0.2.1``
    (some proxies append the client's port)."""
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop
