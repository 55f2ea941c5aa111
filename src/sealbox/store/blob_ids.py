"""Blob ids: 32 lower-case hex digits from the OS's random source.

Every blob store names blobs by these alone (never by object keys), and
checks every id given back to it before it becomes a path or a backend key,
so no input can name anything outside the store.
"""

from __future__ import annotations

import re
import secrets
import threading

from sealbox.store.forks import reset_in_child

ID = re.compile(r"[0-9a-f]{32}")


def check_id(blob_id: str) -> str:
    """``blob_id`` if it is a blob id; ``ValueError`` otherwise."""
    if not isinstance(blob_id, str) or ID.fullmatch(blob_id) is None:
        raise ValueError(f"not a blob id: {blob_id!r}")
    return blob_id


class BlobIds:
    """Fresh random blob ids, 128 bits from the OS each, drawn 256 at a
    time: one getrandom call (which lets go of the GIL) per 256 uploads."""

    _BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: list[str] = []
        reset_in_child(self, type(self)._reset_in_child)

    def _reset_in_child(self) -> None:
        """A forked child must never reuse the parent's ids."""
        self._lock = threading.Lock()
        self._ids = []

    def next(self) -> str:
        with self._lock:
            if not self._ids:
                raw = secrets.token_bytes(16 * self._BATCH)
                self._ids = [raw[i:i + 16].hex() for i in range(0, len(raw), 16)]
            return self._ids.pop()
