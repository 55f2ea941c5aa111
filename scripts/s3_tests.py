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
suite's users, as the suite means them: "main" is the root of sealbox's
first account; "alt" and "tenant" are the roots of two accounts made for
the run (``sealbox admin account create``), so a test that expects a
stranger to be refused meets one; "iam" is an IAM user of the first account
allowed ``s3:*``; "iam root" is main's root and "iam alt root" alt's. Each
user's ``user_id`` is its account's canonical id (what ACL grants name).
The server runs with
``--sse-c-allow-http``: the suite sends SSE-C keys over plain HTTP (RGW's
``rgw_crypt_require_ssl = false``), which sealbox otherwise refuses as S3
does. And with ``--default-object-ownership ObjectWriter`` and
``--new-bucket-block-public-access off``: the suite expects a new bucket as
RGW and AWS before April 2023 made it (ACLs enabled, no Block Public Access;
its ownership tests name the ownership they want). Two KMS keys of the
first account (``sealbox admin kms-key create``'s API) are the suite's
``kms_keyid`` and ``kms_keyid2``, by ARN (its tests compare the key id
S3 answers with the one they sent). The suite needs ``munch``,
``isodate``, ``httplib2``, ``pytz`` and ``lxml`` besides boto3 and pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

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
kms_keyid = {kms_keyid}
kms_keyid2 = {kms_keyid2}
{users}
"""


# What the suite expects of a new bucket (see the module docstring).
LEGACY_BUCKETS = ("--default-object-ownership", "ObjectWriter",
                  "--new-bucket-block-public-access", "off")

# The suite's setup and cleanup list and empty every bucket as each user.
_ALL_S3 = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def _admin_post(server: RunningServer, path: str, document: dict[str, str]) -> dict[str, Any]:
    """POST to the admin API as the administrator; the JSON answer."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps(document).encode()
    request = AWSRequest("POST", server.endpoint + "/_sealbox/api/v1/" + path, data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials(server.access_key, server.secret_key), "sealbox",
              "us-east-1").add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, data=body, method="POST",
                                  headers=dict(prepared.headers))
    with urllib.request.urlopen(sent, timeout=30) as answer:
        answered: dict[str, Any] = json.loads(answer.read())
    return answered


def _new_account(server: RunningServer, name: str) -> tuple[str, str]:
    """An account made through the admin API as the administrator: its
    root's access key and secret."""
    key = _admin_post(server, "accounts", {"AccountName": name})["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _kms_key(server: RunningServer, description: str) -> str:
    """A KMS key of the first account: its ARN."""
    made = _admin_post(server, "kms-keys", {"Description": description})
    return str(made["KeyMetadata"]["Arn"])


def _owner(server: RunningServer, key: str, secret: str) -> dict[str, str]:
    """The canonical id and name S3 answers for these keys' account."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=key, aws_secret_access_key=secret)
    owner: dict[str, str] = s3.list_buckets()["Owner"]
    return owner


def _section(section: str, owner: dict[str, str], key: str, secret: str) -> str:
    name = "s3t-" + section.replace(" ", "-")
    return (f"[{section}]\ndisplay_name = {owner['DisplayName']}\nuser_id = {owner['ID']}\n"
            f"email = {name}@example.com\ntenant = t\naccess_key = {key}\n"
            f"secret_key = {secret}\n")


def _users(server: RunningServer) -> str:
    import boto3

    roots = {"s3 alt": _new_account(server, "s3t-alt"),
             "s3 tenant": _new_account(server, "s3t-tenant")}
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=server.access_key,
                       aws_secret_access_key=server.secret_key)
    iam.create_user(UserName="s3t-iam")
    iam.put_user_policy(UserName="s3t-iam", PolicyName="s3", PolicyDocument=_ALL_S3)
    made = iam.create_access_key(UserName="s3t-iam")["AccessKey"]
    keys = {**roots, "iam": (made["AccessKeyId"], made["SecretAccessKey"]),
            "iam root": (server.access_key, server.secret_key),
            "iam alt root": roots["s3 alt"]}
    return "\n".join(_section(section, _owner(server, *pair), *pair)
                     for section, pair in keys.items())


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
        owner = _owner(server, server.access_key, server.secret_key)
        config.write_text(_CONFIG.format(port=port, main_key=server.access_key,
                                         main_id=owner["ID"], main_name=owner["DisplayName"],
                                         main_secret=server.secret_key, users=_users(server),
                                         lc_interval=lc_interval,
                                         kms_keyid=_kms_key(server, "s3-tests kms_keyid"),
                                         kms_keyid2=_kms_key(server, "s3-tests kms_keyid2")))
        report = Path(tmp) / "report.xml"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "s3tests/functional/test_s3.py", "-q",
             "-p", "no:cacheprovider", "-m", "not fails_on_aws", "-o", "addopts=",
             f"--junitxml={report}", *pytest_args],
            cwd=suite, env={**os.environ, "S3TEST_CONF": str(config)},
            capture_output=True, text=True, check=False)
        counts = _counts(report)
    # The short summary (every FAILED and ERROR line), whole: tracebacks
    # come before it and are left out.
    print("\n".join(line for line in done.stdout.splitlines()
                    if line.startswith(("FAILED ", "ERROR "))))
    if counts is None:  # no report: pytest did not get as far as running tests
        print(f"s3-tests: 0 passed ({done.stderr[-2000:] or done.stdout[-2000:]})")
        return 0
    tests, failed, errors, skipped = counts
    print(f"s3-tests: {tests - failed - errors - skipped} passed of {tests} "
          f"({failed} failed, {errors} errors, {skipped} skipped)")
    return 0


def _counts(report: Path) -> tuple[int, int, int, int] | None:
    """(tests, failures, errors, skipped) from pytest's JUnit XML report,
    whatever ``-q`` the caller passed (``-qq`` drops pytest's summary line)."""
    import xml.etree.ElementTree as ET

    if not report.exists():
        return None
    root = ET.parse(report).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return None
    return tuple(int(suite.get(name, "0"))  # type: ignore[return-value]
                 for name in ("tests", "failures", "errors", "skipped"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
