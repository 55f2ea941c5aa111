"""What metrics and the audit trail cost a presigned GET of 1 KiB.

Two apps in one process on one data dir: one with metrics and audit on
(counters, the audit event queued, the writer thread running and
writing to SQLite), one with ``--no-metrics --audit off``. Each is driven
directly through its ASGI interface (no sockets: the HTTP server's own
cost, the same for both, would only dilute the difference) with the same
boto3 presigned URL, in rounds that alternate between the two; the figure
is each app's best round (requests per second) and their ratio.

    PYTHONPATH=src python bench/observe.py [--requests 20000] [--rounds 5]

``--wrk`` measures real servers instead: two ``sealbox serve`` processes
(one with ``--no-metrics --audit off``) on loopback, ``wrk -t1 -c16`` on
the same presigned URL at each in turn, the best run of each, and the
server's CPU time per request (from /proc: every thread, the audit
writer's included).

Figures (2026-12-07, quiet 2-core machine, --wrk, best of 4-6 × 5 s):

- the writer on a thread of its own, events in batches: off 6143 req/s
  and 162.3 µs of server CPU a request, on 4447 and 242.6 (0.72). Per
  thread (/proc/PID/task): the writer used ~23 µs of CPU an event for
  ~3 µs of work (a flush of 20 000 events alone: 2.97 µs each; a row per
  event before: 10.68): it wanted the GIL while the loop held it and woke
  at each of the loop's socket calls.
- the batch prepared on the event loop, only the SQL in the executor:
  off 5778 / 172.2 µs, on 5009 / 201.6 µs (0.867 throughput, 0.854 CPU);
  a second run off 6367 / 156.6, on 5693 / 177.1 (0.894, 0.884). Every
  GET wrk counted left its event (182 996 events for 182 896 counted).
- counters alone: 0.64 µs a request (timeit), a store call's timing 0.54.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sealbox.config import RootCredentials, Settings
from sealbox.server.asgi import build_app
from sealbox.testing.server import TEST_ACCESS_KEY, TEST_SECRET_KEY, RunningServer

BUCKET, KEY = "bench-observe", "one-kib"


def seed(data_dir: Path) -> tuple[int, str]:
    """Create the object with a real server; its port and a presigned URL."""
    import boto3
    from botocore.config import Config

    with RunningServer(data_dir=data_dir) as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key,
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x" * 1024)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY},
                                        ExpiresIn=3600)
        return server.port, url


async def drive(app: Any, scope: dict[str, Any], count: int) -> float:
    """CPU seconds of this process (every thread: the audit writer's too)
    for ``count`` requests, one after another. CPU time, not wall time: the
    machine is shared, and other processes' load must not count."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(count):
        await app(dict(scope), receive, send)
    if getattr(app, "audit", None) is not None:
        await asyncio.sleep(app.audit.flush_seconds * 2)  # let the writer catch up
    elapsed = time.process_time() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed


async def lifespan(app: Any, kind: str) -> None:
    sent: list[dict[str, Any]] = []
    messages = [{"type": f"lifespan.{kind}"}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    task = asyncio.ensure_future(app({"type": "lifespan"}, receive, send))
    while not sent:
        await asyncio.sleep(0.01)
    task.cancel()


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port, url = seed(data_dir)
        parts = urlsplit(url)
        scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": parts.path, "raw_path": parts.path.encode(),
                 "query_string": parts.query.encode(), "root_path": "",
                 "headers": [(b"host", f"127.0.0.1:{port}".encode()),
                             (b"user-agent", b"bench"), (b"accept", b"*/*")],
                 "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", port),
                 "extensions": {}}
        root = RootCredentials(TEST_ACCESS_KEY, TEST_SECRET_KEY)
        on = Settings(data_dir=data_dir, port=port, metrics=True, audit=True)
        off = dataclasses.replace(on, metrics=False, audit=False)
        apps = {"on": build_app(on, root), "off": build_app(off, root)}
        for app in apps.values():
            await lifespan(app, "startup")
            await drive(app, scope, 2000)  # warm caches
        best = {"on": float("inf"), "off": float("inf")}
        for index in range(rounds):
            order = ("on", "off") if index % 2 == 0 else ("off", "on")
            for name in order:
                best[name] = min(best[name], await drive(apps[name], scope, requests))
        rate = {name: requests / seconds for name, seconds in best.items()}
        per = {name: seconds / requests * 1e6 for name, seconds in best.items()}
        print(f"presigned GET 1 KiB, ASGI app only, CPU time of the process (writer thread "
              f"included), best of {rounds} rounds of {requests}:")
        for name in ("off", "on"):
            print(f"  {name:3}  {rate[name]:8.0f} req/s  {per[name]:6.1f} µs/request")
        print(f"  on/off = {rate['on'] / rate['off']:.3f}")
        audit = apps["on"].audit  # type: ignore[attr-defined]
        audit.close()
        written = apps["on"].services.audit_store.query_audit_events  # type: ignore[attr-defined]
        from sealbox.store.sql.audit import AuditQuery

        print(f"  audit events written (newest 1000 read back): "
              f"{len(written(AuditQuery(limit=1000)))}")


