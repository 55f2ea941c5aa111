"""Presigned GET 1 KiB with and without lifecycle rules on the bucket: what
``x-amz-expiration`` costs the cheapest request (the rules are read once per
access version; the request matches them against the object's key, tags
and size and formats the date).

    python bench/lifecycle.py                 # 3 interleaved rounds, 5 s each
    python bench/lifecycle.py --rounds 5 --duration 10

One ``sealbox serve`` (1 worker) pinned to core 0, wrk on core 1, as in
run.py and versions.py. Targets: a bucket without rules; one whose rule
expires the object (the header is sent); one with 100 rules of which none
takes it (every rule is weighed, no header). Prints the medians of req/s and
of requests per second of the server's own CPU time, and the ratios to the
bucket without rules.
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


def _targets(server: RunningServer) -> dict[str, Target]:
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    rules = {
        "no rules": [],
        "a rule expires it": [{"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                               "Expiration": {"Days": 30}}],
        "100 rules, none": [{"ID": f"r{n}", "Filter": {"Prefix": f"other{n}/"},
                             "Status": "Enabled", "Expiration": {"Days": 30}}
                            for n in range(100)],
    }
    targets = {}
    for n, (name, bucket_rules) in enumerate(rules.items()):
        bucket = f"bench-{n}"
        s3.create_bucket(Bucket=bucket)
        if bucket_rules:
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": bucket_rules})
        s3.put_object(Bucket=bucket, Key="tmp/k", Body=BODY)
        targets[name] = Target(s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "tmp/k"}, ExpiresIn=3600), LUA_REPORT)
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RunningServer(data_dir=Path(tmp) / "data", observe=False)
        with server:
            os.sched_setaffinity(server.process.pid, {int(SERVER_CPU)})
            figures = interleaved(server.process.pid, _targets(server), args)
    print_ratios("presigned GET 1 KiB", figures, "no rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
