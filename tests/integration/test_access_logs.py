"""S3 server access logging on a real server (SQLite and PostgreSQL):
PutBucketLogging and GetBucketLogging as boto3 sends them, refused as S3
refuses them, and the log objects delivered into the target bucket (the
test servers deliver every second) in AWS's format, read by GoAccess.
CloudFront standard logs are in test_cloudfront_logs.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

DELIVERED_WITHIN = 15.0  # seconds: one delivery a second, on a busy 2-core machine
SIMPLE_KEY = re.compile(r"^(?P<prefix>.*?)\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def fields(line: str) -> list[str]:
    """A record's 26 fields, read as ceph/s3-tests reads them (shlex)."""
    return shlex.split(line.replace("[", '"').replace("]", '"'))


def delivered(s3: Any, bucket: str, prefix: str, count: int,
              where: Any = lambda line: True) -> tuple[list[str], list[str]]:
    """(keys, lines) of the log objects under ``prefix`` once at least
    ``count`` lines satisfy ``where``."""
    started = time.monotonic()
    while True:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        keys = [o["Key"] for o in listed]
        lines = [line for key in keys
                 for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                 .decode().splitlines()]
        if len([line for line in lines if where(line)]) >= count:
            return keys, lines
        if time.monotonic() - started > DELIVERED_WITHIN:
            pytest.fail(f"{len(lines)} log lines under {bucket}/{prefix} after "
                        f"{DELIVERED_WITHIN}s, wanted {count}: {lines}")
        time.sleep(0.3)


@pytest.fixture
def logged(s3: Any) -> Iterator[tuple[str, str]]:
    """(source bucket, target bucket) with logging on under ``logs/``."""
    source, target = unique("src"), unique("logs")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=target)
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "logs/"}})
    yield source, target


# -- the configuration ------------------------------------------------------------


def test_a_bucket_without_logging_answers_an_empty_status(s3: Any, bucket: str) -> None:
    answer = s3.get_bucket_logging(Bucket=bucket)
    assert "LoggingEnabled" not in answer


def test_logging_configuration_round_trips_with_each_key_format(s3: Any, logged: Any) -> None:
    source, target = logged
    got = s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]
    # The default key format is given back, as S3 gives it.
    assert got == {"TargetBucket": target, "TargetPrefix": "logs/",
                   "TargetObjectKeyFormat": {"SimplePrefix": {}}}
    partitioned = {"TargetBucket": target, "TargetPrefix": "p/", "TargetObjectKeyFormat": {
        "PartitionedPrefix": {"PartitionDateSource": "DeliveryTime"}}}
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": partitioned})
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"] == partitioned


def test_target_grants_are_accepted_and_given_back(s3: Any, logged: Any) -> None:
    source, target = logged
    grants = [{"Grantee": {"Type": "CanonicalUser", "ID": "a" * 64}, "Permission": "READ"},
              {"Grantee": {"Type": "Group",
                           "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
               "Permission": "FULL_CONTROL"}]
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": target, "TargetPrefix": "g/", "TargetGrants": grants}})
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetGrants"] == grants


def test_an_empty_status_turns_logging_off(s3: Any, logged: Any) -> None:
    source, _ = logged
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)


