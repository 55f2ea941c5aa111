"""The ASGI lifespan protocol: start the app before serving, stop it after.

An app that does not speak lifespan (it raises on the scope) is served
anyway, as uvicorn's ``lifespan="auto"`` does; one that reports
``lifespan.startup.failed`` is not.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("sealbox.http")


class Lifespan:
    """Drives one app's lifespan coroutine."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._started: asyncio.Future[bool] = loop.create_future()
        self._stopped: asyncio.Future[None] = loop.create_future()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def startup(self) -> bool:
        """True when the app is ready (or has no lifespan)."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._messages.put({"type": "lifespan.startup"})
        return await self._started

    async def shutdown(self, timeout: float = 10.0) -> None:
        if not self._supported or self._task is None or self._task.done():
            return
        await self._messages.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(asyncio.shield(self._stopped), timeout)
        except TimeoutError:
            log.warning("the app did not finish its shutdown in %.0f s", timeout)
            self._task.cancel()

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": {}}
        try:
            await self._app(scope, self._messages.get, self._send)
        except BaseException as error:
            if not self._started.done():
                self._supported = False
                log.info("the app does not support lifespan (%s); serving anyway", error)
                self._started.set_result(True)
            else:
                log.exception("the app's lifespan failed")
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            if not self._started.done():
                self._started.set_result(True)
            if not self._stopped.done():
                self._stopped.set_result(None)

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self._started.set_result(True)
        elif kind == "lifespan.startup.failed":
            log.error("the app failed to start: %s", message.get("message", ""))
            self._started.set_result(False)
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            if kind.endswith("failed"):
                log.error("the app failed to stop: %s", message.get("message", ""))
            if not self._stopped.done():
                self._stopped.set_result(None)
