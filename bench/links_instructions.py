"""Instructions a request costs, counted by callgrind: the links' GETs of
1 KiB through the ASGI app in process, for a machine too shared for wall
clocks (the count does not move with other processes' load).

Each mode runs twice under ``valgrind --tool=callgrind`` (every thread
counted: the executor's commits and the audit writer's too), with
``SMALL`` and ``LARGE`` requests after the same start-up and warm-up; the
difference divided by ``LARGE - SMALL`` is one request's cost, start-up
and imports cancelled out. Requests run ``CONCURRENCY`` at a time (as
wrk's connections do, so one-time links' uses share commits as they do
under load). Modes:

- ``plain``: one boto3-style presigned URL, repeated (its signature
  verified once, then remembered);
- ``presigned-new``: a new presigned URL each request (a new signature);
- ``link``: one unlimited managed link, repeated;
- ``link-new``: a new unlimited managed link each request (a new
  signature and a new record);
- ``one-time``: a new one-time link each request (its use committed).

    PYTHONPATH=src python bench/links_instructions.py [MODE ...] [--small 400 --large 1200]

Prints thousands of instructions per request, and each ratio to ``plain``.
With ``--keep DIR`` the callgrind outputs stay there for ``callgrind_annotate``.
With ``--cpu ROUNDS`` there is no callgrind: the same requests in this
process, timed by its CPU time (user and system), best of ROUNDS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from links_inprocess import call as inprocess_call  # beside this file

KEY, SECRET = "BENCHLINKSACCESSKEY0", "bench-links-secret-key-0000000000000000000"
ENDPOINT = "http://127.0.0.1:9000"
MODES = ("plain", "presigned-new", "link", "link-new", "one-time")
WARM = 300
CONCURRENCY = 32


def prepare(data: Path, count: int) -> None:
    """The bucket, the object, and one URL file per mode (``count`` URLs
    for the modes that need a new one per request)."""
    from sealbox.auth.principal import Credential, root_principal
    from sealbox.auth.sigv4.presign import presign_url
    from sealbox.config import RootCredentials, Settings
    from sealbox.links.create import link_url, url_signature
    from sealbox.links.model import LinkSpec, fingerprint, new_link_id
    from sealbox.server.asgi import build_app

    root = Credential(KEY, SECRET, root_principal(KEY))
    now = datetime.now(UTC)

    def signed(method: str, path: str, expires: int = 3600) -> str:
        return presign_url(method, ENDPOINT + path, root, "us-east-1", expires, now)

    async def seed() -> None:
        app = build_app(Settings(data_dir=data), RootCredentials(KEY, SECRET))
        assert (await call(app, "PUT", signed("PUT", "/bench")))[0] == 200
        assert (await call(app, "PUT", signed("PUT", "/bench/one-kib"), b"x" * 1024))[0] == 200
        app.services.meta.close()  # type: ignore[attr-defined]

    asyncio.run(seed())
    rows: list[tuple[Any, ...]] = []

    def links(max_uses: int | None, n: int) -> list[str]:
        spec = LinkSpec("bench", "one-kib", max_uses=max_uses)
        urls = []
        for _ in range(n):
            link_id = new_link_id()
            url = link_url(spec, link_id, root, ENDPOINT, "us-east-1", now)
            urls.append(url)
            rows.append((link_id, KEY, root.principal.arn, "bench", "one-kib", "GET",
                         int(now.timestamp()), int(now.timestamp()) + 3600, max_uses, 0, "",
                         None, None, "", fingerprint(url_signature(url))))
        return urls

    files = {
        "plain": [signed("GET", "/bench/one-kib")],
        "presigned-new": [signed("GET", "/bench/one-kib", 3600 + i) for i in range(count)],
        "link": links(None, 1),
        "link-new": links(None, count),
        "one-time": links(1, count),
    }
    from sealbox.store.sqlite import SqliteMetaStore

    meta = SqliteMetaStore(str(data / "meta.sqlite3"))
    with meta._write() as c:  # one transaction: create_link commits each
        c.executemany("INSERT INTO links (link_id, access_key, signer, bucket, key, method, "
                      "created, expires, max_uses, uses, bind, content_type, max_size, note, "
                      "fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    meta.close()
    for mode, urls in files.items():
        (data / f"{mode}.urls").write_text("\n".join(urls) + "\n")


# What a client sends besides Host (links_inprocess.call sends Host alone).
CLIENT_HEADERS = ((b"user-agent", b"bench"), (b"accept", b"*/*"))


async def call(app: Any, method: str, url: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request through the ASGI app, as a client sends it."""
    return await inprocess_call(app, method, url, body, CLIENT_HEADERS)