def error_code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call()
    return (info.value.response["Error"]["Code"],
            info.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_a_target_bucket_that_does_not_exist_is_refused_in_s3s_words(
        s3: Any, bucket: str) -> None:
    code = error_code(lambda: s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": unique("nowhere"), "TargetPrefix": "x/"}}))
    assert code == ("InvalidTargetBucketForLogging", 400)
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)


def test_logging_a_bucket_that_does_not_exist_is_no_such_bucket(s3: Any, bucket: str) -> None:
    code = error_code(lambda: s3.put_bucket_logging(Bucket=unique("gone"), BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": bucket, "TargetPrefix": "x/"}}))
    assert code == ("NoSuchBucket", 404)
    assert error_code(lambda: s3.get_bucket_logging(Bucket=unique("gone"))) == \
        ("NoSuchBucket", 404)


@pytest.mark.parametrize("body", [
    (b"<BucketLoggingStatus><LoggingEnabled><TargetPrefix>x/</TargetPrefix>"
     b"</LoggingEnabled></BucketLoggingStatus>"),  # no TargetBucket
    (b"<BucketLoggingStatus><LoggingEnabled><TargetBucket>b</TargetBucket>"
     b"<TargetPrefix>x/</TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix>"
     b"<PartitionDateSource>kaboom</PartitionDateSource></PartitionedPrefix>"
     b"</TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>"),
    b"<BucketLoggingStatus><Surprise/></BucketLoggingStatus>",
    b"<LoggingStatus/>",
    b"<BucketLoggingStatus><LoggingEnabled>",
    b"",
], ids=["no-target", "bad-date-source", "unknown-element", "wrong-root", "truncated", "empty"])
def test_a_document_s3_would_not_read_is_malformed_xml(signed: Any, bucket: str,
                                                       body: bytes) -> None:
    answer = signed("PUT", f"/{bucket}?logging", body)
    assert answer.status_code == 400, answer.text
    assert "<Code>MalformedXML</Code>" in answer.text


def test_a_huge_document_is_refused_without_a_500(signed: Any, bucket: str) -> None:
    answer = signed("PUT", f"/{bucket}?logging", b"<BucketLoggingStatus>" + b" " * 200_000)
    assert answer.status_code == 400
    assert "<Code>MaxMessageLengthExceeded</Code>" in answer.text


@pytest.fixture
def iam_user(client_factory: Any, server: Any) -> Iterator[tuple[str, Any]]:
    """(user name, an S3 client signed as a fresh IAM user)."""
    iam = client_factory("iam")
    name = unique("logger")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"],
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
    yield name, client
    for inline in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=inline)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def allow(client_factory: Any, user: str, *statements: dict[str, Any]) -> None:
    client_factory("iam").put_user_policy(UserName=user, PolicyName="logging", PolicyDocument=(
        json.dumps({"Version": "2012-10-17", "Statement": list(statements)})))


def test_the_iam_actions_decide_who_may_configure_logging(
        s3: Any, client_factory: Any, iam_user: Any) -> None:
    user, client = iam_user
    source, target = unique("src"), unique("logs")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=target)
    status = {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "u/"}}
    assert error_code(lambda: client.put_bucket_logging(
        Bucket=source, BucketLoggingStatus=status)) == ("AccessDenied", 403)
    assert error_code(lambda: client.get_bucket_logging(Bucket=source)) == ("AccessDenied", 403)
    allow(client_factory, user, {"Effect": "Allow", "Resource": f"arn:aws:s3:::{source}",
                                 "Action": ["s3:PutBucketLogging", "s3:GetBucketLogging"]})
    # Allowed to configure, but not to write into the target: S3's answer.
    assert error_code(lambda: client.put_bucket_logging(
        Bucket=source, BucketLoggingStatus=status)) == ("InvalidTargetBucketForLogging", 400)
    allow(client_factory, user,
          {"Effect": "Allow", "Resource": f"arn:aws:s3:::{source}",
           "Action": ["s3:PutBucketLogging", "s3:GetBucketLogging"]},
          {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{target}/u/*"})
    client.put_bucket_logging(Bucket=source, BucketLoggingStatus=status)
    assert client.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetBucket"] == target


# -- delivery --------------------------------------------------------------------


def test_each_request_is_delivered_as_one_record_in_awss_format(
        s3: Any, server: Any, logged: Any) -> None:
    source, target = logged
    put = s3.put_object(Bucket=source, Key="dir/a file é.txt", Body=b"x" * 1234)
    got = s3.get_object(Bucket=source, Key="dir/a file é.txt", Range="bytes=0-99")
    assert got["Body"].read() == b"x" * 100
    refused = requests.get(f"{server.endpoint}/{source}/dir/secret",
                           headers={"User-Agent": 'evil "agent"\tx', "Referer": "https://r.test/"})
    assert refused.status_code == 403
    ids = {put["ResponseMetadata"]["RequestId"]: "REST.PUT.OBJECT",
           got["ResponseMetadata"]["RequestId"]: "REST.GET.OBJECT",
           refused.headers["x-amz-request-id"]: "REST.GET.OBJECT"}

    keys, lines = delivered(s3, target, "logs/", 3, lambda line: any(i in line for i in ids))
    for key in keys:
        match = SIMPLE_KEY.match(key)
        assert match is not None and match.group("prefix") == "logs/", key
    records = {f[5]: f for f in map(fields, lines) if f[5] in ids}
    assert all(len(f) == 26 for f in map(fields, lines))
    assert {rid: f[6] for rid, f in records.items()} == ids
    put_record = records[put["ResponseMetadata"]["RequestId"]]
    assert put_record[1] == source
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", put_record[2])
    assert put_record[3] == "127.0.0.1"
    assert put_record[4] == "arn:aws:iam::000000000000:root"
    assert put_record[7] == "dir/a%20file%20%C3%A9.txt"
    assert put_record[8].startswith(f"PUT /{source}/dir/a%20file%20%C3%A9.txt")
    assert put_record[9:13] == ["200", "-", "-", "1234"]
    assert put_record[19:22] == ["SigV4", "-", "AuthHeader"]
    got_record = records[got["ResponseMetadata"]["RequestId"]]
    assert got_record[9:13] == ["206", "-", "100", "1234"]
    refused_record = records[refused.headers["x-amz-request-id"]]
    assert refused_record[4] == "-"
    assert refused_record[9:11] == ["403", "AccessDenied"]
    assert refused_record[15] == "https://r.test/"
    assert refused_record[16] == "evil %22agent%22%09x"


def test_a_multi_object_delete_logs_each_key_it_removed(s3: Any, logged: Any) -> None:
    source, target = logged
    for key in ("a", "b", "c d"):
        s3.put_object(Bucket=source, Key=key, Body=b"x")
    done = s3.delete_objects(Bucket=source, Delete={"Objects": [
        {"Key": "a"}, {"Key": "b"}, {"Key": "c d"}], "Quiet": True})
    rid = done["ResponseMetadata"]["RequestId"]
    _, lines = delivered(s3, target, "logs/", 4, lambda line: rid in line)
    mine = [fields(line) for line in lines if rid in line]
    assert sorted((f[6], f[7], f[8], f[9]) for f in mine) == [
        ("BATCH.DELETE.OBJECT", "a", "-", "204"), ("BATCH.DELETE.OBJECT", "b", "-", "204"),
        ("BATCH.DELETE.OBJECT", "c%20d", "-", "204"),
        ("REST.POST.MULTI_OBJECT_DELETE", "-", f"POST /{source}?delete HTTP/1.1", "200")]
    assert all(len(f) == 26 for f in mine)


def test_a_presigned_urls_signature_never_reaches_the_log(s3: Any, logged: Any) -> None:
    source, target = logged
    s3.put_object(Bucket=source, Key="k", Body=b"k")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": source, "Key": "k"})
    signature = url.rsplit("X-Amz-Signature=", 1)[1].split("&")[0]
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200
    rid = answer.headers["x-amz-request-id"]
    _, lines = delivered(s3, target, "logs/", 1, lambda line: rid in line)
    [record] = [fields(line) for line in lines if rid in line]
    assert signature not in "\n".join(lines)
    assert "X-Amz-Signature=%5Bsha256:" in record[8]
    assert record[19:22] == ["SigV4", "-", "QueryString"]


def test_no_records_once_logging_is_off(s3: Any, logged: Any) -> None:
    source, target = logged
    first = s3.head_bucket(Bucket=source)["ResponseMetadata"]["RequestId"]
    delivered(s3, target, "logs/", 1, lambda line: first in line)
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    after = s3.list_objects_v2(Bucket=source)["ResponseMetadata"]["RequestId"]
    time.sleep(3)  # three deliveries
    _, lines = delivered(s3, target, "logs/", 1)
    assert not [line for line in lines if after in line]


def test_partitioned_keys_name_account_region_bucket_and_date(s3: Any) -> None:
    source, target = unique("src"), unique("logs")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=target)
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": target, "TargetPrefix": "part/",
        "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}}})
    s3.list_objects_v2(Bucket=source)
    keys, _ = delivered(s3, target, "part/", 1)
    day = time.strftime("%Y/%m/%d", time.gmtime())
    pattern = (rf"part/000000000000/us-east-1/{source}/{day}/"
               r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}")
    assert all(re.fullmatch(pattern, key) for key in keys), keys


def test_goaccess_counts_the_requests_made(s3: Any, server: Any, logged: Any,
                                           tmp_path: Path) -> None:
    if shutil.which("goaccess") is None:
        why = "goaccess is not installed (bash scripts/install-test-deps.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{why}; CI must run it", pytrace=False)
        pytest.skip(why)
    source, target = logged
    made = 0
    for index in range(5):
        s3.put_object(Bucket=source, Key=f"k{index}", Body=b"y" * (index + 1))
        s3.get_object(Bucket=source, Key=f"k{index}")["Body"].read()
        made += 2
    for _ in range(3):
        assert requests.get(f"{server.endpoint}/{source}/k0").status_code == 403
        made += 1
    # Each record of the logging configuration's own requests is there too.
    keys, lines = delivered(s3, target, "logs/", made,
                            lambda line: "REST.PUT.OBJECT" in line or "REST.GET.OBJECT" in line)
    for key in keys:
        s3.download_file(target, key, str(tmp_path / key.replace("/", "_")))
    logs = sorted(str(p) for p in tmp_path.iterdir())
    report = tmp_path / "report.json"
    done = subprocess.run(["goaccess", "--log-format=AWSS3", "-o", str(report), *logs],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    general = json.loads(report.read_text())["general"]
    # The requests made, and the PutBucketLogging that turned logging on.
    assert len(lines) == made + 1
    assert general["total_requests"] == made + 1
    assert general["valid_requests"] == made + 1
    assert general["failed_requests"] == 0
    statuses = json.loads(report.read_text())["status_codes"]["data"]
    codes = {item["data"].split()[0]: item["hits"]["count"]
             for group in statuses for item in group.get("items", [])}
    assert codes == {"200": made - 3 + 1, "403": 3}


def test_a_target_in_another_region_is_refused_in_s3s_words(tmp_path: Path) -> None:
    """Buckets made before a restart in another region (SEALBOX_REGION) stay in theirs."""
    from sealbox.testing.server import RunningServer
    from tests.conftest import make_client

    with RunningServer(data_dir=tmp_path / "data", observe=False) as running:
        make_client(running).create_bucket(Bucket="east-logs")
    with RunningServer(data_dir=tmp_path / "data", observe=False,
                       env={"SEALBOX_REGION": "eu-west-1"}) as running:
        s3 = boto3.client("s3", endpoint_url=running.endpoint, region_name="eu-west-1",
                          aws_access_key_id=running.access_key,
                          aws_secret_access_key=running.secret_key,
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="west", CreateBucketConfiguration={
            "LocationConstraint": "eu-west-1"})
        with pytest.raises(ClientError) as info:
            s3.put_bucket_logging(Bucket="west", BucketLoggingStatus={"LoggingEnabled": {
                "TargetBucket": "east-logs", "TargetPrefix": "x/"}})
        error = info.value.response["Error"]
        assert (error["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
            ("CrossLocationLoggingProhibitted", 403)
        assert (error["SourceBucketLocation"], error["TargetBucketLocation"]) == \
            ("eu-west-1", "us-east-1")


def test_several_workers_without_the_audit_trail_each_deliver_their_own_objects(
        tmp_path: Path) -> None:
    """Logging needs no --audit on; with --workers 2 every request is in
    exactly one record, in objects of unique names."""
    from concurrent.futures import ThreadPoolExecutor

    from sealbox.testing.server import RunningServer
    from tests.conftest import make_client

    with RunningServer(data_dir=tmp_path / "data", observe=False,
                       extra_args=("--workers", "2", "--log-delivery-seconds", "1")) as running:
        s3 = make_client(running)
        s3.create_bucket(Bucket="src")
        s3.create_bucket(Bucket="logs")
        s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "w/"}})
        time.sleep(1.5)  # the other worker reloads which buckets log within a second
        s3.put_object(Bucket="src", Key="k", Body=b"k")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "src", "Key": "k"})

        def fetch(_: int) -> str:
            # A connection each, so both workers answer some.
            answer = requests.get(url, headers={"Connection": "close"}, timeout=30)
            assert answer.status_code == 200
            return answer.headers["x-amz-request-id"]

        with ThreadPoolExecutor(4) as pool:
            ids = set(pool.map(fetch, range(40)))
        keys, lines = delivered(s3, "logs", "w/", len(ids),
                                lambda line: fields(line)[5] in ids)
        logged = [fields(line)[5] for line in lines if fields(line)[5] in ids]
        assert sorted(logged) == sorted(ids)  # each once
        assert len(set(keys)) == len(keys)
        # Request ids start with the answering process's own prefix.
        assert len({rid[:8] for rid in ids}) == 2
        assert all(fields(line)[19:22] == ["SigV4", "-", "QueryString"]
                   for line in lines if fields(line)[5] in ids)


@pytest.mark.parametrize("value", ["0", "-1", "100000", "soon"])
def test_serve_refuses_a_delivery_interval_out_of_range(tmp_path: Path, value: str) -> None:
    import sys

    done = subprocess.run([sys.executable, "-m", "sealbox", "serve", "--data-dir",
                           str(tmp_path / "data"), "--port", "0", "--log-delivery-seconds",
                           value], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "--log-delivery-seconds" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_request_over_tls_names_its_version(tmp_path: Path) -> None:
    import sys

    from sealbox.testing.server import RunningServer

    made = subprocess.run([sys.executable, "-m", "sealbox", "tls", "self-signed", "--out-dir",
                           str(tmp_path / "tls"), "--json"], capture_output=True, text=True,
                          timeout=60, check=True)
    pair = json.loads(made.stdout)
    with RunningServer(data_dir=tmp_path / "data", observe=False,
                       tls=(Path(pair["cert"]), Path(pair["key"])),
                       extra_args=("--log-delivery-seconds", "1")) as running:
        s3 = boto3.client("s3", endpoint_url=running.endpoint, region_name="us-east-1",
                          aws_access_key_id=running.access_key,
                          aws_secret_access_key=running.secret_key, verify=pair["cert"],
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="src")
        s3.create_bucket(Bucket="logs")
        s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "t/"}})
        rid = s3.list_objects_v2(Bucket="src")["ResponseMetadata"]["RequestId"]
        _, lines = delivered(s3, "logs", "t/", 1, lambda line: rid in line)
        [record] = [fields(line) for line in lines if rid in line]
        assert record[22] == f"127.0.0.1:{running.port}"
        assert record[23] in ("TLSv1.2", "TLSv1.3")
