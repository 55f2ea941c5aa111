"""The additional checksums S3 accepts: CRC32, CRC32C, CRC64NVME, SHA1, SHA256.

Values travel base64-encoded in ``x-amz-checksum-<algorithm>`` headers (and,
with aws-chunked bodies, in trailers). The CRCs come from AWS's own CRT
library (``awscrt``) so they match the SDKs bit for bit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from awscrt import checksums as crt

from sealbox.errors import S3Error


class _Crc:
    """Incremental CRC with the hashlib-like interface the readers use."""

    def __init__(self, fn: Callable[[bytes, int], int], width: int) -> None:
        self._fn = fn
        self._width = width
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


@dataclass(frozen=True)
class Algorithm:
    name: str  # lower-case, as in the header name
    digest_size: int
    new: Callable[[], object]

    @property
    def header(self) -> str:
        return f"x-amz-checksum-{self.name}"


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("crc32", 4, lambda: _Crc(crt.crc32, 4)),
        Algorithm("crc32c", 4, lambda: _Crc(crt.crc32c, 4)),
        Algorithm("crc64nvme", 8, lambda: _Crc(crt.crc64nvme, 8)),
        Algorithm("sha1", 20, hashlib.sha1),
        Algorithm("sha256", 32, hashlib.sha256),
    )
}


def decode_checksum(algorithm: Algorithm, value: str) -> bytes:
    """The raw digest of a header value, or InvalidRequest as S3 words it."""
    try:
        raw = base64.b64decode(value, validate=True)
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
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. "
                      "Multiple checksum Types are not allowed.")
    return found


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode()
