"""aws-chunked uploads and checksums through the real server.

Requests are signed by botocore's ``S3SigV4Auth`` (the seed signature) and
their chunks by the independent signer below, written from the S3 API
Reference ("Transferring payload in multiple chunks", "Including trailing
headers"); the unsigned-trailer bodies are the ones boto3 itself makes.
Every refused upload must leave no object and no temporary file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from botocore import httpchecksum
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MALFORMED_TRAILER = "MalformedTrailerError"


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def crc32(data: bytes) -> str:
    checksum = httpchecksum.Crc32Checksum()
    checksum.update(data)
    return str(checksum.b64digest())


def crc32c(data: bytes) -> str:
    checksum = httpchecksum.CrtCrc32cChecksum()
    checksum.update(data)
    return str(checksum.b64digest())


def composite_crc32(data: bytes, part_size: int) -> str:
    """S3's COMPOSITE CRC32 of an object uploaded in parts of ``part_size``."""
    digests = [base64.b64decode(crc32(data[i:i + part_size]))
               for i in range(0, len(data), part_size)]
    return f"{crc32(b''.join(digests))}-{len(digests)}"


class _FixedPayloadAuth(S3SigV4Auth):
    """botocore's S3 signer with the payload line we choose."""

    def __init__(self, credentials: Credentials, payload_hash: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


class Streaming:
    """Send aws-chunked requests to the test server, signed chunk by chunk."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.credentials = Credentials(server.access_key, server.secret_key)

    def start(self, path: str, payload_hash: str, headers: dict[str, str]) -> dict[str, str]:
        """Headers of a signed request; ``self.seed``, ``self.key`` and
        ``self.scope`` are left for signing its chunks."""
        request = AWSRequest("PUT", self.server.endpoint + path, headers=headers)
        _FixedPayloadAuth(self.credentials, payload_hash).add_auth(request)
        signed = dict(request.headers.items())
        authorization = signed["Authorization"]
        self.seed = authorization.rsplit("Signature=", 1)[1]
        self.amz_date = signed["X-Amz-Date"]
        self.scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/", 1)[1]
        day, region, service, _ = self.scope.split("/")
        key = ("AWS4" + self.server.secret_key).encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self.key = key
        return signed

    def _sign(self, *lines: str) -> str:
        return hmac.new(self.key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()

    def signed_body(self, chunks: list[bytes], trailers: list[tuple[str, str]] | None = None,
                    forge: int | None = None) -> bytes:
        """The chunks (and trailers) framed and signed; ``forge`` names a
        chunk (or len(chunks)+1, the trailer) whose signature is wrong."""
        out, previous = [], self.seed
        for index, data in enumerate([*chunks, b""]):
            previous = self._sign("AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope,
                                  previous, EMPTY_SHA256, hashlib.sha256(data).hexdigest())
            sent = previous if index != forge else "0" * 64
            out.append(b"%x;chunk-signature=%s\r\n" % (len(data), sent.encode()))
            if data or trailers is None:
                out.append(data + b"\r\n")
        if trailers is not None:
            canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
            signature = self._sign("AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope,
                                   previous, hashlib.sha256(canonical.encode()).hexdigest())
            if forge == len(chunks) + 1:
                signature = "0" * 64
            out += [f"{name}:{value}\r\n".encode() for name, value in trailers]
            out.append(f"x-amz-trailer-signature:{signature}\r\n\r\n".encode())
        return b"".join(out)

    def put(self, path: str, payload_hash: str, body: bytes | Iterator[bytes],
            decoded_length: int | None, headers: dict[str, str] | None = None,
            chunks: list[bytes] | None = None, trailers: list[tuple[str, str]] | None = None,
            forge: int | None = None) -> requests.Response:
        """PUT an aws-chunked body; with ``chunks`` the body is signed here."""
        sent = {"Content-Encoding": "aws-chunked", **(headers or {})}
        if decoded_length is not None:
            sent["X-Amz-Decoded-Content-Length"] = str(decoded_length)
        signed = self.start(path, payload_hash, sent)
        if chunks is not None:
            body = self.signed_body(chunks, trailers, forge)
        return requests.put(self.server.endpoint + path, data=body, headers=signed, timeout=60)


@pytest.fixture(scope="module")
def streaming(server: RunningServer) -> Streaming:
    return Streaming(server)


def error_code(response: requests.Response) -> str:
    text = response.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


def tmp_dir(server: RunningServer) -> Path:
    return Path(server.data_dir) / "objects" / "tmp"


def assert_nothing_kept(server: RunningServer, s3: Any, bucket: str) -> None:
    """No object in the bucket and, once the server is done, no temporary file."""
    deadline = time.monotonic() + 5
    directory = tmp_dir(server)
    while time.monotonic() < deadline and directory.exists() and any(directory.iterdir()):
        time.sleep(0.05)
    assert not (directory.exists() and any(directory.iterdir())), "temporary file left behind"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def checksum_mode(s3: Any, bucket: str, key: str) -> dict[str, str]:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    headers = head["ResponseMetadata"]["HTTPHeaders"]
    return {k: v for k, v in headers.items() if k.startswith("x-amz-checksum-")}


# --- what works -------------------------------------------------------------------------


def test_signed_chunks_store_the_decoded_payload(streaming, s3, bucket) -> None:
    chunks = [os.urandom(65536), os.urandom(65536), b"tail"]
    data = b"".join(chunks)
    response = streaming.put(f"/{bucket}/signed", SIGNED, b"", len(data),
                             headers={"Content-Type": "text/plain"}, chunks=chunks)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="signed")
    assert got["Body"].read() == data
    assert got["ContentLength"] == len(data)
    assert got["ContentType"] == "text/plain"
    assert "ContentEncoding" not in got  # aws-chunked describes the transfer only


def test_signed_chunks_keep_the_other_content_encoding(streaming, s3, bucket) -> None:
    data = b"\x1f\x8b not really gzip"
    response = streaming.put(f"/{bucket}/gz", SIGNED, b"", len(data), chunks=[data],
                             headers={"Content-Encoding": "aws-chunked,gzip"})
    assert response.status_code == 200, response.text
    assert s3.head_object(Bucket=bucket, Key="gz")["ContentEncoding"] == "gzip"


@pytest.mark.parametrize(("sent", "kept"), [
    ("gzip", "gzip"), ("deflate, gzip", "deflate, gzip"), ("deflate,gzip", "deflate,gzip"),
    ("gzip, aws-chunked", "gzip"), ("aws-chunked, deflate,gzip", "deflate, gzip"),
    ("aws-chunked", None), ("aws-chunked, aws-chunked", None)])
def test_content_encoding_is_kept_as_sent_but_for_aws_chunked(s3, bucket, sent, kept) -> None:
    # s3-tests test_object_content_encoding_aws_chunked: a plain PUT whose
    # Content-Encoding names aws-chunked (the body is not) drops that coding.
    s3.put_object(Bucket=bucket, Key="enc", Body=b"x", ContentEncoding=sent)
    assert s3.head_object(Bucket=bucket, Key="enc").get("ContentEncoding") == kept


def test_a_plain_body_of_unknown_length_is_refused_as_s3_refuses_it(client_factory, s3,
                                                                    bucket) -> None:
    # s3-tests test_object_write_with_chunked_transfer_encoding: botocore
    # sends the body with Transfer-Encoding: chunked and no Content-Length.
    # S3 takes no plain body of unknown length: 501 naming the header.
    client = client_factory()
    client.meta.events.register_first(
        "before-sign.s3.PutObject",
        lambda request, **_: request.headers.add_header("Transfer-Encoding", "chunked"))
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="te", Body=b"bar")
    error = refused.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"],
            error["Error"]["Header"]) == (501, "NotImplemented", "Transfer-Encoding")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_signed_chunks_sent_with_transfer_encoding_chunked(streaming, s3, bucket) -> None:
    chunks = [b"a" * 9000, b"b" * 9000]
    signed = streaming.start(f"/{bucket}/te", SIGNED, {
        "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "18000"})
    body = streaming.signed_body(chunks)
    pieces = (body[i:i + 1000] for i in range(0, len(body), 1000))  # no Content-Length
    response = requests.put(f"{streaming.server.endpoint}/{bucket}/te", data=pieces,
                            headers=signed, timeout=30)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="te")["Body"].read() == b"".join(chunks)


def test_signed_trailer_checksum_is_stored_and_returned(streaming, s3, bucket) -> None:
    chunks = [os.urandom(10000), os.urandom(777)]
    data = b"".join(chunks)
    trailer = ("x-amz-checksum-crc32c", crc32c(data))
    response = streaming.put(f"/{bucket}/trailer", SIGNED_TRAILER, b"", len(data),
                             headers={"X-Amz-Trailer": "x-amz-checksum-crc32c"},
                             chunks=chunks, trailers=[trailer])
    assert response.status_code == 200, response.text
    assert response.headers["x-amz-checksum-crc32c"] == trailer[1]
    assert checksum_mode(s3, bucket, "trailer") == {
        "x-amz-checksum-crc32c": trailer[1], "x-amz-checksum-type": "FULL_OBJECT"}
    got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32C"] == trailer[1]
    assert got["Body"].read() == data


def test_unsigned_trailer_as_boto3_sends_it_over_tls(monkeypatch, client_factory, s3,
                                                     bucket) -> None:
    # boto3 only puts the checksum in a trailer over HTTPS; make it believe
    # the endpoint is one, so it sends exactly what it sends to AWS.
    def as_https(url: str) -> Any:
        return urlparse(url)._replace(scheme="https")

    monkeypatch.setattr(httpchecksum, "urlparse", as_https)
    sent: list[dict[str, str]] = []
    client = client_factory()
    client.meta.events.register("before-send.s3.PutObject",
                                lambda request, **_: sent.append(dict(request.headers)))
    data = os.urandom(3 * 1024 * 1024 + 5)
    client.put_object(Bucket=bucket, Key="boto3-trailer", Body=io.BytesIO(data))
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in sent[0].items()}
    assert headers["x-amz-content-sha256"] == UNSIGNED_TRAILER
    assert headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert headers["transfer-encoding"] == "chunked"
    assert s3.get_object(Bucket=bucket, Key="boto3-trailer")["Body"].read() == data
    assert checksum_mode(s3, bucket, "boto3-trailer")["x-amz-checksum-crc32"] == crc32(data)


def test_unsigned_trailer_upload_part(monkeypatch, client_factory, s3, bucket) -> None:
    monkeypatch.setattr(httpchecksum, "urlparse",
                        lambda url: urlparse(url)._replace(scheme="https"))
    client = client_factory()
    upload = client.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32")
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    listed = []
    for number, part in enumerate(parts, 1):
        answer = client.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
                                    PartNumber=number, Body=io.BytesIO(part),
                                    ChecksumAlgorithm="CRC32")
        assert answer["ChecksumCRC32"] == crc32(part)
        listed.append({"PartNumber": number, "ETag": answer["ETag"],
                       "ChecksumCRC32": answer["ChecksumCRC32"]})
    client.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": listed})
    composite = composite_crc32(b"".join(parts), 5 * 1024 * 1024)
    assert checksum_mode(s3, bucket, "mp") == {"x-amz-checksum-crc32": composite,
                                               "x-amz-checksum-type": "COMPOSITE"}


@pytest.mark.parametrize("checksums", ["when_supported", "when_required"])
def test_boto3_upload_file_over_the_multipart_threshold(client_factory, s3, bucket,
                                                        tmp_path: Path, checksums: str) -> None:
    from boto3.s3.transfer import TransferConfig

    client = client_factory(request_checksum_calculation=checksums)
    data = os.urandom(13 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024,
                            multipart_chunksize=5 * 1024 * 1024)
    client.upload_file(str(source), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    if checksums == "when_supported":
        # boto3 creates the upload with CRC32 (so COMPOSITE, S3's default for
        # it) and sends each part's CRC32.
        assert head["ChecksumType"] == "COMPOSITE"
        assert head["ChecksumCRC32"] == composite_crc32(data, 5 * 1024 * 1024)
    else:
        assert "ChecksumCRC32" not in head
    assert hashlib.sha256(s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()).digest() \
        == hashlib.sha256(data).digest()


def test_aws_cli_cp_of_a_large_file(aws_env, server, s3, bucket, tmp_path: Path) -> None:
    data = os.urandom(20 * 1024 * 1024 + 3)
    source = tmp_path / "large.bin"
    source.write_bytes(data)
    result = subprocess.run(
        ["aws", "--endpoint-url", server.endpoint, "s3", "cp", str(source),
         f"s3://{bucket}/large.bin"], check=False, env=aws_env, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr
    got = s3.get_object(Bucket=bucket, Key="large.bin", ChecksumMode="ENABLED")
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()
    # The CLI uploads 8 MiB parts, each with its CRC32.
    assert got["ChecksumCRC32"] == composite_crc32(data, 8 * 1024 * 1024)
    assert got["ChecksumType"] == "COMPOSITE"


# --- refused, keeping nothing -----------------------------------------------------------


@pytest.mark.parametrize("forge", [0, 1, 2])  # first, second, final (empty) chunk
def test_forged_chunk_signature_stores_nothing(streaming, server, s3, bucket, forge) -> None:
    chunks = [b"a" * 8192, b"b" * 100]
    response = streaming.put(f"/{bucket}/forged", SIGNED, b"", 8292, chunks=chunks, forge=forge)
    assert (response.status_code, error_code(response)) == (403, "SignatureDoesNotMatch")
    assert_nothing_kept(server, s3, bucket)


def test_forged_trailer_signature_stores_nothing(streaming, server, s3, bucket) -> None:
    data = b"abc" * 5000
    response = streaming.put(f"/{bucket}/forged", SIGNED_TRAILER, b"", len(data),
                             headers={"X-Amz-Trailer": "x-amz-checksum-crc32"},
                             chunks=[data], trailers=[("x-amz-checksum-crc32", crc32(data))],
                             forge=2)
    assert (response.status_code, error_code(response)) == (403, "SignatureDoesNotMatch")
    assert_nothing_kept(server, s3, bucket)


def test_truncated_body_is_incomplete_body(streaming, server, s3, bucket) -> None:
    signed = streaming.start(f"/{bucket}/cut", SIGNED, {
        "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "20000"})
    body = streaming.signed_body([b"a" * 10000, b"b" * 10000])
    response = requests.put(f"{streaming.server.endpoint}/{bucket}/cut",
                            data=iter([body[:15000]]), headers=signed, timeout=30)
    assert (response.status_code, error_code(response)) == (400, "IncompleteBody")
    assert_nothing_kept(server, s3, bucket)


@pytest.mark.parametrize(("decoded", "chunks"), [
    (100, [b"a" * 200]),  # more payload than declared
    (300, [b"a" * 200]),  # less payload than declared
])
def test_payload_not_of_its_decoded_length_is_incomplete_body(streaming, server, s3, bucket,
                                                              decoded, chunks) -> None:
    response = streaming.put(f"/{bucket}/len", SIGNED, b"", decoded, chunks=chunks)
    assert (response.status_code, error_code(response)) == (400, "IncompleteBody")
    assert_nothing_kept(server, s3, bucket)


def test_mis_framed_body_is_incomplete_body(streaming, server, s3, bucket) -> None:
    body = b"5\r\nabcde\r\nzz\r\n"
    response = streaming.put(f"/{bucket}/frame", UNSIGNED_TRAILER, body, 5)
    assert (response.status_code, error_code(response)) == (400, "IncompleteBody")
    assert_nothing_kept(server, s3, bucket)


def test_missing_decoded_length_is_411_missing_content_length(streaming, server, s3,
                                                              bucket) -> None:
    response = streaming.put(f"/{bucket}/nolen", UNSIGNED_TRAILER, b"3\r\nabc\r\n0\r\n\r\n",
                             None)
    assert (response.status_code, error_code(response)) == (411, "MissingContentLength")
    assert_nothing_kept(server, s3, bucket)


def test_decoded_length_over_5_gib_is_entity_too_large(streaming, server, s3, bucket) -> None:
    response = streaming.put(f"/{bucket}/huge", UNSIGNED_TRAILER, b"0\r\n\r\n",
                             5 * 1024**3 + 1)
    assert (response.status_code, error_code(response)) == (400, "EntityTooLarge")
    assert_nothing_kept(server, s3, bucket)


@pytest.mark.parametrize("where", ["trailer", "header"])
def test_wrong_checksum_is_bad_digest(streaming, server, s3, bucket, where: str) -> None:
    data = b"payload" * 3000
    if where == "trailer":
        body = b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % (
            len(data), data, crc32(b"other").encode())
        headers = {"X-Amz-Trailer": "x-amz-checksum-crc32"}
    else:
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
        headers = {"X-Amz-Checksum-Crc32": crc32(b"other")}
    response = streaming.put(f"/{bucket}/bad", UNSIGNED_TRAILER, body, len(data), headers=headers)
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    assert "CRC32 you specified did not match" in response.text
    assert_nothing_kept(server, s3, bucket)


def test_wrong_content_md5_of_a_chunked_body_is_bad_digest(streaming, server, s3,
                                                           bucket) -> None:
    response = streaming.put(f"/{bucket}/md5", SIGNED, b"", 3, chunks=[b"abc"],
                             headers={"Content-MD5": b64(hashlib.md5(b"abd").digest())})
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    assert_nothing_kept(server, s3, bucket)


def test_announced_trailer_never_sent_is_malformed_trailer(streaming, server, s3,
                                                           bucket) -> None:
    response = streaming.put(f"/{bucket}/notrailer", UNSIGNED_TRAILER,
                             b"3\r\nabc\r\n0\r\n\r\n", 3,
                             headers={"X-Amz-Trailer": "x-amz-checksum-crc32"})
    assert (response.status_code, error_code(response)) == (400, MALFORMED_TRAILER)
    assert_nothing_kept(server, s3, bucket)


@pytest.mark.parametrize(("headers", "payload_hash", "code"), [
    ({"X-Amz-Sdk-Checksum-Algorithm": "CRC32"}, UNSIGNED_TRAILER, "InvalidRequest"),
    ({"X-Amz-Trailer": "x-amz-checksum-crc32"}, SIGNED, "InvalidRequest"),
    ({"X-Amz-Trailer": "x-amz-meta-color"}, UNSIGNED_TRAILER, "InvalidRequest"),
    ({}, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "NotImplemented"),
])
def test_inconsistent_streaming_headers_are_refused_before_the_body(
        streaming, server, s3, bucket, headers, payload_hash, code) -> None:
    response = streaming.put(f"/{bucket}/refused", payload_hash, b"3\r\nabc\r\n0\r\n\r\n", 3,
                             headers=headers)
    assert error_code(response) == code, response.text
    assert_nothing_kept(server, s3, bucket)


def test_client_that_stops_mid_chunked_upload_leaves_nothing(streaming, server, s3,
                                                            bucket) -> None:
    signed = streaming.start(f"/{bucket}/gone", SIGNED, {
        "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "1000000",
        "Transfer-Encoding": "chunked"})
    body = streaming.signed_body([b"x" * 500_000, b"y" * 500_000])
    head = f"PUT /{bucket}/gone HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in signed.items() if k.lower() != "host")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        piece = body[:600_000]
        sock.sendall((head + "\r\n").encode() + b"%x\r\n%s\r\n" % (len(piece), piece))
        time.sleep(0.3)
    assert_nothing_kept(server, s3, bucket)
