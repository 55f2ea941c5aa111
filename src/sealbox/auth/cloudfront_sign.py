"""CloudFront signed URLs and signed cookies, made as CloudFront expects.

Pure: keys and dates are arguments. A canned policy (``Expires``) is used
when the link has only an expiry and names exactly the URL; a custom policy
(``Policy``) when it has a start date, an address range, or a resource that
differs from the URL (a wildcard) — the choice ``aws cloudfront sign``
makes. RSA signatures (PKCS#1 v1.5) are deterministic, so links match the
AWS SDKs' byte-for-byte; ECDSA P-256 ones (DER) are not.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sealbox.auth.cloudfront import (
    COOKIE_PREFIX,
    HASH_ALGORITHMS,
    b64encode_cloudfront,
    canned_policy,
    check_public_key,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Moment = int | datetime


def load_private_key(pem: bytes | str, password: bytes | None = None) -> PrivateKey:
    """A signing key from PEM (PKCS#1, PKCS#8 or SEC1): RSA 2048+ or ECDSA
    P-256; a bad PEM or key size raises ``ValueError``, another key type
    ``TypeError``."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a PEM private key: {error}") from error
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError(f"{type(key).__name__}: CloudFront takes RSA 2048 or ECDSA P-256 keys only")
    check_public_key(key.public_key())
    return key


def epoch_seconds(moment: Moment) -> int:
    """Epoch seconds of an int or a datetime (a naive one is UTC)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    if isinstance(moment, bool) or not isinstance(moment, int):
        raise TypeError(f"not a date: {moment!r}")
    return moment


def custom_policy(resource: str, date_less_than: int, date_greater_than: int | None = None,
                  ip_address: str | None = None) -> str:
    """A custom policy in the compact form the AWS SDKs write (conditions
    DateLessThan, DateGreaterThan, IpAddress); values are JSON-escaped, so
    a resource or address cannot add statements. Does not check values."""
    condition: dict[str, object] = {"DateLessThan": {"AWS:EpochTime": date_less_than}}
    if date_greater_than is not None:
        condition["DateGreaterThan"] = {"AWS:EpochTime": date_greater_than}
    if ip_address is not None:
        condition["IpAddress"] = {"AWS:SourceIp": ip_address}
    statement = {"Resource": resource, "Condition": condition}
    return json.dumps({"Statement": [statement]}, separators=(",", ":"))


def sign_policy(policy: bytes, key: PrivateKey, hash_algorithm: str = "SHA1") -> str:
    """The ``Signature`` of a policy, in CloudFront's base64 alphabet."""
    if hash_algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"hash algorithm {hash_algorithm!r}: use SHA1 or SHA256")
    digest = HASH_ALGORITHMS[hash_algorithm]()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(policy, padding.PKCS1v15(), digest)
    else:
        signature = key.sign(policy, ec.ECDSA(digest))
    return b64encode_cloudfront(signature)


@dataclass(frozen=True)
class SignedParameters:
    """The signing parameters of one link, in the order the AWS SDKs send
    them (``Expires`` or ``Policy``, ``Signature``, ``Key-Pair-Id``,
    ``Hash-Algorithm`` for SHA256)."""

    parameters: tuple[tuple[str, str], ...]
    policy: Literal["canned", "custom"]
    expires: int

    def query(self) -> str:
        """``name=value&…``; every value is already URL-safe."""
        return "&".join(f"{name}={value}" for name, value in self.parameters)

    def cookies(self) -> dict[str, str]:
        """The same values as ``CloudFront-*`` cookies."""
        return {COOKIE_PREFIX + name: value for name, value in self.parameters}


def sign(url: str, key_pair_id: str, key: PrivateKey, *, date_less_than: Moment | None,
         date_greater_than: Moment | None = None, ip_address: str | None = None,
         resource: str | None = None, policy: Literal["canned", "custom"] | None = None,
         hash_algorithm: str = "SHA1") -> SignedParameters:
    """Sign access to ``resource`` (default: ``url``, which must not carry
    signing parameters). ``policy`` None picks canned unless a custom policy
    is needed; asking for canned with extra conditions raises ``ValueError``."""
    if date_less_than is None:
        raise ValueError("an expiration (date_less_than) is required")
    if not key_pair_id:
        raise ValueError("a key-pair id is required")
    expires = epoch_seconds(date_less_than)
    starts = epoch_seconds(date_greater_than) if date_greater_than is not None else None
    if starts is not None and starts >= expires:
        raise ValueError("the active date (date_greater_than) must be before the expiration")
    network = _ip_range(ip_address) if ip_address is not None else None
    resource = url if resource is None else resource
    needs_custom = (starts is not None or network is not None or resource != url
                    or "*" in resource)
    if policy == "canned" and needs_custom:
        raise ValueError("a canned policy has only an expiry and the URL itself; "
                         "use a custom policy for a start date, an address or a resource")
    if policy not in (None, "canned", "custom"):
        raise ValueError(f"policy {policy!r}: use canned or custom")
    kind: Literal["canned", "custom"] = "custom" if needs_custom or policy == "custom" else "canned"
    if kind == "canned":
        document = canned_policy(resource, expires)
        first = ("Expires", str(expires))
    else:
        document = custom_policy(resource, expires, starts, network)
        first = ("Policy", b64encode_cloudfront(document.encode()))
    parameters = [first, ("Signature", sign_policy(document.encode(), key, hash_algorithm)),
                  ("Key-Pair-Id", key_pair_id)]
    if hash_algorithm != "SHA1":
        parameters.append(("Hash-Algorithm", hash_algorithm))
    return SignedParameters(tuple(parameters), kind, expires)


def _ip_range(ip_address: str) -> str:
    # CloudFront's policies take IPv4 "x.x.x.x/n"; a bare address is one host.
    try:
        network = ipaddress.IPv4Network(ip_address, strict=False)
    except ValueError:
        raise ValueError(f"ip address {ip_address!r}: use x.x.x.x or x.x.x.x/n (IPv4)") from None
    return str(network) if "/" in ip_address else f"{network.network_address}/32"


def sign_url(url: str, key_pair_id: str, key: PrivateKey, *, date_less_than: Moment | None,
             date_greater_than: Moment | None = None, ip_address: str | None = None,
             resource: str | None = None, policy: Literal["canned", "custom"] | None = None,
             hash_algorithm: str = "SHA1") -> str:
    """``url`` with its signing parameters appended (see ``sign``)."""
    signed = sign(url, key_pair_id, key, date_less_than=date_less_than,
                  date_greater_than=date_greater_than, ip_address=ip_address,
                  resource=resource, policy=policy, hash_algorithm=hash_algorithm)
    return url + ("&" if "?" in url else "?") + signed.query()


def sign_cookies(url: str, key_pair_id: str, key: PrivateKey, *, date_less_than: Moment | None,
                 date_greater_than: Moment | None = None, ip_address: str | None = None,
                 resource: str | None = None, policy: Literal["canned", "custom"] | None = None,
                 hash_algorithm: str = "SHA1") -> dict[str, str]:
    """The ``CloudFront-*`` cookies granting ``url`` (or ``resource``, e.g.
    ``https://host/*`` for a whole site; see ``sign``)."""
    return sign(url, key_pair_id, key, date_less_than=date_less_than,
                date_greater_than=date_greater_than, ip_address=ip_address,
                resource=resource, policy=policy, hash_algorithm=hash_algorithm).cookies()
