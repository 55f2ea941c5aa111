"""Managed links and revocations as values. Pure: no I/O, no clock.

A managed link is a real SigV4 presigned URL whose query holds
``X-Sealbox-Link=<id>`` among the signed parameters (so it cannot be
altered), and a record of what SigV4 cannot carry: a use limit, bound
addresses, a PUT's content type and size, a note. A revocation is the
fingerprint of one signature (``fingerprint``: SHA-256 of the signature as
the URL or cookie carries it; the signature itself is never stored), kept
until the link's own expiry.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

LINK_PARAMETER = "X-Sealbox-Link"
MAX_EXPIRES = 7 * 24 * 3600  # S3's limit for a presigned URL
DEFAULT_EXPIRES = 3600
METHODS = ("GET", "HEAD", "PUT")
MAX_NOTE = 1024
MAX_BIND = 32
MAX_USES = 2**31 - 1
_ID_CHARS = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l
_ID = re.compile(r"lnk-[a-z0-9]{20}\Z")
_DURATION = re.compile(r"(\d{1,9})([smhd]?)\Z")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A version id as sealbox makes them (api/s3/versioning), or S3's "null".
_VERSION_ID = re.compile(r"(?:[A-Za-z0-9_-]{32}|null)\Z")

# The refusals, word for word (the signature doctor builds on them).
REVOKED = "The link has been revoked"
USED_UP = "The link has been used up"
WRONG_ADDRESS = "The link is not valid from this address"
UNKNOWN_LINK = "The link is not known to this server"
WRONG_SIGNER = "The link was not made for this access key"
WRONG_OPERATION = "The link does not allow this operation"
WRONG_VERSION = "The link does not allow this version"
WRONG_CONTENT_TYPE = "The link requires the Content-Type {expected}"
TOO_LARGE = "The link allows a body of at most {max_size} bytes"
NO_LENGTH = "The link requires a Content-Length"

# The S3 operation each method's link admits.
# Each refusal's code (metrics label; stable where the message may change).
_REFUSAL_CODES = (
    (REVOKED, "Revoked"), (USED_UP, "UsedUp"), (WRONG_ADDRESS, "AddressNotAllowed"),
    (UNKNOWN_LINK, "UnknownLink"), (WRONG_SIGNER, "WrongSigner"),
    (WRONG_OPERATION, "WrongOperation"), (WRONG_VERSION, "WrongVersion"),
    (NO_LENGTH, "NoContentLength"),
    (WRONG_CONTENT_TYPE.split("{", 1)[0], "WrongContentType"),
    (TOO_LARGE.split("{", 1)[0], "TooLarge"),
)


def refusal_code(message: str | None) -> str | None:
    """The code of a link refusal's message; None for any other message."""
    if message:
        for text, code in _REFUSAL_CODES:
            if message.startswith(text):
                return code
    return None


OPERATIONS = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject"}


class LinkError(ValueError):
    """A link spec or a revocation request that cannot be used; the message
    says which field and why. ``status`` is the HTTP status it suggests."""

    def __init__(self, message: str, status: int = 400, code: str = "InvalidParameter") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def new_link_id() -> str:
    """A fresh link id: ``lnk-`` and 20 random characters (100 bits)."""
    return "lnk-" + "".join(secrets.choice(_ID_CHARS) for _ in range(20))


def is_link_id(text: str) -> bool:
    return _ID.match(text) is not None


@lru_cache(maxsize=4096)
def fingerprint(signature: str) -> str:
    """What is stored of a signature: its SHA-256, hex. SigV4's hex signature
    is compared lower-case; SigV2's and CloudFront's base64 as sent (decoded
    from the query). Cached: a link's signature repeats with the link, and
    the revocation check on the request path hashes it."""
    if len(signature) == 64:
        try:
            bytes.fromhex(signature)
            signature = signature.lower()
        except ValueError:
            pass
    return hashlib.sha256(signature.encode("utf-8", "surrogateescape")).hexdigest()


def parse_expires(value: object) -> int:
    """Seconds from ``3600``, ``"3600"``, ``"15m"``, ``"12h"``, ``"7d"``;
    1 second to 7 days."""
    if isinstance(value, bool):
        raise LinkError("Expires must be seconds or a duration such as 15m, 12h or 7d")
    if isinstance(value, int):
        seconds = value
    else:
        found = _DURATION.match(str(value).strip().lower())
        if found is None:
            raise LinkError(f"Expires {str(value)[:40]!r}: use seconds or a duration such as "
                            "15m, 12h or 7d")
        seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if not 1 <= seconds <= MAX_EXPIRES:
        raise LinkError(f"Expires must be 1 second to 7 days ({MAX_EXPIRES} seconds), "
                        f"not {seconds}")
    return seconds


def parse_networks(values: object) -> tuple[str, ...]:
    """Bound addresses: CIDRs or bare addresses, normalised (``10.0.0.7/8``
    is ``10.0.0.0/8``)."""
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise LinkError("BindIp must be a list of CIDRs")
    if len(values) > MAX_BIND:
        raise LinkError(f"BindIp may name at most {MAX_BIND} networks")
    out = []
    for text in values:
        try:
            out.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError:
            raise LinkError(f"BindIp {text[:60]!r} is not a CIDR or an address") from None
    return tuple(out)


