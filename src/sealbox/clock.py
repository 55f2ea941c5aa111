"""The clock is a parameter: pure code is handed one, tests pass a fixed one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), tz=UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told; tests move it by hand."""

    at: datetime

    def now(self) -> datetime:
        return self.at
