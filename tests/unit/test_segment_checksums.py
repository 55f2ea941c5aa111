"""A multipart object's segments keep each part's checksum (issue 16,
GetObjectAttributes): they round-trip through both stores, survive being
pushed down to a noncurrent version, and the blob sweep still finds every
blob they name."""

from __future__ import annotations

from sealbox.store.meta import MetaStore, Segment
from tests.unit.test_store_sqlite import meta_store, obj, store  # noqa: F401  (fixtures)


def test_part_checksums_round_trip_and_keep_their_blobs_referenced(store: MetaStore) -> None:  # noqa: F811
    parts = (Segment("blob-1", 5, checksum="c2hhMQ=="), Segment("blob-2", 2, checksum="c2hhMg=="),
             Segment("blob-3", 1))
    record = obj("k", segments=parts, size=8, checksums={"sha256": "b2JqZWN0-3"},
                 parts_count=3, version_id="v" * 32)
    store.put_object(record)
    got = store.get_object("b", "k")
    assert got is not None and got.segments == parts
    store.put_object(obj("k", version_id="w" * 32))  # the first is now noncurrent
    older = store.get_version("b", "k", "v" * 32)
    assert older is not None and older.segments == parts
    assert {"blob-1", "blob-2", "blob-3"} <= store.referenced_blob_ids()


def test_a_sealed_part_keeps_its_nonce_and_its_checksum() -> None:
    # Encryption at rest and part checksums share the segments' JSON: the
    # nonce third (null when the part is not sealed), the checksum fourth.
    from sealbox.store.rows import segments_json

    parts = (Segment("blob-1", 5, "00" * 8, "c2hhMQ=="), Segment("blob-2", 2, None, "c2hhMg=="),
             Segment("blob-3", 1, "11" * 8), Segment("blob-4", 1))
    assert segments_json(parts) == ('[["blob-1",5,"0000000000000000","c2hhMQ=="],'
                                    '["blob-2",2,null,"c2hhMg=="],'
                                    '["blob-3",1,"1111111111111111"],["blob-4",1]]')
