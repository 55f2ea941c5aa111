"""Failed sign-ins, counted per client address: after ``LIMIT`` failures
within ``WINDOW`` seconds, the address may not try again until the window
that began with its first failure has passed (429), so a secret cannot be
guessed at the server's speed.

Per process, in memory: with N workers or nodes an address gets up to N
times the limit, still far from what guessing a 40-character secret needs.
The clock is an argument; the table is bounded (``MAX_ADDRESSES``, then
started afresh, as an attacker with that many addresses is not slowed by
one table anyway).
"""

from __future__ import annotations

LIMIT = 10
WINDOW = 300
MAX_ADDRESSES = 10_000


class SignInThrottle:
    def __init__(self, limit: int = LIMIT, window: int = WINDOW) -> None:
        self._limit = limit
        self._window = window
        self._failures: dict[str, tuple[int, int]] = {}  # address → (first, count)

    def wait(self, address: str, now: int) -> int:
        """Seconds ``address`` must wait before trying again (0: it may)."""
        entry = self._failures.get(address)
        if entry is None:
            return 0
        first, count = entry
        if now - first >= self._window:
            del self._failures[address]
            return 0
        return first + self._window - now if count >= self._limit else 0

    def failed(self, address: str, now: int) -> None:
        entry = self._failures.get(address)
        if entry is None or now - entry[0] >= self._window:
            if len(self._failures) >= MAX_ADDRESSES:
                self._failures.clear()
            self._failures[address] = (now, 1)
        else:
            self._failures[address] = (entry[0], entry[1] + 1)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)
