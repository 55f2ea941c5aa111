"""The additional checksums S3 accepts: CRC32, CRC32C, CRC64NVME, SHA1, SHA256,
and Content-MD5.

Values travel base64-encoded in ``x-amz-checksum-<algorithm>`` headers or,
with aws-chunked bodies, in trailers named by ``x-amz-trailer``. The CRCs
come from AWS's own CRT library (``awscrt``) so they match the SDKs bit
for bit.

An object's checksum is of one of two types (S3 User Guide, "Checking
object integrity"): FULL_OBJECT, the checksum of all of its bytes, which a
single PUT always has; or COMPOSITE, a multipart object's checksum of its
parts' checksums, written ``<base64>-<part count>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from awscrt import checksums as crt  # type: ignore[import-untyped]

from sealbox.errors import S3Error

FULL_OBJECT = "FULL_OBJECT"
COMPOSITE = "COMPOSITE"
HEADER_PREFIX = "x-amz-checksum-"
SDK_ALGORITHM_HEADER = "x-amz-sdk-checksum-algorithm"

UNSUPPORTED_ALGORITHM = (
    "Checksum algorithm provided is unsupported. Please try again with any of the valid "
    "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
)
MULTIPLE_CHECKSUMS = (
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
)
SDK_ALGORITHM_ALONE = (
    "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
    "x-amz-trailer headers were found."
)


class Hasher(Protocol):
    """What the readers need of a running checksum (hashlib's shape)."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """Incremental CRC with the hashlib-like interface the readers use."""

    def __init__(self, fn: Callable[[bytes | memoryview, int], int], width: int) -> None:
        self._fn = fn
        self._width = width
        self._value = 0

    def update(self, data: bytes | memoryview, /) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


@dataclass(frozen=True)
class Algorithm:
    name: str  # lower-case, as in the header name
    digest_size: int
    new: Callable[[], Hasher]

    @property
    def header(self) -> str:
        return f"{HEADER_PREFIX}{self.name}"


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        # zlib's CRC32 is the same IEEE CRC as the CRT's, and ~40 % faster here.
        Algorithm("crc32", 4, lambda: _Crc(zlib.crc32, 4)),
        Algorithm("crc32c", 4, lambda: _Crc(crt.crc32c, 4)),
        Algorithm("crc64nvme", 8, lambda: _Crc(crt.crc64nvme, 8)),
        Algorithm("sha1", 20, hashlib.sha1),
        Algorithm("sha256", 32, hashlib.sha256),
    )
}


