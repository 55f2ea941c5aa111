"""Version ids in the audit trail's batches (store/audit_batches.py,
store/sql/audit.py) on SQLite: events written before the field existed read
back with None there and are never found by a version, new ones are."""

from __future__ import annotations

from pathlib import Path

from sealbox.server.audit import EVENT_FIELDS, as_json
from sealbox.store import audit_batches
from sealbox.store.sql.audit import AuditQuery
from sealbox.store.sqlite import SqliteMetaStore

VERSION = "v" * 32


def old_event(n: int) -> tuple[object, ...]:
    """An event as written before versions: 20 fields."""
    return ((1_700_000_000 + n) * 1000, f"R{n:04d}", "GetObject", "b", "k", None, None,
            "Anonymous", None, None, "127.0.0.1", None, None, 200, None, None, 1, 0, 0.1, None)


def test_an_event_is_as_wide_as_its_fields() -> None:
    assert len(EVENT_FIELDS) == audit_batches.EVENT_WIDTH
    assert EVENT_FIELDS[audit_batches.VERSION_ID] == "VersionId"


def test_older_events_read_with_no_version_and_new_ones_are_found_by_it(tmp_path: Path) -> None:
    store = SqliteMetaStore(str(tmp_path / "m.sqlite3"))
    store.insert_audit_events([old_event(0), old_event(1)])
    store.insert_audit_events([(*old_event(2), VERSION), (*old_event(3), None)])
    every = store.query_audit_events(AuditQuery(bucket="b"))
    assert [(e[1], e[audit_batches.VERSION_ID]) for e in every] == [
        ("R0003", None), ("R0002", VERSION), ("R0001", None), ("R0000", None)]
    assert [e[1] for e in store.query_audit_events(AuditQuery(version_id=VERSION))] == ["R0002"]
    assert store.query_audit_events(AuditQuery(version_id="other")) == []
    assert as_json(old_event(0))["VersionId"] is None  # a JSON log line of an old event
