"""``sealbox admin`` run as the installed command against a real server
(SQLite and PostgreSQL): a least-privilege user made with the CLI signs S3
requests with boto3; ``key disable`` stops its key at once and ``key
enable`` brings it back; every command prints one line or JSON, and every
failure one ``sealbox: error:`` line with a non-zero exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sealbox.server.tls import make_self_signed
from sealbox.testing.server import RunningServer, free_port


def sealbox_command() -> list[str]:
    # The console script pip installs; `python -m sealbox` runs the same main().
    found = shutil.which("sealbox")
    return [found] if found else [sys.executable, "-m", "sealbox"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cli(server, tmp_path: Path):
    """Run ``sealbox …`` against the test server as root; ``check`` asserts exit 0."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def run(*args: str, check: bool = True, endpoint: str | None = None,
            environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*sealbox_command(), *args, "--endpoint-url", endpoint or server.endpoint,
             "--data-dir", str(tmp_path / "no-data-dir")],
            capture_output=True, text=True, timeout=60, env=environment or env, cwd=tmp_path,
            check=False)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    return run


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def one_error_line(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sealbox: error: ") and says in lines[0], lines[0]
    assert "Traceback" not in done.stderr


def s3_as(server, key: dict[str, str]):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def test_a_user_made_with_the_cli_works_until_its_key_is_disabled(cli, server, bucket: str,
                                                                   s3, tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key="report.pdf", Body=b"quarterly")
    user, policy = unique("reader"), unique("read-bucket")
    made = as_json(cli("admin", "user", "create", user, "--path", "/apps/", "--json"))
    assert made["User"]["Arn"] == f"arn:aws:iam::000000000000:user/apps/{user}"
    key = as_json(cli("admin", "key", "create", user, "--json"))["AccessKey"]
    document = tmp_path / "read.json"
    document.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    created = as_json(cli("admin", "policy", "create", policy, "--file", str(document),
                          "--json"))
    assert created["Policy"]["PolicyName"] == policy
    assert cli("admin", "policy", "attach", policy, "--user", user).stdout.strip() == (
        f"attached {policy} to user {user}")

    client = s3_as(server, key)
    assert client.get_object(Bucket=bucket, Key="report.pdf")["Body"].read() == b"quarterly"
    with pytest.raises(ClientError) as denied:
        client.put_object(Bucket=bucket, Key="other", Body=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    cli("admin", "key", "disable", user, key["AccessKeyId"])
    with pytest.raises(ClientError) as stopped:
        client.get_object(Bucket=bucket, Key="report.pdf")
    assert stopped.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    listed = cli("admin", "key", "list", user).stdout
    assert f"{key['AccessKeyId']}\tInactive" in listed and key["SecretAccessKey"] not in listed

    cli("admin", "key", "enable", user, key["AccessKeyId"])
    assert client.get_object(Bucket=bucket, Key="report.pdf")["Body"].read() == b"quarterly"
    cli("admin", "policy", "detach", policy, "--user", user)
    with pytest.raises(ClientError):
        client.get_object(Bucket=bucket, Key="report.pdf")

    cli("admin", "key", "delete", user, key["AccessKeyId"])
    cli("admin", "policy", "delete", policy)
    assert cli("admin", "user", "delete", user).stdout.strip() == f"deleted user {user}"


def test_key_create_prints_the_secret_once_and_the_env_lines(cli) -> None:
    user = unique("k")
    cli("admin", "user", "create", user)
    lines = cli("admin", "key", "create", user).stdout.strip().splitlines()
    assert lines[0].startswith("created access key AKIA")
    assert lines[1].startswith("AWS_ACCESS_KEY_ID=AKIA")
    assert lines[2].startswith("AWS_SECRET_ACCESS_KEY=") and len(lines[2]) == 22 + 40
    key_id = lines[1].split("=", 1)[1]
    cli("admin", "key", "delete", user, key_id)
    cli("admin", "user", "delete", user)


def test_groups_inline_policies_and_listings(cli, tmp_path: Path) -> None:
    user, group = unique("member"), unique("team")
    cli("admin", "user", "create", user)
    made = as_json(cli("admin", "group", "create", group, "--json"))
    assert made["Group"]["GroupName"] == group
    cli("admin", "group", "add-user", group, user)
    assert cli("admin", "group", "get", group).stdout.strip().endswith(user)
    document = tmp_path / "inline.json"
    document.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    cli("admin", "policy", "put-inline", "list-all", "--group", group, "--file", str(document))
    assert cli("admin", "policy", "list-inline", "--group", group).stdout.split() == ["list-all"]
    got = as_json(cli("admin", "policy", "get-inline", "list-all", "--group", group))
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "s3:ListBucket"
    assert user in cli("admin", "user", "list").stdout
    assert any(g["GroupName"] == group
               for g in as_json(cli("admin", "group", "list", "--json")))
    one_error_line(cli("admin", "group", "delete", group, check=False), "DeleteConflict")
    cli("admin", "policy", "delete-inline", "list-all", "--group", group)
    cli("admin", "group", "remove-user", group, user)
    cli("admin", "group", "delete", group)
    cli("admin", "user", "delete", user)


def test_public_access_block_put_get_delete(cli) -> None:
    try:
        put = as_json(cli("admin", "public-access-block", "put", "--block-public-policy",
                          "--restrict-public-buckets", "--json"))
        assert put["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}
        assert "BlockPublicPolicy\ttrue" in cli("admin", "public-access-block", "get").stdout
    finally:
        cli("admin", "public-access-block", "delete")
    one_error_line(cli("admin", "public-access-block", "get", check=False),
                   "NoSuchPublicAccessBlockConfiguration")


@pytest.mark.parametrize(("args", "says"), [
    (("admin", "user", "get", "no-such-user-anywhere"), "NoSuchEntity: "),
    (("admin", "user", "create", "bad name!"), "ValidationError: "),
    (("admin", "policy", "create", "p", "--file", "/no/such/file.json"),
     "--file /no/such/file.json: No such file"),
    (("admin", "key", "disable", "nobody", "AKIAXXXXXXXXXXXXXXXX"), "NoSuchEntity"),
])
def test_failures_are_one_line_and_non_zero(cli, args: tuple[str, ...], says: str) -> None:
    one_error_line(cli(*args, check=False), says)


def test_an_unreachable_server_is_one_line(cli) -> None:
    done = cli("admin", "user", "list", check=False, endpoint=f"http://127.0.0.1:{free_port()}")
    one_error_line(done, "cannot reach the admin API at http://127.0.0.1:")


def test_wrong_or_missing_credentials_are_one_line(cli, server, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    one_error_line(cli("admin", "user", "list", check=False, environment=env),
                   "no credentials: set AWS_ACCESS_KEY_ID")
    wrong = {**env, "AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": "x" * 40}
    done = cli("admin", "user", "list", check=False, environment=wrong)
    one_error_line(done, "SignatureDoesNotMatch")
    assert server.secret_key not in done.stderr + done.stdout


def test_root_credentials_are_read_from_the_data_dir(server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "root-credentials.json").write_text(json.dumps(
        {"access_key": server.access_key, "secret_key": server.secret_key}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    done = subprocess.run([*sealbox_command(), "admin", "user", "list", "--json",
                           "--endpoint-url", server.endpoint, "--data-dir", str(data)],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)


def test_https_endpoints_are_trusted_with_ca_bundle(tmp_path: Path) -> None:
    """A server of its own, on HTTPS with a self-signed certificate."""
    pair = make_self_signed(tmp_path / "tls", [], key_type="ec", days=1, overwrite=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    with RunningServer(data_dir=tmp_path / "data", tls=(pair.cert_path, pair.key_path)) as tls:
        env.update(AWS_ACCESS_KEY_ID=tls.access_key, AWS_SECRET_ACCESS_KEY=tls.secret_key)
        base = [*sealbox_command(), "admin", "user", "create", unique("tls"), "--json",
                "--endpoint-url", tls.endpoint]
        untrusted = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env,
                                   check=False)
        one_error_line(untrusted, "CERTIFICATE_VERIFY_FAILED")
        trusted = subprocess.run([*base, "--ca-bundle", str(pair.cert_path)],
                                 capture_output=True, text=True, timeout=60, env=env,
                                 check=False)
        assert trusted.returncode == 0, trusted.stderr
        assert json.loads(trusted.stdout)["User"]["Path"] == "/"
