"""Conditional writes (If-Match, If-None-Match) on PutObject, CopyObject and
CompleteMultipartUpload, through boto3 and raw HTTP against a real server:
each form's answer, and that the condition holds against concurrent
writers and deletes (checked again in the committing transaction)."""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

PART = 5 * 1024 * 1024


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def _refused(call, expected: tuple[str, int]) -> None:
    with pytest.raises(ClientError) as info:
        call()
    assert _error(info) == expected


def test_put_if_none_match_and_if_match_in_every_form(s3, bucket) -> None:
    put = s3.put_object
    etag = put(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    _refused(lambda: put(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch="*"),
             ("PreconditionFailed", 412))
    _refused(lambda: put(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch=etag),
             ("PreconditionFailed", 412))
    etag = put(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch='"other"')["ETag"]
    _refused(lambda: put(Bucket=bucket, Key="k", Body=b"x", IfMatch='"other"'),
             ("PreconditionFailed", 412))
    etag = put(Bucket=bucket, Key="k", Body=b"three", IfMatch=etag)["ETag"]
    put(Bucket=bucket, Key="k", Body=b"four", IfMatch="*")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"four"
    s3.delete_object(Bucket=bucket, Key="k")
    _refused(lambda: put(Bucket=bucket, Key="k", Body=b"x", IfMatch="*"), ("NoSuchKey", 404))
    _refused(lambda: put(Bucket=bucket, Key="k", Body=b"x", IfMatch=etag), ("NoSuchKey", 404))
    put(Bucket=bucket, Key="k", Body=b"five", IfNoneMatch=etag)


def test_both_headers_at_once_stay_not_implemented(signed, bucket) -> None:
    r = signed("PUT", f"/{bucket}/k", b"x", headers={"If-Match": "*", "If-None-Match": "*"})
    assert r.status_code == 501 and b"<Code>NotImplemented</Code>" in r.content


def test_a_delete_marker_is_no_object_to_match(s3, bucket) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["ETag"]
    assert s3.delete_object(Bucket=bucket, Key="k")["DeleteMarker"]
    _refused(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfMatch=etag),
             ("NoSuchKey", 404))
    s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"


def _upload(s3, bucket: str, key: str, body: bytes) -> tuple[str, list[dict[str, object]]]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1,
                          Body=body)["ETag"]
    return upload, [{"ETag": etag, "PartNumber": 1}]


def test_complete_multipart_upload_honours_the_conditions_and_keeps_a_refused_upload(
        s3, bucket) -> None:
    done = s3.complete_multipart_upload
    upload, parts = _upload(s3, bucket, "mp", b"first")
    etag = done(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts},
                IfNoneMatch="*")["ETag"]
    upload, parts = _upload(s3, bucket, "mp", b"second")
    for condition in ({"IfNoneMatch": "*"}, {"IfNoneMatch": etag}, {"IfMatch": '"other"'}):
        _refused(lambda: done(Bucket=bucket, Key="mp", UploadId=upload,
                              MultipartUpload={"Parts": parts}, **condition),  # noqa: B023
                 ("PreconditionFailed", 412))
    # The refused upload is still there, and completes once its condition holds.
    done(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts},
         IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"second"
    s3.delete_object(Bucket=bucket, Key="mp")
    upload, parts = _upload(s3, bucket, "mp", b"third")
    _refused(lambda: done(Bucket=bucket, Key="mp", UploadId=upload,
                          MultipartUpload={"Parts": parts}, IfMatch="*"), ("NoSuchKey", 404))


def test_copy_object_checks_its_destination(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    s3.put_object(Bucket=bucket, Key="dst", Body=b"there")
    copy = s3.copy_object
    _refused(lambda: copy(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", IfNoneMatch="*"),
             ("PreconditionFailed", 412))
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"there"
    copy(Bucket=bucket, Key="new", CopySource=f"{bucket}/src", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="new")["Body"].read() == b"source"


def _race(client_factory, count: int, write) -> list[object]:
    """``write(client, i)`` from ``count`` threads at once; each one's result or error."""
    clients = [client_factory() for _ in range(count)]
    results: list[object] = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = write(clients[i], i)
        except ClientError as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_of_concurrent_creates_with_if_none_match_exactly_one_wins(
        s3, bucket, client_factory) -> None:
    bodies = [bytes([i]) * (200 * 1024) for i in range(8)]
    results = _race(client_factory, 8, lambda c, i: c.put_object(
        Bucket=bucket, Key="once", Body=bodies[i], IfNoneMatch="*"))
    won = [i for i, r in enumerate(results) if isinstance(r, dict)]
    assert len(won) == 1, results
    for r in results:
        if isinstance(r, ClientError):
            assert r.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == bodies[won[0]]


def test_of_concurrent_updates_with_if_match_exactly_one_wins(
        s3, bucket, client_factory) -> None:
    etag = s3.put_object(Bucket=bucket, Key="cas", Body=b"0")["ETag"]
    results = _race(client_factory, 8, lambda c, i: c.put_object(
        Bucket=bucket, Key="cas", Body=str(i + 1).encode() * 70_000, IfMatch=etag))
    won = [i for i, r in enumerate(results) if isinstance(r, dict)]
    assert len(won) == 1, results
    got = s3.get_object(Bucket=bucket, Key="cas")["Body"].read()
    assert got == str(won[0] + 1).encode() * 70_000


def test_an_object_deleted_while_an_if_match_put_uploads_is_409(s3, bucket, server) -> None:
    """The condition is checked before the body is read and again as the
    object commits; a delete in between is S3's 409 ConditionalRequestConflict."""
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
    body = b"n" * (256 * 1024)
    url = s3.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "k", "IfMatch": etag}, ExpiresIn=300)
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = (f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"If-Match: {etag}\r\nContent-Length: {len(body)}\r\n"
                "Expect: 100-continue\r\n\r\n")
        sock.sendall(head.encode())
        # 100 Continue comes when the handler asks for the body: after its first check.
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        s3.delete_object(Bucket=bucket, Key="k")
        sock.sendall(body)
        answer = b""
        while b"</Error>" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 409"), answer[:200]
    assert b"<Code>ConditionalRequestConflict</Code>" in answer
    _refused(lambda: s3.head_object(Bucket=bucket, Key="k"), ("404", 404))


def test_a_bucket_policy_can_require_if_none_match(s3, bucket) -> None:
    """"Enforce conditional writes": s3:if-none-match is the header's value,
    absent without it, so ``Null`` denies unconditional uploads."""
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "CreateOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"Null": {"s3:if-none-match": "true"}}}]}))
    try:
        _refused(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x"), ("AccessDenied", 403))
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch="*")
        _refused(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"y", IfNoneMatch="*"),
                 ("PreconditionFailed", 412))
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
