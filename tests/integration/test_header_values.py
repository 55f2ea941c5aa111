"""What is stored can always be read back (issue 11): every value that
becomes a response header — PUT headers, POST form fields, CopyObject
REPLACE, CreateMultipartUpload, ``response-*`` overrides, CORS rules — fed
every control byte and non-Latin-1 text, then read back with GET and HEAD:
a clean 400 where it enters, or 200 with the value sent encoded; never 500.
Values an older version stored unchecked are served with bad characters
dropped (``sealbox.http.header_values``)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from email.header import decode_header, make_header
from urllib.parse import quote, urlencode

import pytest
import requests
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbox.http.header_values import LATIN1_MESSAGE
from sealbox.store.meta import MetaStore

CONTROLS = [c for c in (*range(0x09), *range(0x0A, 0x20), 0x7F)]
FIELDS = ["Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language",
          "Cache-Control", "Expires", "x-amz-meta-note"]
TEXT = "日本語 ✓ résumé"  # not Latin-1: a 500 before issue 11
DISPOSITION = 'attachment; filename="résumé ✓.pdf"'
SERVED_DISPOSITION = ('attachment; filename="resume _.pdf"; '
                      "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.pdf")
NUL_WORD = "=?UTF-8?B?YQBi?="  # RFC 2047 for "a\0b": S3 decodes it before storing


def error_of(response: requests.Response | http.client.HTTPResponse) -> dict[str, str]:
    body = response.content if isinstance(response, requests.Response) else response.read()
    return {child.tag: child.text or "" for child in ET.fromstring(body)}


def value_for(field: str) -> str:
    return DISPOSITION if field == "Content-Disposition" else TEXT


def rfc2047(value: str) -> str:
    return str(make_header(decode_header(value)))


def read_back(s3, bucket: str, key: str) -> tuple[requests.Response, requests.Response]:
    """GET and HEAD of the object, with the header bytes as sent."""
    get = requests.get(s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}), timeout=30)
    head = requests.head(s3.generate_presigned_url(
        "head_object", Params={"Bucket": bucket, "Key": key}), timeout=30)
    return get, head


def assert_served_encoded(s3, bucket: str, key: str, fields: list[str]) -> None:
    """Every field was stored from ``value_for`` and is sent back as ASCII
    that decodes to it."""
    get, head = read_back(s3, bucket, key)
    assert get.status_code == 200, get.text
    assert head.status_code == 200
    for response in (get, head):
        for field in fields:
            got = response.headers[field]
            assert got.isascii(), (field, got)
            if field == "Content-Disposition":
                assert got == SERVED_DISPOSITION
            else:
                assert got.startswith("=?UTF-8?B?"), (field, got)  # what S3 documents
                assert rfc2047(got) == TEXT


def with_headers(s3, operation: str, headers: dict[str, str]):
    """A copy of ``s3`` that adds raw headers after parameter validation
    and before signing (boto3 refuses non-ASCII metadata), as s3-tests does."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1",
        aws_access_key_id=s3._request_signer._credentials.access_key,
        aws_secret_access_key=s3._request_signer._credentials.secret_key,
        config=s3.meta.config,
    )

    def add(params: dict, **_: object) -> None:
        params["headers"].update(headers)

    client.meta.events.register(f"before-call.s3.{operation}", add)
    return client


# --- PUT -------------------------------------------------------------------------------------


def raw_put(server, path: str, name: str, value: bytes, body: bytes = b"x") -> int:
    """A signed PUT with one header sent as exactly these bytes, over a raw
    socket (HTTP libraries refuse to send control bytes); the status."""
    request = AWSRequest("PUT", server.endpoint + path, data=body,
                         headers={name: value.decode("latin-1")})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3",
                "us-east-1").add_auth(request)
    head = [f"PUT {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{server.port}".encode(),
            f"Content-Length: {len(body)}".encode()]
    for header, text in request.headers.items():
        if header.lower() not in ("host", "content-length"):
            head.append(header.encode("latin-1") + b": " + text.encode("latin-1"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        return response.status


@pytest.mark.parametrize("field", FIELDS)
def test_put_header_with_a_control_byte_is_400_and_stores_nothing(server, s3, bucket,
                                                                  field) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    for byte in CONTROLS:
        status = raw_put(server, f"/{bucket}/k", field, b"a" + bytes([byte]) + b"b")
        assert status == 400, (field, byte)  # the HTTP server's answer: no header carries these
    get, head = read_back(s3, bucket, "k")
    assert (get.status_code, get.content, head.status_code) == (200, b"before", 200)


@pytest.mark.parametrize("field", FIELDS)
def test_put_header_with_a_tab_is_stored_and_served(server, s3, bucket, field) -> None:
    assert raw_put(server, f"/{bucket}/k", field, b"a\tb") == 200
    get, head = read_back(s3, bucket, "k")
    assert get.headers[field] == head.headers[field] == "a\tb"


def test_put_headers_with_non_latin1_text_are_served_encoded(s3, bucket) -> None:
    headers = {field: value_for(field) for field in FIELDS}
    with_headers(s3, "PutObject", headers).put_object(Bucket=bucket, Key="k", Body=b"x")
    assert_served_encoded(s3, bucket, "k", FIELDS)


def test_put_metadata_given_rfc2047_is_stored_decoded_and_sent_encoded(s3, bucket) -> None:
    word = "=?UTF-8?Q?caf=C3=A9?="
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"a": word, "b": "plain"})
    got = s3.head_object(Bucket=bucket, Key="k")["Metadata"]
    assert got == {"a": "=?UTF-8?B?Y2Fmw6k=?=", "b": "plain"}
    assert rfc2047(got["a"]) == "café"


