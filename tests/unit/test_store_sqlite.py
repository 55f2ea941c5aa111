"""MetaStore behaviour, run against every implementation in ``META_STORES``.

SQLite, and PostgreSQL on a throwaway cluster (``postgres_dsn`` in
conftest.py; skipped without PostgreSQL except in CI). Tests specific to
SQLite are at the end, under their own heading; PostgreSQL's are in
test_store_postgres.py.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sealbox.store.meta import (
    Bucket,
    BucketExists,
    BucketNotEmpty,
    MetaStore,
    NoSuchBucket,
    NoSuchUpload,
    ObjectRecord,
    Part,
    Segment,
    Upload,
)
from sealbox.store.sqlite import SCHEMA_VERSION, SqliteMetaStore, prefix_upper_bound


def _sqlite(request: pytest.FixtureRequest) -> MetaStore:
    return SqliteMetaStore(str(request.getfixturevalue("tmp_path") / "meta.db"))


def _postgres(request: pytest.FixtureRequest) -> MetaStore:
    dsn = request.getfixturevalue("postgres_dsn")  # skips first if PostgreSQL is missing
    from sealbox.store.postgres import PostgresMetaStore

    return PostgresMetaStore(dsn)


META_STORES: dict[str, Callable[[pytest.FixtureRequest], MetaStore]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(META_STORES))
def meta_store(request: pytest.FixtureRequest) -> Iterator[MetaStore]:
    store = META_STORES[request.param](request)
    yield store
    store.close()


T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
_ids = iter(range(10**9))


def bucket(name: str = "b") -> Bucket:
    return Bucket(name=name, created=T0, region="us-east-1", owner="arn:aws:iam::000:root")


def obj(key: str, bucket: str = "b", *, size: int = 3, **kw: object) -> ObjectRecord:
    n = next(_ids)
    fields: dict[str, object] = {
        "etag": f"{n:032x}",
        "last_modified": T0,
        "segments": (Segment(f"{n:032x}", size),),
    }
    fields.update(kw)
    return ObjectRecord(bucket=bucket, key=key, size=size, **fields)  # type: ignore[arg-type]


def upload(key: str, uid: str, *, bucket: str = "b", at: datetime = T0, **kw: object) -> Upload:
    return Upload(upload_id=uid, bucket=bucket, key=key, initiated=at, **kw)  # type: ignore[arg-type]


def part(uid: str, num: int, blob: str | None = None, size: int = 5) -> Part:
    return Part(
        upload_id=uid,
        part_number=num,
        size=size,
        etag=f"{num:032x}",
        last_modified=T0,
        blob_id=blob or f"{uid}-{num}",
    )


@pytest.fixture
def store(meta_store: MetaStore) -> MetaStore:
    """A store holding bucket "b"."""
    meta_store.create_bucket(bucket("b"))
    return meta_store


def utf8_sorted(keys: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode("utf-8"))


# -- buckets ---------------------------------------------------------------


def test_bucket_round_trip_and_list_order(meta_store: MetaStore) -> None:
    for name in ["zeta", "alpha", "mid-1", "mid.0"]:
        meta_store.create_bucket(bucket(name))
    assert [b.name for b in meta_store.list_buckets()] == ["alpha", "mid-1", "mid.0", "zeta"]
    got = meta_store.get_bucket("alpha")
    assert got == bucket("alpha")
    assert got is not None and got.created.tzinfo is not None
    assert got.created.utcoffset() == timedelta(0)
    assert meta_store.get_bucket("nope") is None


def test_create_bucket_twice_raises_bucket_exists(meta_store: MetaStore) -> None:
    meta_store.create_bucket(bucket("b"))
    with pytest.raises(BucketExists):
        meta_store.create_bucket(bucket("b"))


def test_delete_bucket(meta_store: MetaStore) -> None:
    meta_store.create_bucket(bucket("b"))
    meta_store.delete_bucket("b")
    assert meta_store.get_bucket("b") is None
    with pytest.raises(NoSuchBucket):
        meta_store.delete_bucket("b")


def test_delete_bucket_with_object_raises_bucket_not_empty(store: MetaStore) -> None:
    store.put_object(obj("k"))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("b")
    store.delete_object("b", "k")
    store.delete_bucket("b")


def test_delete_bucket_takes_its_uploads_in_progress_and_returns_their_blobs(
        store: MetaStore) -> None:
    store.create_upload(upload("k", "u1"))
    store.create_upload(upload("k2", "u2"))
    store.put_part(part("u1", 1, "blob-a"))
    store.put_part(part("u1", 2, "blob-b"))
    assert sorted(store.delete_bucket("b")) == ["blob-a", "blob-b"]
    assert store.get_bucket("b") is None
    assert store.get_upload("u1") is None and store.get_upload("u2") is None
    assert "blob-a" not in store.referenced_blob_ids()


def test_datetimes_come_back_utc_aware_with_milliseconds(store: MetaStore) -> None:
    # 123456 µs: truncating and rounding to ms agree, so any store passes.
    at = datetime(2024, 1, 2, 5, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    store.put_object(obj("k", last_modified=at))
    got = store.get_object("b", "k")
    assert got is not None
    assert got.last_modified == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert got.last_modified.tzinfo is not None and got.last_modified.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(store: MetaStore) -> None:
    with pytest.raises(ValueError):
        store.put_object(obj("k", last_modified=datetime(2024, 1, 1)))


# -- objects ---------------------------------------------------------------


def test_object_round_trip_keeps_every_field(store: MetaStore) -> None:
    o = obj(
        "dir/ünïcødé 😀.txt",
        size=11,
        etag="0123456789abcdef0123456789abcdef-2",
        segments=(Segment("a" * 32, 5), Segment("b" * 32, 6)),
        headers={"content-type": "text/plain; charset=utf-8", "cache-control": "no-store"},
        user_metadata={"name": "Zoë", "empty": ""},
        tags=(("z", "1"), ("a", "2")),
        checksums={"CRC32": "AAAAAA=="},
        storage_class="REDUCED_REDUNDANCY",
        owner="arn:aws:iam::000:user/x",
        parts_count=2,
    )
    assert store.put_object(o) is None
    assert store.get_object("b", o.key) == o
    assert store.get_object("b", "other") is None
    assert store.get_object("other", o.key) is None


def test_object_defaults_round_trip(store: MetaStore) -> None:
    o = obj("k")
    store.put_object(o)
    got = store.get_object("b", "k")
    assert got == o
    assert got is not None and got.headers == {} and got.tags == () and got.parts_count is None


def test_put_object_replace_returns_old_record(store: MetaStore) -> None:
    first, second = obj("k", size=1), obj("k", size=2)
    assert store.put_object(first) is None
    assert store.put_object(second) == first
    assert store.get_object("b", "k") == second


def test_put_object_without_bucket_raises_no_such_bucket(meta_store: MetaStore) -> None:
    with pytest.raises(NoSuchBucket):
        meta_store.put_object(obj("k", bucket="missing"))


def test_delete_object_returns_removed_record(store: MetaStore) -> None:
    o = obj("k")
    store.put_object(o)
    assert store.delete_object("b", "k") == o
    assert store.get_object("b", "k") is None
    assert store.delete_object("b", "k") is None


def test_set_object_tags(store: MetaStore) -> None:
    store.put_object(obj("k", tags=(("a", "1"),)))
    assert store.set_object_tags("b", "k", (("x", "y"), ("c", "d"))) is True
    got = store.get_object("b", "k")
    assert got is not None and got.tags == (("x", "y"), ("c", "d"))
    assert store.set_object_tags("b", "k", ()) is True
    got = store.get_object("b", "k")
    assert got is not None and got.tags == ()
    assert store.set_object_tags("b", "missing", (("x", "y"),)) is False


# -- listing ---------------------------------------------------------------

# Keys whose UTF-8 byte order differs from naive expectations: "~" (0x7e)
# sorts before "\x7f" and both before any non-ASCII; "/" (0x2f) before
# letters; U+FFFF before supplementary planes; uppercase before lowercase.
TRICKY_KEYS = [
    "a", "a/", "a/b", "a/b/c", "a-b", "a.b", "a~", "a\x7f", "a\x7fz", "a\x7f\x7f",
    "aé", "a\u07ff", "a\u0800", "a\ud7ff", "a\ue000", "a\uffff", "a\U00010000",
    "a😀", "a\U0010ffff", "a\U0010ffffx", "A", "B", "b", "~", "\x7f", "é", "😀",
    " ", "\t", "0", "a b", "ab", "abc", "a\x01",
]  # fmt: skip


def test_list_objects_orders_by_utf8_bytes(store: MetaStore) -> None:
    shuffled = TRICKY_KEYS[:]
    random.Random(1).shuffle(shuffled)
    for k in shuffled:
        store.put_object(obj(k))
    store.create_bucket(bucket("other"))
    store.put_object(obj("a", bucket="other"))
    got = [o.key for o in store.list_objects("b", limit=1000)]
    assert got == utf8_sorted(TRICKY_KEYS)


@pytest.mark.parametrize(
    "prefix", ["", "a", "a/", "a\x7f", "a~", "aé", "a\uffff", "a\U0010ffff", "a\ud7ff", "zz"]
)
def test_list_objects_prefix_matches_startswith(store: MetaStore, prefix: str) -> None:
    for k in TRICKY_KEYS:
        store.put_object(obj(k))
    got = [o.key for o in store.list_objects("b", prefix=prefix)]
    assert got == utf8_sorted([k for k in TRICKY_KEYS if k.startswith(prefix)])


def test_list_objects_prefix_after_limit_paging_matches_reference(store: MetaStore) -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", "/", "~", "\x7f", "é", "\uffff", "😀", "\U0010ffff", "A"]
    keys = sorted({"".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(150)})
    for k in keys:
        store.put_object(obj(k))
    reference = utf8_sorted(keys)
    for _ in range(60):
        prefix = "".join(rng.choices(alphabet, k=rng.randint(0, 2)))
        after = rng.choice(["", *keys, "".join(rng.choices(alphabet, k=2))])
        limit = rng.randint(1, 7)
        want = [k for k in reference if k.startswith(prefix) and k.encode() > after.encode()]
        got: list[str] = []
        cursor = after
        while True:
            page = [
                o.key for o in store.list_objects("b", prefix=prefix, after=cursor, limit=limit)
            ]
            assert len(page) <= limit
            got += page
            if len(page) < limit:
                break
            cursor = page[-1]
        assert got == want, (prefix, after, limit)


def test_key_with_nul_round_trips_and_sorts_first(
    store: MetaStore, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["meta_store"] == "postgres":
        pytest.skip(
            "PostgreSQL text cannot hold U+0000: PostgresMetaStore refuses such keys "
            "(see test_store_postgres.py); the API should refuse them for every store"
        )
    for k in ["a\x01", "a\x00b", "a", "a\x00"]:
        store.put_object(obj(k))
    assert store.get_object("b", "a\x00b") is not None
    assert [o.key for o in store.list_objects("b")] == ["a", "a\x00", "a\x00b", "a\x01"]
    assert [o.key for o in store.list_objects("b", prefix="a\x00")] == ["a\x00", "a\x00b"]


def test_list_objects_after_is_strict(store: MetaStore) -> None:
    for k in ["a", "b", "c"]:
        store.put_object(obj(k))
    assert [o.key for o in store.list_objects("b", after="b")] == ["c"]
    assert [o.key for o in store.list_objects("b", after="a", limit=1)] == ["b"]
    assert store.list_objects("b", limit=0) == []


# -- multipart uploads -----------------------------------------------------


def test_upload_round_trip(store: MetaStore) -> None:
    u = upload(
        "k",
        "u1",
        headers={"content-type": "image/png"},
        user_metadata={"x": "ÿ"},
        tags=(("t", "v"),),
        storage_class="STANDARD_IA",
        owner="arn:x",
        checksum_algorithm="SHA256",
    )
    store.create_upload(u)
    assert store.get_upload("u1") == u
    assert store.get_upload("nope") is None


def test_create_upload_without_bucket_raises_no_such_bucket(meta_store: MetaStore) -> None:
    with pytest.raises(NoSuchBucket):
        meta_store.create_upload(upload("k", "u1", bucket="missing"))


def test_list_uploads_order_prefix_and_markers(store: MetaStore) -> None:
    t = [T0 + timedelta(seconds=i) for i in range(5)]
    ups = [
        upload("b", "u-z", at=t[0]),
        upload("b", "u-a", at=t[1]),  # later, though its id sorts first
        upload("b", "u-m", at=t[1]),  # same time: upload id decides
        upload("a", "u-q", at=t[4]),
        upload("c/1", "u-c", at=t[2]),
    ]
    for u in reversed(ups):
        store.create_upload(u)
    store.create_bucket(bucket("other"))
    store.create_upload(upload("a", "u-other", bucket="other"))

    def ids(**kw: object) -> list[str]:
        return [u.upload_id for u in store.list_uploads("b", **kw)]  # type: ignore[arg-type]

    assert ids() == ["u-q", "u-z", "u-a", "u-m", "u-c"]
    assert ids(prefix="c/") == ["u-c"]
    assert ids(limit=2) == ["u-q", "u-z"]
    # key-marker alone: only keys strictly after it.
    assert ids(key_marker="b") == ["u-c"]
    assert ids(key_marker="a") == ["u-z", "u-a", "u-m", "u-c"]
    # upload-id-marker without key-marker is ignored, as S3 does.
    assert ids(upload_id_marker="u-z") == ["u-q", "u-z", "u-a", "u-m", "u-c"]
    # both: uploads of key-marker after the marker upload, then later keys.
    assert ids(key_marker="b", upload_id_marker="u-z") == ["u-a", "u-m", "u-c"]
    assert ids(key_marker="b", upload_id_marker="u-a") == ["u-m", "u-c"]
    # a marker upload that no longer exists: greater upload ids of that key.
    assert ids(key_marker="b", upload_id_marker="u-b") == ["u-z", "u-m", "u-c"]


def test_list_uploads_paging_returns_each_upload_once(store: MetaStore) -> None:
    rng = random.Random(3)
    made = []
    for i in range(40):
        u = upload(
            rng.choice(["k1", "k2", "k/é", "k~"]),
            f"{rng.getrandbits(64):016x}",
            at=T0 + timedelta(milliseconds=rng.randint(0, 5)),
        )
        store.create_upload(u)
        made.append(u)
    seen: list[str] = []
    key_marker = upload_id_marker = ""
    while True:
        page = store.list_uploads(
            "b", key_marker=key_marker, upload_id_marker=upload_id_marker, limit=3
        )
        seen += [u.upload_id for u in page]
        if len(page) < 3:
            break
        key_marker, upload_id_marker = page[-1].key, page[-1].upload_id
    want = sorted(made, key=lambda u: (u.key.encode(), u.initiated, u.upload_id))
    assert seen == [u.upload_id for u in want]


def test_put_part_replace_returns_old_part(store: MetaStore) -> None:
    store.create_upload(upload("k", "u1"))
    p1 = part("u1", 1, "blob-a")
    assert store.put_part(p1) is None
    assert store.put_part(part("u1", 1, "blob-b")) == p1
    assert [p.blob_id for p in store.list_parts("u1")] == ["blob-b"]


def test_put_part_without_upload_raises_no_such_upload(store: MetaStore) -> None:
    with pytest.raises(NoSuchUpload):
        store.put_part(part("nope", 1))


def test_list_parts_after_and_limit(store: MetaStore) -> None:
    store.create_upload(upload("k", "u1"))
    store.create_upload(upload("k", "u2"))
    for n in [3, 10, 1, 2, 10000]:
        store.put_part(part("u1", n))
    store.put_part(part("u2", 4))
    assert [p.part_number for p in store.list_parts("u1")] == [1, 2, 3, 10, 10000]
    assert [p.part_number for p in store.list_parts("u1", after=2, limit=2)] == [3, 10]
    assert store.list_parts("u1")[0] == part("u1", 1)
    assert store.list_parts("nope") == []


def test_complete_upload_puts_object_and_removes_upload(store: MetaStore) -> None:
    store.create_upload(upload("k", "u1"))
    parts = [part("u1", n) for n in (1, 2, 3)]
    for p in parts:
        store.put_part(p)
    old = obj("k")
    store.put_object(old)
    new = obj(
        "k", size=15, segments=tuple(Segment(p.blob_id, p.size) for p in parts), parts_count=3
    )
    replaced, removed = store.complete_upload("u1", new)
    assert replaced == old
    assert removed == parts
    assert store.get_object("b", "k") == new
    assert store.get_upload("u1") is None
    assert store.list_parts("u1") == []
    assert store.list_uploads("b") == []
    with pytest.raises(NoSuchUpload):
        store.complete_upload("u1", new)
    with pytest.raises(NoSuchUpload):
        store.put_part(part("u1", 4))


def test_complete_upload_of_new_key_returns_no_old_record(store: MetaStore) -> None:
    store.create_upload(upload("k", "u1"))
    assert store.complete_upload("u1", obj("k")) == (None, [])


def test_complete_unknown_upload_leaves_object_untouched(store: MetaStore) -> None:
    o = obj("k")
    store.put_object(o)
    with pytest.raises(NoSuchUpload):
        store.complete_upload("nope", obj("k"))
    assert store.get_object("b", "k") == o


def test_abort_upload_returns_parts_and_removes_them(store: MetaStore) -> None:
    store.create_upload(upload("k", "u1"))
    parts = [part("u1", 2), part("u1", 1)]
    for p in parts:
        store.put_part(p)
    assert store.abort_upload("u1") == sorted(parts, key=lambda p: p.part_number)
    assert store.get_upload("u1") is None
    assert store.list_parts("u1") == []
    with pytest.raises(NoSuchUpload):
        store.abort_upload("u1")
    with pytest.raises(NoSuchUpload):
        store.complete_upload("u1", obj("k"))


def test_referenced_blob_ids_covers_objects_and_parts(store: MetaStore) -> None:
    store.put_object(obj("k1", segments=(Segment("s1", 1), Segment("s2", 2)), size=3))
    store.put_object(obj("k2", segments=(Segment("s3", 1),), size=1))
    store.create_upload(upload("k", "u1"))
    store.put_part(part("u1", 1, "p1"))
    store.put_part(part("u1", 2, "p2"))
    assert store.referenced_blob_ids() == {"s1", "s2", "s3", "p1", "p2"}
    store.delete_object("b", "k2")
    store.abort_upload("u1")
    assert store.referenced_blob_ids() == {"s1", "s2"}


# -- concurrency -----------------------------------------------------------


def test_concurrent_writers_serialize_and_readers_never_see_a_mix(store: MetaStore) -> None:
    """Every put returns the record it replaced: across all threads the
    replaced records form one chain (no lost update), the survivor is the
    one never replaced, and a reader only ever sees whole records."""
    writers, per_writer = 4, 40
    written: list[ObjectRecord] = []
    replaced: list[ObjectRecord] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    done = threading.Event()

    def record(w: int, i: int) -> ObjectRecord:
        tag = f"{w:02d}{i:030d}"
        return obj(
            "k",
            size=w * 1000 + i,
            etag=tag,
            segments=(Segment(tag, w * 1000 + i),),
            user_metadata={"w": str(w), "i": str(i)},
            tags=(("tag", tag),),
        )

    def write(w: int) -> None:
        try:
            for i in range(per_writer):
                r = record(w, i)
                old = store.put_object(r)
                with lock:
                    written.append(r)
                    if old is not None:
                        replaced.append(old)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    def read() -> None:
        try:
            while not done.is_set():
                r = store.get_object("b", "k")
                if r is not None:
                    w, i = int(r.user_metadata["w"]), int(r.user_metadata["i"])
                    assert r == record(w, i)
                for o in store.list_objects("b"):
                    assert o.segments[0].blob_id == o.etag == o.tags[0][1]
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(2)]
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors
    final = store.get_object("b", "k")
    assert len(written) == writers * per_writer
    assert len(replaced) == len(written) - 1
    survivors = {r.etag for r in written} - {r.etag for r in replaced}
    assert final is not None and survivors == {final.etag}


# -- SQLite specifics ------------------------------------------------------


def test_prefix_upper_bound() -> None:
    assert prefix_upper_bound("") is None
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("a\x7f") == "a\x80"
    assert prefix_upper_bound("a\ud7ff") == "a\ue000"
    assert prefix_upper_bound("a\uffff") == "a\U00010000"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff\U0010ffff") is None


def test_sqlite_pragmas_and_schema_version(tmp_path: Path) -> None:
    s = SqliteMetaStore(str(tmp_path / "m.db"))
    c = s._conn()
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    s.close()


def test_sqlite_database_wal_and_shm_are_created_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # SQLite alone would make them 0644
    try:
        s = SqliteMetaStore(str(tmp_path / "m.db"))
        s.create_bucket(bucket("b"))
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
        assert modes == {"m.db": 0o600, "m.db-wal": 0o600, "m.db-shm": 0o600}
        s.close()
    finally:
        os.umask(old_umask)


def test_sqlite_leaves_an_existing_databases_mode_alone(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    SqliteMetaStore(str(path)).close()
    os.chmod(path, 0o640)  # its owner's choice (a backup group, say)
    SqliteMetaStore(str(path)).close()
    assert path.stat().st_mode & 0o777 == 0o640


def test_sqlite_list_objects_uses_the_primary_key_index(tmp_path: Path) -> None:
    from sealbox.store import sqlite as mod

    s = SqliteMetaStore(str(tmp_path / "m.db"))
    for sql in mod._LIST_OBJECTS.values():
        n = sql.count("?")
        plan = s._conn().execute("EXPLAIN QUERY PLAN " + sql, ["x"] * n).fetchall()
        detail = " ".join(str(r[-1]) for r in plan)
        assert "USING INDEX" in detail and "TEMP B-TREE" not in detail, detail
    s.close()


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    SqliteMetaStore(path).close()
    c = sqlite3.connect(path)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteMetaStore(path)


def test_sqlite_reopen_keeps_data(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    s = SqliteMetaStore(path)
    s.create_bucket(bucket("b"))
    o = obj("k")
    s.put_object(o)
    s.close()
    s2 = SqliteMetaStore(path)
    assert s2.get_object("b", "k") == o
    s2.close()


def test_sqlite_connection_per_thread(tmp_path: Path) -> None:
    s = SqliteMetaStore(str(tmp_path / "m.db"))
    conns: list[int] = []
    t = threading.Thread(target=lambda: conns.append(id(s._conn())))
    t.start()
    t.join()
    assert conns[0] != id(s._conn())
    s.close()


_WORKER = """
import sys
from datetime import datetime, timezone
from sealbox.store.meta import ObjectRecord, Segment
from sealbox.store.sqlite import SqliteMetaStore
s = SqliteMetaStore(sys.argv[1])
now = datetime.now(timezone.utc)
for i in range(int(sys.argv[3])):
    k = f"{sys.argv[2]}-{i}"
    s.put_object(ObjectRecord("b", k, 1, "e", now, (Segment(k, 1),)))
    s.put_object(ObjectRecord("b", "shared", 1, k, now, (Segment(k, 1),)))
