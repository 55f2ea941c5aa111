"""sealbox.server.h1.deadlines: the sweep's rules, on a made-up clock."""

from __future__ import annotations

import pytest

from sealbox.server.h1.deadlines import BODY, BUSY, CLOSE, HEAD, IDLE, KEEP, TIME_OUT, Watch
from sealbox.server.h1.deadlines import check as _check
from sealbox.server.h1.limits import Limits

LIMITS = Limits(keep_alive_timeout=30, header_timeout=20, body_timeout=10, min_body_rate=100)


def looks(phases: list[tuple[float, int, int]], *, answered: int = 0, idle_since: float = 0.0,
          limits: Limits = LIMITS) -> list[int]:
    """The verdicts of successive looks: (now, phase, bytes received so far)."""
    watch = Watch()
    return [_check(watch, phase, answered, idle_since, received, now, limits)
            for now, phase, received in phases]


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout_from_its_last_answer() -> None:
    assert looks([(29, IDLE, 0), (30.5, IDLE, 0)], idle_since=0.0) == [KEEP, CLOSE]


def test_a_head_times_out_from_when_it_was_first_seen_however_bytes_come() -> None:
    trickle = [(t, HEAD, t) for t in range(5, 27)]  # a byte a second, first seen at 5 s
    verdicts = looks(trickle)
    assert trickle[verdicts.index(TIME_OUT)][0] == 26  # the first look past 5 + 20 s
    assert set(verdicts[:-1]) == {KEEP}


def test_a_body_with_no_byte_for_the_body_timeout_times_out() -> None:
    assert looks([(0, BODY, 0), (5, BODY, 5000), (15, BODY, 5000), (15.5, BODY, 5000)]) == [
        KEEP, KEEP, KEEP, TIME_OUT]


@pytest.mark.parametrize(("per_second", "verdict"), [(99, TIME_OUT), (101, KEEP)])
def test_a_body_below_the_minimum_rate_over_a_window_times_out(per_second: int,
                                                               verdict: int) -> None:
    steady = [(t, BODY, t * per_second) for t in range(11)]
    assert looks(steady)[-1] == verdict


def test_each_rate_window_is_judged_on_its_own() -> None:
    # 2000 bytes at once, then 50 bytes/s: the first window passes, the second does not.
    burst_then_trickle = [(0, BODY, 0), (1, BODY, 2000)] + [
        (t, BODY, 2000 + (t - 1) * 50) for t in range(2, 22)]
    verdicts = looks(burst_then_trickle)
    assert verdicts.index(TIME_OUT) == 20  # at 20 s, the end of the second window
    assert set(verdicts[:20]) == {KEEP}


def test_time_spent_busy_does_not_count_against_the_client() -> None:
    # Reading paused for a minute (the app had not taken the body), then bytes again.
    watch = Watch()
    verdicts = [_check(watch, phase, 0, 0.0, received, now, LIMITS) for now, phase, received in
                [(0, BODY, 0), (1, BUSY, 100), (61, BUSY, 100), (62, BODY, 100),
                 (63, BODY, 400)]]
    assert verdicts == [KEEP] * 5


def test_a_new_request_restarts_the_clocks_even_if_no_look_saw_the_last_one_end() -> None:
    watch = Watch()
    assert _check(watch, HEAD, 0, 0.0, 10, 0, LIMITS) == KEEP
    # 19 s later the sweep sees a head again, but after an answer: a new one.
    assert _check(watch, HEAD, 1, 18.0, 300, 19, LIMITS) == KEEP
    assert _check(watch, HEAD, 1, 18.0, 310, 30, LIMITS) == KEEP
    assert _check(watch, HEAD, 1, 18.0, 320, 39.5, LIMITS) == TIME_OUT


@pytest.mark.parametrize("phase", [IDLE, HEAD, BODY])
def test_a_timeout_of_zero_is_off(phase: int) -> None:
    off = Limits(keep_alive_timeout=0, header_timeout=0, body_timeout=0, min_body_rate=0)
    assert looks([(0, phase, 0), (10**6, phase, 0)], limits=off) == [KEEP, KEEP]


def test_busy_is_never_timed_out() -> None:
    assert looks([(0, BUSY, 0), (10**6, BUSY, 0)]) == [KEEP, KEEP]
