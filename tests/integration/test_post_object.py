"""Browser POST uploads against a real server: boto3's generate_presigned_post
posted with requests and curl, V2 policies signed by hand (the ceph/s3-tests
way), every refusal in S3's words, malformed forms, and a 50 MB file that
never sits in the server's memory."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from sealbox.testing.server import RunningServer

B = "sealbox-test-boundary-7f3a"


def error_of(response: requests.Response) -> dict[str, str]:
    root = ET.fromstring(response.content)
    return {child.tag: child.text or "" for child in root}


def encode_form(fields: list[tuple[str, str]], file: tuple[str, bytes] | None = ("f.txt", b"bar"),
                after: list[tuple[str, str]] = (), file_field: str = "file") -> bytes:
    """A multipart/form-data body in exactly this order: fields, the file, more fields."""
    out = []
    for name, value in fields:
        out.append(f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                   + value.encode() + b"\r\n")
    if file is not None:
        out.append(f'--{B}\r\nContent-Disposition: form-data; name="{file_field}"; '
                   f'filename="{file[0]}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                   .encode() + file[1] + b"\r\n")
    for name, value in after:
        out.append(f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                   + value.encode() + b"\r\n")
    out.append(f"--{B}--\r\n".encode())
    return b"".join(out)


def post_raw(url: str, body: bytes, content_type: str = f"multipart/form-data; boundary={B}",
             **kwargs: object) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": content_type},
                         allow_redirects=False, timeout=60, **kwargs)


def expiry(seconds: int = 600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def v2_fields(server: RunningServer, conditions: list, fields: list[tuple[str, str]],
              expiration: str | None = None) -> list[tuple[str, str]]:
    """A form signed with a V2 policy, by hand, as s3-tests signs them:
    signature = base64(HMAC-SHA1(secret, base64(policy)))."""
    document = {"expiration": expiration or expiry(), "conditions": conditions}
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    signature = base64.b64encode(hmac.new(server.secret_key.encode(), policy.encode(),
                                          hashlib.sha1).digest()).decode()
    return [*fields, ("AWSAccessKeyId", server.access_key), ("policy", policy),
            ("signature", signature)]


def stored_keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def url(server: RunningServer, bucket: str) -> str:
    return f"{server.endpoint}/{bucket}"


@pytest.fixture
def presigned(s3, bucket: str) -> dict:
    return s3.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-owner": "alice"},
        Conditions=[
            ["content-length-range", 1, 1000],
            ["starts-with", "$key", "uploads/"],
            ["starts-with", "$Content-Type", "text/"],
            {"x-amz-meta-owner": "alice"},
        ],
        ExpiresIn=600,
    )


# --- what works ----------------------------------------------------------------------------


def test_boto3_presigned_post_works_from_requests(s3, bucket, presigned) -> None:
    response = requests.post(presigned["url"], data=presigned["fields"],
                             files={"file": ("hello.txt", b"hello world")}, timeout=30)
    assert response.status_code == 204, response.text
    etag = '"' + hashlib.md5(b"hello world").hexdigest() + '"'
    assert response.headers["etag"] == etag
    assert response.headers["location"] == f"{presigned['url']}/uploads%2Fhello.txt"
    got = s3.get_object(Bucket=bucket, Key="uploads/hello.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "alice"}
    assert got["ETag"] == etag


def test_boto3_presigned_post_works_from_curl(s3, bucket, presigned, tmp_path) -> None:
    path = tmp_path / "photo 1.txt"
    path.write_bytes(b"curl bytes")
    args = []
    for name, value in presigned["fields"].items():
        args += ["-F", f"{name}={value}"]
    out = subprocess.run(["curl", "-s", "-o", "-", "-w", "%{http_code}", *args,
                          "-F", f"file=@{path}", presigned["url"]],
                         capture_output=True, check=True, timeout=30).stdout
    assert out == b"204"
    assert s3.get_object(Bucket=bucket, Key="uploads/photo 1.txt")["Body"].read() == b"curl bytes"


def test_success_action_status_201_returns_post_response(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", "a/"],
                                {"success_action_status": "201"}],
                       [("key", "a/b c.txt"), ("success_action_status", "201")])
    response = post_raw(url, encode_form(fields))
    assert response.status_code == 201, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "PostResponse"
    etag = '"' + hashlib.md5(b"bar").hexdigest() + '"'
    assert {c.tag: c.text for c in root} == {
        "Location": f"{url}/a%2Fb%20c.txt", "Bucket": bucket, "Key": "a/b c.txt", "ETag": etag}


@pytest.mark.parametrize(("value", "status"), [("200", 200), ("204", 204), ("404", 204)])
def test_success_action_status_200_204_and_others(server, bucket, url, value, status) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""],
                                ["starts-with", "$success_action_status", ""]],
                       [("key", "k"), ("success_action_status", value)])
    response = post_raw(url, encode_form(fields))
    assert (response.status_code, response.content) == (status, b"")
    assert response.headers["etag"]


def test_success_action_redirect_is_303_with_bucket_key_and_etag(server, s3, bucket, url) -> None:
    redirect = "https://app.example.com/done?from=upload"
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""],
                                ["eq", "$success_action_redirect", redirect]],
                       [("key", "dir/f.txt"), ("success_action_redirect", redirect)])
    response = post_raw(url, encode_form(fields))
    assert response.status_code == 303
    etag = s3.head_object(Bucket=bucket, Key="dir/f.txt")["ETag"].strip('"')
    assert response.headers["location"] == (
        f"{redirect}&bucket={bucket}&key=dir%2Ff.txt&etag=%22{etag}%22")


def test_v2_policy_with_metadata_tags_and_ignored_fields(server, s3, bucket, url) -> None:
    # s3-tests test_post_object_user_specified_header, _ignored_header and
    # _tags_authenticated_request in one form.
    tagging = ("<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet>"
               "</Tagging>")
    fields = v2_fields(server, [
        {"bucket": bucket}, ["starts-with", "$key", "foo"], {"acl": "private"},
        ["starts-with", "$Content-Type", "text/plain"], ["content-length-range", 0, 1024],
        ["starts-with", "$x-amz-meta-foo", "bar"], ["starts-with", "$tagging", ""],
    ], [("key", "foo.txt"), ("acl", "private"), ("Content-Type", "text/plain"),
        ("x-amz-meta-foo", "barclamp"), ("tagging", tagging), ("x-ignore-submit", "Upload")])
    response = post_raw(url, encode_form(fields))
    assert response.status_code == 204, response.text
    got = s3.get_object(Bucket=bucket, Key="foo.txt")
    assert (got["Metadata"], got["ContentType"]) == ({"foo": "barclamp"}, "text/plain")
    assert s3.get_object_tagging(Bucket=bucket, Key="foo.txt")["TagSet"] == [
        {"Key": "team", "Value": "blue"}]


def test_case_insensitive_field_names_and_filename_key(server, s3, bucket, url) -> None:
    # s3-tests test_post_object_case_insensitive_condition_fields and
    # test_post_object_set_key_from_filename.
    fields = v2_fields(server, [{"bUcKeT": bucket}, ["StArTs-WiTh", "$KeY", "foo"],
                                {"AcL": "private"}],
                       [("kEy", "${filename}"), ("aCl", "private")])
    response = post_raw(url, encode_form(fields, ("foo.txt", b"bar")))
    assert response.status_code == 204, response.text
    assert s3.get_object(Bucket=bucket, Key="foo.txt")["Body"].read() == b"bar"


def test_fields_after_the_file_are_ignored(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""]], [("key", "k")])
    body = encode_form(fields, after=[("x-amz-meta-late", "1"), ("key", "other")])
    assert post_raw(url, body).status_code == 204
    assert stored_keys(s3, bucket) == ["k"]
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {}


def test_checksum_and_content_md5_fields_are_verified(server, s3, bucket, url) -> None:
    # s3-tests test_post_object_upload_checksum, with the field in the policy
    # (S3's docs: every field but the exempt ones must be covered).
    payload = b"x" * (2 * 1024 * 1024)
    good = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    conditions = [{"bucket": bucket}, ["starts-with", "$key", ""],
                  ["starts-with", "$x-amz-checksum-sha256", ""], ["starts-with", "$Content-MD5", ""]]
    md5 = base64.b64encode(hashlib.md5(payload).digest()).decode()
    fields = v2_fields(server, conditions, [("key", "c"), ("x-amz-checksum-sha256", good),
                                            ("Content-MD5", md5)])
    response = post_raw(url, encode_form(fields, ("c", payload)))
    assert response.status_code == 204, response.text
    assert response.headers["x-amz-checksum-sha256"] == good
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == good
    s3.delete_object(Bucket=bucket, Key="c")
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    for claim, code in (("sailorjerry", "InvalidRequest"),
                        (base64.b64encode(hashlib.sha256(b"other").digest()).decode(), "BadDigest")):
        fields = v2_fields(server, conditions, [("key", "c"), ("x-amz-checksum-sha256", claim),
                                                ("Content-MD5", md5)])
        refused(s3, bucket, post_raw(url, encode_form(fields, ("c", payload))), 400, code)
    fields = v2_fields(server, conditions, [("key", "c"), ("x-amz-checksum-sha256", good),
                                            ("Content-MD5", wrong_md5)])
    refused(s3, bucket, post_raw(url, encode_form(fields, ("c", payload))), 400, "BadDigest")


def test_checksum_field_needs_no_condition_and_is_still_verified(server, s3, bucket, url) -> None:
    # s3-tests test_post_object_upload_checksum: the policy names no checksum
    # field, and the form's x-amz-checksum-sha256 is taken, and checked.
    payload = b"x" * (2 * 1024 * 1024)
    good = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    conditions = [{"bucket": bucket}, ["starts-with", "$key", "sum"]]
    fields = v2_fields(server, conditions, [("key", "sum.txt"), ("x-amz-checksum-sha256", good)])
    response = post_raw(url, encode_form(fields, ("sum.txt", payload)))
    assert response.status_code == 204, response.text
    head = s3.head_object(Bucket=bucket, Key="sum.txt", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == good
    s3.delete_object(Bucket=bucket, Key="sum.txt")
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    for claim, code in (("sailorjerry", "InvalidRequest"), (other, "BadDigest")):
        fields = v2_fields(server, conditions, [("key", "sum.txt"),
                                                ("x-amz-checksum-sha256", claim)])
        refused(s3, bucket, post_raw(url, encode_form(fields, ("sum.txt", payload))), 400, code)
    # Any other uncovered x-amz- field is still refused.
    fields = v2_fields(server, conditions, [("key", "sum.txt"), ("x-amz-meta-x", "1")])
    refused(s3, bucket, post_raw(url, encode_form(fields, ("sum.txt", payload))), 403,
            "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-x")


# --- refusals, each storing nothing ----------------------------------------------------------


def refused(s3, bucket, response, status, code, message=None) -> dict[str, str]:
    assert response.status_code == status, response.text
    fields = error_of(response)
    assert fields["Code"] == code
    if message is not None:
        assert fields["Message"] == message
    assert stored_keys(s3, bucket) == []
    return fields


def test_expired_policy(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""]], [("key", "k")],
                       expiration=expiry(-60))
    refused(s3, bucket, post_raw(url, encode_form(fields)), 403, "AccessDenied",
            "Invalid according to Policy: Policy expired.")


def test_failed_condition(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", "foo"]],
                       [("key", "bar.txt")])
    refused(s3, bucket, post_raw(url, encode_form(fields)), 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "foo"]')


def test_policy_for_another_bucket(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": "some-other-bucket"}, ["starts-with", "$key", ""]],
                       [("key", "k"), ("bucket", "some-other-bucket")])
    refused(s3, bucket, post_raw(url, encode_form(fields)), 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: '
            '["eq", "$bucket", "some-other-bucket"]')


def test_extra_input_fields(s3, bucket, presigned) -> None:
    fields = list(presigned["fields"].items()) + [("x-amz-meta-sneaky", "1")]
    response = post_raw(presigned["url"], encode_form(fields))
    refused(s3, bucket, response, 403, "AccessDenied",
            "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")


def test_file_too_large_and_too_small(s3, bucket, presigned) -> None:
    fields = list(presigned["fields"].items())
    big = refused(s3, bucket, post_raw(presigned["url"], encode_form(fields, ("a", b"x" * 1001))),
                  400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    assert (big["ProposedSize"], big["MaxSizeAllowed"]) == ("1001", "1000")
    small = refused(s3, bucket, post_raw(presigned["url"], encode_form(fields, ("a", b""))),
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum "
                    "allowed size")
    assert (small["ProposedSize"], small["MinSizeAllowed"]) == ("0", "1")


def test_file_far_too_large_stops_reading(s3, bucket, presigned) -> None:
    fields = list(presigned["fields"].items())
    body = encode_form(fields, ("a", b"x" * (20 * 1024 * 1024)))
    big = refused(s3, bucket, post_raw(presigned["url"], body), 400, "EntityTooLarge")
    assert big["MaxSizeAllowed"] == "1000"


def test_wrong_signature_and_unknown_key(server, s3, bucket, url) -> None:
    fields = dict(v2_fields(server, [{"bucket": bucket}], [("key", "k")]))
    fields["signature"] = fields["signature"][::-1]
    refused(s3, bucket, post_raw(url, encode_form(list(fields.items()))), 403,
            "SignatureDoesNotMatch")
    fields = dict(v2_fields(server, [{"bucket": bucket}], [("key", "k")]))
    fields["AWSAccessKeyId"] = "AKIDUNKNOWN"
    refused(s3, bucket, post_raw(url, encode_form(list(fields.items()))), 403,
            "InvalidAccessKeyId")


def signed_v2(server: RunningServer, policy: str, fields: list[tuple[str, str]]) -> list:
    signature = base64.b64encode(hmac.new(server.secret_key.encode(), policy.encode(),
                                          hashlib.sha1).digest()).decode()
    return [*fields, ("AWSAccessKeyId", server.access_key), ("policy", policy),
            ("signature", signature)]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("%%% not base64 %%%", "Invalid Policy: invalid Base64 encoding."),
        (base64.b64encode(b"{not json").decode(), "Invalid Policy: Invalid JSON."),
        (base64.b64encode(b'{"conditions": []}').decode(),
         "Invalid Policy: Policy missing expiration."),
        (base64.b64encode(b'{"expiration": "2030-01-01T00:00:00Z"}').decode(),
         "Invalid Policy: Policy missing conditions."),
        # a lone surrogate escape: JSON's syntax, not text (once a 500 or worse)
        (base64.b64encode(b'{"expiration": "2030-01-01T00:00:00Z", '
                          b'"conditions": [["eq", "$key", "\\ud800"]]}').decode(),
         "Invalid Policy: Invalid JSON."),
    ],
)
def test_invalid_policy_documents(server, s3, bucket, url, policy, message) -> None:
    fields = signed_v2(server, policy, [("key", "k")])
    refused(s3, bucket, post_raw(url, encode_form(fields)), 400, "InvalidPolicyDocument",
            message)


def test_anonymous_post_is_denied(s3, bucket, url) -> None:
    # s3-tests test_post_object_anonymous_request: allowed only where a
    # bucket policy lets anyone write, and no such policy exists yet.
    body = encode_form([("key", "foo.txt"), ("Content-Type", "text/plain")])
    refused(s3, bucket, post_raw(url, body), 403, "AccessDenied", "Access Denied")


def test_missing_key(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}], [])
    fields_ = refused(s3, bucket, post_raw(url, encode_form(fields)), 400, "InvalidArgument",
                      "Bucket POST must contain a field named 'key'.  If it is specified, "
                      "please check the order of the fields.")
    assert fields_["ArgumentName"] == "key"


def test_missing_v2_signature(server, s3, bucket, url) -> None:
    fields = [(n, v) for n, v in v2_fields(server, [{"bucket": bucket}], [("key", "k")])
              if n != "signature"]
    refused(s3, bucket, post_raw(url, encode_form(fields)), 400, "InvalidArgument")


def test_fields_over_20_kb(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}], [("key", "k"), ("x-ignore-pad", "p" * 21000)])
    refused(s3, bucket, post_raw(url, encode_form(fields)), 400,
            "MaxPostPreDataLengthExceededError",
            "Your POST request fields preceding the upload file were too large.")


# --- malformed forms -----------------------------------------------------------------------


def test_no_boundary(s3, bucket, url) -> None:
    refused(s3, bucket, post_raw(url, encode_form([("key", "k")]), "multipart/form-data"), 400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.")


def test_not_multipart(s3, bucket, url) -> None:
    fields = refused(s3, bucket, post_raw(url, b"key=k", "application/x-www-form-urlencoded"),
                     412, "PreconditionFailed")
    assert fields["Condition"] == "Bucket POST must be of the enclosure-type multipart/form-data"


def test_truncated_body(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""]], [("key", "k")])
    body = encode_form(fields, ("f", b"x" * 5000))
    refused(s3, bucket, post_raw(url, body[:-30]), 400, "MalformedPOSTRequest")


def test_missing_file(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""]], [("key", "k")])
    refused(s3, bucket, post_raw(url, encode_form(fields, None)), 400,
            "IncorrectNumberOfFilesInPostRequest",
            "POST requires exactly one file upload per request.")


def test_two_files(server, s3, bucket, url) -> None:
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""]], [("key", "k")])
    body = encode_form(fields)
    second = (f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="2"\r\n\r\n'
              f"two\r\n--{B}--\r\n").encode()
    body = body[: -len(f"--{B}--\r\n")] + second
    refused(s3, bucket, post_raw(url, body), 400, "IncorrectNumberOfFilesInPostRequest")


def test_garbage_never_500(s3, bucket, url) -> None:
    for body in (b"", os.urandom(3000), b"--" + B.encode() + b"\r\n\r\n\r\n", b"--" + B.encode()):
        response = post_raw(url, body)
        assert 400 <= response.status_code < 500, (body[:40], response.text)
    assert stored_keys(s3, bucket) == []


# --- a big file never sits in memory -------------------------------------------------------


def _rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for RSS")
def test_50_mb_file_streams_with_flat_server_memory(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    size = 50 * 1024 * 1024
    with RunningServer(data_dir=tmp_path / "data") as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key,
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
        bucket = f"big-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        post = s3.generate_presigned_post(bucket, "big.bin",
                                          Conditions=[["content-length-range", 0, size]])
        # Warm the server up with a small POST first, so the peak below is the big one's.
        small = encode_form(list(post["fields"].items()), ("s", b"x"))
        assert post_raw(post["url"], small).status_code == 204
        assert server.process is not None
        before = _rss_peak_kb(server.process.pid)
        head = encode_form(list(post["fields"].items()), None)[: -len(f"--{B}--\r\n")]
        head += (f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
                 "\r\n\r\n").encode()
        md5 = hashlib.md5()

        def body() -> Iterator[bytes]:
            yield head
            block = bytes(range(256)) * 4096  # 1 MiB
            for _ in range(size // len(block)):
                md5.update(block)
                yield block
            yield f"\r\n--{B}--\r\n".encode()

        started = time.monotonic()
        response = post_raw(post["url"], body())  # chunked: the client holds 1 MiB at a time
        assert response.status_code == 204, response.text
        growth_mb = (_rss_peak_kb(server.process.pid) - before) / 1024
        assert growth_mb < 25, f"server peak RSS grew {growth_mb:.1f} MB for a 50 MB upload"
        assert response.headers["etag"] == f'"{md5.hexdigest()}"'
        assert s3.head_object(Bucket=bucket, Key="big.bin")["ContentLength"] == size
        assert time.monotonic() - started < 120


def test_virtual_host_post_answers_with_virtual_host_location(server, s3, bucket, tmp_path) -> None:
    domain = "s3.sealbox.test"  # the test server's --domain (tests/conftest.py)
    fields = v2_fields(server, [{"bucket": bucket}, ["starts-with", "$key", ""],
                                {"success_action_status": "201"}],
                       [("key", "v/h.txt"), ("success_action_status", "201")])
    (tmp_path / "h.txt").write_bytes(b"virtual")
    args = [arg for name, value in fields for arg in ("-F", f"{name}={value}")]
    out = subprocess.run(
        ["curl", "-s", "--resolve", f"{bucket}.{domain}:{server.port}:127.0.0.1", "-o", "-",
         *args, "-F", f"file=@{tmp_path / 'h.txt'}", f"http://{bucket}.{domain}:{server.port}/"],
        capture_output=True, check=True, timeout=30).stdout
    root = ET.fromstring(out)
    assert root.findtext("Location") == f"http://{bucket}.{domain}:{server.port}/v%2Fh.txt"
    assert s3.get_object(Bucket=bucket, Key="v/h.txt")["Body"].read() == b"virtual"
