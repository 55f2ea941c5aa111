"""The blob sweep over an S3 backend: a whole pass in one go (what every
process of every node did hourly before, and what ``sealbox sweep-blobs``
does) against one tick (a page of the listing, what one process does per
minute now).

Puts ``--blobs`` small objects under ``blobs/`` of a bucket of a second
sealbox on local files (a real S3 server, faster than moto), then times a
whole pass and ticks of ``--page`` keys until the pass is done. Every blob
counts as named by a record (the metadata scan is left out: it is the same
set either way), so nothing is deleted: the figure is the listing and the
check.

    PYTHONPATH=src python bench/blob_sweep.py --blobs 20000 --page 5000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

from sealbox.store.blob_location import parse_blob_store
from sealbox.store.blob_sweep import sweep_tick
from sealbox.store.s3blobs import S3BlobStore
from sealbox.store.sqlite import SqliteMetaStore
from sealbox.testing.server import RunningServer

BUCKET = "sweep-bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blobs", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sealbox-bench-") as tmp, \
            RunningServer(data_dir=Path(tmp) / "backend", observe=False) as backend:
        s3 = boto3.client("s3", endpoint_url=backend.endpoint, region_name="us-east-1",
                          aws_access_key_id=backend.access_key,
                          aws_secret_access_key=backend.secret_key,
                          config=Config(max_pool_connections=16))
        s3.create_bucket(Bucket=BUCKET)
        ids = [f"{n:032x}" for n in range(args.blobs)]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: s3.put_object(Bucket=BUCKET, Key=f"blobs/{i}", Body=b"x"),
                          ids))
        filled = time.monotonic() - started
        env = {"SEALBOX_BLOB_S3_ENDPOINT": backend.endpoint,
               "SEALBOX_BLOB_S3_ACCESS_KEY_ID": backend.access_key,
               "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": backend.secret_key}
        blobs = S3BlobStore(parse_blob_store(f"s3://{BUCKET}", Path(tmp), env))
        named = set(ids)  # every blob is named: nothing goes, the cost is the looking

        started = time.monotonic()
        assert blobs.sweep(named, min_age_seconds=0) == 0
        whole = time.monotonic() - started

        meta = SqliteMetaStore(str(Path(tmp) / "meta.sqlite3"))
        meta.referenced_blob_ids = lambda: named  # type: ignore[method-assign]
        ticks = []
        now = 1_000_000
        while True:
            started = time.monotonic()
            tick = sweep_tick(meta, blobs, "bench:1", now, min_age_seconds=0,
                              page_keys=args.page)
            ticks.append(round(time.monotonic() - started, 3))
            assert tick is not None
            if not tick.cursor:
                break
        meta.close()
    figures = {"blobs": args.blobs, "fill_seconds": round(filled, 1),
               "whole_pass_seconds": round(whole, 2), "page_keys": args.page,
               "tick_seconds": ticks, "ticks": len(ticks)}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
