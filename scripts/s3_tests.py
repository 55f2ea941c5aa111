"""Run ceph/s3-tests (the S3 conformance suite) against a fresh sealbox and
print the pass count.

    python scripts/s3_tests.py /tmp/s3-tests -k versioning
    python scripts/s3_tests.py --lc-debug-interval 10 /tmp/s3-tests -k lifecycle

The server's lifecycle "day" is ``--lc-debug-interval`` seconds (default
10, what the suite's ``lc_debug_interval`` defaults to, as RGW's
``rgw_lc_debug_interval``: its lifecycle tests sleep a few of those
"days"), and its lifecycle passes run every second. The first argument
after it is a checkout of https://github.com/ceph/s3-tests (never
committed here); the rest go to pytest (a ``-k`` or test ids). Tests marked
``fails_on_aws`` are left out, as they test RGW behaviour AWS lacks. The
suite's users: "main" is sealbox's root; "alt", "tenant" and "iam" are IAM
users made for the run, allowed ``s3:*`` (the suite's cleanup lists and
empties every bucket as each of them), so the tests that expect a
stranger to be refused fail here. The server runs with
``--sse-c-allow-http``: the suite sends SSE-C keys over plain HTTP (RGW's
``rgw_crypt_require_ssl = false``), which sealbox otherwise refuses as S3
does. And with ``--default-object-ownership ObjectWriter`` and
``--new-bucket-block-public-access off``: the suite expects a new bucket as
RGW and AWS before April 2023 made it (ACLs enabled, no Block Public Access;
its ownership tests name the ownership they want). The suite needs ``munch``,
``isodate``, ``httplib2``, ``pytz`` and ``lxml`` besides boto3 and pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from sealbox.testing.server import RunningServer

_CONFIG = """[DEFAULT]
host = 127.0.0.1
port = {port}
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{{random}}-
iam name prefix = s3-tests-
iam path prefix = /s3-tests/

[s3 main]
display_name = {main_name}
user_id = {main_id}
email = root@example.com
api_name = us-east-1
access_key = {main_key}
secret_key = {main_secret}
lc_debug_interval = {lc_interval}
{users}
"""


# What the suite expects of a new bucket (see the module docstring).
LEGACY_BUCKETS = ("--default-object-ownership", "ObjectWriter",
                  "--new-bucket-block-public-access", "off")

# The suite's setup and cleanup list and empty every bucket as each user.
_ALL_S3 = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def _root_owner(server: RunningServer) -> dict[str, str]:
    """The canonical id and name S3 answers for root (ACL tests compare them)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key)
    owner: dict[str, str] = s3.list_buckets()["Owner"]
    return owner


def _users(server: RunningServer) -> str:
    import boto3

    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=server.access_key,
                       aws_secret_access_key=server.secret_key)
    sections = []
    for section in ("s3 alt", "s3 tenant", "iam", "iam root", "iam alt root"):
        name = "s3t-" + section.replace(" ", "-")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=_ALL_S3)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        sections.append(
            f"[{section}]\ndisplay_name = {name}\nuser_id = {name}\nemail = {name}@example.com\n"
            f"tenant = t\naccess_key = {key['AccessKeyId']}\n"
            f"secret_key = {key['SecretAccessKey']}\n")
    return "\n".join(sections)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    lc_interval = 10
    if argv[0] == "--lc-debug-interval":
        lc_interval, argv = int(argv[1]), argv[2:]
    suite, pytest_args = Path(argv[0]), argv[1:]
    lifecycle = ("--lifecycle-day-seconds", str(lc_interval), "--lifecycle-interval-seconds", "1")
    with tempfile.TemporaryDirectory() as tmp, \
            RunningServer(data_dir=Path(tmp) / "data",
                          extra_args=(*lifecycle, "--sse-c-allow-http", *LEGACY_BUCKETS)) as server:
        port = server.endpoint.rsplit(":", 1)[1]
        config = Path(tmp) / "s3tests.conf"
        owner = _root_owner(server)
        config.write_text(_CONFIG.format(port=port, main_key=server.access_key,
                                         main_id=owner["ID"], main_name=owner["DisplayName"],
                                         main_secret=server.secret_key, users=_users(server),
                                         lc_interval=lc_interval))
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "s3tests/functional/test_s3.py", "-q",
             "-p", "no:cacheprovider", "-m", "not fails_on_aws", "-o", "addopts=",
             *pytest_args],
            cwd=suite, env={**os.environ, "S3TEST_CONF": str(config)},
            capture_output=True, text=True, check=False)
    # The short summary (every FAILED and ERROR line), whole: tracebacks
    # come before it and are left out.
    print("\n".join(line for line in done.stdout.splitlines()
                    if line.startswith(("FAILED ", "ERROR "))))
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    print(f"s3-tests: {passed[1] if passed else 0} passed ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
