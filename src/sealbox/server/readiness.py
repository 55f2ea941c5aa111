"""``/_sealbox/health`` and ``/_sealbox/ready``, what a load balancer asks.

``health`` (liveness) is 200 whenever this process answers HTTP: restart
it only when that fails. ``ready`` (readiness) is 200 only when the stores
this node needs answer: the metadata store (one read of the access
version: a round trip on PostgreSQL) and the blob store (its
``check_ready``). Otherwise 503 with the reason of each failing store in
JSON, so the balancer sends its clients to other nodes meanwhile.

A probe must not pile up work on a store that hangs: the checks of one
probe are bounded by ``TIMEOUT`` seconds, only one check runs at a time
(probes arriving meanwhile share it), and a result is reused for
``REUSE`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sealbox.server.responses import Response

HEALTH_PATH = "/_sealbox/health"
READY_PATH = "/_sealbox/ready"
TIMEOUT = 2.0
REUSE = 1.0
_REASON_CHARS = 200

Run = Callable[..., Awaitable[Any]]  # a blocking call on the thread pool


def health() -> Response:
    return _json(200, {"status": "ok"})


class Readiness:
    """The readiness probe of one worker, over its stores."""

    def __init__(self, meta: Any, blobs: Any, run: Run,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.meta = meta
        self.blobs = blobs
        self.run = run
        self.clock = clock
        self._last: tuple[float, dict[str, str]] | None = None
        self._running: asyncio.Task[dict[str, str]] | None = None

    async def answer(self) -> Response:
        checks = await self._checks()
        failed = {name: reason for name, reason in checks.items() if reason != "ok"}
        if not failed:
            return _json(200, {"status": "ready", "checks": checks})
        message = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
        return _json(503, {"status": "unready", "checks": checks,
                           "error": {"code": "ServiceUnavailable", "message": message}})

    async def _checks(self) -> dict[str, str]:
        now = self.clock()
        if self._last is not None and now - self._last[0] < REUSE:
            return self._last[1]
        if self._running is None:
            self._running = asyncio.ensure_future(self._check_all())
        running = self._running
        try:
            checks = await asyncio.shield(running)
        finally:
            if running.done() and self._running is running:
                self._running = None
        self._last = (self.clock(), checks)
        return checks

    async def _check_all(self) -> dict[str, str]:
        metadata, blobs = await asyncio.gather(self._check(self.meta.access_version),
                                               self._check(self.blobs.check_ready))
        return {"metadata": metadata, "blobs": blobs}

    async def _check(self, call: Callable[[], object]) -> str:
        try:
            await asyncio.wait_for(self.run(call), TIMEOUT)
        except TimeoutError:
            return f"no answer within {TIMEOUT:g} s"
        except Exception as error:  # noqa: BLE001 - any failure is the reason
            text = str(error).splitlines()[0] if str(error) else ""
            return f"{type(error).__name__}: {text}"[:_REASON_CHARS]
        return "ok"


def _json(status: int, document: dict[str, Any]) -> Response:
    return Response(status, [("content-type", "application/json"),
                             ("cache-control", "no-store")], json.dumps(document).encode())
