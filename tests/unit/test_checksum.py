"""auth/sigv4/checksum.py: the five algorithms, what a request claims, and
multipart checksums of both types.

Digests are checked against botocore's own checksum classes (what boto3
sends) and, for the CRCs, ``awscrt`` directly."""

from __future__ import annotations

import base64
import hashlib
import os
import random

import pytest
from awscrt import checksums as crt
from botocore import httpchecksum

from sealbox.auth.sigv4 import checksum
from sealbox.auth.sigv4.checksum import (
    ALGORITHMS,
    COMPOSITE,
    FULL_OBJECT,
    checksum_type,
    composite,
    content_md5,
    crc_combine,
    declared_checksums,
    full_object,
    request_checksum,
)
from sealbox.errors import S3Error

BOTOCORE = {
    "crc32": httpchecksum.Crc32Checksum,
    "crc32c": httpchecksum.CrtCrc32cChecksum,
    "crc64nvme": httpchecksum.CrtCrc64NvmeChecksum,
    "sha1": httpchecksum.Sha1Checksum,
    "sha256": httpchecksum.Sha256Checksum,
}
CRCS = {"crc32": crt.crc32, "crc32c": crt.crc32c, "crc64nvme": crt.crc64nvme}


def b64(name: str, data: bytes) -> str:
    reference = BOTOCORE[name]()
    reference.update(data)
    return str(reference.b64digest())


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
@pytest.mark.parametrize("data", [b"", b"a", b"Hello, World!", random.Random(7).randbytes(100_000)],
                         ids=["empty", "a", "hello", "100k-random"])
def test_digest_equals_botocores_in_any_pieces(name: str, data: bytes) -> None:
    hasher = ALGORITHMS[name].new()
    for i in range(0, len(data), 777):
        hasher.update(data[i:i + 777])
    assert checksum.encode(hasher.digest()) == b64(name, data)
    assert len(hasher.digest()) == ALGORITHMS[name].digest_size


def test_header_names() -> None:
    assert [a.header for a in ALGORITHMS.values()] == [
        "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1", "x-amz-checksum-sha256"]


@pytest.mark.parametrize("value", ["", "AAAA", "AAAAAA", "not base64!", "AAAAAAAAAAA="])
def test_bad_header_value_is_invalid_request(value: str) -> None:
    with pytest.raises(S3Error) as raised:
        declared_checksums({"x-amz-checksum-crc32": value})
    assert raised.value.code == "InvalidRequest"
    assert raised.value.message == "Value for x-amz-checksum-crc32 header is invalid."


def test_two_checksum_headers_are_refused() -> None:
    with pytest.raises(S3Error) as raised:
        declared_checksums({"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1":
                            b64("sha1", b"")})
    assert raised.value.message == checksum.MULTIPLE_CHECKSUMS


@pytest.mark.parametrize("value", ["", "abc", "AAAA", base64.b64encode(b"x" * 15).decode()])
def test_malformed_content_md5_is_invalid_digest(value: str) -> None:
    with pytest.raises(S3Error) as raised:
        content_md5(value)
    assert raised.value.code == "InvalidDigest"


def test_content_md5_is_its_16_bytes() -> None:
    digest = hashlib.md5(b"x").digest()
    assert content_md5(base64.b64encode(digest).decode()) == digest
    assert content_md5(None) is None


# --- what a request claims --------------------------------------------------------------

CRC32_EMPTY = "AAAAAA=="


@pytest.mark.parametrize(("headers", "trailers", "expected"), [
    ({}, (), None),
    ({"x-amz-checksum-crc32": CRC32_EMPTY}, (), ("crc32", False)),
    ({"x-amz-checksum-crc32": CRC32_EMPTY, "x-amz-sdk-checksum-algorithm": "CRC32"}, (),
     ("crc32", False)),
    ({}, ("x-amz-checksum-sha256",), ("sha256", True)),
    ({"x-amz-sdk-checksum-algorithm": "crc64nvme"}, ("x-amz-checksum-crc64nvme",),
     ("crc64nvme", True)),
])
def test_request_checksum(headers: dict[str, str], trailers: tuple[str, ...],
                          expected: tuple[str, bool] | None) -> None:
    claim = request_checksum(headers, trailers)
    if expected is None:
        assert claim is None
    else:
        assert claim is not None
        assert (claim.algorithm.name, claim.in_trailer) == expected
        assert (claim.expected is None) == claim.in_trailer


@pytest.mark.parametrize(("headers", "trailers", "message"), [
    ({"x-amz-sdk-checksum-algorithm": "CRC32"}, (), checksum.SDK_ALGORITHM_ALONE),
    ({"x-amz-sdk-checksum-algorithm": "MD5", "x-amz-checksum-crc32": CRC32_EMPTY}, (),
     checksum.UNSUPPORTED_ALGORITHM),
    ({"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-crc32": CRC32_EMPTY}, (),
     "Value for x-amz-sdk-checksum-algorithm header is invalid."),
    ({"x-amz-checksum-crc32": CRC32_EMPTY}, ("x-amz-checksum-crc32c",),
     checksum.MULTIPLE_CHECKSUMS),
    ({}, ("x-amz-checksum-crc32", "x-amz-checksum-sha1"), checksum.MULTIPLE_CHECKSUMS),
    ({}, ("x-amz-meta-foo",), "The value specified in the x-amz-trailer header is not supported"),
    ({}, ("x-amz-checksum-md5",),
     "The value specified in the x-amz-trailer header is not supported"),
])
def test_request_checksum_refusals(headers: dict[str, str], trailers: tuple[str, ...],
                                   message: str) -> None:
    with pytest.raises(S3Error) as raised:
        request_checksum(headers, trailers)
    assert (raised.value.code, raised.value.message) == ("InvalidRequest", message)


def test_mismatch_is_bad_digest_naming_the_algorithm() -> None:
    error = checksum.mismatch(ALGORITHMS["crc32c"])
    assert error.code == "BadDigest"
    assert error.message == "The CRC32C you specified did not match the calculated checksum."


# --- multipart checksums ----------------------------------------------------------------


def test_checksum_type_is_read_off_the_value() -> None:
    assert checksum_type("AAAAAA==") == FULL_OBJECT
    assert checksum_type("AAAAAA==-3") == COMPOSITE


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_composite_is_checksum_of_part_checksums_with_count(name: str) -> None:
    parts = [b"a" * 10, b"b" * 3, b""]
    digests = [base64.b64decode(b64(name, p)) for p in parts]
    assert composite(name, digests, 3) == f"{b64(name, b''.join(digests))}-3"


@pytest.mark.parametrize("name", sorted(CRCS))
@pytest.mark.parametrize("sizes", [[5], [0, 5], [5 * 1024 * 1024, 5 * 1024 * 1024, 17],
                                   [1, 1, 1, 1]])
def test_full_object_equals_crc_of_the_whole_body(name: str, sizes: list[int]) -> None:
    parts = [os.urandom(size) for size in sizes]
    digests = [(base64.b64decode(b64(name, p)), len(p)) for p in parts]
    assert full_object(name, digests) == b64(name, b"".join(parts))


@pytest.mark.parametrize("name", sorted(CRCS))
@pytest.mark.parametrize(("len_a", "len_b"), [(0, 5), (5, 0), (1, 1), (1000, 77)])
def test_crc_combine_equals_crc_of_concatenation(name: str, len_a: int, len_b: int) -> None:
    crc = CRCS[name]
    a, b = os.urandom(len_a), os.urandom(len_b)
    assert crc_combine(name, crc(a), crc(b), len(b)) == crc(a + b)
