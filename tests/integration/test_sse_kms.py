"""SSE-KMS on KMS keys of sealbox's own (issue 17), against a real server
(SQLite and PostgreSQL), driven by boto3, the admin JSON API and the
``sealbox admin kms-key`` CLI. What a user relies on: the bytes come back
as written, whole, by range, after a copy or a multipart upload; the key's
ARN comes back on every answer; the disk holds ciphertext; a disabled key
locks its objects until enabled; only principals of the key's account
with kms:GenerateDataKey / kms:Decrypt use it; a keyring rotation keeps
every object readable."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealbox.store.secrets import new_key
from sealbox.testing.server import RunningServer
from tests.conftest import make_client
from tests.integration.test_accounts import Keys, admin, client, new_account, new_user, root_keys

CHUNK = 64 * 1024
MIB = 1024 * 1024


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def on_disk(server: RunningServer, needle: bytes) -> bool:
    return any(needle in p.read_bytes() for p in (server.data_dir / "objects").rglob("*")
               if p.is_file())


def create_key(server: RunningServer, keys: Keys | None = None, **body: str) -> dict[str, Any]:
    answer = admin(server, keys or root_keys(server), "POST", "kms-keys", body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["KeyMetadata"])


def kms(key_arn: str) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn}


def test_sse_kms_round_trip_whole_by_ranges_and_on_disk(s3: Any, bucket: str,
                                                        server: RunningServer) -> None:
    key = create_key(server, Description="invoices")
    data = os.urandom(3 * CHUNK + 777)
    context = base64.b64encode(json.dumps({"dept": "finance"}).encode()).decode()
    put = s3.put_object(Bucket=bucket, Key="k.bin", Body=data, SSEKMSEncryptionContext=context,
                        BucketKeyEnabled=True, **kms(key["KeyId"]))
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == key["Arn"]  # named by id, answered by ARN, as AWS
    assert put["SSEKMSEncryptionContext"] == context and put["BucketKeyEnabled"] is True
    got = s3.get_object(Bucket=bucket, Key="k.bin")
    assert got["Body"].read() == data
    assert (got["ServerSideEncryption"], got["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    head = s3.head_object(Bucket=bucket, Key="k.bin")
    assert head["SSEKMSKeyId"] == key["Arn"] and head["ContentLength"] == len(data)
    for first, last in [(0, 0), (CHUNK - 3, CHUNK + 3), (len(data) - 10, len(data) - 1)]:
        ranged = s3.get_object(Bucket=bucket, Key="k.bin", Range=f"bytes={first}-{last}")
        assert ranged["Body"].read() == data[first:last + 1]
    assert not on_disk(server, data[CHUNK:CHUNK + 64])


def test_a_key_is_named_by_id_arn_alias_or_alias_arn(s3: Any, bucket: str,
                                                     server: RunningServer) -> None:
    alias = f"alias/team-{bucket[-8:]}"
    key = create_key(server, Alias=alias)
    alias_arn = key["Arn"].split(":key/")[0] + ":" + alias
    for i, name in enumerate([key["KeyId"], key["Arn"], alias, alias_arn]):
        put = s3.put_object(Bucket=bucket, Key=f"o{i}", Body=b"x", **kms(name))
        assert put["SSEKMSKeyId"] == key["Arn"], name
        assert s3.get_object(Bucket=bucket, Key=f"o{i}")["Body"].read() == b"x"


def test_no_key_named_uses_the_accounts_aws_s3_key(s3: Any, bucket: str,
                                                   server: RunningServer) -> None:
    first = s3.put_object(Bucket=bucket, Key="a", Body=b"a", ServerSideEncryption="aws:kms")
    second = s3.put_object(Bucket=bucket, Key="b", Body=b"b", ServerSideEncryption="aws:kms")
    assert first["SSEKMSKeyId"] == second["SSEKMSKeyId"]  # made once, then reused
    listed = admin(server, root_keys(server), "GET", "kms-keys").json()["Keys"]
    managed = [k for k in listed if "alias/aws/s3" in k["Aliases"]]
    assert len(managed) == 1 and managed[0]["Arn"] == first["SSEKMSKeyId"]
    assert managed[0]["KeyManager"] == "AWS"


def test_an_unknown_key_or_bad_context_stores_nothing(s3: Any, bucket: str,
                                                      server: RunningServer) -> None:
    with pytest.raises(ClientError) as missing:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x",
                      **kms("11111111-2222-4333-8444-555555555555"))
    assert code_and_status(missing.value) == ("KMS.NotFoundException", 400)
    with pytest.raises(ClientError) as junk:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x", **kms("testkey-1"))
    assert code_and_status(junk.value) == ("KMS.NotFoundException", 400)
    key = create_key(server)
    with pytest.raises(ClientError) as context:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x", SSEKMSEncryptionContext="bm90IGpzb24=",
                      **kms(key["Arn"]))
    assert code_and_status(context.value) == ("InvalidArgument", 400)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_conflicting_or_misplaced_kms_headers_are_refused(s3: Any, signed: Any, bucket: str,
                                                          server: RunningServer) -> None:
    key = create_key(server)
    key_id = "x-amz-server-side-encryption-aws-kms-key-id"
    sse = "x-amz-server-side-encryption"
    alone = signed("PUT", f"/{bucket}/o", b"x", {key_id: key["Arn"]})
    assert alone.status_code == 400 and b"<Code>InvalidArgument</Code>" in alone.content
    with_s3 = signed("PUT", f"/{bucket}/o", b"x", {sse: "AES256", key_id: key["Arn"]})
    assert with_s3.status_code == 400 and b"<Code>InvalidArgument</Code>" in with_s3.content
    dsse = signed("PUT", f"/{bucket}/o", b"x", {sse: "aws:kms:dsse"})
    assert dsse.status_code == 501
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", **kms(key["Arn"]))
    on_head = signed("HEAD", f"/{bucket}/o", b"", {sse: "aws:kms", key_id: key["Arn"]})
    assert on_head.status_code == 400


def test_a_disabled_key_locks_its_objects_until_enabled(s3: Any, bucket: str,
                                                        server: RunningServer) -> None:
    key = create_key(server)
    s3.put_object(Bucket=bucket, Key="locked", Body=b"payroll", **kms(key["Arn"]))
    root = root_keys(server)
    ref = key["KeyId"]
    assert admin(server, root, "POST", f"kms-keys/{ref}/disable").json()[
        "KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as read:
        s3.get_object(Bucket=bucket, Key="locked")
    assert code_and_status(read.value) == ("KMS.DisabledException", 400)
    with pytest.raises(ClientError) as write:
        s3.put_object(Bucket=bucket, Key="new", Body=b"x", **kms(key["Arn"]))
    assert code_and_status(write.value) == ("KMS.DisabledException", 400)
    admin(server, root, "POST", f"kms-keys/{ref}/enable")
    assert s3.get_object(Bucket=bucket, Key="locked")["Body"].read() == b"payroll"


def test_copies_between_kms_s3_and_plain(s3: Any, bucket: str, server: RunningServer) -> None:
    one, two = create_key(server), create_key(server)
    data = os.urandom(CHUNK + 9)
    s3.put_object(Bucket=bucket, Key="kms", Body=data, **kms(one["Arn"]))
    s3.put_object(Bucket=bucket, Key="plain", Body=data)
    cases = [("kms", kms(two["Arn"]), "aws:kms"), ("kms", {"ServerSideEncryption": "AES256"},
                                                   "AES256"),
             ("kms", {}, None), ("plain", kms(one["Arn"]), "aws:kms")]
    for i, (source, asked, expected) in enumerate(cases):
        copied = s3.copy_object(Bucket=bucket, Key=f"c{i}",
                                CopySource={"Bucket": bucket, "Key": source}, **asked)
        assert copied.get("ServerSideEncryption") == expected
        got = s3.get_object(Bucket=bucket, Key=f"c{i}")
        assert got["Body"].read() == data and got.get("ServerSideEncryption") == expected
        if expected == "aws:kms":
            assert got["SSEKMSKeyId"] == asked["SSEKMSKeyId"]


def test_a_multipart_upload_takes_the_uploads_key(s3: Any, bucket: str,
                                                  server: RunningServer) -> None:
    key, other = create_key(server), create_key(server)
    made = s3.create_multipart_upload(Bucket=bucket, Key="big", **kms(key["Arn"]))
    assert made["SSEKMSKeyId"] == key["Arn"]
    parts, data = [], [os.urandom(5 * MIB), os.urandom(1000)]
    for number, body in enumerate(data, 1):
        part = s3.upload_part(Bucket=bucket, Key="big", UploadId=made["UploadId"],
                              PartNumber=number, Body=body)
        assert part["SSEKMSKeyId"] == key["Arn"]
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=made["UploadId"],
                                 MultipartUpload={"Parts": parts})
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == b"".join(data) and got["SSEKMSKeyId"] == key["Arn"]
    assert not on_disk(server, data[0][MIB:MIB + 64])
    del other


def test_default_bucket_encryption_with_a_kms_key(s3: Any, bucket: str,
                                                  server: RunningServer) -> None:
    key = create_key(server)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                               "KMSMasterKeyID": key["Arn"]}}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
        "Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"defaulted")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"defaulted"
    with pytest.raises(ClientError) as wrong:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256",
                                                   "KMSMasterKeyID": key["Arn"]}}]})
    assert code_and_status(wrong.value) == ("InvalidArgument", 400)


def test_users_need_kms_permissions_and_other_accounts_cannot_use_a_key(
        s3: Any, bucket: str, server: RunningServer) -> None:
    key = create_key(server)
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s", **kms(key["Arn"]))
    s3_only = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    _, plain_user = new_user(server, root_keys(server), s3_only)
    refused = client(server, plain_user)
    # HEAD reads no bytes: s3:GetObject is enough, as on AWS.
    assert refused.head_object(Bucket=bucket, Key="secret")["SSEKMSKeyId"] == key["Arn"]
    with pytest.raises(ClientError) as read:
        refused.get_object(Bucket=bucket, Key="secret")
    assert code_and_status(read.value) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as write:
        refused.put_object(Bucket=bucket, Key="mine", Body=b"x", **kms(key["Arn"]))
    assert code_and_status(write.value) == ("AccessDenied", 403)
    refused.put_object(Bucket=bucket, Key="plain", Body=b"x")  # S3 alone is allowed
    with_kms = {"Version": "2012-10-17", "Statement": [*s3_only["Statement"], {
        "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": key["Arn"]}]}
    _, kms_user = new_user(server, root_keys(server), with_kms)
    allowed = client(server, kms_user)
    assert allowed.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"s"
    allowed.put_object(Bucket=bucket, Key="mine", Body=b"x", **kms(key["Arn"]))
    # Another account, even with the bucket open to it, cannot use the key.
    other_id, other_root = new_account(server)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other_id}:root"},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    stranger = client(server, other_root)
    assert stranger.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"x"
    with pytest.raises(ClientError) as foreign:
        stranger.get_object(Bucket=bucket, Key="secret")
    assert code_and_status(foreign.value) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as foreign_write:
        stranger.put_object(Bucket=bucket, Key="theirs", Body=b"x", **kms(key["Arn"]))
    assert code_and_status(foreign_write.value) == ("AccessDenied", 403)
    assert admin(server, other_root, "GET", f"kms-keys/{key['KeyId']}").status_code == 404


def test_a_bucket_policy_can_require_a_kms_key(s3: Any, bucket: str,
                                               server: RunningServer) -> None:
    key, other = create_key(server), create_key(server)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringNotEquals": {
                "s3:x-amz-server-side-encryption-aws-kms-key-id": key["Arn"]}}}]}))
    with pytest.raises(ClientError) as wrong:
        s3.put_object(Bucket=bucket, Key="o", Body=b"x", **kms(other["Arn"]))
    assert code_and_status(wrong.value) == ("AccessDenied", 403)
    assert s3.put_object(Bucket=bucket, Key="o", Body=b"x",
                         **kms(key["Arn"]))["SSEKMSKeyId"] == key["Arn"]


def test_the_kms_key_cli(server: RunningServer, aws_env: dict[str, str]) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sealbox", "admin", "kms-key", *args,
                               "--endpoint-url", server.endpoint],
                              capture_output=True, text=True, env=aws_env, timeout=60,
                              check=False)

    made = cli("create", "--alias", "cli-reports", "--description", "reports", "--json")
    assert made.returncode == 0, made.stderr
    meta = json.loads(made.stdout)["KeyMetadata"]
    assert meta["Aliases"] == ["alias/cli-reports"] and meta["KeyState"] == "Enabled"
    assert meta["Arn"].startswith("arn:aws:kms:us-east-1:000000000000:key/")
    shown = cli("show", "alias/cli-reports")
    assert shown.returncode == 0 and shown.stdout.startswith(meta["Arn"] + "\tEnabled")
    assert cli("disable", meta["Arn"]).stdout.strip() == f"{meta['Arn']}\tDisabled"
    assert meta["Arn"] + "\tDisabled" in cli("list").stdout
    assert cli("enable", meta["KeyId"]).stdout.strip() == f"{meta['Arn']}\tEnabled"
    taken = cli("create", "--alias", "cli-reports")
    assert taken.returncode == 1 and "already exists" in taken.stderr
    reserved = cli("create", "--alias", "alias/aws/mine")
    assert reserved.returncode == 1 and "reserved" in reserved.stderr
    assert cli("show", "alias/nothing-here").returncode == 1


def test_rotation_keeps_kms_objects_readable(tmp_path: Path) -> None:
    old, new = new_key(), new_key()

    def run(keys: str) -> RunningServer:
        return RunningServer(data_dir=tmp_path / "data", env={"SEALBOX_SECRET_KEY": keys})

    with run(old) as server:
        s3 = make_client(server)
        s3.create_bucket(Bucket="rotated")
        key = create_key(server)
        s3.put_object(Bucket="rotated", Key="k", Body=b"kms before", **kms(key["Arn"]))
    done = subprocess.run([sys.executable, "-m", "sealbox", "rotate-secrets", "--data-dir",
                           str(tmp_path / "data"), "--json"],
                          env={**os.environ, "SEALBOX_SECRET_KEY": f"{new},{old}"},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["KmsKeys"] == 1
    with run(new) as server:  # OLD dropped: the KMS key's material is under NEW
        s3 = make_client(server)
        assert s3.get_object(Bucket="rotated", Key="k")["Body"].read() == b"kms before"


def test_managing_keys_takes_kms_actions_and_refusals_are_json(server: RunningServer) -> None:
    root = root_keys(server)
    _, nobody = new_user(server, root, None)
    refused = admin(server, nobody, "POST", "kms-keys", {"Description": "mine"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "AccessDenied"
    assert "kms:CreateKey" in refused.json()["error"]["message"]
    key = create_key(server)
    manager_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:DisableKey"],
         "Resource": key["Arn"]}]}
    _, manager = new_user(server, root, manager_policy)
    assert admin(server, manager, "GET", f"kms-keys/{key['KeyId']}").status_code == 200
    assert admin(server, manager, "POST", f"kms-keys/{key['KeyId']}/disable").status_code == 200
    assert admin(server, manager, "POST", f"kms-keys/{key['KeyId']}/enable").status_code == 403
    assert admin(server, manager, "GET", "kms-keys").status_code == 403
    bad = admin(server, root, "POST", "kms-keys", {"Alias": "has space"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ValidationException"
    odd = admin(server, root, "POST", "kms-keys", {"Alias": ["x"]})
    assert odd.status_code == 400
    missing = admin(server, root, "GET", "kms-keys/alias%2Fnever-made")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFoundException"
    junk = admin(server, root, "GET", "kms-keys/not-a-key")
    assert junk.status_code == 404


def test_the_edge_refuses_sse_kms_objects(tmp_path: Path) -> None:
    from tests.integration.edge_site import make_site

    with RunningServer(data_dir=tmp_path / "data") as server:
        s3, cf = make_client(server), make_client(server, "cloudfront")
        site = make_site(s3, cf, server.endpoint, server.port, restricted=False)
        s3.put_object(Bucket=site.bucket, Key="kms.bin", Body=b"through the edge? no",
                      ServerSideEncryption="aws:kms")
        s3.put_object(Bucket=site.bucket, Key="open.bin", Body=b"served")
        assert site.get(site.url("/open.bin")).content == b"served"
        refused = site.get(site.url("/kms.bin"))
        assert refused.status_code == 400 and b"SSE-KMS" in refused.content


def test_a_post_form_seals_under_the_key_it_names(s3: Any, bucket: str,
                                                  server: RunningServer) -> None:
    import requests

    key = create_key(server)
    fields = {"x-amz-server-side-encryption": "aws:kms",
              "x-amz-server-side-encryption-aws-kms-key-id": key["Arn"]}
    post = s3.generate_presigned_post(bucket, "form.txt", Fields=fields,
                                      Conditions=[{k: v} for k, v in fields.items()])
    answer = requests.post(post["url"], data=post["fields"],
                           files={"file": ("form.txt", b"sealed form")}, timeout=30)
    assert answer.status_code == 204, answer.content
    assert answer.headers["x-amz-server-side-encryption-aws-kms-key-id"] == key["Arn"]
    got = s3.get_object(Bucket=bucket, Key="form.txt")
    assert got["Body"].read() == b"sealed form" and got["SSEKMSKeyId"] == key["Arn"]
