"""The console's object list of a prefix holding 100 000 objects: server
time of its first page (issue 18's bound: < 300 ms), in process through
the ASGI app (``SealboxApp``), no sockets, no browser: what the console's
handler, its in-process ListObjectsV2 as the principal and the template
cost together. Also the first page of a prefix of 10 objects, for scale.

    PYTHONPATH=src python bench/console_list.py [OBJECTS] [RUNS]

The objects' records are written straight into the metadata store (their
bodies are never read by a listing). Prints the best and the median of
RUNS pages, in milliseconds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealbox.config import RootCredentials, Settings
from sealbox.server.asgi import build_app
from sealbox.store.meta import Bucket, ObjectRecord, Segment

KEY, SECRET = "BENCHCONSOLEACCESSK0", "bench-console-secret-key-00000000000000000"
HOST = b"127.0.0.1:9000"


async def call(app: Any, method: str, path: str, query: str = "", body: bytes = b"",
               headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, dict[str, str],
                                                                         bytes]:
    wire = [(b"host", HOST), (b"content-length", str(len(body)).encode()), *(headers or [])]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "headers": wire, "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 9000), "scheme": "http", "http_version": "1.1"}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, answer_headers, chunks = 0, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers.update({k.decode(): v.decode() for k, v in message["headers"]})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, answer_headers, b"".join(chunks)


def seed(meta: Any, prefix: str, count: int) -> None:
    now = datetime.now(UTC)
    batch: list[ObjectRecord] = []
    for i in range(count):
        batch.append(ObjectRecord("bench", f"{prefix}{i:08d}.dat", 1024, "0" * 32, now,
                                  (Segment("none", 1024),)))
        if len(batch) == 2000:
            meta.put_objects(batch)
            batch = []
    if batch:
        meta.put_objects(batch)


async def timed(app: Any, cookie: bytes, prefix: str, runs: int) -> list[float]:
    query = f"name=bench&prefix={prefix.replace('/', '%2F')}"
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        status, _, body = await call(app, "GET", "/_sealbox/console/bucket", query,
                                     headers=[(b"cookie", cookie)])
        took.append((time.perf_counter() - started) * 1000)
        assert status == 200 and b"00000000.dat" in body, (status, body[:300])
    return took


async def main(count: int, runs: int) -> None:
    app = build_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-console-"))),
                    RootCredentials(KEY, SECRET))
    meta = app.services.meta
    meta.create_bucket(Bucket("bench", datetime.now(UTC), "us-east-1", "root"))
    seeded = time.perf_counter()
    seed(meta, "big/", count)
    seed(meta, "small/", 10)
    print(f"seeded {count} records in {time.perf_counter() - seeded:.1f} s")
    form = f"access_key={KEY}&secret_key={SECRET}".encode()
    status, headers, _ = await call(app, "POST", "/_sealbox/console/signin", body=form,
                                    headers=[(b"content-type",
                                              b"application/x-www-form-urlencoded")])
    assert status == 303, status
    cookie = headers["set-cookie"].split(";")[0].encode()
    for prefix in ("big/", "small/"):
        took = await timed(app, cookie, prefix, runs)
        print(f"first page of {prefix!r}: best {min(took):.1f} ms, "
              f"median {statistics.median(took):.1f} ms over {runs}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args or [100_000, 20])))