def decode_checksum(algorithm: Algorithm, value: str) -> bytes:
    """The raw digest of a header value, or InvalidRequest as S3 words it."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != algorithm.digest_size:
        raise S3Error("InvalidRequest", f"Value for {algorithm.header} header is invalid.")
    return raw


def declared_checksums(headers: Mapping[str, str]) -> dict[str, bytes]:
    """The checksums a request declares in headers: algorithm name → digest.

    S3 accepts one checksum per request; more than one is refused.
    """
    found = {
        name: decode_checksum(algo, headers[algo.header])
        for name, algo in ALGORITHMS.items()
        if algo.header in headers
    }
    if len(found) > 1:
        raise S3Error("InvalidRequest", MULTIPLE_CHECKSUMS)
    return found


def content_md5(value: str | None) -> bytes | None:
    """The 16 raw bytes a ``Content-MD5`` header carries; InvalidDigest if it
    is not the base64 of 16 bytes."""
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise S3Error("InvalidDigest", ContentMD5=value[:64])
    return raw


def trailer_algorithm(name: str) -> Algorithm:
    """The algorithm of a trailer named in ``x-amz-trailer``; S3 only takes
    checksum trailers."""
    algorithm = ALGORITHMS.get(name.removeprefix(HEADER_PREFIX)) if name.startswith(
        HEADER_PREFIX) else None
    if algorithm is None:
        raise S3Error("InvalidRequest", "The value specified in the x-amz-trailer header is "
                      "not supported")
    return algorithm


@dataclass(frozen=True)
class RequestChecksum:
    """The one additional checksum a request's body is held to.

    ``expected`` is the digest from an ``x-amz-checksum-*`` header, or None
    when the value comes later in a trailer (``in_trailer``).
    """

    algorithm: Algorithm
    expected: bytes | None
    in_trailer: bool = False


def request_checksum(
    headers: Mapping[str, str], trailers: Iterable[str] = ()
) -> RequestChecksum | None:
    """The checksum a request declares in a header or announces as a trailer,
    checked against ``x-amz-sdk-checksum-algorithm`` the way S3 checks it:
    that header names the algorithm the SDK used, so it must agree with
    the checksum sent and may not come without one."""
    declared = declared_checksums(headers)
    trailed = [trailer_algorithm(name) for name in trailers]
    if len(declared) + len(trailed) > 1:
        raise S3Error("InvalidRequest", MULTIPLE_CHECKSUMS)
    found: RequestChecksum | None = None
    if declared:
        ((name, digest),) = declared.items()
        found = RequestChecksum(ALGORITHMS[name], digest)
    elif trailed:
        found = RequestChecksum(trailed[0], None, in_trailer=True)
    sdk = headers.get(SDK_ALGORITHM_HEADER)
    if sdk is not None:
        if sdk.strip().lower() not in ALGORITHMS:
            raise S3Error("InvalidRequest", UNSUPPORTED_ALGORITHM)
        if found is None:
            raise S3Error("InvalidRequest", SDK_ALGORITHM_ALONE)
        if found.algorithm.name != sdk.strip().lower():
            raise S3Error("InvalidRequest", f"Value for {SDK_ALGORITHM_HEADER} header is "
                          "invalid.")
    return found


def mismatch(algorithm: Algorithm) -> S3Error:
    """S3's answer when a body does not match the checksum it was sent with."""
    return S3Error("BadDigest", f"The {algorithm.name.upper()} you specified did not match "
                   "the calculated checksum.")


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def checksum_type(value: str) -> str:
    """FULL_OBJECT or COMPOSITE, read off a stored value: only a composite
    checksum ends in ``-<part count>`` (base64 has no ``-``)."""
    return COMPOSITE if "-" in value else FULL_OBJECT


def composite(algorithm: str, digests: Iterable[bytes], count: int) -> str:
    """S3's COMPOSITE checksum: ``base64(H(digest_1 ‖ … ‖ digest_N))-N``."""
    hasher = ALGORITHMS[algorithm].new()
    for digest in digests:
        hasher.update(digest)
    return f"{encode(hasher.digest())}-{count}"


# --- combining CRCs -------------------------------------------------------------------

# Reflected CRCs S3 offers, as (width in bits, reflected polynomial). All
# start from and finish with all-ones, which is what lets two CRCs combine.
_CRC_PARAMS = {
    "crc32": (32, 0xEDB88320),
    "crc32c": (32, 0x82F63B78),
    "crc64nvme": (64, 0x9A6C9329AC4BC9B5),
}


def _multmodp(a: int, b: int, width: int, poly: int) -> int:
    """a·b modulo the CRC polynomial, in the reflected bit order."""
    m = 1 << (width - 1)
    product = 0
    while True:
        if a & m:
            product ^= b
            if a & (m - 1) == 0:
                return product
        m >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1


def crc_combine(algorithm: str, crc1: int, crc2: int, length2: int) -> int:
    """CRC(A‖B) from CRC(A), CRC(B) and len(B): zlib's ``crc32_combine``
    method, for any of the CRCs above. CRC(A) is multiplied by
    x^(8·len(B)) modulo the polynomial, found by repeated squaring."""
    width, poly = _CRC_PARAMS[algorithm]
    power = 1 << (width - 1)  # x^0
    x = power >> 1  # x^1, squared at each step: x^2, x^4, …
    n = length2 * 8
    while n:
        if n & 1:
            power = _multmodp(x, power, width, poly)
        n >>= 1
        x = _multmodp(x, x, width, poly)
    return _multmodp(power, crc1, width, poly) ^ crc2


def full_object(algorithm: str, parts: Iterable[tuple[bytes, int]]) -> str:
    """S3's FULL_OBJECT checksum of a multipart object, from its parts'
    (CRC digest, size) in order, without reading the data again."""
    crc = 0  # the CRC of no bytes, for all three
    for digest, size in parts:
        crc = crc_combine(algorithm, crc, int.from_bytes(digest, "big"), size)
    return encode(crc.to_bytes(ALGORITHMS[algorithm].digest_size, "big"))
