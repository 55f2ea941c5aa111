"""Presigned links from boto3 and the AWS CLI, fetched with curl, and every way
a tampered or stale link is refused."""

from __future__ import annotations

import hashlib
import subprocess
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest


def curl(url: str, *args: str) -> tuple[int, bytes]:
    """GET (or what args say) with curl; returns (status, body)."""
    out = subprocess.run(
        ["curl", "-s", "-g", "--path-as-is", "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True, check=True, timeout=30,
    ).stdout
    body, _, status = out.rpartition(b"\n")
    return int(status), body


def error_fields(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)
    return {child.tag: child.text or "" for child in root}


@pytest.fixture
def stored(s3, bucket) -> tuple[str, str]:
    s3.put_object(Bucket=bucket, Key="docs/report 2024+final.pdf", Body=b"%PDF secret bytes")
    return bucket, "docs/report 2024+final.pdf"


def presign_v4(client_factory, bucket: str, key: str, expires: int = 300,
               method: str = "get_object", **params: object) -> str:
    client = client_factory(signature_version="s3v4")
    return client.generate_presigned_url(
        method, Params={"Bucket": bucket, "Key": key, **params}, ExpiresIn=expires)


def test_boto3_v4_presigned_get_works_from_curl(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored)
    assert curl(url) == (200, b"%PDF secret bytes")


def test_boto3_default_presigned_get_works_from_curl(client_factory, stored) -> None:
    # With no signature_version configured, botocore still presigns S3 URLs
    # with Signature Version 2 (AWSAccessKeyId, Signature, Expires).
    client = client_factory(signature_version=None)
    url = client.generate_presigned_url("get_object", Params={"Bucket": stored[0], "Key": stored[1]})
    assert "Signature=" in url
    assert curl(url) == (200, b"%PDF secret bytes")


def test_aws_cli_presign_works_from_curl(server, aws_env, stored) -> None:
    url = subprocess.run(
        ["aws", "--endpoint-url", server.endpoint, "s3", "presign",
         f"s3://{stored[0]}/{stored[1]}", "--expires-in", "120"],
        capture_output=True, text=True, check=True, env=aws_env, timeout=60,
    ).stdout.strip()
    assert curl(url) == (200, b"%PDF secret bytes")


def test_response_overrides_in_presigned_get(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored, ResponseContentDisposition='attachment; filename="r.pdf"',
                     ResponseContentType="application/pdf")
    headers = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", url],
                             capture_output=True, text=True, check=True).stdout.lower()
    assert 'content-disposition: attachment; filename="r.pdf"' in headers
    assert "content-type: application/pdf" in headers


def test_presigned_put_uploads(client_factory, s3, bucket, tmp_path) -> None:
    url = presign_v4(client_factory, bucket, "upload.txt", method="put_object")
    source = tmp_path / "upload.txt"
    source.write_bytes(b"uploaded through a link")
    status, _ = curl(url, "-T", str(source))
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key="upload.txt")["Body"].read() == b"uploaded through a link"


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_one_changed_character_in_path_is_signature_does_not_match(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored)
    tampered = url.replace("report", "repors", 1)
    status, body = curl(tampered)
    assert status == 403
    fields = error_fields(body)
    assert fields["Code"] == "SignatureDoesNotMatch"
    # What the server computed is shown, as S3 shows it, so the difference can be seen.
    assert "/docs/repors%202024%2Bfinal.pdf" in fields["CanonicalRequest"]
    assert fields["StringToSign"].splitlines()[-1] == hashlib.sha256(
        fields["CanonicalRequest"].encode()).hexdigest()
    assert fields["StringToSignBytes"] == " ".join(f"{b:02x}" for b in fields["StringToSign"].encode())
    assert fields["CanonicalRequestBytes"].split()[:3] == ["47", "45", "54"]  # "GET"
    assert fields["SignatureProvided"] == dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]


