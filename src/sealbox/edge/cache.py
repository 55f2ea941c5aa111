"""The edge's disk cache: whole objects fetched from a distribution's origin,
kept as files under a size bound, least recently used out first.

One cache per server process, under ``<data dir>/edge-cache/<host>-<pid>``: what a
process cached is its own, like one CloudFront edge location's cache, so
workers and nodes never share (or lock) cache files. A cache is only ever
an optimisation: the directory of a process that is gone is removed when
the next process starts, and nothing in it survives a restart.

Entries are keyed by ``(distribution id, path, variant)``: the path is the
decoded viewer path (plus the forwarded query string when a behaviour
forwards it), which is what invalidation patterns are matched against; the
variant holds the forwarded headers' values (CloudFront caches a response
per value of every header it forwards), and an invalidation drops every
variant of a path.

Filling an entry never copies when it need not: an object that is one blob
file on the local blob store is hard-linked into the cache (blob files are
immutable once committed, and deleting the object only unlinks the blob's
name, so the cache keeps the bytes it was filled with). Anything else
(multipart objects, remote blob stores) is copied into a temporary file and
renamed into place. Readers open entry files; an entry evicted while a
response is being sent stays readable through the open file.

Thread-safe: fills run in the thread pool, lookups on the event loop; one
lock guards the index.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import BinaryIO

from sealbox.store.edge_config import path_matches
from sealbox.store.full import EDGE_CACHE_NOTICE, out_of_space

COPY_CHUNK = 1024 * 1024
# Bodies this small are kept in memory too (sent without opening a file),
# up to MEMORY_BYTES in all: a signed GET of a 1 KiB object is mostly
# per-request overhead, and an open/read/close is a good part of it.
MEMORY_OBJECT_BYTES = 64 * 1024
MEMORY_BYTES = 64 * 1024 * 1024
_HOST = socket.gethostname().replace("/", "_") or "host"
DEFAULT_MAX_BYTES = 1024**3
CacheKey = tuple[str, str, str]  # (distribution id, path, variant)


@dataclass(frozen=True)
class Source:
    """One run of an object's bytes at the origin: a blob, opened on demand,
    with its local file path when it has one (then it can be linked)."""

    open: Callable[[], BinaryIO]
    size: int
    local_path: str | None = None


@dataclass(frozen=True)
class CachedObject:
    """A cached response: the body's file, the origin's headers to replay,
    and when it was fetched and goes stale (epoch seconds)."""

    key: CacheKey
    path: str
    size: int
    etag: str
    last_modified: datetime
    headers: tuple[tuple[str, str], ...]
    stored_at: float
    expires_at: float
    body: bytes | None = None  # small bodies are also kept in memory

    def fresh(self, now: float) -> bool:
        return now < self.expires_at

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


class EdgeCache:
    """See the module docstring. ``max_bytes`` bounds the bodies kept;
    an object larger than ``max_object_bytes`` is served but not kept."""

    def __init__(self, root: str, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_object_bytes: int | None = None) -> None:
        self.root = os.path.abspath(root)
        self.max_bytes = max_bytes
        self.max_object_bytes = max_bytes // 4 if max_object_bytes is None else max_object_bytes
        self._dir = os.path.join(self.root, f"{_HOST}-{os.getpid()}")
        self._entries: OrderedDict[CacheKey, CachedObject] = OrderedDict()
        self._bytes = 0
        self._memory = 0  # bytes of bodies kept in memory
        self._lock = threading.Lock()
        try:
            os.makedirs(self.root, 0o700, exist_ok=True)
            _remove_dead_processes_dirs(self.root)
            shutil.rmtree(self._dir, ignore_errors=True)  # a reused pid's leftovers
            os.makedirs(self._dir, 0o700)
        except OSError as error:
            if not out_of_space(error):
                raise
            # Started on a full disk: serve (from the origin), keep nothing.
            EDGE_CACHE_NOTICE.report(error)
            self.max_object_bytes = -1

    @property
    def size(self) -> int:
        """Bytes of the bodies kept now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> CachedObject | None:
        """The entry for ``key``, fresh or stale (the caller revalidates a
        stale one), marked as just used."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def fits(self, size: int) -> bool:
        return size <= self.max_object_bytes

    def fill(self, key: CacheKey, sources: Sequence[Source], etag: str, last_modified: datetime,
             headers: Iterable[tuple[str, str]], now: float, ttl: int) -> CachedObject:
        """Keep an object's bytes under ``key`` for ``ttl`` seconds; returns
        the entry (replacing any older one). ``FileNotFoundError`` when a
        source blob went away meanwhile (the object was overwritten): the
        caller reads the object again. Blocking: run it in the thread pool."""
        size = sum(s.size for s in sources)
        path = os.path.join(self._dir, secrets.token_hex(16))
        if len(sources) == 1 and sources[0].local_path is not None:
            try:
                os.link(sources[0].local_path, path)
            except OSError as error:
                if isinstance(error, FileNotFoundError):
                    raise
                _copy(sources, path)  # another file system: copy instead
        else:
            _copy(sources, path)
        body = None
        if size <= MEMORY_OBJECT_BYTES and self._memory + size <= MEMORY_BYTES:
            with open(path, "rb") as f:
                body = f.read(size + 1)
            if len(body) != size:  # never serve a body its record does not describe
                _unlink(path)
                raise FileNotFoundError("a blob changed size: it is being replaced")
        entry = CachedObject(key, path, size, etag, last_modified, tuple(headers), now,
                             now + ttl, body)
        with self._lock:
            self._remove(key)
            self._entries[key] = entry
            self._bytes += size
            if body is not None:
                self._memory += size
            self._evict()
        return entry

    def refresh(self, entry: CachedObject, now: float, ttl: int) -> CachedObject:
        """The origin still has this version: keep it ``ttl`` more seconds
        (CloudFront's ``RefreshHit``)."""
        renewed = replace(entry, stored_at=now, expires_at=now + ttl)
        with self._lock:
            if self._entries.get(entry.key) is entry:
                self._entries[entry.key] = renewed
                self._entries.move_to_end(entry.key)
        return renewed

    def drop(self, key: CacheKey) -> None:
        with self._lock:
            self._remove(key)

    def invalidate(self, distribution_id: str, patterns: Iterable[str]) -> int:
        """Drop the distribution's entries whose path matches any pattern
        (CloudFront invalidation paths: ``/images/*``, ``/a.jpg``, ``/*``);
        returns how many went."""
        patterns = tuple(patterns)
        with self._lock:
            doomed = [key for key in self._entries if key[0] == distribution_id
                      and any(path_matches(p, key[1]) for p in patterns)]
            for key in doomed:
                self._remove(key)
        return len(doomed)

    def drop_distribution(self, distribution_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == distribution_id]:
                self._remove(key)

    def close(self) -> None:
        """Remove this process's cache directory."""
        with self._lock:
            self._entries.clear()
            self._bytes = self._memory = 0
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- with the lock held ----------------------------------------------------
    def _remove(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._forget(entry)

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._entries:
            _, entry = self._entries.popitem(last=False)
            self._forget(entry)

    def _forget(self, entry: CachedObject) -> None:
        self._bytes -= entry.size
        if entry.body is not None:
            self._memory -= entry.size
        _unlink(entry.path)


def _copy(sources: Sequence[Source], path: str) -> None:
    """Copy the sources, in order, into a new file at ``path`` (via a
    temporary name, so a half-copied file never carries an entry's name)."""
    temporary = path + ".part"
    try:
        with open(temporary, "xb") as out:
            for source in sources:
                with source.open() as f:
                    remaining = source.size
                    while remaining > 0:
                        chunk = f.read(min(COPY_CHUNK, remaining))
                        if not chunk:
                            raise FileNotFoundError("a blob ended early: it is being replaced")
                        out.write(chunk)
                        remaining -= len(chunk)
        os.replace(temporary, path)
    except BaseException:
        _unlink(temporary)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_dead_processes_dirs(root: str) -> None:
    """Remove the cache directories of this host's processes that no longer
    run (a data dir on a shared file system may hold other hosts' too)."""
    prefix = f"{_HOST}-"
    with os.scandir(root) as it:
        for entry in it:
            pid = entry.name.removeprefix(prefix)
            if (entry.name.startswith(prefix) and pid.isdigit()
                    and entry.is_dir(follow_symlinks=False) and not _alive(int(pid))):
                shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
