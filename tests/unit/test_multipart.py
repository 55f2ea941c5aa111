"""Pure pieces of multipart.py: the multipart ETag and combining CRCs."""

from __future__ import annotations

import hashlib
import os

import pytest
from awscrt import checksums as crt

from sealbox.api.s3.multipart import crc_combine, multipart_etag

CRCS = {"crc32": crt.crc32, "crc32c": crt.crc32c, "crc64nvme": crt.crc64nvme}


@pytest.mark.parametrize("algorithm", sorted(CRCS))
@pytest.mark.parametrize(("len_a", "len_b"), [(0, 5), (5, 0), (1, 1), (1000, 77),
                                              (5 * 1024 * 1024, 3)])
def test_crc_combine_equals_crc_of_concatenation(algorithm: str, len_a: int, len_b: int) -> None:
    crc = CRCS[algorithm]
    a, b = os.urandom(len_a), os.urandom(len_b)
    assert crc_combine(algorithm, crc(a), crc(b), len(b)) == crc(a + b)


def test_multipart_etag_is_md5_of_part_md5s_with_count() -> None:
    parts = [b"a" * 10, b"b" * 3]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert multipart_etag([hashlib.md5(p).hexdigest() for p in parts]) == f"{digest}-2"
