"""Applying lifecycle rules: a background thread that, every
``--lifecycle-interval-seconds``, makes a pass over the buckets that have a
configuration (the bucket setting ``lifecycle``).

One process at a time: a pass runs only while its process holds the store's
``exclusive`` lock (an ``flock`` beside a SQLite database, shared by a
server's workers; a PostgreSQL session advisory lock, shared by every
node), tried and never waited for: a process whose turn comes while another
is making a pass skips its own. Each process keeps its own period, so a
cluster of N processes makes up to N passes an interval, one at a time;
they are idempotent (what one removed, the next finds gone).

A pass, for each bucket, in pages of ``page`` rows (no transaction is held
across a page; each removal is its own short one):

1. current versions (``list_objects``) that an enabled rule's
   ``Expiration`` (``Days``, with S3's rounding to midnight UTC, or
   ``Date``) has reached: removed in a bucket never versioned; in a
   versioned one a delete marker is added above them, as S3 does;
2. in a versioned bucket, every version (``list_versions``): a noncurrent
   one (a delete marker too) goes when ``NoncurrentDays`` have passed since
   it became noncurrent (when its successor was made), unless it is among
   the ``NewerNoncurrentVersions`` newest noncurrent ones; a delete marker
   that is its key's only version goes under ``ExpiredObjectDeleteMarker``,
   or once an ``Expiration``'s ``Days`` have passed since it was made
   (S3 cleans up expired object delete markers under ``Days``);
3. multipart uploads (``list_uploads``) older than
   ``AbortIncompleteMultipartUpload``'s ``DaysAfterInitiation``: aborted.

Versions are removed only through the store's own removals
(``delete_version``, ``add_delete_marker``, ``abort_upload``), so whatever
those refuse (a version under object lock raises a ``MetaError``) is
skipped and logged, never forced, and the pass goes on. The bytes of what
is removed are freed as a delete frees them. Every removal names the record
as it was listed (``unchanged``): the store makes it only if that version is
still that record, in the transaction that removes it. A key written since
its page was listed (a null version id is reused by every write, so the id
alone would not tell) is left for the next pass to judge.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sealbox.background import Periodic
from sealbox.lifecycle.rules import (
    DAY,
    SETTING,
    Configuration,
    Rule,
    after_days,
    decode,
    first_expiry,
)
from sealbox.store.blobs import BlobStore
from sealbox.store.meta import ConditionFailed, MetaError, MetaStore, ObjectRecord

log = logging.getLogger("sealbox.lifecycle")

LOCK_NAME = "sealbox.lifecycle"
DEFAULT_INTERVAL = 3600.0
PAGE = 1000


@dataclass
class PassReport:
    """What one pass did."""

    buckets: int = 0
    expired: int = 0  # current versions removed (a bucket never versioned)
    markers_added: int = 0  # current versions expired under a delete marker
    versions_removed: int = 0  # noncurrent versions and delete markers
    uploads_aborted: int = 0
    refused: int = 0  # removals the store refused (object lock), skipped

    def __bool__(self) -> bool:
        return any((self.expired, self.markers_added, self.versions_removed,
                    self.uploads_aborted, self.refused))


def covering_prefixes(prefixes: Iterable[str]) -> list[str]:
    """The fewest prefixes whose listings hold every key ``prefixes`` take
    (one that another starts with adds nothing)."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):
        if not any(prefix.startswith(other) for other in kept):
            kept.append(prefix)
    return kept


