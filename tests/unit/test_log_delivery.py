"""Access log delivery (sealbox.logs.delivery) on a real SQLite store and
local blobs: records grouped per source bucket into one object each, a
bounded buffer that drops the oldest and counts, a target bucket that went
losing only its own records, logging turned off seen by refresh (what was
recorded before still delivered)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sealbox.logs.delivery import LogDelivery
from sealbox.logs.s3_format import RequestLine
from sealbox.logs.targets import LOGGING_SETTING, LoggingTarget
from sealbox.server.access_logs import LOG_REDACTION
from sealbox.server.audit import EVENT_FIELDS
from sealbox.store.localfs import LocalBlobStore
from sealbox.store.meta import Bucket
from sealbox.store.sqlite import SqliteMetaStore

LINE = RequestLine("GET", "/src/k", "HTTP/1.1", "h", None, None, 0.1)


def event(bucket: str, n: int) -> tuple[Any, ...]:
    values = dict.fromkeys(EVENT_FIELDS)
    values.update(Time=1_700_000_000.0 + n, RequestId=f"R{n:08d}", Operation="GetObject",
                  Bucket=bucket, Key="k", Auth="Anonymous", SourceIp="192.0.2.7", Status=200,
                  BytesSent=10, BytesReceived=0, DurationMs=0.5)
    return tuple(values[f] for f in EVENT_FIELDS)


@pytest.fixture
def stores(tmp_path: Path) -> tuple[SqliteMetaStore, LocalBlobStore]:
    meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    for name in ("src", "other", "logs"):
        meta.create_bucket(Bucket(name, datetime.now(UTC), "us-east-1",
                                  "arn:aws:iam::000000000000:root"))
    for source in ("src", "other"):
        meta.put_bucket_setting(source, LOGGING_SETTING,
                                LoggingTarget("logs", f"{source}/").encode())
    return meta, LocalBlobStore(str(tmp_path / "blobs"))


def bodies(meta: SqliteMetaStore, blobs: LocalBlobStore, prefix: str) -> list[str]:
    out = []
    for record in meta.list_objects("logs", prefix=prefix):
        with blobs.open(record.segments[0].blob_id) as f:
            out.append(f.read().decode())
    return out


def test_one_object_per_source_bucket_holding_its_records(stores: Any) -> None:
    meta, blobs = stores
    delivery = LogDelivery(meta, blobs, region="us-east-1", host_id="h", redact=LOG_REDACTION)
    delivery.refresh()
    assert delivery.logs_bucket("src") and not delivery.logs_bucket("logs")
    for n in range(3):
        delivery.add_s3(event("src", n), LINE)
    delivery.add_s3(event("other", 9), LINE)
    assert delivery.deliver() == 2
    [src] = bodies(meta, blobs, "src/")
    assert [line.split(" ")[6] for line in src.splitlines()] == ["R00000000", "R00000001",
                                                                 "R00000002"]
    [other] = bodies(meta, blobs, "other/")
    assert "R00000009" in other
    assert delivery.deliver() == 0  # nothing buffered, nothing written


def test_a_full_buffer_drops_the_oldest_and_counts(stores: Any) -> None:
    meta, blobs = stores
    dropped: list[int] = []
    delivery = LogDelivery(meta, blobs, region="r", host_id="h", redact=LOG_REDACTION, capacity=5,
                           on_drop=dropped.append)
    delivery.refresh()
    for n in range(8):
        delivery.add_s3(event("src", n), LINE)
    assert delivery.dropped == 3 and sum(dropped) == 3
    delivery.deliver()
    [body] = bodies(meta, blobs, "src/")
    assert [line.split(" ")[6] for line in body.splitlines()] == [
        f"R{n:08d}" for n in range(3, 8)]


def test_a_target_that_went_loses_only_its_records(stores: Any) -> None:
    meta, blobs = stores
    meta.create_bucket(Bucket("gone", datetime.now(UTC), "us-east-1", "arn"))
    meta.put_bucket_setting("other", LOGGING_SETTING, LoggingTarget("gone", "x/").encode())
    delivery = LogDelivery(meta, blobs, region="r", host_id="h", redact=LOG_REDACTION)
    delivery.refresh()
    meta.delete_bucket("gone")
    delivery.add_s3(event("other", 1), LINE)
    delivery.add_s3(event("src", 2), LINE)
    assert delivery.deliver() == 1
    assert delivery.dropped == 1
    assert len(bodies(meta, blobs, "src/")) == 1


def test_turning_logging_off_stops_records_but_delivers_those_taken(stores: Any) -> None:
    meta, blobs = stores
    delivery = LogDelivery(meta, blobs, region="r", host_id="h", redact=LOG_REDACTION)
    delivery.refresh()
    delivery.add_s3(event("src", 1), LINE)
    meta.delete_bucket_setting("src", LOGGING_SETTING)
    delivery.refresh()
    assert not delivery.logs_bucket("src")
    delivery.add_s3(event("src", 2), LINE)  # a request racing the change: not recorded
    assert delivery.deliver() == 1
    [body] = bodies(meta, blobs, "src/")
    assert [line.split(" ")[6] for line in body.splitlines()] == ["R00000001"]


def test_no_log_object_holds_a_signature(stores: Any) -> None:
    meta, blobs = stores
    delivery = LogDelivery(meta, blobs, region="r", host_id="h", redact=LOG_REDACTION)
    delivery.refresh()
    presigned = LINE._replace(target="/src/k?X-Amz-Credential=AK%2Fx&X-Amz-Signature=deadbeef"
                                     "&X-Amz-Security-Token=tok")
    delivery.add_s3(event("src", 1), presigned)
    delivery.deliver()
    [body] = bodies(meta, blobs, "src/")
    assert "deadbeef" not in body and "tok" not in body
    assert "X-Amz-Credential=AK%2Fx&X-Amz-Signature=%5Bsha256:" in body
