"""CloudFront signed URLs and signed cookies, verified as CloudFront does.

Pure: the viewer's URL, cookies and address, the time (``now``, epoch
seconds) and the trusted keys are arguments; nothing here reads a clock,
a file or a socket.

A request is judged by its URL when the query carries any signing
parameter (``Expires``, ``Policy``, ``Signature``, ``Key-Pair-Id``,
``Hash-Algorithm``), and by the ``CloudFront-*`` cookies otherwise
(Developer Guide, "Use signed URLs" / "Use signed cookies"). ``Policy``
wins over ``Expires`` when both are sent: the ``aws-cloudfront-sign`` npm
package sends both, and CloudFront accepts its links.

Refusals carry the code and message CloudFront sends, with status 403:

- ``MissingKey`` "Missing Key-Pair-Id query parameter or cookie value":
  no (or an empty) ``Key-Pair-Id`` / ``CloudFront-Key-Pair-Id``;
- ``InvalidKey`` "Unknown Key": the key-pair id is not in the trusted key
  groups (both from the AWS knowledge-center article "How do I
  troubleshoot issues related to a signed URL or signed cookies in
  CloudFront?", repost.aws/knowledge-center/cloudfront-troubleshoot-signed-url-cookies);
- ``MalformedSignature`` "Could not unencode Signature": the signature is
  missing or is not base64 in either alphabet;
- ``MalformedPolicy`` "Malformed Policy": the policy is not base64, not
  JSON, not one statement with a ``DateLessThan``, over 10 KB, or has a
  date or address that does not parse; also a canned ``Expires`` that is
  not a number, and neither ``Policy`` nor ``Expires`` (aws/aws-sdk-js
  issue 2236 and boto/boto PR 825 show CloudFront's ``MalformedPolicy``
  body for policies without a usable ``DateLessThan``);
- ``AccessDenied`` "Access denied": a signature that does not verify,
  expiry, a link not yet valid, an address or resource outside the policy,
  an unknown ``Hash-Algorithm``.

The bodies are CloudFront's one-line XML (as logged in the wild, e.g.
``<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidKey</Code>
<Message>Unknown Key</Message></Error>`` without the break).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sealbox import json_text
from sealbox.wildcards import cached_glob

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
# The trusted key groups of a cache behaviour: key-pair id -> public key, or
# a function answering None for a key that is not trusted.
KeyLookup = Mapping[str, PublicKey] | Callable[[str], PublicKey | None]

SIGNING_PARAMETERS = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")
COOKIE_PREFIX = "CloudFront-"
HASH_ALGORITHMS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1, "SHA256": hashes.SHA256}
MAX_POLICY_BYTES = 10 * 1024  # CloudFront's limit on a policy statement
MAX_SIGNATURE_CHARS = 2048  # an RSA-4096 signature is 684 base64 characters
MAX_KEY_PAIR_ID_CHARS = 128
MIN_RSA_BITS = 2048  # CloudFront key groups take RSA 2048 and ECDSA P-256 only

REFUSAL_STATUS = 403
REFUSAL_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "text/xml"),
    ("x-cache", "Error from cloudfront"),
)
REFUSAL_MESSAGES = {
    "MissingKey": "Missing Key-Pair-Id query parameter or cookie value",
    "InvalidKey": "Unknown Key",
    "MalformedSignature": "Could not unencode Signature",
    "MalformedPolicy": "Malformed Policy",
    "AccessDenied": "Access denied",
}


class CloudFrontRefusal(Exception):
    """A request CloudFront would refuse: ``code`` and ``message`` are what
    CloudFront sends (``render_refusal``); ``reason`` says why, for logs and
    audit only, never for the viewer."""

    def __init__(self, code: str, reason: str, key_pair_id: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.message = REFUSAL_MESSAGES[code]
        self.reason = reason
        self.key_pair_id = key_pair_id


@dataclass(frozen=True)
class SignedPolicy:
    """The conditions of a verified policy. ``resource`` None means any."""

    resource: str | None
    date_less_than: int
    date_greater_than: int | None = None
    source_network: ipaddress.IPv4Network | None = None


@dataclass(frozen=True)
class CloudFrontGrant:
    """A request whose signed URL or cookies CloudFront would accept."""

    key_pair_id: str
    expires: int  # the policy's DateLessThan, epoch seconds
    policy: Literal["canned", "custom"]
    source: Literal["url", "cookies"]
    hash_algorithm: str


def render_refusal(refusal: CloudFrontRefusal) -> bytes:
    """The body CloudFront sends with a refusal (status ``REFUSAL_STATUS``,
    headers ``REFUSAL_HEADERS``)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{refusal.code}</Code>'
            f"<Message>{refusal.message}</Message></Error>").encode()


