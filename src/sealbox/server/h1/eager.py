"""Run a request's ASGI coroutine at once, and make it a Task only if it waits.

Most requests (a presigned GET on SQLite: inline reads, a response the
transport takes at once) never wait for anything, so creating a Task and a
trip through the event loop per request is pure cost. ``start`` steps the
coroutine in the caller's frame; if it yields a future, the half-run
coroutine is handed to a Task that carries on exactly where it stopped (the
same future is passed on, so the Task waits for it as it would have). This
is what ``asyncio.eager_task_factory`` does in Python 3.12, for one
coroutine, on 3.11.

The difference an app can see: ``asyncio.current_task()`` is None until
its first wait. sealbox's app does not ask.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any

Done = Callable[[BaseException | None], None]


def start(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
          done: Done) -> asyncio.Task[Any] | None:
    """Run ``coro`` until it ends or first waits; ``done(error)`` is called
    when it ends (``error`` None on a normal return). Returns the Task that
    runs the rest, or None if it ended here."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        done(None)
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - the app's failure: the caller answers 500
        done(error)
        return None
    task = loop.create_task(_carry_on(coro, yielded))
    task.add_done_callback(
        lambda t: done(asyncio.CancelledError() if t.cancelled() else t.exception()))
    return task


async def _carry_on(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    return await _resume(coro, yielded)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Yield what ``coro`` yielded to the Task driving us, and pass back
    what the Task sends or throws (a cancellation), until ``coro`` returns."""
    while True:
        try:
            value = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as error:  # noqa: BLE001 - a cancellation, passed on to coro
            try:
                yielded = coro.throw(error)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(value)
            except StopIteration as stop:
                return stop.value
