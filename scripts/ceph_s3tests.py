"""Run ceph/s3-tests (a checkout elsewhere; never committed here) against a
fresh ``sealbox serve``: an IAM user stands in for the suite's "alt" and
"tenant" users (sealbox has one account), and the suite's config points
both at the server.

    python scripts/ceph_s3tests.py --suite /tmp/s3tests --python /tmp/venv/bin/python \\
        -- -m "bucket_logging and not bucket_logging_cleanup"

``--serve-arg`` adds a ``sealbox serve`` flag (repeatable); the bucket
logging tests expect a log object within their 5 s "roll time", so
``--serve-arg=--log-delivery-seconds --serve-arg=5`` matches them. The
suite's own requirements (munch, gevent, isodate, …) must be importable by
``--python``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3

from sealbox.testing.server import RunningServer

LIST_BUCKETS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})


def config(port: int, main: tuple[str, str], alt: tuple[str, str]) -> str:
    def user(section: str, name: str, keys: tuple[str, str], extra: str = "") -> str:
        return (f"[{section}]\ndisplay_name = {name}\nuser_id = {name}\nemail = {name}@example.com\n"
                f"access_key = {keys[0]}\nsecret_key = {keys[1]}\n{extra}")

    return "\n".join([
        f"[DEFAULT]\nhost = 127.0.0.1\nport = {port}\nis_secure = False\nssl_verify = False\n",
        "[fixtures]\nbucket prefix = s3t-{random}-\n",
        user("s3 main", "000000000000", main, "api_name = us-east-1\n"),
        user("s3 alt", "alt", alt), user("s3 tenant", "alt", alt, "tenant = tenant\n"),
        user("iam", "000000000000", main), user("iam root", "000000000000", main),
        user("iam alt root", "alt", alt)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", required=True, help="a ceph/s3-tests checkout")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--serve-arg", action="append", default=[])
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RunningServer(
            data_dir=Path(tmp) / "data", extra_args=tuple(args.serve_arg)) as server:
        iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id=server.access_key,
                           aws_secret_access_key=server.secret_key)
        iam.create_user(UserName="alt")
        iam.put_user_policy(UserName="alt", PolicyName="list", PolicyDocument=LIST_BUCKETS)
        key = iam.create_access_key(UserName="alt")["AccessKey"]
        conf = Path(tmp) / "s3tests.conf"
        conf.write_text(config(server.port, (server.access_key, server.secret_key),
                               (key["AccessKeyId"], key["SecretAccessKey"])))
        done = subprocess.run(
            [args.python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
             "s3tests/functional/test_s3.py", *args.pytest_args],
            cwd=args.suite, env=dict(os.environ, S3TEST_CONF=str(conf)), check=False)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
