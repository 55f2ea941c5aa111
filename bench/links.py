"""Issue 13's speed targets, measured side by side in one run (wrk on core
1, each server on core 0, interleaved rounds, medians):

- ``main``: a revision without links (``--base REV``, extracted with git
  archive; default 0c0d57f), a boto3 presigned GET of 1 KiB;
- ``plain``: the same GET on this tree with no revocation stored;
- ``plain+revoked``: this tree with one (other) revocation stored, so
  every request hashes its signature and looks it up;
- ``link``: an unlimited managed link to the same object;
- ``one-time``: one-time links, each fetched once (``wrk/get_each.lua``
  cycles through more than a run can use), each use committed before the
  answer.

Targets: plain+revoked ≥ 97 % of main; link ≥ 90 % of plain; one-time
≥ 40 % of plain.

    PYTHONPATH=src python bench/links.py [--rounds 3] [--duration 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import requests
from botocore.config import Config

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
KEY, SECRET = "BENCHLINKSACCESSKEY0", "bench-links-secret-key-0000000000000000000"
SERVER_CPU, LOAD_CPU = "0", "1"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, src: Path, data: Path) -> None:
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(src), SEALBOX_ROOT_ACCESS_KEY=KEY,
                   SEALBOX_ROOT_SECRET_KEY=SECRET)
        self.data = data
        self.process = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, sys.executable, "-m", "sealbox", "serve", "--port",
             str(self.port), "--data-dir", str(data), "--log-level", "warning",
             "--workers", "1"],
            env=env, stdout=subprocess.DEVNULL,
            stderr=(data.parent / f"{data.name}.log").open("wb"))  # why a server stopped
        self.endpoint = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                requests.get(self.endpoint + "/_sealbox/health", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def s3(self):  # type: ignore[no-untyped-def]
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                            config=Config(s3={"addressing_style": "path"},
                                          signature_version="s3v4"))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def wrk(url: str, seconds: int, script: Path, *args: str) -> dict:  # type: ignore[type-arg]
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(script), url]
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if out.returncode:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line[len("BENCH_JSON "):]))
    raise RuntimeError(out.stdout + out.stderr)


def rps(result: dict) -> float:  # type: ignore[type-arg]
    if result["errors"]["status"]:
        raise RuntimeError(f"{result['errors']['status']} error answers")
    return result["requests"] * 1e6 / result["duration_us"]


def one_time_links(server: Server, count: int) -> Path:
    """``count`` one-time links, stored in-process in the server's SQLite file
    in one transaction (as ``create_link`` makes them, without a commit each)."""
    sys.path.insert(0, str(SRC))
    from sealbox.auth.principal import Credential, root_principal
    from sealbox.links.create import link_url, url_signature
    from sealbox.links.model import LinkSpec, fingerprint, new_link_id
    from sealbox.store.sqlite import SqliteMetaStore

    meta = SqliteMetaStore(str(server.data / "meta.sqlite3"))
    credential = Credential(KEY, SECRET, root_principal(KEY))
    spec = LinkSpec("bench", "one-kib", max_uses=1)
    now = datetime.now(UTC)
    lines, rows = [], []
    for _ in range(count):
        link_id = new_link_id()
        url = link_url(spec, link_id, credential, server.endpoint, "us-east-1", now)
        lines.append(url[len(server.endpoint):])
        rows.append((link_id, KEY, "root", "bench", "one-kib", "GET", int(now.timestamp()),
                     int(now.timestamp()) + 3600, 1, 0, "", None, None, "",
                     fingerprint(url_signature(url))))
    with meta._write() as c:  # one transaction: create_link commits each
        c.executemany("INSERT INTO links (link_id, access_key, signer, bucket, key, method, "
                      "created, expires, max_uses, uses, bind, content_type, max_size, note, "
                      "fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    meta.close()
    path = Path(tempfile.mkstemp(suffix=".txt")[1])
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="0c0d57f",
                        help="a git revision without links (default: the one before them)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--one-time-links", type=int, default=20000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-links-"))
    sys.path.insert(0, str(HERE))
    from run import extract_source  # bench/run.py: git archive of a revision's src/

    base = Server(Path(extract_source(args.base, tmp)[0]), tmp / "base")
    mine = Server(SRC, tmp / "mine")
    revoked = Server(SRC, tmp / "revoked")
    servers = {"main": base, "plain": mine, "plain+revoked": revoked}
    urls: dict[str, str] = {}
    try:
        for name, server in servers.items():
            s3 = server.s3()
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key="one-kib", Body=b"x" * 1024)
            urls[name] = s3.generate_presigned_url(
                "get_object", Params={"Bucket": "bench", "Key": "one-kib"}, ExpiresIn=3600)
        other = revoked.s3().generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": "one-kib"}, ExpiresIn=3599)
        from sealbox.cli.client import AdminClient, path

        AdminClient(revoked.endpoint, KEY, SECRET).call("POST", path("revocations"),
                                                        {"Url": other})
        urls["link"] = AdminClient(mine.endpoint, KEY, SECRET).call(
            "POST", path("links"), {"Bucket": "bench", "Key": "one-kib"}).body["Url"]
        assert requests.get(urls["link"], timeout=5).status_code == 200
        assert requests.get(other, timeout=5).status_code == 403
        get = HERE / "wrk" / "get_each.lua"
        results: dict[str, list[float]] = {k: [] for k in (*servers, "link", "one-time")}
        for _ in range(args.rounds):
            for name in (*servers, "link"):
                url = urls[name]
                file = Path(tempfile.mkstemp(suffix=".txt")[1])
                split = url.index("/", len("http://"))
                file.write_text(url[split:] + "\n")
                wrk(url[:split], 2, get, str(file))  # warm-up
                results[name].append(rps(wrk(url[:split], args.duration, get, str(file))))
            links = one_time_links(mine, args.one_time_links)
            if mine.process.poll() is not None:
                raise RuntimeError(f"the server stopped ({mine.process.returncode}): "
                                   + (mine.data.parent / "mine.log").read_text()[-2000:])
            results["one-time"].append(rps(wrk(mine.endpoint, args.duration, get, str(links))))
        medians = {k: statistics.median(v) for k, v in results.items()}
        print(json.dumps({"rps": results, "median": medians}, indent=1))
        print(f"plain / main            {medians['plain'] / medians['main']:.3f}")
        print(f"plain+revoked / main    {medians['plain+revoked'] / medians['main']:.3f}")
        print(f"plain+revoked / plain   {medians['plain+revoked'] / medians['plain']:.3f}")
        print(f"link / plain            {medians['link'] / medians['plain']:.3f}")
        print(f"one-time / plain        {medians['one-time'] / medians['plain']:.3f}")
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