def b64encode_cloudfront(data: bytes) -> str:
    """Base64 in CloudFront's URL-safe alphabet: ``+``→``-``, ``=``→``_``, ``/``→``~``."""
    return base64.b64encode(data).decode().translate(_TO_CLOUDFRONT)


def b64decode_cloudfront(text: str) -> bytes:
    """Decode CloudFront's alphabet, or standard base64; raises ``ValueError``.
    A space is a ``+`` that a form decoder turned into one."""
    standard = text.strip().translate(_FROM_CLOUDFRONT)
    standard += "=" * (-len(standard) % 4)
    try:
        return base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64") from error


_TO_CLOUDFRONT = str.maketrans("+=/", "-_~")
_FROM_CLOUDFRONT = str.maketrans("-_~ ", "+=/+")


def canned_policy(resource: str, expires: int) -> str:
    """The policy CloudFront rebuilds for ``Expires``, byte-for-byte (JSON
    string escaping as botocore and the AWS SDKs write it)."""
    return ('{"Statement":[{"Resource":' + json.dumps(resource)
            + ',"Condition":{"DateLessThan":{"AWS:EpochTime":' + str(expires) + "}}}]}")


def load_public_key(pem: bytes | str) -> PublicKey:
    """A CloudFront public key from PEM: RSA of 2048 bits or more, or ECDSA
    P-256; anything else raises ``ValueError`` saying what was wrong."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError("not a PEM public key (-----BEGIN PUBLIC KEY-----)") from error
    check_public_key(key)
    return key  # type: ignore[return-value]


def check_public_key(key: object, min_rsa_bits: int = MIN_RSA_BITS) -> None:
    """Raise ``ValueError`` unless ``key`` is a key CloudFront accepts in a key group."""
    problem = _key_problem(key, min_rsa_bits)
    if problem:
        raise ValueError(problem)


def _key_problem(key: object, min_rsa_bits: int) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < min_rsa_bits:
            return f"RSA key of {key.key_size} bits: CloudFront needs {min_rsa_bits} bits or more"
        return ""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            return f"ECDSA key on {key.curve.name}: CloudFront takes P-256 (prime256v1) only"
        return ""
    return f"{type(key).__name__}: CloudFront takes RSA 2048 or ECDSA P-256 keys only"


def viewer_resource(url: str) -> str:
    """The viewer's URL without the signing parameters: what a canned policy
    names and a custom policy's ``Resource`` is matched against. The other
    parameters keep their order and encoding, as sent."""
    base, mark, query = url.partition("?")
    if not mark:
        return url
    kept = [part for part in query.split("&") if _parameter_name(part) not in SIGNING_PARAMETERS]
    return f"{base}?{'&'.join(kept)}" if kept else base


def _parameter_name(part: str) -> str:
    return part.partition("=")[0]


def signing_inputs(url: str, cookies: Mapping[str, str]
                   ) -> tuple[Literal["url", "cookies"], dict[str, str]]:
    """Which signing inputs judge the request, and their percent-decoded
    values by parameter name (the first of repeated parameters)."""
    found: dict[str, str] = {}
    _, _, query = url.partition("?")
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        if name in SIGNING_PARAMETERS and name not in found:
            found[name] = unquote(value)
    if found:
        return "url", found
    for name in SIGNING_PARAMETERS:
        cookie = cookies.get(COOKIE_PREFIX + name)
        if cookie is not None:
            found[name] = unquote(cookie)
    return "cookies", found


def verify_request(
    url: str,
    cookies: Mapping[str, str],
    *,
    source_ip: str | None,
    now: float,
    trusted_keys: KeyLookup,
    cache: VerificationCache | None = None,
) -> CloudFrontGrant:
    """Judge a viewer request as CloudFront does; return the grant or raise
    ``CloudFrontRefusal``.

    ``url`` is ``scheme://host/path?query`` exactly as the viewer sent the
    path and query (not decoded), with the Host header as sent.
    ``cookies`` maps cookie names to their values as sent. ``now`` is epoch
    seconds. ``trusted_keys`` maps key-pair ids of the behaviour's trusted
    key groups to public keys, or is a function answering None for an
    untrusted id. ``cache`` (optional) spares repeated signature checks.
    """
    source, inputs = signing_inputs(url, cookies)
    key_pair_id = inputs.get("Key-Pair-Id", "")
    if not key_pair_id:
        raise CloudFrontRefusal("MissingKey", f"no Key-Pair-Id in the {source}")
    public_key = _trusted_key(trusted_keys, key_pair_id)
    if public_key is None:
        raise CloudFrontRefusal("InvalidKey", "key-pair id not in the trusted key groups",
                                key_pair_id)
    raw_signature = inputs.get("Signature")
    algorithm = inputs.get("Hash-Algorithm", "SHA1")
    resource = viewer_resource(url)
    kind: Literal["canned", "custom"] = "custom" if "Policy" in inputs else "canned"
    # The cache is keyed by the signing inputs as sent (for a canned policy
    # the resource too, which its document is built from): equal inputs
    # decode to the same document and signature, so a hit skips decoding.
    signed = inputs["Policy"] if kind == "custom" else f"{inputs.get('Expires')}\n{resource}"
    cache_key = (key_pair_id, algorithm, signed, raw_signature or "")
    policy = cache.get(cache_key, public_key, now) if cache is not None else None
    if policy is None:
        signature = _signature(raw_signature, key_pair_id)
        if algorithm not in HASH_ALGORITHMS:
            raise CloudFrontRefusal("AccessDenied", "unsupported Hash-Algorithm", key_pair_id)
        if kind == "custom":
            document = _decode_policy(inputs["Policy"], key_pair_id)
        elif "Expires" in inputs:
            document = canned_policy(resource, _epoch(inputs["Expires"], key_pair_id)).encode()
        else:
            raise CloudFrontRefusal("MalformedPolicy", "neither Policy nor Expires", key_pair_id)
        policy = parse_policy(document, key_pair_id)
        if not _signature_matches(public_key, signature, document, algorithm):
            raise CloudFrontRefusal("AccessDenied", "signature does not match the policy",
                                    key_pair_id)
        if cache is not None and now < policy.date_less_than:
            cache.put(cache_key, public_key, policy)
    check_conditions(policy, resource, source_ip, now, key_pair_id)
    return CloudFrontGrant(key_pair_id=key_pair_id, expires=policy.date_less_than,
                           policy=kind, source=source, hash_algorithm=algorithm)


def _trusted_key(trusted_keys: KeyLookup, key_pair_id: str) -> PublicKey | None:
    if len(key_pair_id) > MAX_KEY_PAIR_ID_CHARS:
        return None
    if isinstance(trusted_keys, Mapping):
        return trusted_keys.get(key_pair_id)
    return trusted_keys(key_pair_id)


def _signature(value: str | None, key_pair_id: str) -> bytes:
    if not value or len(value) > MAX_SIGNATURE_CHARS:
        raise CloudFrontRefusal("MalformedSignature", "no Signature, or too long", key_pair_id)
    try:
        decoded = b64decode_cloudfront(value)
    except ValueError:
        raise CloudFrontRefusal("MalformedSignature", "Signature is not base64",
                                key_pair_id) from None
    if not decoded:
        raise CloudFrontRefusal("MalformedSignature", "empty Signature", key_pair_id)
    return decoded


def _decode_policy(value: str, key_pair_id: str) -> bytes:
    # 4/3 of the decoded limit, plus padding slack.
    if not value or len(value) > MAX_POLICY_BYTES * 4 // 3 + 4:
        raise CloudFrontRefusal("MalformedPolicy", "Policy empty or over 10 KB", key_pair_id)
    try:
        document = b64decode_cloudfront(value)
    except ValueError:
        raise CloudFrontRefusal("MalformedPolicy", "Policy is not base64", key_pair_id) from None
    if len(document) > MAX_POLICY_BYTES:
        raise CloudFrontRefusal("MalformedPolicy", "Policy over 10 KB", key_pair_id)
    return document


def _epoch(value: object, key_pair_id: str | None) -> int:
    """An ``AWS:EpochTime``: a JSON integer, or a string of digits (some
    emitters quote it)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**11:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 11:
        return int(value)
    raise CloudFrontRefusal("MalformedPolicy", f"bad AWS:EpochTime {str(value)[:40]!r}",
                            key_pair_id)


