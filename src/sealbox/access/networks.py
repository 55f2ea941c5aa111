"""Named networks: what ``aws:SourceVpc`` and ``aws:SourceVpce`` mean here.

On AWS a request that arrives through a VPC endpoint carries the VPC's and
the endpoint's ids, and bucket policies say ``"aws:SourceVpc": "vpc-1a2b"``
to mean "only from inside that network". sealbox has no VPCs; an operator
names a set of CIDRs instead (``vpc-office`` = ``10.1.0.0/16``,
``2001:db8::/32``), and a request's ``aws:SourceVpc`` and ``aws:SourceVpce``
are the names of every network that holds its source address. A request
from an address in no network has neither key, exactly as an AWS request
that did not come through an endpoint: ``StringEquals`` on them is false,
``StringNotEquals`` true.

The address parsing here is shared with the ``IpAddress`` operators.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")

# (version, first address as an int, mask as an int)
Cidr = tuple[int, int, int]


class InvalidNetwork(ValueError):
    """A network name or CIDR that cannot be used; the message says which."""


def parse_cidr(text: str) -> Cidr | None:
    """``10.0.0.0/8``, ``2001:db8::/32`` or a bare address (a /32 or /128).

    Host bits may be set (``192.0.2.7/24`` is ``192.0.2.0/24``), as IAM
    accepts them. None when it is not an address."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return (net.version, int(net.network_address), int(net.netmask))


@lru_cache(maxsize=4096)
def parse_address(text: str) -> tuple[int, int] | None:
    """(version, address as an int) of a request's address, or None.

    An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``, as a dual-stack
    socket reports IPv4 clients) is its IPv4 address, so IPv4 rules apply."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:  # type: ignore[union-attr]
        addr = addr.ipv4_mapped  # type: ignore[union-attr]
    return (addr.version, int(addr))


def in_cidrs(address: tuple[int, int], cidrs: Iterable[Cidr]) -> bool:
    version, value = address
    return any(v == version and value & mask == net for v, net, mask in cidrs)


@dataclass(frozen=True)
class Network:
    name: str
    cidrs: tuple[str, ...]
    parsed: tuple[Cidr, ...]


def parse_network(name: str, cidrs: Iterable[str]) -> Network:
    """A named network, checked: a short name and at least one valid CIDR."""
    if not NETWORK_NAME.match(name):
        raise InvalidNetwork(f"invalid network name {name!r}")
    texts = tuple(cidrs)
    if not texts:
        raise InvalidNetwork(f"network {name!r} has no CIDR")
    parsed = []
    for text in texts:
        cidr = parse_cidr(text) if isinstance(text, str) else None
        if cidr is None:
            raise InvalidNetwork(f"network {name!r}: {text!r} is not an IP address or CIDR")
        parsed.append(cidr)
    return Network(name, texts, tuple(parsed))


class Networks:
    """All named networks, asked which of them hold an address.

    Immutable once built; the server rebuilds it when an operator changes
    a network (it is small) and may cache answers per address."""

    __slots__ = ("_cache", "_networks")

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self._networks = tuple(networks)
        self._cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Iterable[str]]) -> Networks:
        return cls(parse_network(name, cidrs) for name, cidrs in mapping.items())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._networks)

    def names_for(self, address: str) -> tuple[str, ...]:
        """Names of the networks that hold ``address`` (empty when none, or
        when it is not an address)."""
        hit = self._cache.get(address)
        if hit is not None:
            return hit
        parsed = parse_address(address)
        names = (
            ()
            if parsed is None
            else tuple(n.name for n in self._networks if in_cidrs(parsed, n.parsed))
        )
        if len(self._cache) < 65536:
            self._cache[address] = names
        return names
