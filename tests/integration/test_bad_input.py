"""Bad input gets the S3 error that fits, never a 500, and stores nothing."""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path

import pytest

from sealbox.testing.server import RunningServer


def code_of(response) -> str:
    import xml.etree.ElementTree as ET

    return ET.fromstring(response.content).findtext("Code") or ""


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>a</Key></Object>",  # unclosed
        b"not xml at all",
        b"<Wrong><Object><Key>a</Key></Object></Wrong>",  # wrong root
        b"<Delete></Delete>",  # no objects
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><Delete><Object><Key>&x;</Key>'
        b"</Object></Delete>",  # entities are refused outright
        b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",  # over 1000 keys
    ],
)
def test_malformed_delete_objects_body_is_malformed_xml(signed, s3, bucket, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"kept")
    response = signed("POST", f"/{bucket}?delete", body)
    assert (response.status_code, code_of(response)) == (400, "MalformedXML")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"kept"


def test_malformed_tagging_body_is_malformed_xml(signed, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x")
    response = signed("PUT", f"/{bucket}/t?tagging", b"<Tagging><TagSet><Tag><Key>k</Key>")
    assert (response.status_code, code_of(response)) == (400, "MalformedXML")


def test_payload_hash_mismatch_stores_nothing(signed, s3, bucket) -> None:
    # Signed for one body, sent with another of the same length.
    response = signed("PUT", f"/{bucket}/sha", b"actual body", signed_body=b"forged body")
    assert (response.status_code, code_of(response)) == (400, "XAmzContentSHA256Mismatch")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_invalid_payload_hash_value_is_refused(signed, bucket) -> None:
    response = signed("PUT", f"/{bucket}/sha", b"body",
                      after_signing={"X-Amz-Content-SHA256": "not-a-hash"})
    assert response.status_code == 400
    assert code_of(response) in ("InvalidArgument", "InvalidRequest")


def test_patch_is_method_not_allowed(signed, bucket) -> None:
    response = signed("PATCH", f"/{bucket}/k", b"")
    assert (response.status_code, code_of(response)) == (405, "MethodNotAllowed")


def test_unknown_subresource_is_not_implemented(signed, bucket) -> None:
    response = signed("GET", f"/{bucket}?website")
    assert (response.status_code, code_of(response)) == (501, "NotImplemented")


def test_path_that_is_not_utf8_is_invalid_uri(signed, bucket) -> None:
    response = signed("GET", f"/{bucket}/%C3%28")
    assert (response.status_code, code_of(response)) == (400, "InvalidURI")


def test_garbage_range_is_ignored(signed, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    response = signed("GET", f"/{bucket}/r", headers={"Range": "bytes=oops"})
    assert (response.status_code, response.content) == (200, b"0123456789")


def raw_exchange(port: int, data: bytes, read_timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"</Error>" in b"".join(chunks):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def test_put_declaring_over_5_gib_is_entity_too_large_before_any_body(server, bucket) -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    size = 5 * 1024**3 + 1
    request = AWSRequest("PUT", f"{server.endpoint}/{bucket}/huge",
                         headers={"Content-Length": str(size),
                                  "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(request)
    head = f"PUT /{bucket}/huge HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host")
    answer = raw_exchange(server.port, (head + "\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"<Code>EntityTooLarge</Code>" in answer


def test_client_that_stops_mid_upload_leaves_no_object_and_no_temp_file(
        server: RunningServer, s3, bucket) -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("PUT", f"{server.endpoint}/{bucket}/partial",
                         headers={"Content-Length": "1000000",
                                  "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(request)
    head = f"PUT /{bucket}/partial HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "host")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall((head + "\r\n").encode() + b"x" * 300_000)
        time.sleep(0.3)
    tmp_dir = Path(server.data_dir) / "objects" / "tmp"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and tmp_dir.exists() and any(tmp_dir.iterdir()):
        time.sleep(0.05)
    assert not (tmp_dir.exists() and any(tmp_dir.iterdir())), "temporary file left behind"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_random_garbage_requests_never_get_a_500(server, signed, bucket) -> None:
    rng = random.Random(20261125)
    methods = ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"]
    subresources = ["", "?uploads", "?uploadId=zzz", "?partNumber=0&uploadId=x", "?tagging",
                    "?delete", "?list-type=2&max-keys=-1", "?list-type=2&continuation-token=%%%",
                    "?versions&key-marker=%FF", "?location", "?acl", "?partNumber=99999",
                    "?max-keys=abc", "?encoding-type=bogus", "?prefix=%00"]
    headers_pool = [
        {"Range": "bytes=999-1"}, {"If-Match": "garbage"}, {"If-Modified-Since": "yesterday"},
        {"x-amz-copy-source": "%%%"}, {"x-amz-copy-source": f"/{bucket}/missing"},
        {"x-amz-metadata-directive": "MAYBE"}, {"x-amz-tagging": "a=b&a=c"},
        {"x-amz-storage-class": "COLD"}, {"Content-MD5": "==="}, {"x-amz-checksum-crc32": "!!"},
        {"x-amz-copy-source-range": "bytes=5-1"}, {},
    ]
    bodies = [b"", b"<", b"<Tagging/>", b"\x00\xff" * 10, b"<CompleteMultipartUpload/>"]
    for _ in range(150):
        method = rng.choice(methods)
        path = f"/{bucket}/{rng.choice(['k', 'a/b', '%20', 'x' * 50])}{rng.choice(subresources)}"
        if rng.random() < 0.3:
            path = f"/{bucket}{rng.choice(subresources)}"
        response = signed(method, path, rng.choice(bodies), headers=rng.choice(headers_pool))
        assert response.status_code < 500 or response.status_code == 501, (method, path,
                                                                             response.content[:300])


def test_key_with_nul_is_invalid_argument_on_every_store(signed, bucket) -> None:
    response = signed("PUT", f"/{bucket}/a%00b", b"x")
    assert (response.status_code, code_of(response)) == (400, "InvalidArgument")


def test_headers_over_8_kb_are_request_header_section_too_large(signed, bucket) -> None:
    response = signed("GET", f"/{bucket}", headers={"x-amz-meta-pad": "p" * 9000})
    assert (response.status_code, code_of(response)) == (400, "RequestHeaderSectionTooLarge")


def test_a_megabyte_of_headers_is_refused_without_500(server, bucket) -> None:
    answer = raw_exchange(server.port, (f"GET /{bucket} HTTP/1.1\r\nHost: x\r\n"
                                        f"X-Big: {'b' * 1024 * 1024}\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]


BOGUS_ENCODING = b'<?xml version="1.0" encoding="bogus"?>'


@pytest.mark.parametrize(
    ("method", "target", "root", "code"),
    [
        ("PUT", "?cors", b"<CORSConfiguration/>", "MalformedXML"),
        ("POST", "?delete", b"<Delete/>", "MalformedXML"),
        ("PUT", "/t?tagging", b"<Tagging/>", "MalformedXML"),
        ("PUT", "?publicAccessBlock", b"<PublicAccessBlockConfiguration/>", "MalformedXML"),
        ("PUT", "?ownershipControls", b"<OwnershipControls/>", "MalformedXML"),
        ("PUT", "?acl", b"<AccessControlPolicy/>", "MalformedXML"),
    ],
)
def test_xml_body_declaring_an_unknown_encoding_is_malformed_xml(
        signed, s3, bucket, method: str, target: str, root: bytes, code: str) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x")
    for encoding in (b"bogus", b"shift_jis", b"base64"):
        body = BOGUS_ENCODING.replace(b"bogus", encoding) + root
        response = signed(method, f"/{bucket}{target}", body)
        assert (response.status_code, code_of(response)) == (400, code), (encoding, target)


def test_create_bucket_and_complete_multipart_declaring_an_unknown_encoding(
        signed, s3, bucket) -> None:
    response = signed("PUT", f"/{bucket}-enc", BOGUS_ENCODING + b"<CreateBucketConfiguration/>")
    assert (response.status_code, code_of(response)) == (400, "MalformedXML")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    response = signed("POST", f"/{bucket}/m?uploadId={upload}",
                      BOGUS_ENCODING + b"<CompleteMultipartUpload/>")
    assert (response.status_code, code_of(response)) == (400, "MalformedXML")


def test_cloudfront_body_declaring_an_unknown_encoding_is_malformed_input(server) -> None:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = BOGUS_ENCODING + b"<PublicKeyConfig/>"
    request = AWSRequest(method="POST", url=server.endpoint + "/2020-05-31/public-key", data=body)
    SigV4Auth(Credentials(server.access_key, server.secret_key),
              "cloudfront", "us-east-1").add_auth(request)
    response = requests.post(request.url, data=body, headers=dict(request.headers), timeout=30)
    assert response.status_code == 400
    assert b"<Code>MalformedInput</Code>" in response.content
