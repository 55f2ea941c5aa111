"""Group commit for SQLite: writers that arrive together share one commit,
and so one fsync of the WAL.

With ``synchronous=FULL`` every commit waits for an fsync, and SQLite takes
one writer at a time, so concurrent PUTs queued for the write lock and each
paid a whole fsync of its own. Here a writer hands its work (a function of a
connection) to the group and waits: the first to find no commit in progress
leads, takes every piece of work waiting, runs each inside a savepoint of one
transaction on the group's own connection (its page cache stays warm), commits
once, and hands each writer its own result or error. Writers that arrived
during that commit make up the next group.

Nothing is acknowledged early: a writer's call returns only after the commit
that holds its work has returned, i.e. after the WAL is on disk; if that
commit fails, every writer in the group gets the error and none of their work
is kept. One piece of work that fails is rolled back to its savepoint alone.
"""

from __future__ import annotations

import copy
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sealbox.store.forks import reset_in_child

T = TypeVar("T")
Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


class _Work(Generic[T]):
    __slots__ = ("done", "error", "fn", "value")

    def __init__(self, fn: Callable[[sqlite3.Connection], T]) -> None:
        self.fn = fn
        self.done = False
        self.value: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Runs writers' work in shared transactions; see the module docstring."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction  # a write transaction on the group's connection
        self._cond = threading.Condition()
        self._waiting: list[_Work[Any]] = []
        self._leading = False
        reset_in_child(self, type(self)._reset_in_child)

    def _reset_in_child(self) -> None:
        """A forked child has no writers in flight."""
        self._cond = threading.Condition()
        self._waiting = []
        self._leading = False

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` inside a transaction, committed before this returns."""
        work: _Work[T] = _Work(fn)
        with self._cond:
            self._waiting.append(work)
            while self._leading and not work.done:
                self._cond.wait()
            if not work.done:
                self._leading = True
                group, self._waiting = self._waiting, []
        if not work.done:
            self._lead(group)
        if work.error is not None:
            raise work.error
        return work.value  # type: ignore[return-value]

    def run_together(self, fns: list[Callable[[sqlite3.Connection], T]]
                     ) -> list[tuple[T | None, BaseException | None]]:
        """Each of ``fns`` in its own savepoint of one commit (with whatever
        else waits); each one's (value, None) or (None, error)."""
        works: list[_Work[T]] = [_Work(fn) for fn in fns]
        with self._cond:
            while self._leading:
                self._cond.wait()
            self._leading = True
            group: list[_Work[Any]] = [*self._waiting, *works]
            self._waiting = []
        self._lead(group)
        return [(work.value, work.error) for work in works]

    def _lead(self, group: list[_Work[Any]]) -> None:
        """Commit ``group`` (this thread leads it), then hand the lead on."""
        try:
            self._commit(group)
        finally:
            with self._cond:
                for each in group:
                    each.done = True
                self._leading = False
                self._cond.notify_all()

    def _commit(self, group: list[_Work[Any]]) -> None:
        try:
            with self._transaction() as conn:
                for work in group:
                    conn.execute("SAVEPOINT work")
                    try:
                        work.value = work.fn(conn)
                    except BaseException as error:  # noqa: BLE001 - that writer's, handed back
                        work.error = error
                        conn.execute("ROLLBACK TO work")
                    conn.execute("RELEASE work")
        except BaseException as error:  # noqa: BLE001 - the commit failed: it is everyone's
            for work in group:
                if work.error is None:
                    # One instance per writer: each raises it in its own thread.
                    work.error = copy.copy(error)
                    work.value = None
