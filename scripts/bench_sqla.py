"""A point SELECT through SQLAlchemy Core vs the raw sqlite3 cursor (issue 12).

Same file, same table (the objects table's shape), same row, 10k lookups,
min of 5 rounds. Run with SQLAlchemy importable, e.g.
``pip install --target /tmp/sqla sqlalchemy; PYTHONPATH=/tmp/sqla python scripts/bench_sqla.py``.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time

from sqlalchemy import Column, Integer, MetaData, Table, Text, bindparam, create_engine, select

N, ROUNDS = 10_000, 5


def best(fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) / N * 1e6


def main() -> None:
    path = tempfile.mktemp(suffix=".db")
    raw = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    raw.execute("CREATE TABLE objects (bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER, "
                "etag TEXT, last_modified INTEGER, segments TEXT, PRIMARY KEY (bucket, key))")
    raw.executemany("INSERT INTO objects VALUES (?,?,?,?,?,?)",
                    [("b", f"k{i}", i, "e", 0, "[]") for i in range(1000)])
    sql = "SELECT bucket, key, size, etag, last_modified, segments FROM objects " \
          "WHERE bucket = ? AND key = ?"

    def raw_loop() -> None:
        ex = raw.execute
        for _ in range(N):
            ex(sql, ("b", "k500")).fetchone()

    md = MetaData()
    t = Table("objects", md, Column("bucket", Text, primary_key=True),
              Column("key", Text, primary_key=True), Column("size", Integer),
              Column("etag", Text), Column("last_modified", Integer), Column("segments", Text))
    engine = create_engine(f"sqlite:///{path}")
    stmt = select(t).where(t.c.bucket == bindparam("b"), t.c.key == bindparam("k"))

    def core_loop() -> None:
        with engine.connect() as conn:
            ex = conn.execute
            for _ in range(N):
                ex(stmt, {"b": "b", "k": "k500"}).fetchone()

    # The same Core statement, compiled once and run on the raw DBAPI connection
    # (what a "Core for DDL only" design would do on the hot path).
    compiled = str(stmt.compile(engine))

    def compiled_loop() -> None:
        with engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            for _ in range(N):
                dbapi.execute(compiled, ("b", "k500")).fetchone()  # type: ignore[union-attr]

    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    for name, fn in (("raw sqlite3", raw_loop), ("sqlalchemy core execute(select)", core_loop),
                     ("core-compiled text on raw conn", compiled_loop)):
        print(f"{name:34s} {best(fn):6.2f} µs/lookup")


if __name__ == "__main__":
    main()
