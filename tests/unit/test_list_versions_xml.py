"""ListObjectVersions' rows written straight to text (api/s3/list_versions
``entries_xml``) are the bytes the generic writer (api/s3/xml ``render``)
gives the same rows as (name, value) pairs: keys that need escaping,
url encoding, checksums, delete markers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sealbox.api.s3.common import owner_xml, quote_etag
from sealbox.api.s3.list_versions import entries_xml
from sealbox.api.s3.listing import checksum_fields, url_encode
from sealbox.api.s3.xml import render_fragment
from sealbox.store.meta import VersionEntry

OWNER = owner_xml("arn:aws:iam::123456789012:root")
WHEN = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)


def _pairs(e: VersionEntry, enc: Callable[[str], str]) -> tuple[str, object]:
    """The row as the listing wrote it before entries_xml: pairs for render."""
    if e.delete_marker:
        return ("DeleteMarker", [("Key", enc(e.key)), ("VersionId", e.version_id),
                                 ("IsLatest", e.latest), ("LastModified", e.last_modified),
                                 ("Owner", OWNER)])
    return ("Version", [("Key", enc(e.key)), ("VersionId", e.version_id),
                        ("IsLatest", e.latest), ("LastModified", e.last_modified),
                        ("ETag", quote_etag(e.etag)), *checksum_fields(e.checksums),
                        ("Size", e.size), ("Owner", OWNER), ("StorageClass", e.storage_class)])


ENTRIES = [
    VersionEntry("plain.txt", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", True, False, WHEN,
                 "d41d8cd98f00b204e9800998ecf8427e", 0, {}, "STANDARD"),
    VersionEntry("a&b <c> \"d\".txt", "null", False, False, WHEN, "0" * 32 + "-3", 5 << 20,
                 {"crc32": "AAAAAA==-3"}, "STANDARD_IA"),
    VersionEntry("ctl\x01\x1b\rkey", "v2", True, True, WHEN, "", 0, {}, "STANDARD"),
    VersionEntry("video/été 100%+.mp4", "v1", False, False, datetime(999, 1, 2, tzinfo=UTC),
                 "e" * 32, 7, {"crc64nvme": "AAAAAAAAAAA=", "sha256": "x" * 44}, "GLACIER"),
    VersionEntry("\ufffe\uffffk", "v0", False, True, WHEN, "", 0, {}, "STANDARD"),
]


@pytest.mark.parametrize("enc", [lambda s: s, url_encode], ids=["plain", "url"])
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: repr(e.key))
def test_entry_text_is_what_the_generic_writer_renders(
        entry: VersionEntry, enc: Callable[[str], str]) -> None:
    owner = render_fragment([("Owner", OWNER)])
    assert entries_xml([entry], enc, owner) == [render_fragment([_pairs(entry, enc)])]


def test_a_page_is_one_string_per_entry_in_order() -> None:
    owner = render_fragment([("Owner", OWNER)])
    assert entries_xml(ENTRIES, url_encode, owner) == [
        render_fragment([_pairs(e, url_encode)]) for e in ENTRIES]
