"""Object versions, written once for SQLite and PostgreSQL: a mixin of both
MetaStores, and the one step both stores' object writes end with
(``keep_versions``).

The shape (schema step "object versions"): ``objects`` holds the current
version of each key, so reading it stays one primary-key lookup;
``object_versions`` holds every noncurrent version and every delete marker,
ordered within a key by ``seq`` (newest highest). A key whose newest entry
is a delete marker has no ``objects`` row. In ``objects`` a NULL
``version_id`` is the null version; in ``object_versions`` it is 'null'.

What a write keeps follows from the new version's id alone, so the stores
need not read the bucket's versioning state inside the transaction:

- a new version with an id (versioning Enabled) pushes the current one,
  whatever its id, down into ``object_versions``;
- a new null version (never versioned, or Suspended) replaces a null
  current one (its bytes are the caller's to free), pushes down one with an
  id, and removes a noncurrent null version (a key has one null version).

In a bucket never versioned every object is null and ``object_versions``
is empty, so a PUT there costs what it did (plus one indexed probe when the
key is new).

PostgreSQL: the writers here that add rows to ``object_versions`` without
holding the key's ``objects`` row (delete markers, version deletes) take a
transaction advisory lock on the key, so two never pick the same ``seq``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sealbox.clock import SystemClock
from sealbox.store.meta import (
    NULL_VERSION,
    ConditionFailed,
    NoSuchBucket,
    ObjectLocked,
    ObjectRecord,
    VersionEntry,
    same_version,
)
from sealbox.store.retention import removal_protected, retention_change_allowed
from sealbox.store.rows import dict_json, tags_json
from sealbox.store.sql.dialect import Dialect
from sealbox.store.sql.queries import OBJ_COLS, prefix_upper_bound

VER_COLS = f"{OBJ_COLS}, delete_marker, seq"
_OBJ_NAMES = OBJ_COLS.split(", ")
_N_OBJ = len(_OBJ_NAMES)
_VID = _OBJ_NAMES.index("version_id")  # its place in an OBJ_COLS row
_LOCK = _OBJ_NAMES.index("lock_mode")  # then lock_until, legal_hold
_CLOCK = SystemClock()
# What a listing reads of a version (VersionEntry's columns, latest aside).
_ENTRY_COLS = "key, version_id, size, etag, last_modified, checksums, storage_class"
_NO_CHECKSUMS: MappingProxyType[str, str] = MappingProxyType({})
# seq of the current version in a listing: above every noncurrent one.
CURRENT_SEQ = 2**62

_SHELVE = (
    f"INSERT INTO object_versions ({VER_COLS}) "
    f"SELECT {','.join('?' * _N_OBJ)}, ?, COALESCE(MAX(seq), 0) + 1 "
    "FROM object_versions WHERE bucket = ? AND key = ?"
)
_GET_NONCURRENT = (
    f"SELECT {VER_COLS} FROM object_versions WHERE bucket = ? AND key = ? AND version_id = ?"
)
_DELETE_NONCURRENT = (
    "DELETE FROM object_versions WHERE bucket = ? AND key = ? AND version_id = ?"
)
_NEWEST_NONCURRENT = (
    f"SELECT {VER_COLS} FROM object_versions WHERE bucket = ? AND key = ? "
    "ORDER BY seq DESC LIMIT 1"
)
_GET_CURRENT = f"SELECT {OBJ_COLS} FROM objects WHERE bucket = ? AND key = ?"
_DELETE_CURRENT = "DELETE FROM objects WHERE bucket = ? AND key = ?"
_INSERT_CURRENT = f"INSERT INTO objects ({OBJ_COLS}) VALUES ({','.join('?' * _N_OBJ)})"


def _stored_vid(vid: str | None) -> str:
    return NULL_VERSION if vid is None else vid


def _with_vid(row: tuple[Any, ...], vid: str | None) -> tuple[Any, ...]:
    """An ``OBJ_COLS`` row with its version_id replaced."""
    return (*row[:_VID], vid, *row[_VID + 1:_N_OBJ])


def refuse_if_locked(d: Dialect, row: tuple[Any, ...] | None, now: datetime | None = None, *,
                     bypass_governance: bool = False) -> None:
    """``ObjectLocked`` if object lock protects the version whose row
    (``OBJ_COLS`` first) is ``row`` from removal at ``now`` (the server's
    clock when not given); raised inside a write transaction, it undoes
    the transaction (store/retention.py)."""
    if row is None or (row[_LOCK] is None and not row[_LOCK + 2]):
        return  # the common case: no lock at all, nothing decoded
    until = row[_LOCK + 1]
    if removal_protected(row[_LOCK], None if until is None else d.rows.time_value(until),
                         row[_LOCK + 2], _CLOCK.now() if now is None else now,
                         bypass_governance=bypass_governance):
        raise ObjectLocked(row[0], row[1], _stored_vid(row[_VID]))


def shelve(c: Any, d: Dialect, params: tuple[Any, ...], *, marker: bool = False) -> None:
    """Put the version whose ``objects`` parameters are ``params`` (a
    delete marker's with ``marker``) on top of its key's noncurrent ones."""
    values = _with_vid(params, _stored_vid(params[_VID]))
    c.execute(d.q(_SHELVE), (*values, marker, params[0], params[1]))


def _params(d: Dialect, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as read (JSON and times decoded by the driver) as parameters."""
    return d.rows.object_params(d.rows.object(row))


def _take_noncurrent(c: Any, d: Dialect, bucket: str, key: str, vid: str) -> tuple[Any, ...] | None:
    """Remove a noncurrent version; its row (``VER_COLS``), or None."""
    row: tuple[Any, ...] | None = c.execute(d.q(_GET_NONCURRENT), (bucket, key, vid)).fetchone()
    if row is not None:
        c.execute(d.q(_DELETE_NONCURRENT), (bucket, key, vid))
    return row


def keep_versions(c: Any, d: Dialect, new: tuple[Any, ...],
                  old: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """After the current row at ``new``'s key went from ``old`` to ``new``
    (both ``OBJ_COLS`` rows): keep what versioning keeps (see the module
    docstring). Returns the row of the version now gone, whose bytes the
    caller frees (an ``OBJ_COLS`` row), or None."""
    if new[_VID] is None:
        if old is not None and old[_VID] is None:
            refuse_if_locked(d, old)  # its bytes would be freed
            return old  # null replaces null, as before versioning
        gone = _take_noncurrent(c, d, new[0], new[1], NULL_VERSION)
        refuse_if_locked(d, gone)
        if old is not None:
            shelve(c, d, _params(d, old))
        return None if gone is None else _as_current(gone)
    if old is not None:
        shelve(c, d, _params(d, old))
    return None


def _as_current(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """An ``object_versions`` row as an ``objects`` row (NULL for 'null')."""
    vid = row[_VID]
    return _with_vid(row, None if vid == NULL_VERSION else vid)


class SqlVersionMethods:
    """Versions on a SQL MetaStore; see the module docstring."""

    _d: Dialect

    def _read(self) -> AbstractContextManager[Any]:  # provided by the store
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _object_params(self, o: ObjectRecord) -> tuple[Any, ...]:
        raise NotImplementedError

    def _version(self, row: tuple[Any, ...]) -> ObjectRecord:
        """A ``VER_COLS`` row as a record."""
        record = self._d.rows.object(_as_current(row[:_N_OBJ]))
        return replace(record, delete_marker=bool(row[_N_OBJ])) if row[_N_OBJ] else record

    def _lock_key(self, c: Any, bucket: str, key: str) -> None:
        self._d.advisory_lock(c, f"sealbox.versions.{bucket}/{key}")

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        """The version ``version_id`` of the key (a delete marker has
        ``delete_marker``), or None."""
        d = self._d
        if not d.storable(bucket, key, version_id):
            return None
        with self._read() as c:
            row = c.execute(d.q(_GET_CURRENT), (bucket, key)).fetchone()
            if row is not None and _stored_vid(row[_VID]) == version_id:
                return d.rows.object(row)
            found = c.execute(d.q(_GET_NONCURRENT), (bucket, key, version_id)).fetchone()
            if found is None:
                # The two reads may see two snapshots (SQLite's autocommit
                # reads): a version promoted in between is current now.
                row = c.execute(d.q(_GET_CURRENT), (bucket, key)).fetchone()
                if row is not None and _stored_vid(row[_VID]) == version_id:
                    return d.rows.object(row)
        return None if found is None else self._version(found)

    def latest_marker(self, bucket: str, key: str) -> ObjectRecord | None:
        """The delete marker that is the key's newest version, if it is one
        (asked when the key has no current object: S3 then names it)."""
        d = self._d
        if not d.storable(bucket, key):
            return None
        with self._read() as c:
            if c.execute(d.q(_GET_CURRENT), (bucket, key)).fetchone() is not None:
                return None
            row = c.execute(d.q(_NEWEST_NONCURRENT), (bucket, key)).fetchone()
        return None if row is None or not row[_N_OBJ] else self._version(row)

    def add_delete_marker(self, marker: ObjectRecord, *,
                          unchanged: ObjectRecord | None = None) -> ObjectRecord | None:
        """DeleteObject without a version id on a versioned bucket: the
        current version goes down (or away, when both it and the marker are
        null) and ``marker`` becomes the newest version. Returns the version
        now gone, whose bytes the caller frees. Raises ``NoSuchBucket``;
        ``ConditionFailed`` when ``unchanged`` is given and the current
        version is no longer that one (a lifecycle pass's expiry judged it)."""
        d = self._d
        new = self._object_params(marker)
        bucket, key = marker.bucket, marker.key
        with self._write() as c:
            if c.execute(d.q(f"SELECT 1 FROM buckets WHERE name = ?{d.for_key_share}"),
                         (bucket,)).fetchone() is None:
                raise NoSuchBucket(bucket)
            self._lock_key(c, bucket, key)
            old = c.execute(d.q(_GET_CURRENT + d.for_update), (bucket, key)).fetchone()
            if unchanged is not None and (
                    old is None or not same_version(d.rows.object(old), unchanged)):
                raise ConditionFailed(old is not None)
            if old is not None:
                c.execute(d.q(_DELETE_CURRENT), (bucket, key))
            gone = keep_versions(c, d, new, old)
            shelve(c, d, new, marker=True)
        return None if gone is None else d.rows.object(gone)

    def delete_version(self, bucket: str, key: str, version_id: str, *,
                       bypass_governance: bool = False, now: datetime | None = None,
                       unchanged: ObjectRecord | None = None) -> ObjectRecord | None:
        """Remove one version for good; the record removed (a marker has
        ``delete_marker``), or None if there was none. When it was the
        current version, the newest noncurrent one becomes current (a
        delete marker stays where it is: it is then the newest).

        Raises ``ObjectLocked``, removing nothing, when object lock protects
        the version at ``now`` (the server's clock when not given);
        ``bypass_governance`` lifts a GOVERNANCE retention (the caller has
        checked ``s3:BypassGovernanceRetention``), never a COMPLIANCE one
        or a legal hold. With ``unchanged``, the version goes only while it
        is still that record (``same_version``: a null version id is reused
        by every write), else ``ConditionFailed``, nothing removed."""
        d = self._d
        if not d.storable(bucket, key, version_id):
            return None
        with self._write() as c:
            self._lock_key(c, bucket, key)
            row = c.execute(d.q(_GET_CURRENT + d.for_update), (bucket, key)).fetchone()
            if row is not None and _stored_vid(row[_VID]) == version_id:
                current = d.rows.object(row)
                if unchanged is not None and not same_version(current, unchanged):
                    raise ConditionFailed(True)
                refuse_if_locked(d, row, now, bypass_governance=bypass_governance)
                c.execute(d.q(_DELETE_CURRENT), (bucket, key))
                self._promote(c, bucket, key)
                return current
            if unchanged is not None:
                kept = c.execute(d.q(_GET_NONCURRENT), (bucket, key, version_id)).fetchone()
                if kept is None or not same_version(self._version(kept), unchanged):
                    raise ConditionFailed(kept is not None)
            found = _take_noncurrent(c, d, bucket, key, version_id)
            refuse_if_locked(d, found, now, bypass_governance=bypass_governance)
            if found is not None and row is None:
                self._promote(c, bucket, key)  # the newest may have been a marker
        return None if found is None else self._version(found)

    def _promote(self, c: Any, bucket: str, key: str) -> None:
        """The key has no current version: its newest noncurrent one becomes
        current, unless it is a delete marker (which is then the newest)."""
        d = self._d
        newest = c.execute(d.q(_NEWEST_NONCURRENT), (bucket, key)).fetchone()
        if newest is not None and not newest[_N_OBJ]:
            # A PUT committing meanwhile (PostgreSQL) made a newer current
            # version: then this one stays noncurrent.
            cur = c.execute(d.q(_INSERT_CURRENT + " ON CONFLICT DO NOTHING"),
                            _params(d, _as_current(newest[:_N_OBJ])))
            if cur.rowcount == 1:
                c.execute(d.q(_DELETE_NONCURRENT), (bucket, key, newest[_VID]))

    def set_object_lock(self, bucket: str, key: str, version_id: str, *,
                        retention: tuple[str | None, datetime | None] | None = None,
                        legal_hold: bool | None = None, bypass_governance: bool = False,
                        now: datetime | None = None) -> ObjectRecord | None:
        """Set one version's retention (mode, until; (None, None) removes
        it) and/or its legal hold (None: left as it is). The record as it
        was, or None if there is no such version or it is a delete marker.
        Raises ``ObjectLocked``, changing nothing, when the new retention
        would shorten or lift one in force that ``bypass_governance`` does
        not lift (``retention.retention_change_allowed``)."""
        d = self._d
        if not d.storable(bucket, key, version_id):
            return None
        now = _CLOCK.now() if now is None else now
        sets: list[str] = []
        values: list[Any] = []
        if retention is not None:
            mode, until = retention
            sets += ["lock_mode = ?", "lock_until = ?"]
            values += [mode, None if until is None else d.rows.time_param(until)]
        if legal_hold is not None:
            sets.append("legal_hold = ?")
            values.append(legal_hold)
        with self._write() as c:
            self._lock_key(c, bucket, key)
            current = c.execute(d.q(_GET_CURRENT + d.for_update), (bucket, key)).fetchone()
            if current is not None and _stored_vid(current[_VID]) == version_id:
                record = d.rows.object(current)
                table, where = "objects", ("version_id IS NULL" if version_id == NULL_VERSION
                                           else "version_id = ?")
                args = (bucket, key) + (() if version_id == NULL_VERSION else (version_id,))
            else:
                found = c.execute(d.q(_GET_NONCURRENT + d.for_update),
                                  (bucket, key, version_id)).fetchone()
                if found is None or found[_N_OBJ]:
                    return None
                record = self._version(found)
                table, where, args = "object_versions", "version_id = ?", (bucket, key, version_id)
            if retention is not None and not retention_change_allowed(
                    record.lock_mode, record.lock_until, retention[0], retention[1], now,
                    bypass_governance=bypass_governance):
                raise ObjectLocked(bucket, key, version_id)
            if sets:
                c.execute(d.q(f"UPDATE {table} SET {', '.join(sets)} "
                              f"WHERE bucket = ? AND key = ? AND {where}"), (*values, *args))
        return record

    def set_version_tags(self, bucket: str, key: str, version_id: str,
                         tags: tuple[tuple[str, str], ...]) -> bool:
        """Replace one version's tag set; False if there is no such version
        or it is a delete marker."""
        d = self._d
        if not d.storable(bucket, key, version_id):
            return False
        value = tags_json(tags)
        with self._write() as c:
            where_current = ("version_id IS NULL" if version_id == NULL_VERSION
                             else "version_id = ?")
            args = (value, bucket, key) + (() if version_id == NULL_VERSION else (version_id,))
            cur = c.execute(d.q(f"UPDATE objects SET tags = ? WHERE bucket = ? AND key = ? "
                                f"AND {where_current}"), args)
            if cur.rowcount > 0:
                return True
            cur = c.execute(d.q("UPDATE object_versions SET tags = ? WHERE bucket = ? AND key = ? "
                                "AND version_id = ? AND NOT delete_marker"),
                            (value, bucket, key, version_id))
            return bool(cur.rowcount > 0)

    def set_version_headers(self, record: ObjectRecord, headers: dict[str, str]) -> bool:
        """Replace the stored headers of exactly the version ``record`` is (the
        ACL kept among them: PutObjectAcl); False if it is gone or was
        replaced meanwhile. A write may replace the null version at any
        time, with the same ETag within the same millisecond even, so the
        version is recognised by its blobs, which no other write has."""
        d = self._d
        bucket, key, vid = record.bucket, record.key, record.version_id
        if not d.storable(bucket, key, vid) or record.delete_marker:
            return False
        value = dict_json(headers)
        with self._write() as c:
            self._lock_key(c, bucket, key)
            row = c.execute(d.q(_GET_CURRENT + d.for_update), (bucket, key)).fetchone()
            if row is not None and _stored_vid(row[_VID]) == vid:
                if d.rows.object(row).segments != record.segments:
                    return False
                where = "version_id IS NULL" if vid == NULL_VERSION else "version_id = ?"
                c.execute(d.q(f"UPDATE objects SET headers = ? WHERE bucket = ? AND key = ? "
                              f"AND {where}"),
                          (value, bucket, key) + (() if vid == NULL_VERSION else (vid,)))
                return True
            found = c.execute(d.q(_GET_NONCURRENT + d.for_update), (bucket, key, vid)).fetchone()
            if found is None or found[_N_OBJ] or self._version(found).segments != record.segments:
                return False
            c.execute(d.q("UPDATE object_versions SET headers = ? WHERE bucket = ? AND key = ? "
                          "AND version_id = ?"), (value, bucket, key, vid))
            return True

    def list_versions(
        self, bucket: str, *, prefix: str = "", key_marker: str = "",
        version_marker: str = "", limit: int = 1000,
    ) -> list[tuple[ObjectRecord, bool]]:
        """ListObjectVersions' rows: (version, is latest), keys ascending and
        each key's versions newest first, strictly after the marker: after
        the whole key ``key_marker`` without ``version_marker``, else after
        that version of it (after the whole key if it is gone)."""
        out: list[tuple[ObjectRecord, bool]] = []
        with self._read() as c:
            for row in self._listing_rows(c, OBJ_COLS, bucket, prefix, key_marker,
                                          version_marker, limit):
                if row[-1] == CURRENT_SEQ:
                    out.append((self._d.rows.object(row[:_N_OBJ]), True))
                else:
                    out.append((self._version(row),
                                bool(row[_N_OBJ]) and self._newest_marker(c, row[0], row[1],
                                                                          row[_VID])))
        return out

    def list_version_entries(
        self, bucket: str, *, prefix: str = "", key_marker: str = "",
        version_marker: str = "", limit: int = 1000,
    ) -> list[VersionEntry]:
        """``list_versions`` as the listing shows it: seven columns a row
        read, not eighteen decoded into a record (the page's cost was its
        records: bench/list_versions.py)."""
        rows = self._d.rows
        time_value, json_value = rows.time_value, rows.json_value
        out: list[VersionEntry] = []
        with self._read() as c:
            for key, vid, size, etag, lm, sums, sclass, marker, seq in self._listing_rows(
                    c, _ENTRY_COLS, bucket, prefix, key_marker, version_marker, limit):
                if seq == CURRENT_SEQ:
                    latest = True
                    vid = NULL_VERSION if vid is None else vid
                else:
                    latest = bool(marker) and self._newest_marker(c, bucket, key, vid)
                out.append(VersionEntry(key, vid, latest, bool(marker), time_value(lm), etag,
                                        size, json_value(sums) if sums else _NO_CHECKSUMS,
                                        sclass))
        return out

    def _listing_rows(self, c: Any, cols: str, bucket: str, prefix: str, key_marker: str,
                      version_marker: str, limit: int) -> list[tuple[Any, ...]]:
        """``cols, delete_marker, seq`` of the versions after the markers, in
        ListObjectVersions' order (the current version's seq is CURRENT_SEQ)."""
        d = self._d
        if limit <= 0 or not d.storable(bucket, prefix):
            return []
        if not d.storable(key_marker, version_marker):
            key_marker, version_marker = d.bound(key_marker), ""
        after_seq = None
        if version_marker:
            cur = c.execute(d.q(_GET_CURRENT), (bucket, key_marker)).fetchone()
            if cur is not None and _stored_vid(cur[_VID]) == version_marker:
                after_seq = CURRENT_SEQ
            else:
                found = c.execute(d.q(_GET_NONCURRENT),
                                  (bucket, key_marker, version_marker)).fetchone()
                after_seq = None if found is None else found[-1]
        # One lower bound, the later of the prefix and the marker: the
        # marker's OR alone is no range, and each page then scanned the
        # prefix from its start (a walk of 100 000 versions was
        # quadratic: 480 ms a page, bench/list_versions.py).
        where: list[str] = ["bucket = ?"]
        params: list[Any] = [bucket]
        if key_marker and key_marker >= prefix:
            where.append("key >= ?" if after_seq is not None else "key > ?")
            params.append(key_marker)
        elif prefix:
            where.append("key >= ?")
            params.append(prefix)
        if prefix:
            upper = prefix_upper_bound(prefix)
            if upper is not None:
                where.append("key < ?")
                params.append(upper)
        if after_seq is not None:
            where.append("(key > ? OR seq < ?)")
            params += [key_marker, after_seq]
        cond = " AND ".join(where)
        # Both sides are ranges on their primary key / seq index, merged
        # (SQLite: MERGE (UNION ALL)), never sorted. ``objects`` has no
        # delete_marker or seq of its own: the inner select names them.
        sql = (
            f"SELECT {cols}, delete_marker, seq FROM (SELECT *, FALSE AS delete_marker, "
            f"{CURRENT_SEQ} AS seq FROM objects) cur WHERE {cond} "
            f"UNION ALL SELECT {cols}, delete_marker, seq FROM object_versions WHERE {cond} "
            "ORDER BY key, seq DESC LIMIT ?"
        )
        rows: list[tuple[Any, ...]] = c.execute(d.q(sql), (*params, *params, limit)).fetchall()
        return rows

    def _newest_marker(self, c: Any, bucket: str, key: str, vid: str) -> bool:
        """Whether the noncurrent delete marker ``vid`` is its key's newest
        version (no current version above it)."""
        d = self._d
        if c.execute(d.q(_GET_CURRENT), (bucket, key)).fetchone() is not None:
            return False
        newest = c.execute(d.q(_NEWEST_NONCURRENT), (bucket, key)).fetchone()
        return newest is not None and newest[_VID] == vid
