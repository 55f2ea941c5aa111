"""Everything SQLite and PostgreSQL do differently in SQL, in one place.

Queries and tables are written once (``schema.py``, ``queries.py``,
``edge.py``, ``policies.py``, ``identity.py``) and a ``Dialect`` renders
them:

- parameters: written ``?``; psycopg wants ``%s`` (``q``). No text holds a
  literal ``?`` or ``%``.
- column types: written as tokens (``ddl``): ``{NAME}`` is ``TEXT COLLATE
  "C"`` on PostgreSQL (byte order, S3's listing order, whatever the
  database's collation) and plain ``TEXT`` on SQLite, whose BINARY
  collation is byte order already; ``{TIME}`` is ``TIMESTAMPTZ(3)`` or
  integer milliseconds; ``{BIG}``, ``{JSON}``, ``{BYTES}``, ``{BOOL}`` the
  same way; ``{WITHOUT_ROWID}`` ends SQLite's clustered tables.
- ``same``: NULL-safe equality (``IS`` / ``IS NOT DISTINCT FROM``).
- row locks: ``for_update`` and ``for_key_share`` are PostgreSQL's clauses
  under READ COMMITTED; on SQLite they are empty, since every writer holds
  the one write lock from ``BEGIN IMMEDIATE``. ``advisory_lock`` likewise.
- constraint errors: which exceptions mean a unique key or a foreign key
  refused a row, and ``guarded``, the savepoint PostgreSQL needs for a
  transaction to go on after one.
- U+0000: PostgreSQL text cannot hold it (``holds_nul``, ``storable``,
  ``bound``).
- times and JSON columns: ``rows`` (``rows.Rows``).
- the schema version and the access-version triggers (``migrate.py``,
  ``access_version.py``).

Why not SQLAlchemy Core: see the package docstring (``sql/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, ClassVar

from sealbox.store import access_version
from sealbox.store.rows import POSTGRES_ROWS, SQLITE_ROWS, Rows
from sealbox.store.sql import queries as _texts

try:  # psycopg is optional: only PostgresMetaStore needs it
    from psycopg import errors as _pg_errors
except ImportError:  # pragma: no cover - the PostgreSQL tests skip then
    _pg_errors = None  # type: ignore[assignment]


class Dialect:
    """How one database spells what differs; see the module docstring."""

    name: ClassVar[str]
    placeholder: ClassVar[str]
    types: ClassVar[dict[str, str]]
    for_update: ClassVar[str]
    for_key_share: ClassVar[str]
    same: ClassVar[str]  # NULL-safe equality
    holds_nul: ClassVar[bool]
    integrity: tuple[type[BaseException], ...] = ()
    unique_violation: tuple[type[BaseException], ...] = ()
    foreign_key_violation: tuple[type[BaseException], ...] = ()
    rows: Rows
    queries: _texts.Queries  # the shared texts, rendered

    def __init__(self) -> None:
        self._rendered: dict[str, str] = {}

    def q(self, sql: str) -> str:
        """``sql`` with this database's parameter marker for each ``?``."""
        return sql

    def ddl(self, text: str) -> str:
        """A table or index definition with its type tokens rendered."""
        return text.format_map(self.types)

    def storable(self, *texts: str) -> bool:
        """Whether this database can store (and so hold) every one of ``texts``."""
        return True

    def bound(self, s: str) -> str:
        """A listing bound as this database can compare it: on PostgreSQL cut
        at U+0000 (no stored name lies between ``s[:i]`` and ``s``, since none
        contains U+0000, so "> s" is "> s[:i]")."""
        return s

    def guarded(self, c: Any) -> Any:
        """A context for a write a constraint may refuse, after which the
        transaction must go on."""
        return nullcontext()

    def advisory_lock(self, c: Any, name: str) -> None:
        """Serialise writers that count, then insert (quotas), until commit."""

    # -- schema version and the access version ----------------------------------
    def read_version(self, c: Any) -> int:
        raise NotImplementedError

    def write_version(self, c: Any, version: int) -> None:
        raise NotImplementedError

    def access_schema(self) -> tuple[str, ...]:
        raise NotImplementedError

    def access_triggers(self, tables: tuple[str, ...]) -> tuple[str, ...]:
        raise NotImplementedError


