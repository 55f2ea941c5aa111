"""sealbox.lifecycle.worker on a real MetaStore (SQLite and PostgreSQL) with
the clock a parameter: S3's real days, noncurrent age counted from the
successor, and a removal the store refuses (object lock) skipped while the
pass goes on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sealbox.lifecycle.rules import Configuration, Filter, Rule, encode
from sealbox.lifecycle.worker import LifecycleWorker, covering_prefixes
from sealbox.store.meta import MetaError, MetaStore, ObjectRecord
from tests.unit.test_store_sqlite import META_STORES, bucket, obj

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


class Freed:
    """The blob store's side of a removal: which blobs were freed."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def delete_many(self, blob_ids: list[str]) -> None:
        self.ids.extend(blob_ids)


class ObjectLocked(MetaError):
    """What a store under object lock raises for a protected version."""


class Locking:
    """A real store whose ``delete_version`` refuses some versions, as
    object lock makes it (branch w12-lock)."""

    def __init__(self, store: MetaStore, locked: set[str]) -> None:
        self.store, self.locked = store, locked

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def delete_version(self, bucket: str, key: str, version_id: str,
                       **kw: Any) -> ObjectRecord | None:
        if version_id in self.locked:
            raise ObjectLocked(f"{key} {version_id} is locked")
        return self.store.delete_version(bucket, key, version_id, **kw)  # type: ignore[attr-defined]


class WrittenAfterListing:
    """A real store where a client writes ``record`` just after the pass
    lists a page: the race between a pass's listing and its removals."""

    def __init__(self, store: MetaStore, record: ObjectRecord) -> None:
        self.store, self.record = store, record

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _after(self, page: Any) -> Any:
        self.store.put_object(self.record)
        return page

    def list_objects(self, *args: Any, **kw: Any) -> Any:
        return self._after(self.store.list_objects(*args, **kw))

    def list_versions(self, *args: Any, **kw: Any) -> Any:
        return self._after(self.store.list_versions(*args, **kw))


@pytest.fixture(params=sorted(META_STORES))
def store(request: pytest.FixtureRequest) -> Any:
    s = META_STORES[request.param](request)
    s.create_bucket(bucket("b"))
    yield s
    s.close()


def _worker(store: Any, now: datetime, *, versioned: bool = False,
            blobs: Freed | None = None) -> LifecycleWorker:
    ids = iter(f"m{n:031d}" for n in range(10**6))
    return LifecycleWorker(store, blobs or Freed(),  # type: ignore[arg-type]
                           marker_version=lambda _b: next(ids) if versioned else None,
                           now=now.timestamp)


def _rules(store: MetaStore, *rules: Rule) -> None:
    store.put_bucket_setting("b", "lifecycle", encode(Configuration(rules)))


def test_an_object_expires_at_the_midnight_s3_counts_to(store: Any) -> None:
    store.put_object(obj("tmp/a", last_modified=T0))
    _rules(store, Rule("r", True, Filter(prefix="tmp/"), expiration_days=1))
    before = datetime(2024, 5, 7, 23, 59, 59, tzinfo=UTC)  # T0 + 1 day, not yet midnight
    assert _worker(store, before).run_pass().expired == 0  # type: ignore[union-attr]
    freed = Freed()
    report = _worker(store, datetime(2024, 5, 8, tzinfo=UTC), blobs=freed).run_pass()
    assert report is not None and report.expired == 1
    assert store.get_object("b", "tmp/a") is None
    assert len(freed.ids) == 1


def test_noncurrent_days_count_from_when_a_version_was_replaced(store: Any) -> None:
    store.put_object(replace(obj("k", last_modified=T0), version_id="v1" + "0" * 30))
    store.put_object(replace(obj("k", last_modified=T0 + timedelta(days=10)),
                             version_id="v2" + "0" * 30))
    _rules(store, Rule("r", True, noncurrent_days=3))
    # Five days after v1 was made, but not three after it was replaced: kept.
    assert _worker(store, T0 + timedelta(days=5), versioned=True).run_pass() \
        .versions_removed == 0  # type: ignore[union-attr]
    assert _worker(store, T0 + timedelta(days=14), versioned=True).run_pass() \
        .versions_removed == 1  # type: ignore[union-attr]
    assert [r.version_id[:2] for r, _ in store.list_versions("b")] == ["v2"]


