"""A SQL store acting in another account: a shallow copy of it that shares
its connections and caches (identity and edge stores narrow it to one
account's names)."""

from __future__ import annotations

import copy
from typing import TypeVar

Store = TypeVar("Store")


def shared_copy(store: Store) -> Store:
    """A shallow copy of ``store`` on the same connections."""
    opened = getattr(store, "_get_pool", None)
    if opened is not None:
        opened()  # PostgreSQL's pool opens lazily: open it here, so the copy shares it
    return copy.copy(store)