"""


def test_sqlite_several_processes_share_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    s = SqliteMetaStore(path)
    s.create_bucket(bucket("b"))
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, path, f"p{n}", "60"], env=env)
        for n in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    keys = [o.key for o in s.list_objects("b")]
    assert len(keys) == 3 * 60 + 1
    s.close()


def _put_in_child(store: SqliteMetaStore, parent_conn_id: int) -> None:
    assert id(store._conn()) != parent_conn_id
    store.put_object(obj("from-child"))


def test_sqlite_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    import multiprocessing

    s = SqliteMetaStore(str(tmp_path / "m.db"))
    s.create_bucket(bucket("b"))
    parent_conn = s._conn()
    p = multiprocessing.get_context("fork").Process(target=_put_in_child, args=(s, id(parent_conn)))
    p.start()
    p.join(timeout=30)
    assert p.exitcode == 0
    assert s._conn() is parent_conn
    assert s.get_object("b", "from-child") is not None
    s.close()


# -- bucket settings -------------------------------------------------------


def test_bucket_setting_round_trip_and_replace(store: MetaStore) -> None:
    assert store.get_bucket_setting("b", "cors") is None
    store.put_bucket_setting("b", "cors", '{"rules": []}')
    assert store.get_bucket_setting("b", "cors") == '{"rules": []}'
    store.put_bucket_setting("b", "cors", "é\u2603 second")
    assert store.get_bucket_setting("b", "cors") == "é\u2603 second"


def test_bucket_settings_are_per_bucket_and_per_name(store: MetaStore) -> None:
    store.create_bucket(bucket("c"))
    store.put_bucket_setting("b", "cors", "b-cors")
    store.put_bucket_setting("b", "policy", "b-policy")
    store.put_bucket_setting("c", "cors", "c-cors")
    assert store.get_bucket_setting("b", "cors") == "b-cors"
    assert store.get_bucket_setting("b", "policy") == "b-policy"
    assert store.get_bucket_setting("c", "cors") == "c-cors"
    assert store.get_bucket_setting("c", "policy") is None
    assert store.delete_bucket_setting("b", "cors") is True
    assert store.get_bucket_setting("b", "cors") is None
    assert store.get_bucket_setting("b", "policy") == "b-policy"
    assert store.get_bucket_setting("c", "cors") == "c-cors"


def test_bucket_setting_delete_absent_is_false(store: MetaStore) -> None:
    assert store.delete_bucket_setting("b", "cors") is False
    assert store.delete_bucket_setting("nope", "cors") is False


def test_bucket_setting_needs_the_bucket(meta_store: MetaStore) -> None:
    with pytest.raises(NoSuchBucket):
        meta_store.put_bucket_setting("nope", "cors", "x")
    assert meta_store.get_bucket_setting("nope", "cors") is None


def test_bucket_settings_go_away_with_their_bucket(store: MetaStore) -> None:
    store.put_bucket_setting("b", "cors", "old")
    store.put_bucket_setting("b", "policy", "old")
    store.delete_bucket("b")
    assert store.get_bucket_setting("b", "cors") is None
    store.create_bucket(bucket("b"))  # a new bucket of the same name starts bare
    assert store.get_bucket_setting("b", "cors") is None
    assert store.get_bucket_setting("b", "policy") is None


def test_bucket_settings_do_not_make_a_bucket_non_empty(store: MetaStore) -> None:
    store.put_bucket_setting("b", "cors", "x")
    store.delete_bucket("b")
    assert store.get_bucket("b") is None


def test_bucket_setting_large_document(store: MetaStore) -> None:
    doc = "x" * (64 * 1024) + "\u2603"
    store.put_bucket_setting("b", "cors", doc)
    assert store.get_bucket_setting("b", "cors") == doc


def test_sqlite_migrates_a_version_1_file(
    tmp_path: Path, schema_history: dict[str, list[list[str]]]
) -> None:
    path = str(tmp_path / "m.db")
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    for stmt in schema_history["sqlite"][0]:
        c.execute(stmt)
    c.execute("PRAGMA user_version = 1")
    c.execute("INSERT INTO buckets VALUES ('b', 0, 'us-east-1', 'o')")
    c.close()
    s = SqliteMetaStore(path)
    assert s._conn().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    assert s.get_bucket("b") is not None
    s.put_bucket_setting("b", "cors", "doc")
    assert s.get_bucket_setting("b", "cors") == "doc"
    s.close()


def test_sqlite_bucket_setting_lookup_is_one_primary_key_search(tmp_path: Path) -> None:
    from sealbox.store import sqlite as mod

    s = SqliteMetaStore(str(tmp_path / "m.db"))
    plan = s._conn().execute("EXPLAIN QUERY PLAN " + mod._GET_SETTING, ("b", "cors")).fetchall()
    detail = " ".join(str(r[-1]) for r in plan)
    assert len(plan) == 1 and "PRIMARY KEY" in detail and "SEARCH" in detail, detail
    s.close()


# -- server settings -------------------------------------------------------


def test_server_setting_round_trip_replace_and_delete(meta_store: MetaStore) -> None:
    assert meta_store.get_server_setting("public-access-block") is None
    meta_store.put_server_setting("public-access-block", '{"BlockPublicPolicy": true}')
    meta_store.put_server_setting("other", "x")
    assert meta_store.get_server_setting("public-access-block") == '{"BlockPublicPolicy": true}'
    meta_store.put_server_setting("public-access-block", "second")
    assert meta_store.get_server_setting("public-access-block") == "second"
    assert meta_store.delete_server_setting("public-access-block") is True
    assert meta_store.delete_server_setting("public-access-block") is False
    assert meta_store.get_server_setting("public-access-block") is None
    assert meta_store.get_server_setting("other") == "x"



def _open_audit_store_when_told(path: str, start: Any, errors: Any) -> None:
    from sealbox.store.sqlite_audit import SqliteAuditStore

    start.wait()
    try:
        SqliteAuditStore(path).close()
    except sqlite3.Error as error:  # reported to the test, which fails on it
        errors.put(repr(error))


def test_workers_opening_a_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    # --workers N on a new data dir: each worker opens the audit store as it
    # starts. SQLite may refuse one of them "database is locked" at once
    # (no busy wait where waiting could deadlock) as they set WAL: the worker
    # died and was started again, its traceback in the log. (Before the fix,
    # about 1 round in 10 failed here.)
    import multiprocessing

    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for round_ in range(30):
        path = str(tmp_path / f"audit-{round_}.db")
        start = context.Event()
        workers = [context.Process(target=_open_audit_store_when_told, args=(path, start, errors))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(60)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
        assert errors.empty(), errors.get()