def test_a_refused_removal_is_skipped_and_the_pass_goes_on(store: Any) -> None:
    ids = [f"v{n}" + "0" * 30 for n in range(1, 5)]
    for n, vid in enumerate(ids):
        store.put_object(replace(obj("k", last_modified=T0 + timedelta(seconds=n)),
                                 version_id=vid))
    store.put_object(replace(obj("other", last_modified=T0), version_id="w" + "0" * 31))
    store.put_object(replace(obj("other", last_modified=T0), version_id="x" + "0" * 31))
    _rules(store, Rule("r", True, noncurrent_days=1))
    locked = Locking(store, {ids[1]})
    report = _worker(locked, T0 + timedelta(days=30), versioned=True).run_pass()
    assert report is not None
    assert (report.refused, report.versions_removed) == (1, 3)
    left = [(r.key, r.version_id[:2]) for r, _ in store.list_versions("b")]
    assert left == [("k", "v4"), ("k", "v2"), ("other", "x0")]


def test_a_locked_current_version_is_not_expired_and_nothing_fails(store: Any) -> None:
    store.put_object(obj("a", last_modified=T0))
    store.put_object(obj("b", last_modified=T0))
    _rules(store, Rule("r", True, expiration_days=1))
    report = _worker(Locking(store, {"null"}), T0 + timedelta(days=3)).run_pass()
    assert report is not None and (report.refused, report.expired) == (2, 0)
    assert store.get_object("b", "a") is not None


def test_an_overwrite_after_the_listing_is_not_expired_with_the_old_version(
        store: Any) -> None:
    store.put_object(obj("tmp/a", last_modified=T0))
    _rules(store, Rule("r", True, Filter(prefix="tmp/"), expiration_days=1))
    fresh = obj("tmp/a", last_modified=T0 + timedelta(days=9))  # the same null version id
    freed = Freed()
    report = _worker(WrittenAfterListing(store, fresh), T0 + timedelta(days=10),
                     blobs=freed).run_pass()
    assert report is not None and report.expired == 0
    kept = store.get_object("b", "tmp/a")
    assert kept is not None and kept.etag == fresh.etag
    assert not set(freed.ids) & {s.blob_id for s in fresh.segments}


def test_a_write_over_an_expired_null_marker_is_not_removed_with_it(store: Any) -> None:
    # A suspended bucket: a null delete marker alone on its key, which
    # ExpiredObjectDeleteMarker removes; a PUT replaces it (null replaces
    # null) between the pass's listing and the removal.
    store.put_object(replace(obj("k", last_modified=T0), version_id="v1" + "0" * 30))
    store.delete_version("b", "k", "v1" + "0" * 30)
    store.add_delete_marker(replace(obj("k", last_modified=T0, size=0), segments=(), etag="",
                                    version_id="null", delete_marker=True))
    _rules(store, Rule("r", True, expired_object_delete_marker=True))
    fresh = replace(obj("k", last_modified=T0 + timedelta(days=1)), version_id="null")
    freed = Freed()
    report = _worker(WrittenAfterListing(store, fresh), T0 + timedelta(days=5),
                     versioned=True, blobs=freed).run_pass()
    assert report is not None and report.versions_removed == 0
    kept = store.get_object("b", "k")
    assert kept is not None and kept.etag == fresh.etag
    assert not set(freed.ids) & {s.blob_id for s in fresh.segments}


@pytest.mark.parametrize(("prefixes", "covering"), [
    (["a/", "a/b/", "c"], ["a/", "c"]),
    (["x", ""], [""]),
    (["b", "a", "b"], ["a", "b"]),
])
def test_listings_cover_every_rule_once(prefixes: list[str], covering: list[str]) -> None:
    assert covering_prefixes(prefixes) == covering
