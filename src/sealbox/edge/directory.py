"""What the edge reads of its configuration on every viewer request, cached
by the store's access version (``sealbox.store.access_version``).

Every write to the edge's tables moves the access version, and every
request reads it once anyway (for the access gate), so the edge keeps
host → distribution, trusted public keys (parsed) and origin access controls
in memory per version: a change is seen on the next request on every worker
and node, and an unchanged configuration costs no reads. Unknown hosts are
remembered too (as None), so an S3 request pays a dictionary lookup to learn
that it is not for a distribution.

Invalidations reach this process's cache the same way: when the version
moves, the distributions this process caches are asked for invalidations
created since the last look, and each new one is applied once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sealbox.api.common.access_gate import VersionedCache
from sealbox.auth.cloudfront import PublicKey, load_public_key
from sealbox.edge.cache import EdgeCache
from sealbox.store.edge import Distribution, OriginAccessControl

log = logging.getLogger("sealbox.edge")

# Invalidations are looked up from a little before the newest one seen:
# nodes' clocks differ, and one created on a node whose clock is behind must
# not be missed. An invalidation seen twice is applied once (by id).
CLOCK_SLACK = timedelta(minutes=5)


class EdgeDirectory:
    """The edge's view of its configuration, over the MetaStore (which is
    an EdgeStore too). Methods are synchronous store reads: call them where
    the access gate's reads run (inline on SQLite, in the thread pool on
    PostgreSQL)."""

    def __init__(self, meta: Any, cache: EdgeCache, now: Callable[[], datetime]) -> None:
        self._meta = meta
        self._cache = cache
        self._now = now
        self._entries = VersionedCache(max_entries=50_000)
        self._keys: dict[str, PublicKey | None] = {}  # PEM text -> parsed (immutable)
        self._seen_version = -1
        self._watermarks: dict[str, datetime] = {}  # distribution id -> newest seen
        self._applied: dict[str, set[str]] = {}  # distribution id -> invalidation ids

    def for_host(self, host: str, version: int) -> Distribution | None:
        """The distribution answering on ``host`` (the Host header), or None."""
        if version != self._seen_version:
            self._seen_version = version
            self._apply_invalidations()
        if not host or len(host) > 255:
            return None
        meta = self._meta
        return self._entries.get(("host", host), version,
                                 lambda: meta.distribution_for_host(host))

    def sole_distribution(self, version: int) -> Distribution | None:
        """The distribution, when there is exactly one enabled (the edge
        port serves it whatever the Host); else None."""
        meta = self._meta

        def load() -> Distribution | None:
            enabled = [d for d in meta.list_distributions() if d.config.enabled]
            return enabled[0] if len(enabled) == 1 else None

        return self._entries.get("sole", version, load)

    def trusted_keys(self, group_ids: tuple[str, ...], version: int) -> dict[str, PublicKey]:
        """Key-pair id → public key for the keys of ``group_ids``."""
        meta = self._meta

        def load() -> dict[str, PublicKey]:
            keys: dict[str, PublicKey] = {}
            for key_id, record in meta.public_keys_for_groups(list(group_ids)).items():
                parsed = self._parsed(record.encoded_key)
                if parsed is not None:
                    keys[key_id] = parsed
            return keys

        return self._entries.get(("keys", group_ids), version, load)

    def origin_access_control(self, oac_id: str, version: int) -> OriginAccessControl | None:
        meta = self._meta
        return self._entries.get(("oac", oac_id), version,
                                 lambda: meta.get_origin_access_control(oac_id))

    def _parsed(self, pem: str) -> PublicKey | None:
        if pem not in self._keys:
            try:
                self._keys[pem] = load_public_key(pem)
            except ValueError:  # the API checks keys; one stored otherwise is unusable
                log.warning("a stored CloudFront public key does not load; it verifies nothing")
                self._keys[pem] = None
        return self._keys[pem]

    def note_filled(self, distribution_id: str) -> None:
        """The cache now holds something of this distribution: from now on,
        invalidations of it must reach this process. (An invalidation a
        little older than the first fill may be applied too: one extra miss.)"""
        if distribution_id not in self._watermarks:
            self._watermarks[distribution_id] = self._now()

    def _apply_invalidations(self) -> None:
        """Apply invalidations created since the last look to the cached
        entries of every distribution this process has cached."""
        for distribution_id, mark in list(self._watermarks.items()):
            applied = self._applied.setdefault(distribution_id, set())
            for inv in self._meta.list_invalidations(distribution_id, since=mark - CLOCK_SLACK):
                if inv.id in applied:
                    continue
                applied.add(inv.id)
                dropped = self._cache.invalidate(distribution_id, inv.paths)
                log.info("invalidation %s of %s dropped %d cached objects",
                         inv.id, distribution_id, dropped)
                mark = max(mark, inv.created)
            self._watermarks[distribution_id] = mark
