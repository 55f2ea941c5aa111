"""sealbox.server.h1.admission: the connection caps, with made-up
connections and a loop whose clock the test moves."""

from __future__ import annotations

from typing import Any

import pytest

from sealbox.server.h1.admission import EVICT_AFTER, Admission


class Loop:
    """Enough of an event loop: a clock, and callbacks run when the test says."""

    def __init__(self) -> None:
        self.now = 100.0
        self.soon: list[Any] = []
        self.later: list[tuple[float, Any]] = []

    def time(self) -> float:
        return self.now

    def call_soon(self, fn: Any) -> None:
        self.soon.append(fn)

    def call_later(self, delay: float, fn: Any) -> Any:
        entry = (self.now + delay, fn)
        self.later.append(entry)
        return _Handle(self, entry)

    def run(self, seconds: float = 0.0) -> None:
        self.now += seconds
        while self.soon or any(t <= self.now for t, _ in self.later):
            for fn in self.soon[:]:
                self.soon.remove(fn)
                fn()
            for entry in [e for e in self.later if e[0] <= self.now]:
                self.later.remove(entry)
                entry[1]()


class _Handle:
    def __init__(self, loop: Loop, entry: tuple[float, Any]) -> None:
        self.loop, self.entry = loop, entry

    def cancel(self) -> None:
        if self.entry in self.loop.later:
            self.loop.later.remove(self.entry)


class Conn:
    """A connection: idle since ``idle_since``, or busy."""

    def __init__(self, admission: Admission, client: str | None, idle_since: float,
                 busy: bool = False) -> None:
        self.admission, self.client = admission, client
        self.idle_since, self.busy = idle_since, busy
        self.evicted = False

    def evictable(self, before: float) -> bool:
        return not self.busy and self.idle_since <= before

    def evict(self) -> None:
        self.evicted = True
        self.admission.lost(self, self.client)


def make(**caps: int) -> tuple[Admission, Loop, list[str]]:
    loop = Loop()
    admission = Admission(loop, **caps)  # type: ignore[arg-type]
    events: list[str] = []
    admission.on_pause = lambda: events.append("pause")
    admission.on_resume = lambda: events.append("resume")
    return admission, loop, events


def arrive(admission: Admission, loop: Loop, client: str | None = "10.0.0.1",
           busy: bool = False) -> tuple[Conn, bool]:
    conn = Conn(admission, client, loop.now, busy)
    admission.arrived(conn)  # type: ignore[arg-type]
    return conn, admission.admit(conn, client)  # type: ignore[arg-type]


def test_no_caps_admits_everyone() -> None:
    admission, loop, events = make()
    assert all(arrive(admission, loop)[1] for _ in range(1000))
    loop.run()
    assert (admission.open, events) == (1000, [])


def test_a_client_at_its_cap_is_refused_when_none_of_its_connections_is_idle() -> None:
    admission, loop, _ = make(max_per_client=2)
    assert [arrive(admission, loop, busy=True)[1] for _ in range(3)] == [True, True, False]
    assert arrive(admission, loop, "10.0.0.2")[1]  # another client is not affected
    assert admission.open == 3  # the refused one does not count


def test_a_client_at_its_cap_gives_up_its_longest_idle_connection() -> None:
    admission, loop, _ = make(max_per_client=2)
    first, _ = arrive(admission, loop)
    loop.run(1)
    second, _ = arrive(admission, loop)
    loop.run(EVICT_AFTER)
    _, admitted = arrive(admission, loop)
    assert admitted and first.evicted and not second.evicted
    assert admission.open == 2


def test_a_cap_of_one_per_client_still_makes_room() -> None:
    admission, loop, _ = make(max_per_client=1)
    first, _ = arrive(admission, loop)
    loop.run(EVICT_AFTER)
    _, admitted = arrive(admission, loop)
    assert admitted and first.evicted
    assert admission.open == 1


def test_connections_just_made_are_not_closed_to_make_room() -> None:
    admission, loop, _ = make(max_per_client=1)
    arrive(admission, loop)
    loop.run(EVICT_AFTER / 2)
    assert arrive(admission, loop)[1] is False


def test_at_the_process_cap_idle_connections_are_closed_oldest_first_to_a_low_water_mark(
        ) -> None:
    admission, loop, events = make(max_connections=32)
    conns = []
    for _ in range(31):
        conns.append(arrive(admission, loop)[0])
        loop.run(0.1)
    loop.run(EVICT_AFTER)
    arrive(admission, loop)
    loop.run()
    evicted = [c.evicted for c in conns]
    assert evicted == [True] * 3 + [False] * 28  # 32 -> 29: a cap - 1 - cap/16 low water
    assert admission.open == admission.low_water == 29
    assert events == []  # room was made: accepting never stopped


def test_at_the_process_cap_with_nothing_idle_accepting_stops_and_resumes_when_room_is_made(
        ) -> None:
    admission, loop, events = make(max_connections=4)
    busy = [arrive(admission, loop, busy=True)[0] for _ in range(4)]
    loop.run()
    assert events == ["pause"]
    loop.run(EVICT_AFTER)  # tried again: still nothing idle
    assert events == ["pause"]
    for conn in busy:  # their answers went out: idle now
        conn.busy = False
        conn.idle_since = loop.now
    loop.run(EVICT_AFTER)
    assert events == ["pause", "resume"]
    assert admission.open == admission.low_water == 3


def test_accepting_resumes_when_connections_close_down_to_the_low_water_mark() -> None:
    admission, loop, events = make(max_connections=4)
    busy = [arrive(admission, loop, busy=True)[0] for _ in range(4)]
    loop.run()
    admission.lost(busy[0], busy[0].client)
    assert events == ["pause", "resume"]  # 3: the low water mark of a cap of 4


def test_an_arrival_never_made_is_forgotten_after_the_arrival_timeout() -> None:
    # A TLS handshake that failed: asyncio never tells the protocol.
    admission, loop, _ = make(max_connections=10, arrival_timeout=5.0)
    admission.arrived(Conn(admission, None, loop.now))  # type: ignore[arg-type]
    assert admission.open == 1
    loop.run(4)
    admission.sweep(loop.now)
    assert admission.open == 1
    loop.run(2)
    admission.sweep(loop.now)
    assert admission.open == 0


def test_the_cap_is_checked_after_the_accept_loop_not_inside_it() -> None:
    admission, loop, events = make(max_connections=2)
    for _ in range(3):
        admission.arrived(Conn(admission, None, loop.now, busy=True))  # type: ignore[arg-type]
    assert events == [] and len(loop.soon) == 1  # one pass, later
    loop.run()
    assert events == ["pause"]


@pytest.mark.parametrize("cap", [1, 2, 16, 1000])
def test_the_low_water_mark_is_below_the_cap(cap: int) -> None:
    admission = Admission(Loop(), max_connections=cap)  # type: ignore[arg-type]
    assert 0 <= admission.low_water < cap
