"""PostgresMetaStore specifics; the shared MetaStore behaviour is tested for
every store in test_store_sqlite.py. Needs a throwaway PostgreSQL
(``postgres_dsn`` in conftest.py: skipped without one, except in CI)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sealbox.store.meta import Bucket, NoSuchUpload, ObjectRecord, Part, Segment, Upload
from sealbox.testing.postgres import PostgresCluster

try:
    from sealbox.store.postgres import SCHEMA_VERSION, PostgresMetaStore, UnstorableText
except ImportError:  # no psycopg: the postgres fixtures skip, or fail in CI
    pass

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


@pytest.fixture
def pg(postgres_dsn: str) -> Iterator[PostgresMetaStore]:
    store = PostgresMetaStore(postgres_dsn)
    store.create_bucket(Bucket("b", T0, "us-east-1", "arn:aws:iam::000:root"))
    yield store
    store.close()


def obj(key: str, tag: str = "e") -> ObjectRecord:
    return ObjectRecord("b", key, 1, tag, T0, (Segment(f"blob-{key}-{tag}", 1),))


def _sql(store: PostgresMetaStore, sql: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(store.dsn) as conn:
        return conn.execute(sql).fetchall()


# -- U+0000 ----------------------------------------------------------------


def test_key_with_nul_is_refused_on_write(pg: PostgresMetaStore) -> None:
    with pytest.raises(UnstorableText):
        pg.put_object(obj("a\x00b"))
    with pytest.raises(ValueError):  # UnstorableText is a ValueError and a MetaError
        pg.create_upload(Upload("u1", "b", "a\x00", T0))
    with pytest.raises(UnstorableText):
        pg.put_bucket_setting("b", "cors", "<x>\x00</x>")
    assert pg.list_objects("b") == []


def test_names_with_nul_are_found_nowhere(pg: PostgresMetaStore) -> None:
    pg.put_object(obj("a"))
    assert pg.get_object("b", "a\x00") is None
    assert pg.get_object("b\x00", "a") is None
    assert pg.delete_object("b", "a\x00") is None
    assert pg.set_object_tags("b", "a\x00", (("k", "v"),)) is False
    assert pg.get_bucket("b\x00") is None
    assert pg.get_upload("u\x00") is None
    assert pg.list_parts("u\x00") == []
    assert pg.get_bucket_setting("b", "cors\x00") is None
    assert pg.delete_bucket_setting("b\x00", "cors") is False
    with pytest.raises(NoSuchUpload):
        pg.put_part(Part("u\x00", 1, 1, "e", T0, "blob"))
    with pytest.raises(NoSuchUpload):
        pg.abort_upload("u\x00")


def test_listing_bounds_with_nul_cut_there(pg: PostgresMetaStore) -> None:
    for k in ["a", "a\x01", "ab", "b"]:
        pg.put_object(obj(k))
    keys = lambda **kw: [o.key for o in pg.list_objects("b", **kw)]
    # No stored key lies between "a" and "a\x00…": "> a\x00z" is "> a".
    assert keys(after="a\x00z") == ["a\x01", "ab", "b"]
    assert keys(prefix="a\x00") == []
    for k, uid in [("a", "u1"), ("a", "u2"), ("b", "u3")]:
        pg.create_upload(Upload(uid, "b", k, T0))
    ids = lambda **kw: [u.upload_id for u in pg.list_uploads("b", **kw)]
    assert ids(key_marker="a\x00", upload_id_marker="u1") == ["u3"]
    assert ids(key_marker="a", upload_id_marker="u1\x00") == ["u2", "u3"]
    assert ids(key_marker="a", upload_id_marker="\x00") == ["u1", "u2", "u3"]


def test_nul_inside_metadata_and_tags_round_trips(pg: PostgresMetaStore) -> None:
    o = ObjectRecord(
        "b",
        "k",
        1,
        "e",
        T0,
        (Segment("s", 1),),
        user_metadata={"m": "x\x00y"},
        tags=(("t\x00", "v"),),
    )
    pg.put_object(o)
    assert pg.get_object("b", "k") == o


# -- schema ----------------------------------------------------------------


def test_schema_version_recorded_and_keys_collate_c(pg: PostgresMetaStore) -> None:
    versions = _sql(pg, "SELECT version FROM sealbox_schema ORDER BY 1")
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    cols = _sql(
        pg,
        "SELECT table_name, column_name, collation_name FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
        " AND column_name IN ('name', 'bucket', 'key', 'upload_id')"
        " AND table_name <> 'sealbox_schema'",
    )
    # 13, the links table's bucket and key (schema v8), audit_events' (v9),
    # object_versions' bucket and key (v13), blob_uploads' bucket (v14).
    assert len([c for c in cols if not c[0].startswith("iam_")]) == 21
    assert {c[2] for c in cols} == {"C"}, cols


def test_reopen_keeps_data_and_does_not_migrate_again(postgres_dsn: str) -> None:
    s = PostgresMetaStore(postgres_dsn)
    s.create_bucket(Bucket("b", T0, "us-east-1", "o"))
    s.put_object(obj("k"))
    s.close()
    s2 = PostgresMetaStore(postgres_dsn)
    assert s2.get_object("b", "k") == obj("k")
    assert _sql(s2, "SELECT count(*) FROM sealbox_schema") == [(SCHEMA_VERSION,)]
    s2.close()


def test_migrates_a_version_1_schema(
    postgres_dsn: str, schema_history: dict[str, list[list[str]]]
) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(
            "CREATE TABLE sealbox_schema (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ)"
        )
        for stmt in schema_history["postgres"][0]:
            conn.execute(stmt)
        conn.execute("INSERT INTO sealbox_schema (version) VALUES (1)")
        conn.execute("INSERT INTO buckets VALUES ('b', now(), 'us-east-1', 'o')")
    s = PostgresMetaStore(postgres_dsn)
    assert _sql(s, "SELECT version FROM sealbox_schema ORDER BY 1") == [
        (v,) for v in range(1, SCHEMA_VERSION + 1)
    ]
    assert SCHEMA_VERSION >= 2 and s.get_bucket("b") is not None
    s.put_bucket_setting("b", "cors", "doc")
    assert s.get_bucket_setting("b", "cors") == "doc"
    s.close()


def test_stores_starting_together_migrate_once(postgres_dsn: str) -> None:
    stores: list[PostgresMetaStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(PostgresMetaStore(postgres_dsn, min_connections=0))
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _sql(stores[0], "SELECT count(*) FROM sealbox_schema") == [(SCHEMA_VERSION,)]
    for s in stores:
        s.close()


def test_refuses_a_newer_schema(postgres_dsn: str) -> None:
    import psycopg

    PostgresMetaStore(postgres_dsn).close()
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("INSERT INTO sealbox_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(RuntimeError, match="newer"):
        PostgresMetaStore(postgres_dsn)


def test_bad_dsn_fails_fast(postgres_cluster: PostgresCluster) -> None:
    import psycopg

    with pytest.raises(psycopg.OperationalError):
        PostgresMetaStore("host=/nonexistent-sealbox-dir port=1 connect_timeout=2")


def test_lookups_are_primary_key_scans(pg: PostgresMetaStore) -> None:
    import psycopg

    from sealbox.store import postgres as mod

    with psycopg.connect(pg.dsn) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table would be scanned whole
        for sql in mod._LIST_OBJECTS.values():
            n = sql.count("%s")
            plan = conn.execute("EXPLAIN " + sql, ["x"] * (n - 1) + [10]).fetchall()
            text = "\n".join(r[0] for r in plan)
            assert "objects_pkey" in text and "Sort" not in text, text
        plan = conn.execute("EXPLAIN " + mod._GET_SETTING, ("b", "cors")).fetchall()
        assert "bucket_settings_pkey" in plan[0][0], plan


# -- concurrency -----------------------------------------------------------


def test_part_racing_complete_is_returned_or_refused(pg: PostgresMetaStore) -> None:
    """A part committed while the upload completes is either among the parts
    complete_upload returns (its blob is the caller's to delete) or refused
    with NoSuchUpload: it never outlives the upload unreported."""
    counts: list[int] = []
    for round_ in range(15):
        uid = f"u{round_}"
        pg.create_upload(Upload(uid, "b", "k", T0))
        pg.put_part(Part(uid, 1, 1, "e", T0, f"{uid}-1"))
        accepted: list[int] = []
        go = threading.Barrier(2)

        def add_parts(uid: str, accepted: list[int], go: threading.Barrier) -> None:
            go.wait()
            for n in range(2, 40):
                try:
                    pg.put_part(Part(uid, n, 1, "e", T0, f"{uid}-{n}"))
                    accepted.append(n)
                except NoSuchUpload:
                    return

        t = threading.Thread(target=add_parts, args=(uid, accepted, go))
        t.start()
        go.wait()
        _, removed = pg.complete_upload(uid, obj("k", uid))
        t.join()
        assert sorted(p.part_number for p in removed) == [1, *accepted]
        assert pg.list_parts(uid) == []
        counts.append(len(accepted))
    print("parts accepted before completion, per round:", counts)


def _use_in_child(store: PostgresMetaStore) -> None:
    assert store.get_object("b", "k") is not None
    store.put_object(obj("from-child"))


def test_forked_child_dropping_the_parents_pool_leaves_it_working(
    pg: PostgresMetaStore,
) -> None:
    import gc

    pg.put_object(obj("k"))
    pid = os.fork()
    if pid == 0:  # child: free the inherited pool, as interpreter exit would
        code = 1
        try:
            pg._inherited.clear()
            gc.collect()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for _ in range(5):  # every pooled connection still talks to its server
        assert pg.get_object("b", "k") is not None


def test_forked_child_opens_its_own_pool(pg: PostgresMetaStore) -> None:
    pg.put_object(obj("k"))
    p = multiprocessing.get_context("fork").Process(target=_use_in_child, args=(pg,))
    p.start()
    p.join(timeout=30)
    assert p.exitcode == 0
    # The parent's connections still work: the child neither used nor closed them.
    for _ in range(5):
        assert pg.get_object("b", "from-child") is not None
