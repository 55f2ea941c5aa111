"""Encryption at rest (issue 17): SSE-S3, SSE-C and default bucket
encryption, driven by boto3 against a real server on SQLite and
PostgreSQL. What a user relies on: the bytes come back as written, whole
and by any range; the files on disk hold no plaintext; S3's headers and
errors; copies and multipart uploads follow the target's settings; a
rotated keyring still opens old objects."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sealbox.store.secrets import new_key
from sealbox.testing.server import RunningServer, free_port
from tests.conftest import make_client
from tests.integration.edge_site import make_site

CHUNK = 64 * 1024
MIB = 1024 * 1024
AES256 = {"ServerSideEncryption": "AES256"}


def code_and_status(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def blob_files(server: RunningServer) -> list[Path]:
    return [p for p in (server.data_dir / "objects").rglob("*") if p.is_file()]


def on_disk(server: RunningServer, needle: bytes) -> bool:
    return any(needle in path.read_bytes() for path in blob_files(server))


# -- SSE-S3 ----------------------------------------------------------------------------


def test_sse_s3_round_trip_whole_and_by_ranges_across_chunks(s3: Any, bucket: str,
                                                             server: RunningServer) -> None:
    data = os.urandom(3 * CHUNK + 1234)
    put = s3.put_object(Bucket=bucket, Key="secret.bin", Body=data, **AES256)
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'  # of the plaintext, as S3
    got = s3.get_object(Bucket=bucket, Key="secret.bin")
    assert got["Body"].read() == data and got["ServerSideEncryption"] == "AES256"
    assert got["ContentLength"] == len(data)
    head = s3.head_object(Bucket=bucket, Key="secret.bin")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(data)
    for first, last in [(0, 0), (CHUNK - 1, CHUNK), (CHUNK - 5, 2 * CHUNK + 5),
                        (3 * CHUNK, len(data) - 1), (len(data) - 1, len(data) - 1)]:
        ranged = s3.get_object(Bucket=bucket, Key="secret.bin", Range=f"bytes={first}-{last}")
        assert ranged["Body"].read() == data[first:last + 1], (first, last)
        assert ranged["ContentRange"] == f"bytes {first}-{last}/{len(data)}"
    suffix = s3.get_object(Bucket=bucket, Key="secret.bin", Range="bytes=-100")
    assert suffix["Body"].read() == data[-100:]
    assert not on_disk(server, data[CHUNK:CHUNK + 64])


def test_the_blob_on_disk_is_ciphertext_of_the_sealed_size(s3: Any, bucket: str,
                                                           server: RunningServer) -> None:
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    body = marker * 100
    before = set(blob_files(server))
    s3.put_object(Bucket=bucket, Key="marked.txt", Body=body, **AES256)
    s3.put_object(Bucket=bucket, Key="plain.txt", Body=marker + b" in the clear")
    new = [p for p in blob_files(server) if p not in before]
    sizes = sorted(p.stat().st_size for p in new)
    assert len(body) + 16 in sizes  # one chunk and its tag
    assert not any(body[:64] in p.read_bytes() for p in new if p.stat().st_size == len(body) + 16)
    assert on_disk(server, marker + b" in the clear")  # the test can see plaintext when it is there


def test_a_multipart_upload_is_sealed_part_by_part(s3: Any, bucket: str,
                                                   server: RunningServer) -> None:
    started = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **AES256)
    assert started["ServerSideEncryption"] == "AES256"
    parts = [os.urandom(5 * MIB), os.urandom(CHUNK + 3)]
    etags = [s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=started["UploadId"],
                            PartNumber=n, Body=body)["ETag"]
             for n, body in enumerate(parts, 1)]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=started["UploadId"],
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]})
    assert done["ServerSideEncryption"] == "AES256"
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == whole
    edge = len(parts[0])
    across = s3.get_object(Bucket=bucket, Key="big.bin", Range=f"bytes={edge - 10}-{edge + 10}")
    assert across["Body"].read() == whole[edge - 10:edge + 11]
    second = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)
    assert second["Body"].read() == parts[1] and second["ServerSideEncryption"] == "AES256"
    assert not on_disk(server, parts[0][MIB:MIB + 64])


def test_copies_follow_the_targets_settings(s3: Any, bucket: str, server: RunningServer) -> None:
    data = os.urandom(2 * CHUNK + 17)
    s3.put_object(Bucket=bucket, Key="plain", Body=data)
    sealed = s3.copy_object(Bucket=bucket, Key="sealed", CopySource=f"{bucket}/plain", **AES256)
    assert sealed["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="sealed")["Body"].read() == data
    back = s3.copy_object(Bucket=bucket, Key="plain-again", CopySource=f"{bucket}/sealed")
    assert "ServerSideEncryption" not in back
    got = s3.get_object(Bucket=bucket, Key="plain-again")
    assert got["Body"].read() == data and "ServerSideEncryption" not in got
    # In place: asking for encryption is a change, so S3 allows the self-copy.
    s3.copy_object(Bucket=bucket, Key="plain", CopySource=f"{bucket}/plain", **AES256)
    assert s3.head_object(Bucket=bucket, Key="plain")["ServerSideEncryption"] == "AES256"
    # UploadPartCopy reads a sealed source into an upload that is not sealed.
    started = s3.create_multipart_upload(Bucket=bucket, Key="assembled")
    part = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=started["UploadId"],
                               PartNumber=1, CopySource=f"{bucket}/sealed",
                               CopySourceRange=f"bytes={CHUNK - 2}-{CHUNK + 2}")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=started["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["CopyPartResult"]["ETag"], "PartNumber": 1}]})
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == data[CHUNK - 2:CHUNK + 3]


def test_a_presigned_get_reads_an_sse_s3_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared and sealed", **AES256)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"})
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200 and answer.content == b"shared and sealed"
    assert answer.headers["x-amz-server-side-encryption"] == "AES256"


def test_slow_concurrent_downloads_of_sealed_objects_each_get_their_own_bytes(
        s3: Any, bucket: str) -> None:
    # The server decrypts into buffers it reuses (across a body's runs and
    # across requests) and writes them straight to the socket: readers that
    # fill their sockets and wait must still get their own bytes, whole and
    # by a range across the 1 MiB runs (a run that starts mid-page on disk).
    # 6 MiB each: more than a socket's send buffer grows to (4 MiB here).
    bodies = {f"big-{n}": os.urandom(6 * MIB + 1000 * n) for n in range(3)}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, **AES256)
    wanted = [(key, None) for key in bodies] + [("big-1", (MIB - 100, 2 * MIB + 100))]

    def fetch(ask: tuple[str, tuple[int, int] | None]) -> bytes:
        key, span = ask
        url = urlsplit(s3.generate_presigned_url("get_object",
                                                 Params={"Bucket": bucket, "Key": key}))
        ranged = f"Range: bytes={span[0]}-{span[1]}\r\n" if span else ""
        with socket.socket() as sock:
            # A small window: the server's writes wait for room.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
            sock.settimeout(60)
            sock.connect((str(url.hostname), int(url.port or 80)))
            sock.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                         f"{ranged}Connection: close\r\n\r\n".encode())
            pieces = []
            while piece := sock.recv(64 * 1024):
                pieces.append(piece)
                time.sleep(0.005)
        head, _, body = b"".join(pieces).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 206" if span else b"HTTP/1.1 200"), head[:100]
        return body

    with ThreadPoolExecutor(len(wanted)) as pool:
        got = list(pool.map(fetch, wanted))
    for (key, span), data in zip(wanted, got, strict=True):
        expected = bodies[key][span[0]:span[1] + 1] if span else bodies[key]
        assert data == expected, (key, span, len(data))


# -- default bucket encryption ---------------------------------------------------------


def test_default_bucket_encryption_seals_new_objects(s3: Any, bucket: str,
                                                     server: RunningServer) -> None:
    with pytest.raises(ClientError) as none:
        s3.get_bucket_encryption(Bucket=bucket)
    assert code_and_status(none.value) == ("ServerSideEncryptionConfigurationNotFoundError", 404)
    s3.put_object(Bucket=bucket, Key="before", Body=b"written before")
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    marker = os.urandom(16).hex().encode() * 8
    put = s3.put_object(Bucket=bucket, Key="after", Body=marker)
    assert put["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == marker
    assert not on_disk(server, marker)
    assert "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="before")
    s3.delete_bucket_encryption(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_encryption(Bucket=bucket)
    assert code_and_status(gone.value)[1] == 404
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="later", Body=b"x")


def test_a_dual_layer_kms_default_is_not_implemented_and_changes_nothing(s3: Any,
                                                                         bucket: str) -> None:
    with pytest.raises(ClientError) as kms:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}]})
    assert code_and_status(kms.value) == ("NotImplemented", 501)
    with pytest.raises(ClientError):
        s3.get_bucket_encryption(Bucket=bucket)


def test_bucket_encryption_needs_its_iam_actions(s3: Any, bucket: str, client_factory: Any,
                                                 server: RunningServer) -> None:
    iam = client_factory("iam")
    name = f"enc-{bucket[-10:]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetEncryptionConfiguration",
             "Resource": f"arn:aws:s3:::{bucket}"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    with pytest.raises(ClientError) as put:
        user.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=config)
    assert code_and_status(put.value) == ("AccessDenied", 403)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=config)
    assert user.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    with pytest.raises(ClientError) as delete:
        user.delete_bucket_encryption(Bucket=bucket)
    assert code_and_status(delete.value) == ("AccessDenied", 403)


def test_a_bucket_policy_can_require_sse_s3(s3: Any, bucket: str, client_factory: Any,
                                            server: RunningServer) -> None:
    # The S3 User Guide's "Requiring server-side encryption": deny a PUT
    # without the header, or with another algorithm. Root is judged by the
    # bucket policy too.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}},
        ]}))
    with pytest.raises(ClientError) as plain:
        s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert code_and_status(plain.value) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as kms:
        s3.put_object(Bucket=bucket, Key="kms", Body=b"x", ServerSideEncryption="aws:kms")
    assert code_and_status(kms.value) == ("AccessDenied", 403)
    assert s3.put_object(Bucket=bucket, Key="sealed", Body=b"x",
                         **AES256)["ServerSideEncryption"] == "AES256"


# -- SSE-C, over the TLS port ----------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Any]]:
    base = tmp_path_factory.mktemp("ssec")
    made = subprocess.run([sys.executable, "-m", "sealbox", "tls", "self-signed", "--out-dir",
                           str(base / "pair"), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    pair = json.loads(made.stdout)
    tls_port = free_port()
    with RunningServer(data_dir=base / "data",
                       extra_args=("--tls-cert", pair["cert"], "--tls-key", pair["key"],
                                   "--tls-port", str(tls_port))) as server:
        s3 = boto3.client("s3", endpoint_url=f"https://localhost:{tls_port}",
                          region_name="us-east-1", aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key, verify=pair["cert"],
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="ssec")
        yield server, s3


def customer(key: bytes) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def test_sse_c_round_trip_over_https(tls_server: tuple[RunningServer, Any]) -> None:
    server, s3 = tls_server
    key, data = os.urandom(32), os.urandom(2 * CHUNK + 99)
    put = s3.put_object(Bucket="ssec", Key="mine", Body=data, **customer(key))
    md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == md5
    got = s3.get_object(Bucket="ssec", Key="mine", **customer(key))
    assert got["Body"].read() == data and got["SSECustomerKeyMD5"] == md5
    ranged = s3.get_object(Bucket="ssec", Key="mine", Range=f"bytes={CHUNK - 3}-{CHUNK + 3}",
                           **customer(key))
    assert ranged["Body"].read() == data[CHUNK - 3:CHUNK + 4]
    assert s3.head_object(Bucket="ssec", Key="mine", **customer(key))["ContentLength"] == len(data)
    assert not on_disk(server, data[:64])
    assert not on_disk(server, key) and not on_disk(server, base64.b64encode(key))


def test_sse_c_without_the_key_or_with_another_is_refused(
        tls_server: tuple[RunningServer, Any]) -> None:
    _, s3 = tls_server
    key = os.urandom(32)
    s3.put_object(Bucket="ssec", Key="locked", Body=b"locked away", **customer(key))
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="ssec", Key="locked")
    assert code_and_status(missing.value) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="ssec", Key="locked")
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as wrong:
        s3.get_object(Bucket="ssec", Key="locked", **customer(os.urandom(32)))
    assert code_and_status(wrong.value) == ("AccessDenied", 403)
    s3.put_object(Bucket="ssec", Key="s3-sealed", Body=b"x", **AES256)
    with pytest.raises(ClientError) as not_applicable:
        s3.get_object(Bucket="ssec", Key="s3-sealed", **customer(key))
    assert code_and_status(not_applicable.value) == ("InvalidRequest", 400)


def test_sse_c_object_attributes_need_its_key(tls_server: tuple[RunningServer, Any]) -> None:
    _, s3 = tls_server
    key = os.urandom(32)
    s3.put_object(Bucket="ssec", Key="attrs", Body=b"A" * 1000, **customer(key))
    wanted = ["ETag", "ObjectSize", "StorageClass"]

    def encoded(key: bytes) -> dict[str, str]:
        # botocore encodes the key only for the operations it knows (not this one).
        return {"SSECustomerAlgorithm": "AES256",
                "SSECustomerKey": base64.b64encode(key).decode(),
                "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}

    with pytest.raises(ClientError) as missing:
        s3.get_object_attributes(Bucket="ssec", Key="attrs", ObjectAttributes=wanted)
    assert code_and_status(missing.value) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as wrong:
        s3.get_object_attributes(Bucket="ssec", Key="attrs", ObjectAttributes=wanted,
                                 **encoded(os.urandom(32)))
    assert code_and_status(wrong.value) == ("AccessDenied", 403)
    got = s3.get_object_attributes(Bucket="ssec", Key="attrs", ObjectAttributes=wanted,
                                   **encoded(key))
    assert got["ObjectSize"] == 1000 and got["StorageClass"] == "STANDARD"
    s3.put_object(Bucket="ssec", Key="plain-attrs", Body=b"x")
    with pytest.raises(ClientError) as not_applicable:
        s3.get_object_attributes(Bucket="ssec", Key="plain-attrs", ObjectAttributes=wanted,
                                 **encoded(key))
    assert code_and_status(not_applicable.value) == ("InvalidRequest", 400)
    plain = s3.get_object_attributes(Bucket="ssec", Key="plain-attrs", ObjectAttributes=wanted)
    assert plain["ObjectSize"] == 1


def test_a_bad_customer_key_md5_or_length_stores_nothing(
        tls_server: tuple[RunningServer, Any]) -> None:
    _, s3 = tls_server
    key = os.urandom(32)
    bad = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
           "SSECustomerKeyMD5": base64.b64encode(b"\0" * 16).decode()}
    with pytest.raises(ClientError) as md5:
        s3.put_object(Bucket="ssec", Key="bad-md5", Body=b"x", **bad)
    assert code_and_status(md5.value) == ("InvalidArgument", 400)
    short = os.urandom(16)
    with pytest.raises(ClientError) as length:
        s3.put_object(Bucket="ssec", Key="bad-len", Body=b"x", **customer(short))
    assert code_and_status(length.value) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as both:
        s3.put_object(Bucket="ssec", Key="both", Body=b"x", **customer(key), **AES256)
    assert code_and_status(both.value) == ("InvalidArgument", 400)
    listed = s3.list_objects_v2(Bucket="ssec", Prefix="b")
    assert listed["KeyCount"] == 0


def test_sse_c_copy_and_multipart_need_the_key_on_every_step(
        tls_server: tuple[RunningServer, Any]) -> None:
    _, s3 = tls_server
    source_key, target_key = os.urandom(32), os.urandom(32)
    data = os.urandom(CHUNK * 2)
    s3.put_object(Bucket="ssec", Key="src", Body=data, **customer(source_key))
    with pytest.raises(ClientError) as no_source_key:
        s3.copy_object(Bucket="ssec", Key="dst", CopySource="ssec/src")
    assert code_and_status(no_source_key.value) == ("InvalidRequest", 400)
    s3.copy_object(Bucket="ssec", Key="dst", CopySource="ssec/src",
                   CopySourceSSECustomerAlgorithm="AES256",
                   CopySourceSSECustomerKey=source_key, **customer(target_key))
    assert s3.get_object(Bucket="ssec", Key="dst", **customer(target_key))["Body"].read() == data
    with pytest.raises(ClientError):
        s3.get_object(Bucket="ssec", Key="dst", **customer(source_key))

    started = s3.create_multipart_upload(Bucket="ssec", Key="mp", **customer(target_key))
    with pytest.raises(ClientError) as part_without:
        s3.upload_part(Bucket="ssec", Key="mp", UploadId=started["UploadId"], PartNumber=1,
                       Body=b"part")
    assert code_and_status(part_without.value) == ("InvalidRequest", 400)
    one = s3.upload_part(Bucket="ssec", Key="mp", UploadId=started["UploadId"], PartNumber=1,
                         Body=b"part one", **customer(target_key))
    s3.complete_multipart_upload(Bucket="ssec", Key="mp", UploadId=started["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": one["ETag"],
                                                             "PartNumber": 1}]})
    got = s3.get_object(Bucket="ssec", Key="mp", **customer(target_key))
    assert got["Body"].read() == b"part one"


def test_sse_c_over_plain_http_is_refused(server: RunningServer, s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as put:
        s3.put_object(Bucket=bucket, Key="ssec", Body=b"x", **customer(os.urandom(32)))
    assert code_and_status(put.value) == ("InvalidRequest", 400)
    assert "secure connection" in put.value.response["Error"]["Message"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# -- the edge ---------------------------------------------------------------------------


def test_the_edge_serves_sse_s3_uncached_and_refuses_sse_c(tmp_path: Path) -> None:
    # SSE-C over HTTP only to put the object there (a test-suite server).
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--sse-c-allow-http",)) as server:
        s3, cf = make_client(server), make_client(server, "cloudfront")
        site = make_site(s3, cf, server.endpoint, server.port, restricted=False)
        data = os.urandom(2 * CHUNK + 3)
        s3.put_object(Bucket=site.bucket, Key="sealed.bin", Body=data, **AES256)
        s3.put_object(Bucket=site.bucket, Key="mine.bin", Body=b"customer's",
                      **customer(os.urandom(32)))
        for _ in range(2):
            answer = site.get(site.url("/sealed.bin"))
            assert answer.status_code == 200 and answer.content == data
            # Never kept in the edge's disk cache, which would hold plaintext.
            assert answer.headers["x-cache"] == "Miss from cloudfront"
        ranged = site.get(site.url("/sealed.bin"), headers={"Range": f"bytes={CHUNK}-{CHUNK + 9}"})
        assert ranged.status_code == 206 and ranged.content == data[CHUNK:CHUNK + 10]
        cache = server.data_dir
        assert not any(data[:64] in p.read_bytes() for p in cache.rglob("*") if p.is_file())
        refused = site.get(site.url("/mine.bin"))
        assert refused.status_code == 400 and b"customer-provided key" in refused.content


# -- rotation --------------------------------------------------------------------------


def test_a_rotated_keyring_still_opens_old_objects_and_rotate_secrets_rewraps(
        tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    data = os.urandom(CHUNK + 5)

    def run(keys: str) -> RunningServer:
        return RunningServer(data_dir=tmp_path / "data", env={"SEALBOX_SECRET_KEY": keys})

    with run(old) as server:
        s3 = make_client(server)
        s3.create_bucket(Bucket="rotated")
        s3.put_object(Bucket="rotated", Key="old", Body=data, **AES256)
    with run(f"{new},{old}") as server:  # NEW encrypts, OLD still opens
        s3 = make_client(server)
        assert s3.get_object(Bucket="rotated", Key="old")["Body"].read() == data
        s3.put_object(Bucket="rotated", Key="new", Body=b"under the new key", **AES256)
    before = {p: p.read_bytes() for p in (tmp_path / "data" / "objects").rglob("*")
              if p.is_file()}
    done = subprocess.run([sys.executable, "-m", "sealbox", "rotate-secrets", "--data-dir",
                           str(tmp_path / "data"), "--json"],
                          env={**os.environ, "SEALBOX_SECRET_KEY": f"{new},{old}"},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["DataKeys"] == 1  # "old"; "new" was wrapped under NEW
    after = {p: p.read_bytes() for p in (tmp_path / "data" / "objects").rglob("*")
             if p.is_file()}
    assert after == before  # no object's bytes rewritten
    # The orphan sweep reads sealed segments' records as any others: it keeps their blobs.
    swept = subprocess.run([sys.executable, "-m", "sealbox", "sweep-blobs", "--data-dir",
                            str(tmp_path / "data"), "--min-age-hours", "0", "--json"],
                           env={**os.environ, "SEALBOX_SECRET_KEY": f"{new},{old}"},
                           capture_output=True, text=True, timeout=120, check=False)
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout)["Removed"] == 0
    with run(new) as server:  # OLD dropped
        s3 = make_client(server)
        assert s3.get_object(Bucket="rotated", Key="old")["Body"].read() == data
        assert s3.get_object(Bucket="rotated", Key="new")["Body"].read() == b"under the new key"
