"""Presigned GET 1 KiB: an unversioned bucket, the current version in a
versioned bucket, and an old version by ``?versionId=``, one server, the
same run (issue 16's target: versioned current ≥ 95 % of unversioned).

    python bench/versions.py                 # 3 interleaved rounds, 5 s each
    python bench/versions.py --rounds 5 --duration 10
    PYTHONPATH=/path/to/older/src python bench/versions.py --plain-only

One ``sealbox serve`` (1 worker) pinned to core 0, wrk on core 1, as in
run.py; the versioned key has 20 versions. Prints the medians of req/s and
of requests per second of the server's own CPU time (steadier when other
work shares the machine), and the ratios to the unversioned figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import boto3
from botocore.config import Config
from peers import LUA_REPORT, SERVER_CPU, Target
from run import interleaved, print_ratios

from sealbox.testing.server import RunningServer

BODY = os.urandom(1024)


def _targets(server: RunningServer, plain_only: bool) -> dict[str, Target]:
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="k", Body=BODY)
    plain = Target(s3.generate_presigned_url(
        "get_object", Params={"Bucket": "plain", "Key": "k"}, ExpiresIn=3600), LUA_REPORT)
    if plain_only:
        return {"unversioned": plain}
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    first = ""
    for n in range(20):
        vid = s3.put_object(Bucket="versioned", Key="k", Body=BODY)["VersionId"]
        first = first or vid

    def url(bucket: str, **extra: str) -> Target:
        return Target(s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k", **extra}, ExpiresIn=3600),
            LUA_REPORT)

    return {"unversioned": plain, "versioned current": url("versioned"),
            "old version by id": url("versioned", VersionId=first)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--plain-only", action="store_true",
                        help="only the unversioned bucket: for a tree without versioning "
                             "(PYTHONPATH=<main>/src), the figure before")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RunningServer(data_dir=Path(tmp) / "data", observe=False)
        with server:
            os.sched_setaffinity(server.process.pid, {int(SERVER_CPU)})
            figures = interleaved(server.process.pid, _targets(server, args.plain_only), args)
    print_ratios("presigned GET 1 KiB", figures, "unversioned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