def test_one_changed_character_in_signature_is_refused(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    status, body = curl(_replace_query(url, **{"X-Amz-Signature": flipped}))
    assert (status, error_fields(body)["Code"]) == (403, "SignatureDoesNotMatch")


def test_link_one_second_past_expiry_is_refused(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored, expires=1)
    time.sleep(2.2)
    status, body = curl(url)
    fields = error_fields(body)
    assert (status, fields["Code"], fields["Message"]) == (403, "AccessDenied", "Request has expired")
    assert fields["X-Amz-Expires"] == "1"
    assert "Expires" in fields and "ServerTime" in fields


def test_link_presigned_for_zero_seconds_is_expired_at_once(server, stored) -> None:
    # botocore's own signer (not the CRT's, which refuses 0) signs
    # ExpiresIn=0 as X-Amz-Expires=0: a link valid for no time at all.
    from urllib.parse import quote

    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("GET", f"{server.endpoint}/{stored[0]}/{quote(stored[1])}")
    S3SigV4QueryAuth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1",
                     expires=0).add_auth(request)
    url = request.prepare().url
    assert "X-Amz-Expires=0&" in url
    for _ in range(2):
        status, body = curl(url)
        fields = error_fields(body)
        assert (status, fields["Code"], fields["Message"]) == (403, "AccessDenied",
                                                               "Request has expired")


def test_link_used_with_another_method_is_refused(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored)
    status, body = curl(url, "-X", "DELETE")
    assert (status, error_fields(body)["Code"]) == (403, "SignatureDoesNotMatch")


def test_link_sent_to_another_host_is_refused(server, client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored)
    status, body = curl(url, "-H", f"Host: localhost:{server.port}")
    assert (status, error_fields(body)["Code"]) == (403, "SignatureDoesNotMatch")


def test_expires_over_a_week_is_a_query_parameters_error(client_factory, stored) -> None:
    url = _replace_query(presign_v4(client_factory, *stored), **{"X-Amz-Expires": "604801"})
    status, body = curl(url)
    fields = error_fields(body)
    assert (status, fields["Code"]) == (400, "AuthorizationQueryParametersError")
    assert "604800" in fields["Message"]


def test_missing_signature_parameter_is_a_query_parameters_error(client_factory, stored) -> None:
    url = presign_v4(client_factory, *stored)
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "X-Amz-SignedHeaders"]
    status, body = curl(urlunsplit(parts._replace(query=urlencode(query))))
    assert (status, error_fields(body)["Code"]) == (400, "AuthorizationQueryParametersError")


@pytest.mark.parametrize("name", ["X-Amz-Signature", "X-Amz-Expires", "X-Amz-Date"])
def test_a_repeated_auth_parameter_is_a_query_parameters_error(client_factory, stored,
                                                               name: str) -> None:
    url = presign_v4(client_factory, *stored)
    value = dict(parse_qsl(urlsplit(url).query))[name]
    assert curl(url)[0] == 200
    # The good link with one parameter said again, same value or another:
    # a second X-Amz-Signature is not covered by the signature.
    for extra in (value, "0" + value):
        status, body = curl(f"{url}&{name}={extra}")
        fields = error_fields(body)
        assert (status, fields["Code"]) == (400, "AuthorizationQueryParametersError")
        assert fields["Message"].endswith(f"{name} is repeated.")
    assert curl(url)[0] == 200


@pytest.mark.parametrize(("value", "message"), [
    ("%2B300", "X-Amz-Expires should be a number"),
    ("-1", "X-Amz-Expires must be non-negative"),
    ("1" * 4400, "X-Amz-Expires should be a number"),  # once a 500: int() refuses 4300+ digits
])
def test_a_signed_or_huge_expires_is_a_query_parameters_error(client_factory, stored, value: str,
                                                               message: str) -> None:
    url = _replace_query(presign_v4(client_factory, *stored), **{"X-Amz-Expires": "EXPIRES"})
    status, body = curl(url.replace("EXPIRES", value))
    fields = error_fields(body)
    assert (status, fields["Code"], fields["Message"]) == (
        400, "AuthorizationQueryParametersError", message)


def test_v2_link_with_a_repeated_parameter_or_unicode_digits_is_access_denied(
        client_factory, stored) -> None:
    client = client_factory(signature_version=None)
    url = client.generate_presigned_url("get_object", Params={"Bucket": stored[0], "Key": stored[1]})
    assert "Signature=" in url and curl(url)[0] == 200
    signature = dict(parse_qsl(urlsplit(url).query))["Signature"]
    status, body = curl(f"{url}&Signature={signature}")
    assert (status, error_fields(body)["Code"]) == (403, "AccessDenied")
    # "²" passes str.isdigit() and then int() raised: once a 500.
    status, body = curl(_replace_query(url, Expires="EXPIRES").replace("EXPIRES", "%C2%B2"))
    assert (status, error_fields(body)["Code"]) == (403, "AccessDenied")


