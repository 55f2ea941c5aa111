"""ListObjectVersions of a prefix holding 100 000 versions, paged 1 000 at a
time (issue 16's target: < 50 ms a page).

    python bench/list_versions.py [--keys 1000] [--versions 100] [--rounds 3]

A bucket is made and versioned through a real server; the versions (KEYS
keys under ``videos/`` × VERSIONS versions each, newest first as S3 lists
them) are then written straight into its SQLite store, a thousand records
per commit (100 000 PUTs over HTTP would take the run's time for nothing
the listing depends on), and the server is started again on them. Each
round walks every page with boto3 (``MaxKeys=1000``, key and version-id
markers) and times each request as the client sees it; the figure is the
median and the 95th percentile of a page, and the slowest page, over the
rounds. Also timed: a page from a marker in the middle, a page under a
delimiter (one CommonPrefix per key group).
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from botocore.config import Config

from sealbox.api.s3.versioning import new_version_id
from sealbox.store.meta import ObjectRecord, Segment
from sealbox.store.sqlite import SqliteMetaStore
from sealbox.testing.server import RunningServer

BUCKET = "bench-versions"
_NEXT_KEY = re.compile(r"<NextKeyMarker>([^<]*)</NextKeyMarker>")
_NEXT_VERSION = re.compile(r"<NextVersionIdMarker>([^<]*)</NextVersionIdMarker>")


def client(server: RunningServer):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def fill(data_dir: Path, keys: int, versions: int) -> None:
    """KEYS × VERSIONS versions, each key's newest last written (so current)."""
    meta = SqliteMetaStore(str(data_dir / "meta.sqlite3"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        batch: list[ObjectRecord] = []
        for v in range(versions):
            for k in range(keys):
                batch.append(ObjectRecord(
                    BUCKET, f"videos/{k // 100:03d}/{k:05d}.mp4", 1024, "0" * 32,
                    start + timedelta(seconds=v * keys + k), (Segment("0" * 32, 1024),),
                    version_id=new_version_id()))
                if len(batch) == 1000:
                    meta.put_objects(batch)
                    batch = []
        if batch:
            meta.put_objects(batch)
    finally:
        meta.close()


def walk(s3, **extra: object) -> list[float]:  # type: ignore[no-untyped-def]
    """Every page's time (ms) from the start (or ``extra``'s markers), as the
    server answers it: a presigned GET fetched by curl, so the
    client's XML parsing (boto3 takes longer to parse a page of 1 000 than
    the server to make it) is not counted; the markers are read with a regex."""
    times, params = [], {"Bucket": BUCKET, "Prefix": "videos/", "MaxKeys": 1000, **extra}
    while True:
        url = s3.generate_presigned_url("list_object_versions", Params=params)
        text, took = fetch(url)
        times.append(took)
        if "<IsTruncated>true</IsTruncated>" not in text:
            return times
        params["KeyMarker"] = html.unescape(_NEXT_KEY.search(text)[1])
        params["VersionIdMarker"] = _NEXT_VERSION.search(text)[1]


def fetch(url: str) -> tuple[str, float]:
    """The page and its time (ms) from curl's own clock (``time_total``): a C
    client, so the figure is the server's and the loopback's, not Python's
    reading of 400 KB."""
    with tempfile.NamedTemporaryFile() as body:
        took = subprocess.run(["curl", "-sS", "-o", body.name, "-w", "%{http_code} %{time_total}",
                               url], capture_output=True, text=True, check=True).stdout.split()
        text = Path(body.name).read_text()
    assert took[0] == "200", text[:500]
    return text, float(took[1]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with RunningServer(data_dir=data) as server:
            s3 = client(server)
            s3.create_bucket(Bucket=BUCKET)
            s3.put_bucket_versioning(Bucket=BUCKET,
                                     VersioningConfiguration={"Status": "Enabled"})
        started = time.perf_counter()
        fill(data, args.keys, args.versions)
        print(f"{args.keys * args.versions} versions written in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        with RunningServer(data_dir=data) as server:
            s3 = client(server)
            walk(s3)  # warm: the page cache and the server's statements
            pages: list[float] = []
            for _ in range(args.rounds):
                pages += walk(s3)
            middle_key = f"videos/{args.keys // 200:03d}/{args.keys // 2:05d}.mp4"
            middle = [walk(s3, KeyMarker=middle_key)[0] for _ in range(20)]
            grouped = []
            for _ in range(20):
                url = s3.generate_presigned_url("list_object_versions", Params={
                    "Bucket": BUCKET, "Prefix": "videos/", "Delimiter": "/", "MaxKeys": 1000})
                grouped.append(fetch(url)[1])
        pages.sort()
        print(f"ListObjectVersions, {args.keys * args.versions} versions under one prefix, "
              f"pages of 1000 ({len(pages) // args.rounds} pages × {args.rounds} rounds):")
        print(f"  page    median {statistics.median(pages):6.1f} ms   "
              f"p95 {pages[int(len(pages) * 0.95) - 1]:6.1f} ms   max {pages[-1]:6.1f} ms")
        print(f"  from a key marker in the middle: median {statistics.median(middle):6.1f} ms")
        print(f"  with Delimiter='/' (CommonPrefixes): median {statistics.median(grouped):6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