def test_put_metadata_whose_rfc2047_text_holds_a_control_character_is_400(s3, bucket) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"a": NUL_WORD})
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    assert caught.value.response["Error"]["ArgumentName"] == "x-amz-meta-a"


# --- POST forms ------------------------------------------------------------------------------

B = "header-values-boundary-51c2"


def form(fields: list[tuple[str, str]], data: bytes = b"body") -> bytes:
    out = [f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
           + value.encode() + b"\r\n" for name, value in fields]
    out.append(f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n'
               f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{B}--\r\n".encode())
    return b"".join(out)


@pytest.fixture
def post_form(s3, bucket):
    """Post a form with these fields, signed with a V4 policy that admits
    any value of each."""
    def post(extra: list[tuple[str, str]]) -> requests.Response:
        presigned = s3.generate_presigned_post(
            bucket, "posted", Conditions=[["starts-with", f"${name}", ""] for name, _ in extra],
            ExpiresIn=600)
        return requests.post(presigned["url"], data=form([*presigned["fields"].items(), *extra]),
                             headers={"Content-Type": f"multipart/form-data; boundary={B}"},
                             timeout=30)

    return post


@pytest.mark.parametrize("field", FIELDS)
def test_post_field_with_a_control_character_is_400_invalid_argument(s3, bucket, post_form,
                                                                     field) -> None:
    for byte in CONTROLS:
        response = post_form([(field, f"a{chr(byte)}b")])
        assert response.status_code == 400, (field, byte, response.text)
        error = error_of(response)
        assert error["Code"] == "InvalidArgument", error
        assert error["ArgumentName"] == field.lower()
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="posted")  # nothing was stored


def test_post_fields_with_a_tab_are_stored_and_served(s3, bucket, post_form) -> None:
    assert post_form([(field, "a\tb") for field in FIELDS]).status_code == 204
    get, head = read_back(s3, bucket, "posted")
    assert [get.headers[f] for f in FIELDS] == [head.headers[f] for f in FIELDS] == \
        ["a\tb"] * len(FIELDS)


def test_post_fields_with_non_latin1_text_are_served_encoded(s3, bucket, post_form) -> None:
    # What a browser sends for filename="résumé ✓.pdf" or Japanese metadata.
    response = post_form([(field, value_for(field)) for field in FIELDS])
    assert response.status_code == 204, response.text
    assert_served_encoded(s3, bucket, "posted", FIELDS)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(max_size=24), min_size=len(FIELDS), max_size=len(FIELDS)))
def test_any_text_in_post_fields_is_refused_at_entry_or_read_back(s3, bucket, post_form,
                                                                  values: list[str]) -> None:
    response = post_form(list(zip(FIELDS, values, strict=True)))
    if response.status_code == 400:
        assert error_of(response)["Code"] == "InvalidArgument"
        return
    assert response.status_code == 204, response.text
    get, head = read_back(s3, bucket, "posted")
    assert (get.status_code, head.status_code) == (200, 200)
    for field in FIELDS:
        assert get.headers.get(field, "").isascii()


@pytest.mark.parametrize("name", ["x-amz-meta-a b", "x-amz-meta-é", "x-amz-meta-a\x01"])
def test_post_metadata_field_name_that_is_no_header_name_is_400(post_form, name) -> None:
    response = post_form([(name, "v")])
    assert response.status_code == 400, response.text
    assert error_of(response)["Code"] == "InvalidArgument"


# --- CopyObject REPLACE and CreateMultipartUpload --------------------------------------------