async def drive(data: Path, mode: str, count: int) -> float:
    """``WARM`` requests, then ``count`` more, ``CONCURRENCY`` at a time; every
    answer a 200 with the object. The process's CPU time (user and system,
    every thread) the ``count`` requests took, in seconds."""
    sys.path.insert(0, str(HERE))
    from observe import lifespan

    from sealbox.config import RootCredentials, Settings
    from sealbox.server.asgi import build_app

    urls = (data / f"{mode}.urls").read_text().split()
    app = build_app(Settings(data_dir=data), RootCredentials(KEY, SECRET))
    await lifespan(app, "startup")
    total = WARM + count
    if len(urls) == 1:
        urls = urls * total
    assert len(urls) >= total, f"prepare more URLs: {len(urls)} < {total}"
    bad: list[tuple[int, bytes]] = []

    async def worker(queue: list[str]) -> None:
        while queue:
            status, body = await call(app, "GET", queue.pop())
            if status != 200 or len(body) != 1024:
                bad.append((status, body[:300]))

    for batch in (urls[:WARM], urls[WARM:total]):
        queue = batch[::-1]
        began = time.process_time()
        await asyncio.gather(*(worker(queue) for _ in range(CONCURRENCY)))
    audit = getattr(app, "audit", None)
    if audit is not None:
        audit.close()  # its last batch written, counted in the run
    spent = time.process_time() - began
    assert not bad, bad[:3]
    return spent


def instructions(data: Path, mode: str, count: int, keep: Path | None) -> int:
    """Instructions callgrind counted for one run (every thread)."""
    out = (keep / f"callgrind.{mode}.{count}") if keep else Path(os.devnull)
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         sys.executable, __file__, "--drive", mode, str(count), "--data", str(data)],
        capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or found is None:
        raise RuntimeError(f"{mode} {count}: {run.stderr[-3000:]}")
    return int(found.group(1))


def cpu_times(modes: list[str], count: int, rounds: int) -> int:
    """``--cpu``: what callgrind does not count (system time: SQLite's
    locks and writes), on a machine quiet enough for CPU time."""
    best = {mode: float("inf") for mode in modes}
    with tempfile.TemporaryDirectory(prefix="bench-links-cpu-") as tmp:
        for _ in range(rounds):
            for mode in modes:
                data = Path(tmp) / mode
                subprocess.run(["rm", "-rf", str(data)], check=True)
                prepare(data, WARM + count)
                spent = asyncio.run(drive(data, mode, count))
                best[mode] = min(best[mode], spent / count)
    for mode, seconds in best.items():
        print(f"{mode:14s} {seconds * 1e6:8.1f} µs of CPU a request (best of {rounds})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("modes", nargs="*", default=list(MODES))
    parser.add_argument("--small", type=int, default=400)
    parser.add_argument("--large", type=int, default=1200)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--cpu", type=int, metavar="ROUNDS",
                        help="no callgrind: the process's CPU time a request (user and system, "
                        "so the kernel's work too), best of ROUNDS, the modes alternating")
    parser.add_argument("--drive", nargs=2, metavar=("MODE", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        asyncio.run(drive(args.data, args.drive[0], int(args.drive[1])))
        return 0
    if args.cpu:
        return cpu_times(args.modes, args.large, args.cpu)
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-links-ins-") as tmp:
        for mode in args.modes:
            # A fresh copy of the store per run: one-time links are spent by a run.
            data = Path(tmp) / mode
            counts = []
            for count in (args.small, args.large):
                subprocess.run(["rm", "-rf", str(data)], check=True)
                prepare(data, WARM + args.large)
                counts.append(instructions(data, mode, count, args.keep))
            per[mode] = (counts[1] - counts[0]) / (args.large - args.small)
            print(f"{mode:14s} {per[mode] / 1000:8.1f} k instructions/request", flush=True)
    if "plain" in per:
        for mode, value in per.items():
            print(f"{mode:14s} / plain {per['plain'] / value:.3f} (throughput ratio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
