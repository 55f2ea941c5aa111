"""Delivering access logs as objects: S3 server access logs and CloudFront
standard logs, written into their target buckets every
``--log-delivery-seconds``.

The request path appends one tuple (the request's audit event, built once,
what only the log needs, and the target as configured at that moment) to
a bounded deque, and only for a bucket with logging on or a distribution
whose ``Logging`` is enabled; nothing else. Records go where logging
pointed when the request was made: turning logging off or elsewhere loses
or moves nothing already recorded. A full buffer drops the oldest record and counts it
(``sealbox_access_log_dropped``): logging never slows a request.

A thread, every ``interval`` seconds, takes what is buffered, groups it by
source (bucket, or distribution and hour), renders the lines
(``s3_format``, ``cloudfront_format``) and writes one object per group
into the target bucket, the same way an upload is kept: a blob written and
made durable, then its record committed. Object names carry a random part
(``targets``), so each worker and node delivers its own objects. The same
thread reloads which buckets log (the bucket setting ``logging``) when the
store's access version moves, which every change to a bucket setting
does: a change made anywhere is seen within a second.

A target bucket that is gone (or a write that fails) loses that group's
records, counted and logged; the delivery of the others goes on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sealbox.auth.principal import ACCOUNT_ID, account_of_arn
from sealbox.background import Periodic
from sealbox.logs import cloudfront_format, s3_format
from sealbox.logs.cloudfront_format import ViewerRequest
from sealbox.logs.s3_format import RequestLine
from sealbox.logs.targets import LOGGING_SETTING, LoggingTarget, cloudfront_object_key
from sealbox.store.blobs import BlobStore
from sealbox.store.edge_config import CloudFrontLogging
from sealbox.store.meta import MetaStore, NoSuchBucket, ObjectRecord, Segment

log = logging.getLogger("sealbox.logs")

DEFAULT_INTERVAL = 60.0
CAPACITY = 100_000
REFRESH_SECONDS = 1.0  # how often the thread looks whether bucket settings moved
S3_CONTENT_TYPE = "text/plain"
CLOUDFRONT_CONTENT_TYPE = "application/gzip"


@dataclass(frozen=True)
class Redaction:
    """How a record's request-chosen text loses its credentials before it is
    written (``sealbox.server.log_redact``: a presigned URL's signature is
    replayable until it expires, and a log object is readable by whoever
    may read its bucket): the request target (``path?query``), a bare
    query, and free text (the Cookie header: CloudFront-Signature)."""

    target: Callable[[str], str]
    query: Callable[[str], str]
    text: Callable[[str], str]


class LogDelivery:
    """The buffer and its thread; see the module docstring."""

    def __init__(self, meta: MetaStore, blobs: BlobStore, *, region: str, host_id: str,
                 redact: Redaction, interval: float = DEFAULT_INTERVAL,
                 capacity: int = CAPACITY,
                 now: Callable[[], float] = time.time,
                 on_drop: Callable[[int], None] | None = None) -> None:
        self.meta = meta
        self.blobs = blobs
        self.redact = redact
        self.region = region
        self.host_id = host_id
        self.interval = interval
        self.capacity = capacity
        self.now = now
        self.on_drop = on_drop
        self.dropped = 0
        # Source bucket -> its target; replaced whole, read without a lock.
        self.targets: dict[str, LoggingTarget] = {}
        self.queue: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self._version: int | None = None
        self._next_delivery = time.monotonic() + interval
        self._thread = Periodic("sealbox-logs", self._round, min(REFRESH_SECONDS, interval),
                                log=log, final=self.deliver)
        self._lock = threading.Lock()  # one delivery at a time (the thread, or close)
        # One reload at a time (the thread, or PutBucketLogging's): the later
        # one reads the later state, so an older list never wins.
        self._refresh_lock = threading.Lock()

    # -- the request path -------------------------------------------------

    def logs_bucket(self, bucket: str | None) -> bool:
        """Whether requests on ``bucket`` are logged (a dict lookup)."""
        return bucket is not None and bucket in self.targets

    def add_s3(self, event: tuple[Any, ...], line: RequestLine) -> None:
        """Buffer a record for the target its bucket logs to now: turning
        logging off or elsewhere does not lose or move what was recorded."""
        target = self.targets.get(event[s3_format.BUCKET])
        if target is not None:
            self._add(("s3", event, line, target))

    def add_edge(self, event: tuple[Any, ...], viewer: ViewerRequest,
                 target: CloudFrontLogging) -> None:
        self._add(("cf", event, viewer, target))

    def _add(self, item: tuple[Any, ...]) -> None:
        if len(self.queue) >= self.capacity:  # the deque drops the oldest as it appends
            self._count_dropped(1)
        self.queue.append(item)

    def _count_dropped(self, count: int) -> None:
        self.dropped += count
        if self.on_drop is not None:
            self.on_drop(count)

    # -- the thread -------------------------------------------------------

    def start(self) -> None:
        self.refresh()
        self._thread.start()

    def close(self) -> None:
        """Deliver what is buffered and stop the thread."""
        self._thread.close()

    def _round(self) -> None:
        self.refresh()
        if time.monotonic() >= self._next_delivery:
            self._next_delivery = time.monotonic() + self.interval
            self.deliver()

    def refresh(self) -> None:
        """Reload the buckets that log, if any bucket setting changed."""
        with self._refresh_lock:
            version = self.meta.access_version()
            if version == self._version:
                return
            targets = {}
            for bucket, document in self.meta.bucket_settings_named(LOGGING_SETTING):
                try:
                    targets[bucket] = LoggingTarget.decode(document)
                except (ValueError, KeyError, TypeError):
                    log.warning("bucket %s has an unreadable logging setting", bucket[:64])
            self.targets = targets
            self._version = version

    def deliver(self) -> int:
        """Write every buffered record into its log objects; how many objects."""
        with self._lock:
            queue = self.queue
            taken: list[tuple[Any, ...]] = []
            while queue:
                taken.append(queue.popleft())
            if not taken:
                return 0
            delivered = self.now()
            written = 0
            for (bucket, target), events in _s3_groups(taken).items():
                written += self._guarded(len(events), self._deliver_s3, bucket, target,
                                         events, delivered)
            for (dist_id, hour, edge_target), items in _edge_groups(taken).items():
                written += self._guarded(len(items), self._deliver_edge, dist_id, hour,
                                         edge_target, items)
            return written

    def _guarded(self, records: int, deliver: Callable[..., int], *args: Any) -> int:
        """One group's delivery; a failure loses that group only (counted)."""
        try:
            return deliver(*args)
        except Exception:
            log.exception("delivering %d access log records failed; they are dropped",
                          records)
            self._count_dropped(records)
            return 0

    def _deliver_s3(self, bucket: str, target: LoggingTarget,
                    records: list[tuple[tuple[Any, ...], RequestLine]], delivered: float) -> int:
        source = self.meta.get_bucket(bucket)
        owner = source.owner if source is not None else ""
        target_text = self.redact.target
        body = "".join(s3_format.render_record(event, line._replace(
            target=target_text(line.target)), owner, self.host_id) + "\n"
            for event, line in records).encode("utf-8")
        earliest = min(event[s3_format.TIME] for event, _ in records)
        # The partitioned prefix names the source bucket's account.
        account = account_of_arn(owner) or ACCOUNT_ID
        key = target.object_key(bucket, account, self.region, delivered, earliest)
        return self._put(target.bucket, key, body, S3_CONTENT_TYPE, len(records))

    def _deliver_edge(self, dist_id: str, hour: float, target: CloudFrontLogging,
                      items: list[tuple[tuple[Any, ...], ViewerRequest]]) -> int:
        redact = self.redact
        lines = [cloudfront_format.render_line(event, viewer._replace(
            query=redact.query(viewer.query),
            cookie=viewer.cookie and redact.text(viewer.cookie)), target.include_cookies)
            for event, viewer in items]
        key = cloudfront_object_key(target, dist_id, hour)
        return self._put(target.bucket, key, cloudfront_format.render_file(lines),
                         CLOUDFRONT_CONTENT_TYPE, len(items))

    def _put(self, bucket: str, key: str, body: bytes, content_type: str, records: int) -> int:
        """Keep one log object as an upload is kept; 1, or 0 (records lost)."""
        target = self.meta.get_bucket(bucket)
        if target is None:
            log.warning("access log target bucket %s is gone: %d records dropped",
                        bucket[:64], records)
            self._count_dropped(records)
            return 0
        writer = self.blobs.writer()
        try:
            writer.write(body)
            blob_id = writer.finish()
        except BaseException:
            writer.abort()
            raise
        record = ObjectRecord(
            bucket=bucket, key=key, size=len(body), etag=hashlib.md5(body).hexdigest(),
            last_modified=datetime.fromtimestamp(self.now(), UTC),
            segments=(Segment(blob_id, len(body)),), headers={"content-type": content_type},
            owner=target.owner)
        try:
            replaced = self.meta.put_object(record)
        except NoSuchBucket:
            self.blobs.delete(blob_id)
            log.warning("access log target bucket %s went: %d records dropped",
                        bucket[:64], records)
            self._count_dropped(records)
            return 0
        except BaseException:
            self.blobs.delete(blob_id)
            raise
        if replaced is not None:  # names are random: only by a very long chance
            for segment in replaced.segments:
                self.blobs.delete(segment.blob_id)
        return 1


def _s3_groups(taken: list[tuple[Any, ...]]
               ) -> dict[tuple[str, LoggingTarget], list[tuple[tuple[Any, ...], RequestLine]]]:
    """S3 records by source bucket and the target they were recorded for."""
    groups: dict[tuple[str, LoggingTarget], list[tuple[tuple[Any, ...], RequestLine]]] = {}
    for item in taken:
        if item[0] == "s3":
            event, line, target = item[1], item[2], item[3]
            groups.setdefault((event[s3_format.BUCKET], target), []).append((event, line))
    return groups


def _edge_groups(taken: list[tuple[Any, ...]]) -> dict[
        tuple[str, float, CloudFrontLogging], list[tuple[tuple[Any, ...], ViewerRequest]]]:
    """Viewer requests by distribution, hour (a file holds one hour) and target."""
    groups: dict[tuple[str, float, CloudFrontLogging],
                 list[tuple[tuple[Any, ...], ViewerRequest]]] = {}
    for item in taken:
        if item[0] != "cf":
            continue
        event, viewer, target = item[1], item[2], item[3]
        hour = float(int(event[s3_format.TIME]) // 3600 * 3600)
        groups.setdefault((viewer.distribution_id, hour, target), []).append((event, viewer))
    return groups