def test_unknown_access_key_is_invalid_access_key_id(server, stored) -> None:
    import boto3
    from botocore.config import Config

    stranger = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id="AKIANOTAKEY0000000",
                            aws_secret_access_key="x" * 40, region_name="us-east-1",
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    url = stranger.generate_presigned_url("get_object", Params={"Bucket": stored[0], "Key": stored[1]})
    status, body = curl(url)
    fields = error_fields(body)
    assert (status, fields["Code"]) == (403, "InvalidAccessKeyId")
    assert fields["AWSAccessKeyId"] == "AKIANOTAKEY0000000"


def test_anonymous_get_is_access_denied(server, stored) -> None:
    status, body = curl(f"{server.endpoint}/{stored[0]}/docs/report%202024%2Bfinal.pdf")
    assert (status, error_fields(body)["Code"]) == (403, "AccessDenied")


def test_every_response_carries_a_request_id(server) -> None:
    headers = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", f"{server.endpoint}/"],
                             capture_output=True, text=True, check=True).stdout.lower()
    assert "x-amz-request-id:" in headers
    assert "x-amz-id-2:" in headers


def test_skewed_header_signature_is_request_time_too_skewed(server, bucket) -> None:
    import datetime as dt
    from unittest import mock

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{server.endpoint}/{bucket}"
    request = AWSRequest("GET", url)
    signer = S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1")
    # A client whose clock is 20 minutes slow signs a correct request.
    slow = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=slow):
        signer.add_auth(request)
    args = [a for name, value in request.headers.items() for a in ("-H", f"{name}: {value}")]
    status, body = curl(url, *args)
    fields = error_fields(body)
    assert (status, fields["Code"]) == (403, "RequestTimeTooSkewed")
    assert fields["MaxAllowedSkewMilliseconds"] == "900000"


@pytest.mark.parametrize("http_server", ["sealbox", "uvicorn"])
def test_logs_show_a_fingerprint_of_each_signature_never_the_signature(
        tmp_path, http_server: str) -> None:
    import boto3
    from botocore.config import Config

    from sealbox.server.log_redact import fingerprint
    from sealbox.testing.server import RunningServer

    server = RunningServer(data_dir=tmp_path / "data", extra_args=(
        "--access-log", "--log-level", "debug", "--http-server", http_server)).start()
    try:
        def client(version: str | None):
            return boto3.client("s3", endpoint_url=server.endpoint,
                                aws_access_key_id=server.access_key,
                                aws_secret_access_key=server.secret_key, region_name="us-east-1",
                                config=Config(signature_version=version,
                                              s3={"addressing_style": "path"}))
        v4, v2 = client("s3v4"), client(None)
        v4.create_bucket(Bucket="logs")
        v4.put_object(Bucket="logs", Key="k", Body=b"secret bytes")
        good = v4.generate_presigned_url("get_object", Params={"Bucket": "logs", "Key": "k"})
        signature = dict(parse_qsl(urlsplit(good).query))["X-Amz-Signature"]
        forged = ("0" if signature[0] != "0" else "1") + signature[1:]
        legacy = v2.generate_presigned_url("get_object", Params={"Bucket": "logs", "Key": "k"})
        v2_signature = dict(parse_qsl(urlsplit(legacy).query))["Signature"]
        outcomes = [
            curl(good)[0],
            curl(_replace_query(good, **{"X-Amz-Signature": forged}))[0],  # SignatureDoesNotMatch
            curl(f"{good}&X-Amz-Signature={signature}")[0],  # refused: said twice
            curl(legacy)[0],
            curl(good.replace("/logs/k?", "/logs/missing?"))[0],
        ]
        assert outcomes == [200, 403, 400, 200, 403]
    finally:
        server.stop()
    log = server.log()
    for secret in (signature, forged, v2_signature):
        assert secret not in log, secret
    assert fingerprint(signature) in log and fingerprint(forged) in log
    assert fingerprint(v2_signature) in log
    assert "GET /logs/k?" in log  # the path is there, and the access key id
    assert server.access_key in log