def test_copy_replace_with_non_latin1_text_is_served_encoded(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    client = with_headers(s3, "CopyObject", {f: value_for(f) for f in FIELDS})
    client.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       MetadataDirective="REPLACE")
    assert_served_encoded(s3, bucket, "dst", FIELDS)


def test_copy_replace_with_a_control_character_is_400(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       MetadataDirective="REPLACE", Metadata={"a": NUL_WORD})
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dst")


def test_multipart_upload_with_non_latin1_text_is_served_encoded(s3, bucket) -> None:
    client = with_headers(s3, "CreateMultipartUpload", {f: value_for(f) for f in FIELDS})
    upload = client.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                          Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert_served_encoded(s3, bucket, "mp", FIELDS)


def test_multipart_upload_with_a_control_character_is_400(s3, bucket) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"a": NUL_WORD})
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"


# --- response-* overrides --------------------------------------------------------------------


OVERRIDES = ["response-content-type", "response-content-disposition",
             "response-content-encoding", "response-content-language",
             "response-cache-control", "response-expires"]


def presigned(server, method: str, bucket: str, **query: str) -> str:
    """A SigV4 presigned URL for ``bucket/k`` with this query, any text in
    it (boto3 wants a date for ResponseExpires)."""
    url = f"{server.endpoint}/{bucket}/k"
    if query:
        url += "?" + urlencode(query, quote_via=quote)
    request = AWSRequest(method, url)
    S3SigV4QueryAuth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1",
                     expires=600).add_auth(request)
    return request.url


@pytest.mark.parametrize("param", OVERRIDES)
def test_response_override_with_a_control_character_is_400_invalid_argument(server, s3, bucket,
                                                                             param) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for byte in CONTROLS:
        response = requests.get(presigned(server, "GET", bucket, **{param: f"a{chr(byte)}b"}),
                                timeout=30)
        assert response.status_code == 400, (param, byte)
        error = error_of(response)
        assert (error["Code"], error["ArgumentName"]) == ("InvalidArgument", param)
        head = requests.head(presigned(server, "HEAD", bucket, **{param: f"a{chr(byte)}b"}),
                             timeout=30)
        assert head.status_code == 400


@pytest.mark.parametrize("param", OVERRIDES)
def test_response_override_outside_latin1_is_refused_as_s3_refuses_it(server, s3, bucket,
                                                                      param) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    response = requests.get(presigned(server, "GET", bucket, **{param: TEXT}), timeout=30)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["Code"], error["Message"], error["ArgumentName"]) == (
        "InvalidArgument", LATIN1_MESSAGE, param)
    head = requests.head(presigned(server, "HEAD", bucket, **{param: TEXT}), timeout=30)
    assert head.status_code == 400


