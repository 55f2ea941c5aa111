"""The one migrator: brings a database to ``schema.SCHEMA_VERSION``.

The caller opens the transaction (SQLite: ``BEGIN IMMEDIATE``, the write
lock; PostgreSQL: a transaction whose advisory lock, taken by
``read_version``, lets nodes starting together migrate once) and commits
it: every missing step is applied in it, so a failed upgrade leaves the
database at its old version.
"""

from __future__ import annotations

from typing import Any

from sealbox.store.sql.dialect import Dialect
from sealbox.store.sql.schema import SCHEMA_VERSION, STEPS


def migrate(c: Any, d: Dialect, where: str = "") -> int:
    """Apply the steps ``c``'s database lacks; the version it was at.

    ``RuntimeError`` if it is newer than this sealbox (``where`` names it).
    """
    version = d.read_version(c)
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"{where}schema version {version} is newer than this sealbox understands "
            f"({SCHEMA_VERSION}); upgrade sealbox"
        )
    for v in range(version, SCHEMA_VERSION):
        for stmt in STEPS[v].statements(d):
            c.execute(stmt)
        d.write_version(c, v + 1)
    return version
