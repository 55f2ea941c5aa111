"""Requests through links judged and counted in batches on the event loop
(``links.uses``): the requests that arrive during a commit go together in
the next one, in arrival order, each answered (its verdict) only after its
own batch committed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from sealbox.links.model import USED_UP
from sealbox.links.terms import LinkRequest, LinkTerms, Verdict
from sealbox.links.uses import MAX_BATCH, UseBatches

TERMS = LinkTerms("AKID", "GET", "b", "k", None, (), None, None, 5)


class CountingStore:
    """Uses left per link; records each batch it was handed."""

    def __init__(self, uses_left: dict[str, int], fail: bool = False) -> None:
        self.uses_left = uses_left
        self.batches: list[list[str]] = []
        self.fail = fail
        self.committing = threading.Event()

    def admit_links(self, asked: Sequence[LinkRequest]) -> list[Verdict]:
        self.batches.append([r.link_id for r in asked])
        if self.fail:
            raise OSError("disk I/O error")
        verdicts: list[Verdict] = []
        for request in asked:
            left = self.uses_left.get(request.link_id, 0)
            self.uses_left[request.link_id] = left - 1
            verdicts.append((TERMS, None if left > 0 else USED_UP))
        return verdicts


def _asked(link_id: str) -> LinkRequest:
    return LinkRequest(link_id, "AKID", "GetObject", "b", "k", None, "127.0.0.1", {})


class Uses:
    """``UseBatches`` as True (admitted) / False (used up), as these tests read it."""

    def __init__(self, batches: UseBatches) -> None:
        self.batches = batches

    async def use(self, link_id: str) -> bool:
        terms, refused = await self.batches.use(_asked(link_id))
        assert terms is TERMS
        return refused is None


def _in_thread() -> Callable[..., Any]:
    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        await asyncio.sleep(0.01)  # a commit takes a while: uses pile up meanwhile
        return await asyncio.to_thread(fn, *args)
    return run


def test_uses_arriving_together_share_a_batch_and_the_limit_holds_exactly() -> None:
    store = CountingStore({"five": 5, "one": 1})
    batches = Uses(UseBatches(store, _in_thread()))

    async def burst() -> list[bool]:
        first = asyncio.ensure_future(batches.use("five"))
        await asyncio.sleep(0.002)  # its commit is under way
        rest = await asyncio.gather(*(batches.use("five") for _ in range(19)),
                                    batches.use("one"), batches.use("one"))
        return [await first, *rest]

    admitted = asyncio.run(burst())
    assert admitted[:20].count(True) == 5
    assert admitted[:5] == [True] * 5  # in arrival order
    assert admitted[20:] == [True, False]
    # The first use goes alone; the 21 that arrived during its commit go together.
    assert [len(b) for b in store.batches] == [1, 21]


def test_a_failed_commit_fails_every_use_in_its_batch_and_the_next_batch_still_runs() -> None:
    store = CountingStore({"a": 3}, fail=True)
    batches = Uses(UseBatches(store, _in_thread()))

    async def two_rounds() -> tuple[list[Any], bool]:
        failed = await asyncio.gather(batches.use("a"), batches.use("a"),
                                      return_exceptions=True)
        store.fail = False
        return failed, await batches.use("a")

    failed, later = asyncio.run(two_rounds())
    assert all(isinstance(e, OSError) for e in failed)
    assert failed[0] is not failed[1]  # each request raises its own instance
    assert later is True


def test_a_batch_is_bounded() -> None:
    store = CountingStore({"n": 10_000})
    batches = Uses(UseBatches(store, _in_thread()))

    async def many() -> None:
        await asyncio.gather(*(batches.use("n") for _ in range(MAX_BATCH * 2 + 1)))

    asyncio.run(many())
    assert max(len(b) for b in store.batches) == MAX_BATCH
    assert sum(len(b) for b in store.batches) == MAX_BATCH * 2 + 1


@pytest.mark.parametrize("count", [1, 3])
def test_a_cancelled_request_does_not_stop_the_others(count: int) -> None:
    store = CountingStore({"x": 10})
    batches = Uses(UseBatches(store, _in_thread()))

    async def scenario() -> list[bool]:
        first = asyncio.ensure_future(batches.use("x"))
        others = [asyncio.ensure_future(batches.use("x")) for _ in range(count)]
        await asyncio.sleep(0)
        first.cancel()
        return list(await asyncio.gather(*others))

    assert asyncio.run(scenario()) == [True] * count
