"""The audit writer (sealbox.server.audit): the request path's tuple, the
bounded queue, batches written to the store, retention, JSON log lines."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from sealbox.metrics import Counters
from sealbox.server.audit import (
    EVENT_FIELDS,
    AuditWriter,
    JsonFormatter,
    as_json,
    claimed,
    event,
)
from sealbox.server.request import Request
from sealbox.store.sql.audit import AuditQuery
from sealbox.store.sqlite import SqliteMetaStore


def request(path: str = "/b/k", query: str = "", headers: dict[str, str] | None = None
            ) -> Request:
    scope = {"method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(),
             "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
             "client": ("192.0.2.7", 5000), "scheme": "http"}
    return Request.from_scope(scope, None)


def item(n: int, **changes: Any) -> tuple[Any, ...]:
    values = dict.fromkeys(EVENT_FIELDS)
    values.update(Time=1_700_000_000.0 + n, RequestId=f"R{n:08d}", Operation="GetObject",
                  Bucket="b", Key="k", Auth="Anonymous", SourceIp="192.0.2.7", Status=200,
                  BytesSent=10, BytesReceived=0, DurationMs=0.5)
    values.update(changes)
    return tuple(values[f] for f in EVENT_FIELDS)


def test_how_a_request_says_it_is_signed() -> None:
    presigned = request(query="X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
                              "&X-Amz-Signature=abc")
    assert claimed(presigned) == ("SigV4-Presigned", "AKID", "abc")
    header = request(headers={"authorization": "AWS4-HMAC-SHA256 Credential=AKH/2026/us/s3/"
                                               "aws4_request, SignedHeaders=host, Signature=ff"})
    assert claimed(header) == ("SigV4-Header", "AKH", "ff")
    assert claimed(request(headers={"authorization": "AWS AK2:c2ln"})) == ("SigV2", "AK2", "c2ln")
    assert claimed(request(query="AWSAccessKeyId=AK3&Signature=s&Expires=1")) == (
        "SigV2", "AK3", "s")
    assert claimed(request()) == ("Anonymous", None, None)


def test_the_event_carries_the_notes_and_the_address() -> None:
    r = request(query="X-Amz-Credential=AKID%2Fx&X-Amz-Signature=abc",
                headers={"user-agent": "curl/8", "referer": "https://r.test/"})
    r.audit.operation, r.audit.bucket, r.audit.key = "GetObject", "b", "k"
    r.audit.link_id = "link-1"  # what the managed links' code sets
    e = dict(zip(EVENT_FIELDS, event(r, {}, "RID", 200, 5, 1.5, 0.002), strict=True))
    assert e["LinkId"] == "link-1" and e["AccessKeyId"] == "AKID"
    assert e["SourceIp"] == "192.0.2.7" and e["UserAgent"] == "curl/8"
    assert e["Referer"] == "https://r.test/" and e["DurationMs"] == 2.0
    assert e["SignatureFingerprint"] == "abc"  # raw in memory; fingerprinted when written


def test_a_full_backlog_drops_the_oldest_and_counts_them() -> None:
    counters = Counters()
    writer = AuditWriter(None, counters, json_log=False, retention_days=0, capacity=10)
    for n in range(15):
        writer.add(item(n))
    assert counters.audit_dropped == 5
    assert [e[1] for e in writer.queue] == [f"R{n:08d}" for n in range(5, 15)]


def test_batches_are_written_with_fingerprints_and_retention_sweeps(tmp_path: Path) -> None:
    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    counters = Counters()
    writer = AuditWriter(store, counters, json_log=False, retention_days=1)
    now = time.time()
    writer.add(item(1, Time=now, SignatureFingerprint="the-signature", UserAgent="u" * 5000))
    writer.add(item(2, Time=now - 3 * 86400))
    assert writer.flush() == 2 and counters.audit_backlog == 0
    rows = store.query_audit_events(AuditQuery())
    assert [r[1] for r in rows] == ["R00000001", "R00000002"]  # newest first
    assert rows[0][9].startswith("[sha256:") and "the-signature" not in str(rows)
    assert len(rows[0][11]) == 1024  # long texts are cut
    writer._housekeeping()
    assert [r[1] for r in store.query_audit_events(AuditQuery())] == ["R00000001"]


def test_the_thread_writes_within_its_interval(tmp_path: Path) -> None:
    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    writer = AuditWriter(store, Counters(), json_log=False, retention_days=0,
                         flush_seconds=0.05)
    writer.start()
    try:
        writer.add(item(1))
        deadline = time.monotonic() + 2
        while not store.query_audit_events(AuditQuery()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(store.query_audit_events(AuditQuery())) == 1
    finally:
        writer.close()


def test_json_lines(caplog: Any) -> None:
    writer = AuditWriter(None, Counters(), json_log=True, retention_days=0)
    writer.add(item(1, SignatureFingerprint="sig"))
    with caplog.at_level(logging.INFO, logger="sealbox.access"):
        writer.flush()
    [record] = caplog.records
    line = json.loads(JsonFormatter().format(record))
    assert line["RequestId"] == "R00000001" and line["Time"].endswith("Z")
    assert line["SignatureFingerprint"].startswith("[sha256:")
    other = logging.LogRecord("sealbox", logging.WARNING, __file__, 1, "hello %s", ("x",), None)
    assert json.loads(JsonFormatter().format(other))["Message"] == "hello x"
    assert as_json(item(3, Time=1_700_000_003_000))["Time"] == "2023-11-14T22:13:23.000Z"
