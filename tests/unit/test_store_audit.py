"""The audit table (store/sql/audit.py) on SQLite: filters, order, paging
(PostgreSQL is exercised by tests/integration/test_audit.py)."""

from __future__ import annotations

from pathlib import Path

from sealbox.store.sql.audit import AuditQuery
from sealbox.store.sqlite import SqliteMetaStore


def row(n: int, **kw: object) -> tuple[object, ...]:
    values = {"time": (1_700_000_000 + n // 2) * 1000, "rid": f"R{n:04d}", "bucket": "b", "key": "k",
              "principal": None, "access_key": None, "link": None, "status": 200}
    values.update(kw)
    return (values["time"], values["rid"], "GetObject", values["bucket"], values["key"],
            values["principal"], values["access_key"], "Anonymous", values["link"], None,
            "127.0.0.1", None, None, values["status"], None, None, 1, 0, 0.1, None)


def test_filters_order_and_pages(tmp_path: Path) -> None:
    store = SqliteMetaStore(str(tmp_path / "m.sqlite3"))
    store.insert_audit_events([row(n) for n in range(10)] + [
        row(20, link="L1", status=403), row(21, access_key="AK", principal="arn:p"),
        row(22, bucket="other", key="x\x00y")])
    assert [r[1] for r in store.query_audit_events(AuditQuery(link_id="L1"))] == ["R0020"]
    assert [r[1] for r in store.query_audit_events(AuditQuery(status=403))] == ["R0020"]
    assert [r[1] for r in store.query_audit_events(
        AuditQuery(access_key="AK", principal="arn:p"))] == ["R0021"]
    assert store.query_audit_events(AuditQuery(bucket="other"))[0][4] == "x\x00y"
    since = store.query_audit_events(AuditQuery(since_ms=1_700_000_004_000,
                                                until_ms=1_700_000_005_000))
    assert [r[1] for r in since] == ["R0009", "R0008"]  # newest first, ties by request id
    pages, after = [], None
    while True:
        page = store.query_audit_events(AuditQuery(bucket="b", limit=3, after=after))
        pages += [r[1] for r in page]
        if len(page) < 3:
            break
        after = (page[-1][0], page[-1][1])
    assert pages == [f"R{n:04d}" for n in (21, 20, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)]
    assert store.delete_audit_events_before(1_700_000_003_000) == 6


def test_batches_overlapping_in_time_merge_newest_first(tmp_path: Path) -> None:
    # Two workers write batches whose times interleave; a page of 5 must be
    # the 5 newest of all of them, and the pages cover every event once.
    store = SqliteMetaStore(str(tmp_path / "m.sqlite3"))
    store.insert_audit_events([row(n) for n in range(0, 40, 2)])
    store.insert_audit_events([row(n) for n in range(1, 40, 2)])
    store.insert_audit_events([row(n, bucket="quiet") for n in range(100, 103)])
    assert [r[1] for r in store.query_audit_events(AuditQuery(bucket="b", limit=5))] == [
        f"R{n:04d}" for n in (39, 38, 37, 36, 35)]
    seen, after = [], None
    while page := store.query_audit_events(AuditQuery(bucket="b", limit=7, after=after)):
        seen += [r[1] for r in page]
        after = (page[-1][0], page[-1][1])
    assert seen == [f"R{n:04d}" for n in range(39, -1, -1)]
    # A term names only the batches that hold it; the quiet bucket's events only.
    assert [r[1] for r in store.query_audit_events(AuditQuery(bucket="quiet"))] == [
        "R0102", "R0101", "R0100"]
    assert store.query_audit_events(AuditQuery(bucket="none", key="k")) == []


def test_events_of_schema_version_9_are_still_read_and_swept(tmp_path: Path) -> None:
    # Version 9 kept a row per event in audit_events; an upgraded store
    # still answers with them, merged with the batches, and sweeps them.
    store = SqliteMetaStore(str(tmp_path / "m.sqlite3"))
    old = row(3, link="L9")
    with store._write() as c:
        c.execute(f"INSERT INTO audit_events VALUES ({','.join('?' * len(old))})", old)
    store.insert_audit_events([row(4, link="L9"), row(2, link="L9")])
    assert [r[1] for r in store.query_audit_events(AuditQuery(link_id="L9"))] == [
        "R0004", "R0003", "R0002"]
    assert store.delete_audit_events_before(1_700_000_002_000) == 2
    assert [r[1] for r in store.query_audit_events(AuditQuery())] == ["R0004"]


def test_any_text_a_header_can_carry_round_trips(tmp_path: Path) -> None:
    # Headers are decoded with surrogateescape: a lone surrogate, U+0000 and
    # non-ASCII text come back as they went in.
    store = SqliteMetaStore(str(tmp_path / "m.sqlite3"))
    odd = ["caf\u00e9", "bad\udc80byte", "nul\x00here"]
    store.insert_audit_events([row(n, key=text) for n, text in enumerate(odd)])
    store.insert_audit_events([row(9, key="plain")])
    assert sorted(r[4] for r in store.query_audit_events(AuditQuery())) == sorted([*odd, "plain"])
    assert [r[4] for r in store.query_audit_events(AuditQuery(key="bad\udc80byte"))] == [
        "bad\udc80byte"]


def test_batches_written_with_zlib_before_zstd_still_read(tmp_path: Path) -> None:
    # Batches were zlib-compressed until zstd replaced it; a store holding
    # both answers with both, merged, and filters them by their terms.
    import zlib
    from dataclasses import replace

    import orjson

    from sealbox.store.audit_batches import pack

    store = SqliteMetaStore(str(tmp_path / "m.sqlite3"))
    old_events = [row(1, link="L1"), row(3, link="L1")]
    old = pack(old_events)
    store.insert_audit_batch(replace(old, body=zlib.compress(orjson.dumps(old_events), 1)))
    new = pack([row(2, link="L1"), row(4, bucket="other")])
    assert new.body[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    store.insert_audit_batch(new)
    assert [r[1] for r in store.query_audit_events(AuditQuery(link_id="L1"))] == [
        "R0003", "R0002", "R0001"]
    assert [r[1] for r in store.query_audit_events(AuditQuery(bucket="other"))] == ["R0004"]
