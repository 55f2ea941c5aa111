"""Object lock in the MetaStore, on SQLite and PostgreSQL: a locked version
is refused by every store call that removes it or frees its bytes
(delete_version, delete_object, a null overwrite, a null delete marker,
complete_upload, delete_bucket), whoever calls it, and nothing changes
when it is; retention changes follow S3's rules (store/retention.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sealbox.store.meta import BucketExists, BucketNotEmpty, MetaStore, ObjectLocked, ObjectRecord
from sealbox.store.retention import COMPLIANCE, GOVERNANCE
from tests.unit.test_store_sqlite import META_STORES, T0, bucket, obj, upload

NOW = T0 + timedelta(days=1)
LATER = NOW + timedelta(days=30)
PAST = NOW - timedelta(seconds=1)


@pytest.fixture(params=sorted(META_STORES))
def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    s = META_STORES[request.param](request)
    s.create_bucket(bucket("b"))
    yield s
    s.close()


def v(key: str, vid: str, **kw: object) -> ObjectRecord:
    return replace(obj(key, **kw), version_id=vid)


def versions(store: MetaStore) -> list[tuple[str, str]]:
    return [(r.key, r.version_id) for r, _ in store.list_versions("b")]  # type: ignore[attr-defined]


@pytest.mark.parametrize("lock", [
    {"lock_mode": COMPLIANCE, "lock_until": LATER},
    {"lock_mode": GOVERNANCE, "lock_until": LATER},
    {"legal_hold": True},
    {"lock_mode": GOVERNANCE, "lock_until": PAST, "legal_hold": True},
], ids=["compliance", "governance", "legal-hold", "hold-outlives-retention"])
def test_a_locked_version_is_not_deleted_current_or_not(store: MetaStore, lock) -> None:
    store.put_object(v("k", "v1", **lock))
    store.put_object(v("k", "v2", **lock))  # v1 pushed down keeps its lock
    for vid in ("v2", "v1"):
        with pytest.raises(ObjectLocked) as refused:
            store.delete_version("b", "k", vid, now=NOW)  # type: ignore[attr-defined]
        assert refused.value.version_id == vid
    assert versions(store) == [("k", "v2"), ("k", "v1")]  # nothing changed
    kept = store.get_version("b", "k", "v1")  # type: ignore[attr-defined]
    assert kept is not None and (kept.lock_mode, kept.lock_until, kept.legal_hold) == (
        lock.get("lock_mode"), lock.get("lock_until"), lock.get("legal_hold"))


def test_the_server_clock_is_the_default(store: MetaStore) -> None:
    # No ``now``: the wall clock, which is long past T0 and before 2200.
    store.put_object(v("k", "old", lock_mode=COMPLIANCE, lock_until=LATER))
    store.put_object(v("k", "new", lock_mode=COMPLIANCE, lock_until=T0.replace(year=2200)))
    assert store.delete_version("b", "k", "old") is not None  # type: ignore[attr-defined]
    with pytest.raises(ObjectLocked):
        store.delete_version("b", "k", "new")  # type: ignore[attr-defined]


def test_governance_yields_to_the_bypass_compliance_and_holds_never(store: MetaStore) -> None:
    store.put_object(v("g", "v1", lock_mode=GOVERNANCE, lock_until=LATER))
    store.put_object(v("c", "v1", lock_mode=COMPLIANCE, lock_until=LATER))
    store.put_object(v("h", "v1", legal_hold=True, lock_mode=GOVERNANCE, lock_until=LATER))
    removed = store.delete_version("b", "g", "v1", bypass_governance=True,  # type: ignore[attr-defined]
                                   now=NOW)
    assert removed is not None and removed.segments
    for key in ("c", "h"):
        with pytest.raises(ObjectLocked):
            store.delete_version("b", key, "v1", bypass_governance=True,  # type: ignore[attr-defined]
                                 now=NOW)
    assert versions(store) == [("c", "v1"), ("h", "v1")]


def test_an_expired_retention_protects_nothing(store: MetaStore) -> None:
    store.put_object(v("k", "v1", lock_mode=COMPLIANCE, lock_until=LATER))
    with pytest.raises(ObjectLocked):
        store.delete_version("b", "k", "v1", now=LATER - timedelta(milliseconds=1))  # type: ignore[attr-defined]
    assert store.delete_version("b", "k", "v1", now=LATER) is not None  # type: ignore[attr-defined]


def test_a_noncurrent_locked_version_under_a_marker_stays(store: MetaStore) -> None:
    store.put_object(v("k", "v1", lock_mode=COMPLIANCE, lock_until=LATER))
    marker = replace(obj("k", size=0), segments=(), etag="", version_id="m1", delete_marker=True)
    store.add_delete_marker(marker)  # type: ignore[attr-defined]
    assert store.delete_version("b", "k", "m1", now=NOW) is not None  # type: ignore[attr-defined]
    with pytest.raises(ObjectLocked):
        store.delete_version("b", "k", "v1", now=NOW)  # type: ignore[attr-defined]
    assert store.get_object("b", "k").version_id == "v1"  # type: ignore[union-attr]


def test_null_versions_under_lock_are_neither_replaced_nor_deleted(store: MetaStore) -> None:
    locked = obj("k", legal_hold=True)  # a null version (bucket never versioned)
    store.put_object(locked)
    with pytest.raises(ObjectLocked):
        store.put_object(obj("k"))  # null replaces null: would free its bytes
    with pytest.raises(ObjectLocked):
        store.delete_object("b", "k")
    null_marker = replace(obj("k", size=0), segments=(), etag="", delete_marker=True)
    with pytest.raises(ObjectLocked):
        store.add_delete_marker(null_marker)  # type: ignore[attr-defined]
    store.create_upload(upload("k", "u1"))
    with pytest.raises(ObjectLocked):
        store.complete_upload("u1", obj("k"))
    current = store.get_object("b", "k")
    assert current is not None and current.etag == locked.etag and current.legal_hold
    assert store.get_upload("u1") is not None  # the refused completion kept the upload
    # Pushed down by a version with an id, then a null write: still kept.
    store.put_object(v("k", "v2"))
    with pytest.raises(ObjectLocked):
        store.put_object(obj("k"))
    assert versions(store) == [("k", "v2"), ("k", "null")]


def test_a_bucket_holding_locked_versions_is_not_empty(store: MetaStore) -> None:
    store.put_object(v("k", "v1", lock_mode=COMPLIANCE, lock_until=LATER))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("b")


def test_retention_lengthens_in_its_mode_and_shortens_only_by_bypass(store: MetaStore) -> None:
    store.put_object(v("k", "v1"))
    set_lock = store.set_object_lock  # type: ignore[attr-defined]
    assert set_lock("b", "k", "v1", retention=(GOVERNANCE, LATER), now=NOW) is not None
    longer = LATER + timedelta(days=1)
    set_lock("b", "k", "v1", retention=(GOVERNANCE, longer), now=NOW)
    for change in [(GOVERNANCE, LATER), (COMPLIANCE, longer), (None, None)]:
        with pytest.raises(ObjectLocked):
            set_lock("b", "k", "v1", retention=change, now=NOW)
    set_lock("b", "k", "v1", retention=(GOVERNANCE, LATER), bypass_governance=True, now=NOW)
    assert store.get_version("b", "k", "v1").lock_until == LATER  # type: ignore[attr-defined,union-attr]
    set_lock("b", "k", "v1", retention=(COMPLIANCE, LATER), bypass_governance=True, now=NOW)
    for change in [(COMPLIANCE, NOW + timedelta(days=1)), (GOVERNANCE, longer), (None, None)]:
        with pytest.raises(ObjectLocked):
            set_lock("b", "k", "v1", retention=change, bypass_governance=True, now=NOW)
    set_lock("b", "k", "v1", retention=(COMPLIANCE, longer), now=NOW)
    got = store.get_object("b", "k")
    assert got is not None and (got.lock_mode, got.lock_until) == (COMPLIANCE, longer)
    # Once the date has passed, anything goes.
    set_lock("b", "k", "v1", retention=(None, None), now=longer)
    assert store.get_object("b", "k").lock_mode is None  # type: ignore[union-attr]


def test_legal_hold_on_a_noncurrent_version_and_off_again(store: MetaStore) -> None:
    store.put_object(v("k", "v1"))
    store.put_object(v("k", "v2"))
    set_lock = store.set_object_lock  # type: ignore[attr-defined]
    assert set_lock("b", "k", "v1", legal_hold=True) is not None
    assert store.get_version("b", "k", "v1").legal_hold is True  # type: ignore[attr-defined,union-attr]
    assert store.get_object("b", "k").legal_hold is None  # type: ignore[union-attr]
    with pytest.raises(ObjectLocked):
        store.delete_version("b", "k", "v1")  # type: ignore[attr-defined]
    set_lock("b", "k", "v1", legal_hold=False)
    assert store.get_version("b", "k", "v1").legal_hold is False  # type: ignore[attr-defined,union-attr]
    assert store.delete_version("b", "k", "v1") is not None  # type: ignore[attr-defined]
    assert set_lock("b", "k", "v1", legal_hold=True) is None  # gone
    assert set_lock("b", "k", "nope", legal_hold=True) is None


def test_an_upload_keeps_the_lock_it_was_created_with(store: MetaStore) -> None:
    store.create_upload(upload("k", "u1", lock_mode=COMPLIANCE, lock_until=LATER,
                               legal_hold=False))
    got = store.get_upload("u1")
    assert got is not None and (got.lock_mode, got.lock_until, got.legal_hold) == (
        COMPLIANCE, LATER, False)


def test_a_bucket_is_made_with_its_settings_in_one_transaction(store: MetaStore) -> None:
    # CreateBucket with object lock: never a bucket without its lock.
    store.create_bucket(bucket("locked"), [("versioning", "Enabled"), ("object-lock", "{}")])
    assert store.get_bucket_setting("locked", "object-lock") == "{}"
    assert store.get_bucket_setting("locked", "versioning") == "Enabled"
    with pytest.raises(BucketExists):
        store.create_bucket(bucket("locked"), [("object-lock", '{"Mode": "COMPLIANCE"}')])
    assert store.get_bucket_setting("locked", "object-lock") == "{}"