def over_wrk(rounds: int, seconds: float, on_args: tuple[str, ...] = ()) -> None:
    """Requests per second of real servers under wrk; see the module docstring."""
    import json
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        seed(data_dir)
        servers = {"on": RunningServer(data_dir=data_dir, extra_args=on_args),
                   "off": RunningServer(data_dir=data_dir,
                                        extra_args=("--no-metrics", "--audit", "off"))}
        best = {"on": 0.0, "off": 0.0}
        cpu = {"on": float("inf"), "off": float("inf")}
        sent = {"on": 0, "off": 0}
        try:
            urls = {}
            for name, server in servers.items():
                server.start()
                import boto3
                from botocore.config import Config

                s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                                  aws_access_key_id=server.access_key,
                                  aws_secret_access_key=server.secret_key,
                                  config=Config(signature_version="s3v4",
                                                s3={"addressing_style": "path"}))
                urls[name] = s3.generate_presigned_url(
                    "get_object", Params={"Bucket": BUCKET, "Key": KEY}, ExpiresIn=3600)
            report = Path(__file__).parent / "wrk" / "report.lua"
            for index in range(rounds + 1):
                order = ("on", "off") if index % 2 == 0 else ("off", "on")
                for name in order:
                    pid = servers[name].process.pid  # type: ignore[union-attr]
                    before = cpu_seconds(pid)
                    out = subprocess.run(
                        ["wrk", "-t1", "-c16", f"-d{seconds:g}s", "-s", str(report), urls[name]],
                        capture_output=True, text=True, timeout=seconds + 30, check=True)
                    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON"))
                    summary = json.loads(line.split(" ", 1)[1])
                    assert summary["errors"]["status"] == 0, summary
                    rate = summary["requests"] / (summary["duration_us"] / 1e6)
                    used = (cpu_seconds(pid) - before) / summary["requests"]
                    sent[name] += summary["requests"]
                    if index > 0:  # the first round warms up
                        best[name] = max(best[name], rate)
                        cpu[name] = min(cpu[name], used)
        finally:
            for server in servers.values():
                server.stop()
        print(f"presigned GET 1 KiB over loopback, wrk -t1 -c16, best of {rounds} "
              f"runs of {seconds:g} s:")
        for name in ("off", "on"):
            print(f"  {name:3}  {best[name]:8.0f} req/s  {cpu[name] * 1e6:6.1f} µs of server "
                  "CPU per request")
        print(f"  on/off = {best['on'] / best['off']:.3f} (throughput), "
              f"{cpu['off'] / cpu['on']:.3f} (CPU per request)")
        if "--audit" not in on_args:
            recorded = audited_gets(data_dir)
            # wrk does not count the answers still in flight when it stops.
            print(f"  audit events of the 'on' server's GETs: {recorded} for the {sent['on']} "
                  f"wrk counted: {'all present' if recorded >= sent['on'] else 'SOME MISSING'}")


def audited_gets(data_dir: Path) -> int:
    """GetObject 200s in the data dir's audit file (only the 'on' server,
    stopped by now, wrote any)."""
    import sqlite3

    from sealbox.store import audit_batches
    from sealbox.store.sqlite_audit import AUDIT_FILE

    with sqlite3.connect(data_dir / AUDIT_FILE) as conn:
        bodies = [row[0] for row in conn.execute("SELECT body FROM audit_batches")]
    return sum(1 for body in bodies for event in audit_batches.decode(body)
               if event[2] == "GetObject" and event[13] == 200)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wrk", action="store_true", help="real servers under wrk")
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run (--wrk)")
    parser.add_argument("--on-args", default="",
                        help="more flags for the 'on' server (--wrk), e.g. '--audit off'")
    args = parser.parse_args()
    if args.wrk:
        over_wrk(args.rounds, args.seconds, tuple(args.on_args.split()))
    else:
        asyncio.run(main(args.requests, args.rounds))
