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