def parse_policy(document: bytes, key_pair_id: str | None = None) -> SignedPolicy:
    """Read a policy leniently (any order, epoch numbers or numeric strings);
    anything that is not one statement with a ``DateLessThan`` raises
    ``CloudFrontRefusal("MalformedPolicy")``. Unknown conditions are refused
    rather than ignored: a condition the signer meant must not be dropped."""
    def malformed(reason: str) -> CloudFrontRefusal:
        return CloudFrontRefusal("MalformedPolicy", reason, key_pair_id)

    if len(document) > MAX_POLICY_BYTES:
        raise malformed("Policy over 10 KB")
    try:
        parsed = json_text.loads(document)
    except (ValueError, RecursionError):  # a lone surrogate too
        raise malformed("Policy is not JSON") from None
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if not isinstance(statements, list) or len(statements) != 1:
        raise malformed("Policy needs exactly one Statement")
    statement = statements[0]
    if not isinstance(statement, dict) or not isinstance(statement.get("Condition"), dict):
        raise malformed("Statement without a Condition")
    resource = statement.get("Resource")
    if resource is not None and not isinstance(resource, str):
        raise malformed("Resource is not a string")
    condition: dict[str, object] = statement["Condition"]
    unknown = set(condition) - {"DateLessThan", "DateGreaterThan", "IpAddress"}
    if unknown:
        raise malformed(f"unknown conditions {sorted(unknown)}")
    if "DateLessThan" not in condition:
        raise malformed("no DateLessThan")
    less_than = _epoch(_field(condition["DateLessThan"], "AWS:EpochTime", malformed), key_pair_id)
    greater_than = None
    if "DateGreaterThan" in condition:
        greater_than = _epoch(_field(condition["DateGreaterThan"], "AWS:EpochTime", malformed),
                              key_pair_id)
    network = None
    if "IpAddress" in condition:
        network = _network(_field(condition["IpAddress"], "AWS:SourceIp", malformed), malformed)
    return SignedPolicy(resource=resource, date_less_than=less_than,
                        date_greater_than=greater_than, source_network=network)


