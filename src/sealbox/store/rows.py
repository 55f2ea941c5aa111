"""Record ↔ row codecs shared by the SQLite and PostgreSQL MetaStores.

Both stores keep the same columns in the same order (``sql/queries.py``) and the
same JSON texts; they differ only in how a datetime is stored and whether
the driver hands back JSON columns already decoded. A ``Rows`` holds those
two differences and turns rows into records and records into parameters:

- SQLite: integer milliseconds since the Unix epoch, JSON as text
  (``SQLITE_ROWS``).
- PostgreSQL: ``timestamptz(3)`` and ``json`` columns that psycopg decodes
  (``POSTGRES_ROWS``).

Empty dicts and tuples are stored as NULL on both, so the hot path skips
decoding them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from sealbox.store.meta import NULL_VERSION, Bucket, ObjectRecord, Part, Sealing, Segment, Upload

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON, non-ASCII kept as is: the text both stores write."""


def to_ms(dt: datetime) -> int:
    """UTC milliseconds since the epoch (sub-millisecond digits dropped)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass a timezone-aware one")
    return (dt - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime ``ms`` milliseconds after the epoch."""
    return _EPOCH + timedelta(milliseconds=ms)


def to_timestamp(dt: datetime) -> datetime:
    """The UTC instant truncated to the millisecond, as SQLite stores it."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime given to the store; pass a timezone-aware one")
    dt = dt.astimezone(UTC)
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


def dict_json(d: dict[str, str]) -> str | None:
    """A dict column: JSON text, NULL when empty."""
    return dumps(d) if d else None


def tags_json(tags: tuple[tuple[str, str], ...]) -> str | None:
    """The tags column: JSON pairs, NULL when there are none."""
    return dumps(tags) if tags else None


def _same(value: Any) -> Any:
    return value


def sealing_json(sealing: Sealing | None) -> str | None:
    """The sealing column: JSON, NULL for bytes kept as sent."""
    if sealing is None:
        return None
    document: dict[str, object] = {"kind": sealing.kind, "wrapped": sealing.wrapped,
                                   "check": sealing.check}
    if sealing.kms_key:  # SSE-KMS only, so other rows stay as they were
        document.update(kms_key=sealing.kms_key, context=sealing.context,
                        bucket_key=sealing.bucket_key)
    return dumps(document)


def segments_json(segments: tuple[Segment, ...]) -> str:
    """``[[blob id, size], …]``; a sealed segment adds its nonce prefix, a
    part with its own checksum adds that fourth (the nonce null if none)."""
    return dumps([(s.blob_id, s.size) if s.nonce is None and s.checksum is None
                  else (s.blob_id, s.size, s.nonce) if s.checksum is None
                  else (s.blob_id, s.size, s.nonce, s.checksum)
                  for s in segments])


class Rows:
    """Rows ↔ records for one database; see the module docstring.

    ``time_param`` turns a datetime into its column value, ``time_value`` a
    column value back into an aware UTC datetime, ``json_value`` a non-NULL
    JSON column into its Python value.
    """

    __slots__ = ("json_value", "time_param", "time_value")

    def __init__(
        self,
        *,
        time_param: Callable[[datetime], Any],
        time_value: Callable[[Any], datetime],
        json_value: Callable[[Any], Any],
    ) -> None:
        self.time_param = time_param
        self.time_value = time_value
        self.json_value = json_value

    def _dict(self, value: Any) -> dict[str, str]:
        return self.json_value(value) if value else {}

    def sealing(self, value: Any) -> Sealing | None:
        """The sealing column as a ``Sealing``, None when NULL."""
        if not value:
            return None
        d = self.json_value(value)
        return Sealing(d["kind"], d["wrapped"], d.get("check", ""), d.get("kms_key", ""),
                       d.get("context", ""), bool(d.get("bucket_key", False)))

    def tags(self, value: Any) -> tuple[tuple[str, str], ...]:
        """The tags column as (key, value) pairs."""
        return tuple((k, v) for k, v in self.json_value(value)) if value else ()

    def bucket(self, row: tuple[Any, ...]) -> Bucket:
        """A ``name, created, region, owner`` row."""
        return Bucket(row[0], self.time_value(row[1]), row[2], row[3])

    def bucket_params(self, b: Bucket) -> tuple[Any, ...]:
        return (b.name, self.time_param(b.created), b.region, b.owner)

    def object(self, row: tuple[Any, ...]) -> ObjectRecord:
        """A row of ``sql.OBJ_COLS``."""
        (b, k, size, etag, lm, segs, headers, meta, tags, sums, sclass, owner, parts, vid,
         lock_mode, lock_until, hold, seal) = row
        return ObjectRecord(
            b,
            k,
            size,
            etag,
            self.time_value(lm),
            tuple([Segment(*s) for s in self.json_value(segs)]),
            self._dict(headers),
            self._dict(meta),
            self.tags(tags),
            self._dict(sums),
            sclass,
            owner,
            parts,
            NULL_VERSION if vid is None else vid,
            False,
            lock_mode,
            None if lock_until is None else self.time_value(lock_until),
            None if hold is None else bool(hold),
            sealing=self.sealing(seal),
        )

    def object_params(self, o: ObjectRecord) -> tuple[Any, ...]:
        """Parameters in ``sql.OBJ_COLS`` order: (bucket, key, then the rest)."""
        return (
            o.bucket,
            o.key,
            o.size,
            o.etag,
            self.time_param(o.last_modified),
            segments_json(o.segments),
            dict_json(o.headers),
            dict_json(o.user_metadata),
            tags_json(o.tags),
            dict_json(o.checksums),
            o.storage_class,
            o.owner,
            o.parts_count,
            # objects.version_id: NULL is the null version (rows from before versioning)
            None if o.version_id == NULL_VERSION else o.version_id,
            o.lock_mode,
            None if o.lock_until is None else self.time_param(o.lock_until),
            o.legal_hold,
            sealing_json(o.sealing),
        )

    def upload(self, row: tuple[Any, ...]) -> Upload:
        """A row of ``sql.UPLOAD_COLS``."""
        (uid, b, k, initiated, headers, meta, tags, sclass, owner, algo,
         lock_mode, lock_until, hold, seal) = row
        return Upload(
            uid,
            b,
            k,
            self.time_value(initiated),
            self._dict(headers),
            self._dict(meta),
            self.tags(tags),
            sclass,
            owner,
            algo,
            lock_mode,
            None if lock_until is None else self.time_value(lock_until),
            None if hold is None else bool(hold),
            self.sealing(seal),
        )

    def upload_params(self, u: Upload) -> tuple[Any, ...]:
        """Parameters in ``sql.UPLOAD_COLS`` order."""
        return (
            u.upload_id,
            u.bucket,
            u.key,
            self.time_param(u.initiated),
            dict_json(u.headers),
            dict_json(u.user_metadata),
            tags_json(u.tags),
            u.storage_class,
            u.owner,
            u.checksum_algorithm,
            u.lock_mode,
            None if u.lock_until is None else self.time_param(u.lock_until),
            u.legal_hold,
            sealing_json(u.sealing),
        )

    def part(self, row: tuple[Any, ...]) -> Part:
        """A row of ``sql.PART_COLS``."""
        uid, num, size, etag, lm, blob_id, sums, nonce = row
        return Part(uid, num, size, etag, self.time_value(lm), blob_id, self._dict(sums), nonce)

    def part_params(self, p: Part) -> tuple[Any, ...]:
        """Parameters in ``sql.PART_COLS`` order: (upload id, part number, then the rest)."""
        return (
            p.upload_id,
            p.part_number,
            p.size,
            p.etag,
            self.time_param(p.last_modified),
            p.blob_id,
            dict_json(p.checksums),
            p.nonce,
        )


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value: orjson, at a fifth of the standard library's
    cost per row (a page of ListObjectVersions decodes four columns a row);
    the standard library for text orjson refuses (an escaped lone surrogate,
    which a header decoded with surrogateescape can carry)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


SQLITE_ROWS = Rows(time_param=to_ms, time_value=from_ms, json_value=json_loads)
# psycopg decodes json columns itself (postgres.py sets its loads) and
# returns timestamptz as aware datetimes in the session's time zone, UTC.
POSTGRES_ROWS = Rows(time_param=to_timestamp, time_value=_same, json_value=_same)
