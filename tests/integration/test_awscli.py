"""The AWS CLI, unchanged, against a real server: s3 and s3api commands."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest


@pytest.fixture
def aws(server, aws_env):
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["aws", "--endpoint-url", server.endpoint, *args],
                              capture_output=True, text=True, env=aws_env, timeout=120,
                              check=check)
    return run


def test_mb_cp_ls_rm_rb(aws, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello from the cli\n")
    aws("s3", "mb", f"s3://{name}")
    aws("s3", "cp", str(source), f"s3://{name}/greetings/hello.txt")
    listing = aws("s3", "ls", f"s3://{name}/greetings/").stdout
    assert "hello.txt" in listing and " 19 " in listing
    assert "PRE greetings/" in aws("s3", "ls", f"s3://{name}").stdout
    target = tmp_path / "back.txt"
    aws("s3", "cp", f"s3://{name}/greetings/hello.txt", str(target))
    assert target.read_bytes() == source.read_bytes()
    aws("s3", "rm", f"s3://{name}/greetings/hello.txt")
    assert aws("s3", "ls", f"s3://{name}/greetings/", check=False).stdout == ""
    aws("s3", "rb", f"s3://{name}")
    assert name not in aws("s3", "ls").stdout


def test_sync_up_and_down(aws, bucket, tmp_path: Path) -> None:
    up = tmp_path / "up"
    for rel, size in [("a.txt", 10), ("sub/b.bin", 300_000), ("sub/deeper/c.txt", 0),
                      ("space name.txt", 5)]:
        path = up / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    # A second sync finds nothing to do: sizes and times match.
    assert aws("s3", "sync", str(up), f"s3://{bucket}/tree").stdout.strip() == ""
    down = tmp_path / "down"
    aws("s3", "sync", f"s3://{bucket}/tree", str(down))
    for path in up.rglob("*"):
        if path.is_file():
            assert (down / path.relative_to(up)).read_bytes() == path.read_bytes()
    (up / "a.txt").unlink()
    aws("s3", "sync", "--delete", str(up), f"s3://{bucket}/tree")
    keys = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket).stdout)["Contents"]
    assert "tree/a.txt" not in {k["Key"] for k in keys}


def test_recursive_rm(aws, s3, bucket) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"logs/{i}.log", Body=b"x")
    aws("s3", "rm", "--recursive", f"s3://{bucket}/logs/")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_s3api_object_commands(aws, bucket, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"a": 1}')
    put = json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", "doc.json",
                         "--body", str(body), "--content-type", "application/json",
                         "--metadata", "team=ops").stdout)
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "doc.json").stdout)
    assert head["ETag"] == put["ETag"]
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"team": "ops"}
    out = tmp_path / "out.json"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "doc.json", "--range", "bytes=1-4",
        str(out))
    assert out.read_text() == '"a":'
    missing = aws("s3api", "head-object", "--bucket", bucket, "--key", "nope", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr
    deleted = json.loads(aws("s3api", "delete-objects", "--bucket", bucket, "--delete",
                             '{"Objects":[{"Key":"doc.json"}]}').stdout)
    assert deleted["Deleted"] == [{"Key": "doc.json"}]


def test_cli_reports_s3_error_codes(aws) -> None:
    result = aws("s3api", "get-object", "--bucket", "no-such-bucket-cli", "--key", "k", "/dev/null",
                 check=False)
    assert result.returncode != 0
    assert "NoSuchBucket" in result.stderr
