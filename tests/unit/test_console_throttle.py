"""Failed console sign-ins per address (sealbox.console.throttle)."""

from __future__ import annotations

from sealbox.console.throttle import SignInThrottle


def test_an_address_waits_after_the_limit_until_its_window_ends() -> None:
    throttle = SignInThrottle(limit=3, window=300)
    for second in range(3):
        assert throttle.wait("198.51.100.7", 1000 + second) == 0
        throttle.failed("198.51.100.7", 1000 + second)
    assert throttle.wait("198.51.100.7", 1010) == 290
    assert throttle.wait("203.0.113.9", 1010) == 0  # others are not slowed
    assert throttle.wait("198.51.100.7", 1300) == 0  # the window passed


def test_a_success_clears_the_count() -> None:
    throttle = SignInThrottle(limit=2, window=300)
    throttle.failed("a", 0)
    throttle.succeeded("a")
    throttle.failed("a", 1)
    assert throttle.wait("a", 2) == 0