@lru_cache(maxsize=4096)
def address_in(address: str, networks: tuple[str, ...]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (an empty tuple:
    anywhere). Cached: parsing both costs ~13 µs, a bound link's budget."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in networks)


@dataclass(frozen=True)
class LinkSpec:
    """What a caller asks for; ``parse`` checks every member."""

    bucket: str
    key: str
    method: str = "GET"
    expires: int = DEFAULT_EXPIRES  # seconds from now
    max_uses: int | None = None
    bind: tuple[str, ...] = ()
    content_type: str | None = None  # PUT: the Content-Type the upload must send
    max_size: int | None = None  # PUT: the most bytes the body may have
    note: str = ""
    response_content_disposition: str | None = None  # GET/HEAD
    response_content_type: str | None = None
    version_id: str | None = None  # GET/HEAD: that version, never another

    @classmethod
    def parse(cls, body: dict[str, object]) -> LinkSpec:
        """A spec from the admin API's JSON members (``Bucket``, ``Key``,
        ``Method``, ``Expires``, ``MaxUses``, ``BindIp``, ``ContentType``,
        ``MaxSize``, ``Note``, ``ResponseContentDisposition``,
        ``ResponseContentType``, ``VersionId``), or ``LinkError`` naming
        the member."""
        bucket, key = body.get("Bucket"), body.get("Key")
        if not isinstance(bucket, str) or not bucket:
            raise LinkError("Bucket is required")
        if not isinstance(key, str) or not key or len(key.encode()) > 1024:
            raise LinkError("Key is required (1 to 1024 bytes)")
        method = body.get("Method", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise LinkError(f"Method must be one of {', '.join(METHODS)}")
        method = method.upper()
        max_uses = body.get("MaxUses")
        if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int)
                                     or not 1 <= max_uses <= MAX_USES):
            raise LinkError("MaxUses must be a whole number of at least 1")
        content_type = _text(body, "ContentType", 256)
        max_size = body.get("MaxSize")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                     or max_size < 0):
            raise LinkError("MaxSize must be a whole number of bytes, 0 or more")
        if method != "PUT" and (content_type is not None or max_size is not None):
            raise LinkError("ContentType and MaxSize apply to PUT links only")
        disposition = _text(body, "ResponseContentDisposition", 1024)
        response_type = _text(body, "ResponseContentType", 256)
        if method == "PUT" and (disposition is not None or response_type is not None):
            raise LinkError("ResponseContentDisposition and ResponseContentType apply to "
                            "GET and HEAD links only")
        version_id = body.get("VersionId")
        if version_id is not None:
            if not isinstance(version_id, str) or _VERSION_ID.match(version_id) is None:
                raise LinkError("VersionId must be a version id (32 characters) or null")
            if method == "PUT":
                raise LinkError("VersionId applies to GET and HEAD links only")
        return cls(bucket, key, method, parse_expires(body.get("Expires", DEFAULT_EXPIRES)),
                   max_uses, parse_networks(body.get("BindIp")), content_type, max_size,
                   _text(body, "Note", MAX_NOTE) or "", disposition, response_type, version_id)


def _text(body: dict[str, object], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or any(
            ord(c) < 32 and c != "\t" for c in value):
        raise LinkError(f"{name} must be text of at most {limit} characters, no control "
                        "characters")
    return value


@dataclass(frozen=True)
class LinkRecord:
    """A stored link. Immutable but for its use count, which the store keeps
    (``uses`` here is what was read, for listing only)."""

    link_id: str
    access_key: str  # the signer's access key id
    signer: str  # the signer's ARN
    bucket: str
    key: str
    method: str
    created: int  # epoch seconds
    expires: int  # epoch seconds
    max_uses: int | None
    bind: tuple[str, ...]
    content_type: str | None
    max_size: int | None
    note: str
    fingerprint: str  # of the URL's signature
    uses: int = 0
    revoked: bool = field(default=False, compare=False)
    version_id: str | None = None  # the one version a GET/HEAD link reads

    @property
    def operation(self) -> str:
        return OPERATIONS[self.method]

    def as_json(self) -> dict[str, object]:
        """The admin API's and the CLI's view of a link."""
        return {"LinkId": self.link_id, "Bucket": self.bucket, "Key": self.key,
                "Method": self.method, "Expires": iso(self.expires), "Uses": self.uses,
                "MaxUses": self.max_uses, "Revoked": self.revoked, "Note": self.note,
                "Signer": self.signer, "BindIp": list(self.bind),
                "ContentType": self.content_type, "MaxSize": self.max_size,
                "Created": iso(self.created), "VersionId": self.version_id}


@dataclass(frozen=True)
class Revocation:
    """One revoked signature, refused until ``until`` (epoch seconds)."""

    fingerprint: str
    until: int
    kind: str  # "link", "sigv4", "sigv2", "cloudfront"
    link_id: str | None = None


def iso(epoch: int) -> str:
    """An epoch second as ISO 8601 UTC with a Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
