"""One tick of the blob sweep: whichever process of whichever node takes
the lease (store/sql/blob_sweep.py) removes the blobs no record names from
one page of the store's listing, from where the last holder stopped, and
aborts the backend uploads killed processes left (store/s3_uploads.py).

Before, every process of every node listed the whole store each hour:
with N nodes of W workers, N×W listings of the whole bucket an hour, each
in one go. Now one process at a time sweeps, a bounded page per tick
(``SWEEP_PAGE_KEYS`` keys on an S3 backend), and a pass over the store
starts at most every ``PASS_INTERVAL`` seconds. Local files have no
cursor: their one-go sweep runs under the same lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sealbox.store.blobs import BlobStore

PASS_INTERVAL = 3600
# A tick's page takes seconds; a holder killed mid-page keeps the lease
# this long, then another takes over from the same cursor.
LEASE_SECONDS = 900


@dataclass(frozen=True)
class SweepTick:
    """What one tick did, when this process held the lease."""

    removed: int  # blobs no record named
    aborted: int  # backend uploads a killed process left
    cursor: str  # where the next tick goes on ('' : the pass is done)


def store_name(blobs: BlobStore) -> str:
    """The name the lease and cursor are kept under: the bucket's URL, or
    the files' directory (nodes that share it share the sweep)."""
    location = getattr(blobs, "location", None)
    if location is not None:
        return str(location.url)
    return "file://" + str(getattr(blobs, "root", ""))


def sweep_tick(meta: Any, blobs: BlobStore, holder: str, now: int, *,
               min_age_seconds: float, page_keys: int | None = None,
               interval: int = PASS_INTERVAL) -> SweepTick | None:
    """Sweep one page if this process takes the lease and a pass is under
    way or due; None if another holds it. ``meta``: the MetaStore."""
    name = store_name(blobs)
    state = meta.claim_blob_sweep(name, holder, now, LEASE_SECONDS)
    if state is None:
        return None
    cursor, finished = state.cursor, state.pass_finished
    removed = aborted = 0
    try:
        abort_stale = getattr(blobs, "abort_stale_uploads", None)
        if abort_stale is not None:
            aborted = abort_stale(min_age_seconds)
        if cursor or now >= finished + interval:
            sweep_page = getattr(blobs, "sweep_page", None)
            if sweep_page is None:
                removed = blobs.sweep(meta.referenced_blob_ids(),
                                      min_age_seconds=min_age_seconds)
                cursor = ""
            else:
                kwargs = {} if page_keys is None else {"limit": page_keys}
                removed, cursor = sweep_page(meta.referenced_blob_ids,
                                             min_age_seconds=min_age_seconds, after=cursor,
                                             **kwargs)
            if not cursor:
                finished = now
    finally:
        # On failure the cursor stays where the last good page left it.
        meta.release_blob_sweep(name, holder, cursor, finished)
    return SweepTick(removed, aborted, cursor)
