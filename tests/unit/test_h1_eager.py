"""sealbox.server.h1.eager: a coroutine runs at once, and becomes a Task only if it waits."""

from __future__ import annotations

import asyncio

import pytest

from sealbox.server.h1 import eager


def run(coro_fn):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_fn())


def test_a_coroutine_that_never_waits_ends_before_start_returns() -> None:
    async def main() -> None:
        seen: list[object] = []

        async def work() -> None:
            seen.append("ran")

        task = eager.start(asyncio.get_running_loop(), work(), seen.append)
        assert task is None and seen == ["ran", None]

    run(main)


def test_a_coroutine_that_waits_goes_on_in_a_task_with_the_values_it_awaits() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        done: list[object] = []
        steps: list[object] = []
        future: asyncio.Future[int] = loop.create_future()

        async def work() -> None:
            steps.append("before")
            steps.append(await future)
            await asyncio.sleep(0)
            steps.append(await loop.run_in_executor(None, lambda: 7))

        task = eager.start(loop, work(), done.append)
        assert task is not None and steps == ["before"] and done == []
        future.set_result(42)
        await task
        assert steps == ["before", 42, 7] and done == [None]

    run(main)


@pytest.mark.parametrize("wait", [False, True])
def test_errors_reach_done_whether_or_not_the_coroutine_waited(wait: bool) -> None:
    async def main() -> None:
        done: list[object] = []

        async def work() -> None:
            if wait:
                await asyncio.sleep(0)
            raise ValueError("boom")

        task = eager.start(asyncio.get_running_loop(), work(), done.append)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        assert len(done) == 1 and isinstance(done[0], ValueError)

    run(main)


def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    async def main() -> None:
        done: list[object] = []
        cleaned: list[str] = []

        async def work() -> None:
            try:
                await asyncio.sleep(10)
            finally:
                cleaned.append("finally")

        task = eager.start(asyncio.get_running_loop(), work(), done.append)
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert cleaned == ["finally"] and isinstance(done[0], asyncio.CancelledError)

    run(main)