class SqliteDialect(Dialect):
    name = "sqlite"
    placeholder = "?"
    types: ClassVar[dict[str, str]] = {
        "NAME": "TEXT", "TIME": "INTEGER", "BIG": "INTEGER", "JSON": "TEXT", "BYTES": "BLOB",
        "BOOL": "INTEGER", "WITHOUT_ROWID": " WITHOUT ROWID",
    }
    for_update = ""
    for_key_share = ""
    same = "IS"
    holds_nul = True
    rows = SQLITE_ROWS
    queries = _texts.SQLITE

    def __init__(self) -> None:
        super().__init__()
        import sqlite3

        self.integrity = (sqlite3.IntegrityError,)
        self.unique_violation = self.foreign_key_violation = self.integrity

    def read_version(self, c: Any) -> int:
        return int(c.execute("PRAGMA user_version").fetchone()[0])

    def write_version(self, c: Any, version: int) -> None:
        c.execute(f"PRAGMA user_version = {int(version)}")

    def access_schema(self) -> tuple[str, ...]:
        return access_version.sqlite_schema()

    def access_triggers(self, tables: tuple[str, ...]) -> tuple[str, ...]:
        return access_version.sqlite_triggers(tables)


class PostgresDialect(Dialect):
    name = "postgres"
    placeholder = "%s"
    types: ClassVar[dict[str, str]] = {
        "NAME": 'TEXT COLLATE "C"', "TIME": "TIMESTAMPTZ(3)", "BIG": "BIGINT", "JSON": "JSON",
        "BYTES": "BYTEA", "BOOL": "BOOLEAN", "WITHOUT_ROWID": "",
    }
    for_update = " FOR UPDATE"
    for_key_share = " FOR KEY SHARE"
    same = "IS NOT DISTINCT FROM"
    holds_nul = False
    rows = POSTGRES_ROWS
    queries = _texts.POSTGRES

    def __init__(self) -> None:
        super().__init__()
        if _pg_errors is not None:
            self.integrity = (_pg_errors.IntegrityError,)
            self.unique_violation = (_pg_errors.UniqueViolation,)
            self.foreign_key_violation = (_pg_errors.ForeignKeyViolation,)

    def q(self, sql: str) -> str:
        done = self._rendered.get(sql)
        if done is None:
            done = self._rendered[sql] = sql.replace("?", "%s")
        return done

    def storable(self, *texts: str) -> bool:
        return not any("\x00" in t for t in texts)

    def bound(self, s: str) -> str:
        i = s.find("\x00")
        return s if i < 0 else s[:i]

    @contextmanager
    def guarded(self, c: Any) -> Iterator[None]:
        with c.connection.transaction():  # a savepoint inside the transaction
            yield

    def advisory_lock(self, c: Any, name: str) -> None:
        # Per schema, as the migration lock.
        c.execute("SELECT pg_advisory_xact_lock(hashtext(%s || current_schema()))", (name,))

    def read_version(self, c: Any) -> int:
        # Nodes starting together take turns; the key is per schema.
        c.execute("SELECT pg_advisory_xact_lock(hashtext('sealbox.migrate.' || current_schema()))")
        c.execute(
            "CREATE TABLE IF NOT EXISTS sealbox_schema ("
            " version INTEGER PRIMARY KEY,"
            " applied TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        row = c.execute("SELECT max(version) FROM sealbox_schema").fetchone()
        return int((row[0] if row else None) or 0)

    def write_version(self, c: Any, version: int) -> None:
        c.execute("INSERT INTO sealbox_schema (version) VALUES (%s)", (version,))

    def access_schema(self) -> tuple[str, ...]:
        return access_version.postgres_schema()

    def access_triggers(self, tables: tuple[str, ...]) -> tuple[str, ...]:
        return access_version.postgres_triggers(tables)


SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()
