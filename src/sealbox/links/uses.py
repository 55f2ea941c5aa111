"""Admitting requests through managed links, batched on the event loop.

Every request through a link with a use limit, and through an unlimited
link the gate does not yet hold, is judged inside the transaction that
counts its use (``links.store.admit_links``: the link's terms read there,
a use counted only when they admit the request), so it pays no read
transaction of its own. A use commits before its answer starts.

Handed to the executor one by one, each use held a thread of its own in the store's
group commit, and every commit woke all of them: under a burst of
one-time links the threads' wake-ups and the executor hops cost the
event loop more than the requests themselves (measured: about 650 µs of
loop time per one-time GET, against 180 µs for a plain presigned GET).

Here the uses that arrive while a commit is in flight wait on the loop,
and go together as one batch, in one executor call and one transaction,
once that commit is done: one thread and one wake-up per batch. Each use
is still its own conditional UPDATE, in arrival order, so two uses of
the same link in one batch count as two and the limit holds exactly.
Nothing is answered before the batch that holds its use has committed;
if that commit fails, every use in it fails with the error.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sealbox.links.terms import LinkRequest, Verdict

MAX_BATCH = 512  # requests in one transaction: bounds how long the write lock is held


class UseStore(Protocol):
    def admit_links(self, asked: Sequence[LinkRequest]) -> list[Verdict]: ...


Run = Callable[[Callable[[list[LinkRequest]], list[Verdict]], list[LinkRequest]],
               Awaitable[list[Verdict]]]


class UseBatches:
    """Requests through links, judged and counted in batches: ``await
    use(request)`` is the request's verdict once its batch has committed."""

    def __init__(self, store: UseStore, run: Run) -> None:
        self._store = store
        self._run = run  # the executor (Services.run): store work off the loop
        self._waiting: list[tuple[LinkRequest, asyncio.Future[Verdict]]] = []
        self._committing = False
        self._task: asyncio.Future[None] | None = None

    async def use(self, request: LinkRequest) -> Verdict:
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if not self._committing:
            self._committing = True
            # Held: the loop keeps only a weak reference to a task.
            self._task = asyncio.ensure_future(self._commit_all())
        return await future

    async def _commit_all(self) -> None:
        """Commit batches until none waits (one at a time: the next batch is
        made of the uses that arrived during this one's commit)."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    verdicts = await self._run(self._store.admit_links, [r for r, _ in batch])
                except BaseException as error:  # noqa: BLE001 - every use in the batch failed
                    for _, future in batch:
                        if not future.done():  # one instance each: each is raised apart
                            future.set_exception(copy.copy(error))
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, future), verdict in zip(batch, verdicts, strict=True):
                    if not future.done():  # its request may have been cancelled
                        future.set_result(verdict)
        finally:
            self._committing = False
