"""Object versions in the MetaStore (store/sql/versions.py), on SQLite and
PostgreSQL: what each write keeps, which version is current, deletes by
version, markers, and ListObjectVersions' order and paging."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sealbox.store.meta import BucketNotEmpty, MetaStore, ObjectRecord, VersionEntry
from tests.unit.test_store_sqlite import META_STORES, bucket, obj


@pytest.fixture(params=sorted(META_STORES))
def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    s = META_STORES[request.param](request)
    s.create_bucket(bucket("b"))
    yield s
    s.close()


def v(key: str, vid: str, **kw: object) -> ObjectRecord:
    return replace(obj(key, **kw), version_id=vid)


def marker(key: str, vid: str) -> ObjectRecord:
    return replace(obj(key, size=0), segments=(), etag="", version_id=vid, delete_marker=True)


def listing(store: MetaStore, **kw: object) -> list[tuple[str, str, bool, bool]]:
    """ListObjectVersions' rows, from both of the store's forms, which must
    agree: the records, and the entries the listing renders."""
    records = store.list_versions("b", **kw)  # type: ignore[attr-defined]
    entries = store.list_version_entries("b", **kw)  # type: ignore[attr-defined]
    assert entries == [VersionEntry(r.key, r.version_id, latest, r.delete_marker,
                                    r.last_modified, r.etag, r.size, r.checksums,
                                    r.storage_class) for r, latest in records]
    return [(r.key, r.version_id, r.delete_marker, latest) for r, latest in records]


def test_versioned_puts_keep_every_version_newest_current(store: MetaStore) -> None:
    first, second = v("k", "v1"), v("k", "v2")
    assert store.put_object(first) is None
    assert store.put_object(second) is None  # nothing freed: v1 is kept
    assert store.get_object("b", "k").version_id == "v2"  # type: ignore[union-attr]
    assert store.get_version("b", "k", "v1").etag == first.etag  # type: ignore[attr-defined]
    assert listing(store) == [("k", "v2", False, True), ("k", "v1", False, False)]


def test_null_put_replaces_only_the_null_version(store: MetaStore) -> None:
    old = obj("k")  # from before versioning: the null version
    store.put_object(old)
    store.put_object(v("k", "v1"))
    gone = store.put_object(obj("k"))  # Suspended: a new null version
    assert gone is not None and gone.etag == old.etag  # the old null's bytes are freed
    assert listing(store) == [("k", "null", False, True), ("k", "v1", False, False)]
    gone = store.put_object(obj("k"))
    assert gone is not None and gone.version_id == "null"
    assert [r[1] for r in listing(store)] == ["null", "v1"]


def test_delete_marker_hides_the_key_and_deleting_it_brings_it_back(store: MetaStore) -> None:
    store.put_object(v("k", "v1"))
    assert store.add_delete_marker(marker("k", "m1")) is None  # type: ignore[attr-defined]
    assert store.get_object("b", "k") is None
    found = store.latest_marker("b", "k")  # type: ignore[attr-defined]
    assert found is not None and found.version_id == "m1" and found.delete_marker
    assert listing(store) == [("k", "m1", True, True), ("k", "v1", False, False)]
    assert store.list_objects("b") == []
    removed = store.delete_version("b", "k", "m1")  # type: ignore[attr-defined]
    assert removed is not None and removed.delete_marker
    assert store.get_object("b", "k").version_id == "v1"  # type: ignore[union-attr]


def test_deleting_the_current_version_promotes_the_previous_one(store: MetaStore) -> None:
    store.put_object(v("k", "v1"))
    store.put_object(v("k", "v2"))
    assert store.get_version("b", "k", "v2") is not None  # type: ignore[attr-defined]
    removed = store.delete_version("b", "k", "v2")  # type: ignore[attr-defined]
    assert store.get_version("b", "k", "v2") is None  # a kept read is never stale
    assert removed is not None and removed.version_id == "v2"
    assert store.get_object("b", "k").version_id == "v1"  # type: ignore[union-attr]
    assert store.delete_version("b", "k", "v2") is None  # type: ignore[attr-defined]
    assert store.delete_version("b", "k", "v1") is not None  # type: ignore[attr-defined]
    assert store.get_object("b", "k") is None and listing(store) == []


def test_suspended_marker_replaces_the_null_version(store: MetaStore) -> None:
    old = obj("k")
    store.put_object(old)
    gone = store.add_delete_marker(marker("k", "null"))  # type: ignore[attr-defined]
    assert gone is not None and gone.etag == old.etag
    assert listing(store) == [("k", "null", True, True)]


def test_versions_and_markers_keep_a_bucket_from_being_deleted(store: MetaStore) -> None:
    store.put_object(v("k", "v1"))
    store.add_delete_marker(marker("k", "m1"))  # type: ignore[attr-defined]
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("b")
    ids = store.referenced_blob_ids()
    assert store.get_version("b", "k", "v1").segments[0].blob_id in ids  # type: ignore[attr-defined]


def test_list_versions_pages_by_key_and_version_marker(store: MetaStore) -> None:
    for key, vid in [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2"), ("b", "b3"), ("c", "c1")]:
        store.put_object(v(key, vid))
    everything = listing(store)
    assert [(k, i) for k, i, _, _ in everything] == [
        ("a", "a2"), ("a", "a1"), ("b", "b3"), ("b", "b2"), ("b", "b1"), ("c", "c1")]
    assert listing(store, key_marker="a", version_marker="a2", limit=2) == [
        ("a", "a1", False, False), ("b", "b3", False, True)]
    assert listing(store, key_marker="b", version_marker="b2") == [
        ("b", "b1", False, False), ("c", "c1", False, True)]
    assert [r[1] for r in listing(store, key_marker="a")] == ["b3", "b2", "b1", "c1"]
    assert [r[1] for r in listing(store, prefix="b", limit=2)] == ["b3", "b2"]


def test_listing_entries_carry_checksums_and_storage_class(store: MetaStore) -> None:
    store.put_object(v("k", "v1", checksums={"crc32": "AAAAAA=="}))
    store.put_object(replace(v("k", "v2"), storage_class="STANDARD_IA"))
    store.add_delete_marker(marker("k", "m1"))  # type: ignore[attr-defined]
    entries = store.list_version_entries("b")  # type: ignore[attr-defined]
    assert [(e.version_id, e.latest, e.delete_marker, dict(e.checksums), e.storage_class)
            for e in entries] == [("m1", True, True, {}, "STANDARD"),
                                  ("v2", False, False, {}, "STANDARD_IA"),
                                  ("v1", False, False, {"crc32": "AAAAAA=="}, "STANDARD")]
    listing(store)  # and they agree with the records


def test_version_tags_are_set_per_version(store: MetaStore) -> None:
    store.put_object(v("k", "v1"))
    store.put_object(v("k", "v2"))
    assert store.set_version_tags("b", "k", "v1", (("a", "1"),))  # type: ignore[attr-defined]
    assert store.get_version("b", "k", "v1").tags == (("a", "1"),)  # type: ignore[attr-defined]
    assert store.get_object("b", "k").tags == ()  # type: ignore[union-attr]
    assert not store.set_version_tags("b", "k", "nope", ())  # type: ignore[attr-defined]


def test_version_headers_change_only_the_version_read(store: MetaStore) -> None:
    first = obj("k", headers={"content-type": "a/b"})  # the null version
    store.put_object(first)
    acl = {"content-type": "a/b", "x-amz-acl": "{}"}
    assert store.set_version_headers(first, acl)  # type: ignore[attr-defined]
    assert store.get_object("b", "k").headers == acl  # type: ignore[union-attr]
    # A write replaced the null version (same ETag and time even): the
    # headers read before belong to no version now.
    again = replace(obj("k"), etag=first.etag)
    store.put_object(again)
    assert not store.set_version_headers(first, {})  # type: ignore[attr-defined]
    assert store.get_object("b", "k").headers == {}  # type: ignore[union-attr]
    # A noncurrent version keeps its own; a marker has none to set.
    store.put_object(v("k", "v1"))
    noncurrent = store.get_version("b", "k", "null")  # type: ignore[attr-defined]
    assert store.set_version_headers(noncurrent, {"x-amz-acl": "{}"})  # type: ignore[attr-defined]
    assert store.get_version("b", "k", "null").headers == {"x-amz-acl": "{}"}  # type: ignore[attr-defined]
    assert store.get_object("b", "k").headers == {}  # type: ignore[union-attr]
    store.add_delete_marker(marker("k", "m1"))  # type: ignore[attr-defined]
    assert not store.set_version_headers(marker("k", "m1"), {})  # type: ignore[attr-defined]