def test_response_override_with_latin1_text_is_served_encoded(server, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    response = requests.get(presigned(
        server, "GET", bucket, **{"response-content-disposition": 'attachment; filename="résumé.pdf"',
                                  "response-content-language": "français",
                                  "response-content-type": "text/plain;\tx=y"}), timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    assert rfc2047(response.headers["Content-Language"]) == "français"
    assert response.headers["Content-Type"] == "text/plain;\tx=y"


# --- CORS ------------------------------------------------------------------------------------

ORIGIN = "https://app.example"


def put_cors_xml(server, bucket: str, body: bytes) -> requests.Response:
    request = AWSRequest("PUT", f"{server.endpoint}/{bucket}?cors", data=body, headers={
        "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3",
                "us-east-1").add_auth(request)
    return requests.put(request.url, data=body, headers=dict(request.headers), timeout=30)


def cors_rule(**values: str) -> bytes:
    children = {"AllowedOrigin": "*", "AllowedMethod": "GET", **values}
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in children.items())
    return f"<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>".encode()


@pytest.mark.parametrize("element", ["ExposeHeader", "AllowedHeader", "AllowedOrigin"])
def test_put_bucket_cors_with_a_control_character_is_400(server, s3, bucket, element) -> None:
    for byte in CONTROLS:
        value = f"x-a&#{byte};b" if element != "AllowedOrigin" else f"https://a&#{byte};b"
        response = put_cors_xml(server, bucket, cors_rule(**{element: value}))
        assert response.status_code == 400, (element, byte, response.text)
        # XML 1.0 carries only CR, LF and DEL of these; the rest is MalformedXML.
        expected = "InvalidRequest" if byte in (0x0A, 0x0D, 0x7F) else "MalformedXML"
        assert error_of(response)["Code"] == expected, (element, byte)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)  # nothing was stored


@pytest.mark.parametrize("element", ["ExposeHeader", "AllowedHeader"])
def test_put_bucket_cors_with_non_ascii_header_names_is_400(server, bucket, element) -> None:
    response = put_cors_xml(server, bucket, cors_rule(**{element: "x-日本"}))
    assert response.status_code == 400
    assert error_of(response)["Code"] == "InvalidRequest"


# --- what an older version stored ------------------------------------------------------------


@pytest.fixture
def store(server) -> Iterator[MetaStore]:
    """The test server's metadata store, opened by the test as a second
    writer: what it writes skips every check the API makes."""
    args = server.extra_args
    meta: MetaStore
    if "--meta-dsn" in args:
        from sealbox.store.postgres import PostgresMetaStore

        meta = PostgresMetaStore(args[args.index("--meta-dsn") + 1], min_connections=1,
                                 max_connections=1)
    else:
        from sealbox.store.sqlite import SqliteMetaStore

        meta = SqliteMetaStore(str(server.data_dir / "meta.sqlite3"))
    yield meta
    meta.close()


def test_an_object_stored_unchecked_by_an_older_version_is_served(s3, bucket, store) -> None:
    s3.put_object(Bucket=bucket, Key="old", Body=b"old bytes")
    record = store.get_object(bucket, "old")
    assert record is not None
    store.put_object(replace(record, headers={
        "content-type": "text/plain\r\nx-injected: 1",
        "content-disposition": DISPOSITION,
        "cache-control": "max-age=60\x00",
        "content-language": "日本語",
        "expires": "\x7f",
    }, user_metadata={
        "raw": "café".encode().decode("latin-1"),  # a PUT's bytes, kept unread before
        "jp": TEXT,
        "nul": "a\x00b",
        "bad name": "dropped",
    }))
    get, head = read_back(s3, bucket, "old")
    for response in (get, head):
        assert response.status_code == 200
        headers = response.headers
        assert headers["Content-Type"] == "text/plainx-injected: 1"
        assert "x-injected" not in headers
        assert headers["Content-Disposition"] == SERVED_DISPOSITION
        assert headers["Cache-Control"] == "max-age=60"
        assert rfc2047(headers["Content-Language"]) == "日本語"
        assert headers["Expires"] == ""
        assert rfc2047(headers["x-amz-meta-raw"]) == "café"
        assert rfc2047(headers["x-amz-meta-jp"]) == TEXT
        assert headers["x-amz-meta-nul"] == "ab"
        assert not any(" " in name for name in headers)
    assert get.content == b"old bytes"


def test_cors_rules_stored_unchecked_by_an_older_version_keep_working(server, s3, bucket,
                                                                      store) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    store.put_bucket_setting(bucket, "cors", json.dumps({"rules": [{
        "id": None, "origins": ["*"], "methods": ["GET", "PU\nT"], "headers": [],
        "expose": ["ETag", "x-bad\r\nx-injected: 1", "x-日本", "\x00", "x-amz-meta-ok"],
        "max_age": None}]}))
    response = requests.get(presigned(server, "GET", bucket), headers={"Origin": ORIGIN},
                            timeout=30)
    assert response.status_code == 200
    assert response.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-meta-ok"
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
    preflight = requests.options(f"{s3.meta.endpoint_url}/{bucket}/k", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"}, timeout=30)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-meta-ok"


# --- through the edge ------------------------------------------------------------------------


def test_the_edge_serves_encoded_values_and_refuses_bad_overrides(s3, client_factory,
                                                                  server) -> None:
    from tests.integration.edge_site import behaviour, make_site

    site = make_site(s3, client_factory("cloudfront"), server.endpoint, server.port,
                     restricted=False, default=behaviour(forward_query=True))
    # Without Cache-Control and Expires (they would set the TTL), so the
    # second answer comes from the edge's cache.
    kept = [f for f in FIELDS if f not in ("Cache-Control", "Expires")]
    with_headers(s3, "PutObject", {f: value_for(f) for f in kept}).put_object(
        Bucket=site.bucket, Key="k", Body=b"x")
    for attempt in ("Miss", "Hit"):
        got = site.get(site.url("/k"))
        assert (got.status_code, got.headers["x-cache"]) == (200, f"{attempt} from cloudfront")
        assert got.headers["Content-Disposition"] == SERVED_DISPOSITION
        assert rfc2047(got.headers["x-amz-meta-note"]) == TEXT
    for value in ("a%0D%0Ab", "a%00b", quote(TEXT)):
        refused = site.get(site.url(f"/k?response-content-type={value}"))
        assert refused.status_code == 400, value
        assert error_of(refused)["Code"] == "InvalidArgument"
