"""What a forked child must not inherit in use: locks another thread of the
parent may have held, work in flight, ids it must not draw again.

``sealbox serve --workers N`` forks after the app is built, so objects that
hold such state reset themselves in the child. The reset holds its object
weakly: registering it does not keep the object alive.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def reset_in_child(owner: T, reset: Callable[[T], None]) -> None:
    """Call ``reset(owner)`` in every child forked from now on, while
    ``owner`` is alive."""
    ref = weakref.ref(owner)

    def after_fork() -> None:
        alive = ref()
        if alive is not None:
            reset(alive)

    os.register_at_fork(after_in_child=after_fork)