class LifecycleWorker:
    """The thread and its passes; see the module docstring.

    ``marker_version(bucket)``: the version id a delete marker gets in that
    bucket now, or None when the bucket was never versioned (the API layer's
    versioning state, passed in: this package sits below it)."""

    def __init__(self, meta: MetaStore, blobs: BlobStore, *,
                 marker_version: Callable[[str], str | None],
                 interval: float = DEFAULT_INTERVAL, day_seconds: int = DAY,
                 page: int = PAGE, now: Callable[[], float] = time.time) -> None:
        self.meta = meta
        self.blobs = blobs
        self.marker_version = marker_version
        self.day_seconds = day_seconds
        self.page = page
        self.now = now
        self._thread = Periodic("sealbox-lifecycle", self.run_pass, interval, log=log,
                                final=lambda: None)

    def start(self) -> None:
        self._thread.start()
        # A first pass now, not an interval from now: a server restarted
        # more often than the interval would otherwise never make one.
        self._thread.wake()

    def close(self) -> None:
        self._thread.close()

    # -- a pass ------------------------------------------------------------
    def run_pass(self) -> PassReport | None:
        """One pass over every bucket with rules; None when another process
        holds the lock (it is making the pass)."""
        with self.meta.exclusive(LOCK_NAME) as held:
            if not held:
                return None
            report = PassReport()
            for bucket, document in self.meta.bucket_settings_named(SETTING):
                try:
                    config = Configuration(decode(document).enabled())
                    if not config.rules:
                        continue
                    report.buckets += 1
                    self._bucket(bucket, config, report)
                except Exception:  # one bucket's failure leaves the others' work to do
                    log.exception("lifecycle: bucket %s failed; the next pass tries again",
                                  bucket)
        if report:
            log.info("lifecycle pass: %s", report)
        return report

    def _bucket(self, bucket: str, config: Configuration, report: PassReport) -> None:
        now = self.now()
        current = [r for r in config.rules if r.expires_current]
        if current:
            for prefix in covering_prefixes(r.filter.prefix for r in current):
                self._current(bucket, prefix, config, now, report)
        versions = [r for r in config.rules if r.noncurrent_days is not None
                    or r.expired_object_delete_marker or r.expiration_days is not None]
        if versions and self.marker_version(bucket) is not None:
            for prefix in covering_prefixes(r.filter.prefix for r in versions):
                self._versions(bucket, prefix, tuple(versions), now, report)
        aborts = [r for r in config.rules if r.abort_days is not None]
        if aborts:
            for prefix in covering_prefixes(r.filter.prefix for r in aborts):
                self._uploads(bucket, prefix, tuple(aborts), now, report)

    def _free(self, record: ObjectRecord | None) -> None:
        if record is not None:
            self._discard([s.blob_id for s in record.segments])

    def _discard(self, blob_ids: list[str]) -> None:
        """Delete blobs no record names any more, as a delete does; a blob
        store that fails now leaves them to the sweep."""
        if not blob_ids:
            return
        try:
            self.blobs.delete_many(blob_ids)
        except Exception:  # the records are gone: the sweep takes what is left
            log.warning("lifecycle: %d blobs left for the sweep", len(blob_ids), exc_info=True)

    # -- 1. current versions -------------------------------------------------
    def _current(self, bucket: str, prefix: str, config: Configuration, now: float,
                 report: PassReport) -> None:
        after = ""
        while True:
            page = self.meta.list_objects(bucket, prefix=prefix, after=after, limit=self.page)
            for record in page:
                found = first_expiry(config, record.key, record.tags, record.size,
                                     record.last_modified.timestamp(), self.day_seconds)
                if found is not None and found[0] <= now:
                    self._expire(record, found[1], report)
            if len(page) < self.page:
                return
            after = page[-1].key

    def _expire(self, record: ObjectRecord, rule: Rule, report: PassReport) -> None:
        meta = self.meta
        marker_id = self.marker_version(record.bucket)
        try:
            if marker_id is None:
                self._free(meta.delete_version(record.bucket, record.key, record.version_id,
                                               unchanged=record))
                report.expired += 1
            else:
                marker = ObjectRecord(
                    bucket=record.bucket, key=record.key, size=0, etag="",
                    last_modified=_utc(self.now()), segments=(), owner=record.owner,
                    version_id=marker_id, delete_marker=True)
                self._free(meta.add_delete_marker(marker, unchanged=record))
                report.markers_added += 1
        except ConditionFailed:
            return  # written since listed: the next pass judges the new version
        except MetaError as refused:
            report.refused += 1
            log.info("lifecycle: rule %r may not expire %s/%s: %s", rule.id, record.bucket,
                     record.key, refused)

    # -- 2. versions ----------------------------------------------------------
    def _versions(self, bucket: str, prefix: str, rules: tuple[Rule, ...], now: float,
                  report: PassReport) -> None:
        key_marker, version_marker = "", ""
        state = _KeyState("")
        while True:
            page = self.meta.list_versions(bucket, prefix=prefix, key_marker=key_marker,
                                           version_marker=version_marker, limit=self.page)
            for record, latest in page:
                if record.key != state.key:
                    self._key_done(state, rules, now, report)
                    state = _KeyState(record.key)
                if state.newer_made is None:  # the key's newest version
                    state.newer_made = record.last_modified.timestamp()
                    if record.delete_marker and latest:
                        state.top_marker = record
                    state.last_kept = record.version_id
                    continue
                since = state.newer_made
                state.newer_made = record.last_modified.timestamp()
                if (self._noncurrent_expires(record, since, state.noncurrent, rules, now)
                        and self._remove(record, report)):
                    state.noncurrent += 1
                    continue
                state.noncurrent += 1
                state.kept += 1
                state.last_kept = record.version_id
            if len(page) < self.page:
                self._key_done(state, rules, now, report)
                return
            key_marker, version_marker = state.key, state.last_kept or ""

    def _noncurrent_expires(self, record: ObjectRecord, since: float, newer: int,
                            rules: tuple[Rule, ...], now: float) -> bool:
        """Whether a rule removes this noncurrent version: ``newer``
        noncurrent versions of its key are newer than it; it became
        noncurrent at ``since``."""
        for rule in rules:
            if rule.noncurrent_days is None:
                continue
            if not rule.filter.matches(record.key, record.tags, record.size):
                continue
            if (rule.newer_noncurrent_versions is not None
                    and newer < rule.newer_noncurrent_versions):
                continue
            if after_days(since, rule.noncurrent_days, self.day_seconds) <= now:
                return True
        return False

    def _key_done(self, state: _KeyState, rules: tuple[Rule, ...], now: float,
                  report: PassReport) -> None:
        """A key's versions are all seen: a delete marker left alone on top
        of it is an expired object delete marker."""
        marker = state.top_marker
        if marker is None or state.kept:
            return
        for rule in rules:
            if not rule.filter.matches(marker.key, (), 0):
                continue
            if rule.expired_object_delete_marker or (
                    rule.expiration_days is not None and after_days(
                        marker.last_modified.timestamp(), rule.expiration_days,
                        self.day_seconds) <= now):
                self._remove(marker, report)
                return

    def _remove(self, record: ObjectRecord, report: PassReport) -> bool:
        try:
            removed = self.meta.delete_version(record.bucket, record.key, record.version_id,
                                               unchanged=record)
        except ConditionFailed:
            return False  # written since listed: the next pass judges it
        except MetaError as refused:
            report.refused += 1
            log.info("lifecycle: may not remove version %s of %s/%s: %s", record.version_id,
                     record.bucket, record.key, refused)
            return False
        self._free(removed)
        if removed is not None:
            report.versions_removed += 1
        return True

    # -- 3. multipart uploads -------------------------------------------------
    def _uploads(self, bucket: str, prefix: str, rules: tuple[Rule, ...], now: float,
                 report: PassReport) -> None:
        key_marker, id_marker = "", ""
        while True:
            page = self.meta.list_uploads(bucket, prefix=prefix, key_marker=key_marker,
                                          upload_id_marker=id_marker, limit=self.page)
            for upload in page:
                initiated = upload.initiated.timestamp()
                if any(rule.abort_days is not None and upload.key.startswith(rule.filter.prefix)
                       and after_days(initiated, rule.abort_days, self.day_seconds) <= now
                       for rule in rules):
                    try:
                        parts = self.meta.abort_upload(upload.upload_id)
                    except MetaError:  # completed or aborted meanwhile
                        continue
                    report.uploads_aborted += 1
                    self._discard([part.blob_id for part in parts])
                    continue
                key_marker, id_marker = upload.key, upload.upload_id
            if len(page) < self.page:
                return


@dataclass
class _KeyState:
    """What the versions pass knows of the key it is reading."""

    key: str
    newer_made: float | None = None  # when the version above the next one was made
    top_marker: ObjectRecord | None = None  # the newest version, if a delete marker
    noncurrent: int = 0  # noncurrent versions seen so far (newest first)
    kept: int = 0  # noncurrent versions left in place
    last_kept: str | None = None  # the last version left in place: the page marker


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)