def _field(block: object, name: str, malformed: Callable[[str], CloudFrontRefusal]) -> object:
    if not isinstance(block, dict) or name not in block:
        raise malformed(f"condition without {name}")
    return block[name]


def _network(value: object, malformed: Callable[[str], CloudFrontRefusal]
             ) -> ipaddress.IPv4Network:
    # CloudFront's policies take IPv4 only ("AWS:SourceIp" "x.x.x.x/n"); a bare
    # address is one host, as botocore and the JS SDK write "/32" for it.
    if not isinstance(value, str) or len(value) > 64:
        raise malformed("AWS:SourceIp is not a string")
    try:
        return ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise malformed(f"AWS:SourceIp {value[:64]!r} is not an IPv4 CIDR") from None


def _signature_matches(key: PublicKey, signature: bytes, document: bytes, algorithm: str) -> bool:
    digest = HASH_ALGORITHMS[algorithm]()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, document, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, document, ec.ECDSA(digest))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def check_conditions(policy: SignedPolicy, resource: str, source_ip: str | None, now: float,
                     key_pair_id: str | None = None) -> None:
    """Raise ``CloudFrontRefusal("AccessDenied")`` unless the request is in
    the policy: before ``DateLessThan``, at or after ``DateGreaterThan``,
    from ``AWS:SourceIp``, for ``Resource``."""
    def denied(reason: str) -> CloudFrontRefusal:
        return CloudFrontRefusal("AccessDenied", reason, key_pair_id)

    if now >= policy.date_less_than:
        raise denied("expired")
    if policy.date_greater_than is not None and now < policy.date_greater_than:
        raise denied("not yet valid (DateGreaterThan)")
    if policy.source_network is not None and not _address_in(source_ip, policy.source_network):
        raise denied("viewer address outside AWS:SourceIp")
    if policy.resource is not None and not wildcard_match(policy.resource, resource):
        raise denied("resource outside the policy")


def _address_in(source_ip: str | None, network: ipaddress.IPv4Network) -> bool:
    if not source_ip or len(source_ip) > 64:
        return False
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 viewer seen through a dual-stack socket; any other IPv6
        # viewer cannot be in an IPv4 network.
        if address.ipv4_mapped is None:
            return False
        address = address.ipv4_mapped
    return address in network


def wildcard_match(pattern: str, text: str) -> bool:
    """CloudFront's ``Resource`` match: ``*`` is any run of characters (or
    none), ``?`` exactly one, everything else itself (``sealbox.wildcards``:
    never backtracks; each pattern compiled once)."""
    return cached_glob(pattern).match(text)


CacheKey = tuple[str, str, str, str]


class VerificationCache:
    """An LRU of verified policies keyed by the exact signing inputs as sent
    (key-pair id, hash algorithm, the Policy parameter or the canned
    Expires with the resource, the Signature parameter). An entry
    serves only the same public key and only until the policy's
    ``DateLessThan``; the conditions (time, address, resource) are checked
    on every request. Only verified signatures are stored, so viewers cannot
    fill it with garbage. Not thread-safe; one per event loop."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[PublicKey, SignedPolicy]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey, public_key: PublicKey, now: float) -> SignedPolicy | None:
        """The policy verified under ``key`` by ``public_key``, if still unexpired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        cached_key, policy = entry
        if now >= policy.date_less_than or cached_key != public_key:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return policy

    def put(self, key: CacheKey, public_key: PublicKey, policy: SignedPolicy) -> None:
        """Remember a verified policy, evicting the least recently used."""
        self._entries[key] = (public_key, policy)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
