"""Bucket CORS against a running server: boto3 for Put/Get/DeleteBucketCors,
raw HTTP (requests, no credentials, as a browser) for preflights and for the
CORS headers of actual responses, errors included.

Expected answers are AWS's, as LocalStack recorded them against AWS
(tests/aws/services/s3/test_s3_cors.snapshot.json); see sealbox.api.s3.cors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.exceptions import ClientError

from sealbox.api.s3.cors import NOT_ALLOWED
from sealbox.http.cors import VARY

ORIGIN = "https://localhost:4200"
CORS_HEADER_NAMES = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "vary",
)


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in CORS_HEADER_NAMES if name in response.headers}


def error_of(response: requests.Response) -> dict[str, str]:
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def url(server, bucket: str, key: str = "") -> str:
    return f"{server.endpoint}/{bucket}/{key}"


def preflight(server, bucket: str, key: str = "", **headers: str) -> requests.Response:
    names = {"origin": "Origin", "method": "Access-Control-Request-Method",
             "headers": "Access-Control-Request-Headers"}
    return requests.options(url(server, bucket, key),
                            headers={names[k]: v for k, v in headers.items()}, timeout=30)


def put_cors(s3, bucket: str, *rules: dict) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": list(rules)})


@pytest.fixture
def obj(s3, bucket):
    s3.put_object(Bucket=bucket, Key="test-cors", Body=b"test-cors")
    return "test-cors"


# -- Put/Get/DeleteBucketCors --------------------------------------------------------


def test_put_get_delete_bucket_cors_round_trip(s3, bucket) -> None:
    rules = [
        {
            "ID": "uploads",
            "AllowedHeaders": ["x-amz-expected-bucket-owner", "x-AMZ-server-SIDE-encryption"],
            "AllowedMethods": ["GET", "PUT", "HEAD"],
            "AllowedOrigins": ["https://test.com", "https://*.test.com", "http://test.com:80"],
            "ExposeHeaders": ["ETag", "x-amz-request-id"],
            "MaxAgeSeconds": 3000,
        },
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
    ]
    put_cors(s3, bucket, *rules)
    got = s3.get_bucket_cors(Bucket=bucket)
    assert got["CORSRules"] == rules  # casing and order as written
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200

    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"
    assert e.value.response["Error"]["BucketName"] == bucket
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_get_bucket_cors_without_configuration_is_404(s3, bucket) -> None:
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    error = e.value.response["Error"]
    assert (error["Code"], error["Message"], error["BucketName"]) == (
        "NoSuchCORSConfiguration", "The CORS configuration does not exist", bucket)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_bucket_cors_without_configuration_is_204(s3, bucket) -> None:
    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_put_replaces_the_whole_configuration(s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
             {"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://a"]})
    put_cors(s3, bucket, {"AllowedMethods": ["DELETE"], "AllowedOrigins": ["https://b"]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == [
        {"AllowedMethods": ["DELETE"], "AllowedOrigins": ["https://b"]}]


def test_put_bucket_cors_with_no_rules_is_malformed_xml(s3, bucket) -> None:
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": []})
    assert e.value.response["Error"]["Code"] == "MalformedXML"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_put_bucket_cors_with_an_unsupported_method(s3, bucket) -> None:
    with pytest.raises(ClientError) as e:
        put_cors(s3, bucket, {"AllowedOrigins": ["*", "https://test.com"],
                              "AllowedMethods": ["GET", "PUT", "HEAD", "MYMETHOD"]})
    assert e.value.response["Error"]["Code"] == "InvalidRequest"
    assert e.value.response["Error"]["Message"] == (
        "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD")
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)  # nothing was stored


def test_put_bucket_cors_with_two_wildcards_in_an_origin(s3, bucket) -> None:
    with pytest.raises(ClientError) as e:
        put_cors(s3, bucket, {"AllowedOrigins": ["https://*.*.com"], "AllowedMethods": ["GET"]})
    assert e.value.response["Error"]["Code"] == "InvalidRequest"


def test_put_bucket_cors_with_a_bad_content_md5(server, bucket) -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = (b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
            b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
    req = AWSRequest("PUT", url(server, bucket) + "?cors", data=body,
                     headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(req)
    response = requests.put(req.url, data=body, headers=dict(req.headers), timeout=30)
    assert response.status_code == 400
    assert error_of(response)["Code"] == "BadDigest"


def test_bucket_cors_operations_on_a_missing_bucket(s3) -> None:
    for call in (lambda: put_cors(s3, "no-such-bucket-cors", {"AllowedMethods": ["GET"],
                                                              "AllowedOrigins": ["*"]}),
                 lambda: s3.get_bucket_cors(Bucket="no-such-bucket-cors"),
                 lambda: s3.delete_bucket_cors(Bucket="no-such-bucket-cors")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "NoSuchBucket"


def test_bucket_cors_needs_a_signature(server, bucket) -> None:
    response = requests.get(url(server, bucket) + "?cors", timeout=30)
    assert response.status_code == 403
    assert error_of(response)["Code"] == "AccessDenied"


def test_cors_configuration_goes_away_with_its_bucket(s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]})
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


# -- preflight -----------------------------------------------------------------------


def test_preflight_without_origin_is_400(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket, {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]})
    response = preflight(server, bucket, obj, method="PUT")
    assert response.status_code == 400
    error = error_of(response)
    assert (error["Code"], error["Message"]) == (
        "BadRequest", "Insufficient information. Origin request header needed.")
    assert cors_headers(response) == {}


@pytest.mark.parametrize(("method", "reported"), [("PUT", "PUT"), (None, "OPTIONS")])
def test_preflight_without_configuration_is_403(server, bucket, obj, method, reported) -> None:
    headers = {"origin": "whatever"} | ({"method": method} if method else {})
    response = preflight(server, bucket, obj, **headers)
    assert response.status_code == 403
    error = error_of(response)
    assert error["Code"] == "AccessForbidden"
    assert error["Message"] == "CORSResponse: CORS is not enabled for this bucket."
    assert (error["Method"], error["ResourceType"]) == (reported, "BUCKET")
    assert cors_headers(response) == {}


def test_preflight_on_a_missing_bucket_is_403(server) -> None:
    response = preflight(server, "no-such-bucket-cors", "k", origin="whatever")
    assert response.status_code == 403
    error = error_of(response)
    assert (error["Code"], error["Message"], error["Method"], error["ResourceType"]) == (
        "AccessForbidden", "CORSResponse: Bucket not found", "OPTIONS", "BUCKET")


def test_preflight_allowed_for_a_named_origin(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "PUT"],
                          "MaxAgeSeconds": 3000, "AllowedHeaders": ["*"]})
    response = preflight(server, bucket, obj, origin=ORIGIN, method="PUT")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers
    assert cors_headers(response) == {  # AWS-recorded "opt-right-origin"
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-max-age": "3000",
        "vary": VARY,
    }
    assert response.headers["x-amz-request-id"]


def test_preflight_allowed_for_any_origin(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"],
                          "MaxAgeSeconds": 3000, "AllowedHeaders": ["*"]})
    response = preflight(server, bucket, obj, origin="http://random:1234", method="PUT")
    assert response.status_code == 200
    assert cors_headers(response) == {  # AWS-recorded "opt-random-wildcard-origin"
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, PUT",
        "access-control-max-age": "3000",
        "vary": VARY,
    }


def test_preflight_refused_for_another_origin(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "PUT"]})
    response = preflight(server, bucket, obj, origin="http://localhost:4200", method="PUT")
    assert response.status_code == 403
    error = error_of(response)
    assert (error["Code"], error["Message"], error["Method"], error["ResourceType"]) == (
        "AccessForbidden", NOT_ALLOWED, "PUT", "OBJECT")
    assert "evalution of Origin" in error["Message"]  # S3's typo, kept
    assert cors_headers(response) == {}


def test_preflight_on_the_bucket_reports_a_bucket(server, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["http://*.origin.com"], "AllowedMethods": ["POST"]})
    ok = preflight(server, bucket, origin="http://test.origin.com", method="POST")
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://test.origin.com"
    refused = preflight(server, bucket, origin="http://test.origin.com/", method="POST")
    assert refused.status_code == 403
    assert error_of(refused)["ResourceType"] == "BUCKET"


def test_preflight_requested_headers(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET"],
                          "AllowedHeaders": ["x-amz-expected-bucket-owner",
                                             "x-AMZ-server-SIDE-encryption"]})
    refused = preflight(server, bucket, obj, origin=ORIGIN, method="GET",
                        headers="x-amz-request-payer")
    assert refused.status_code == 403
    assert error_of(refused)["Method"] == "GET"
    allowed = preflight(server, bucket, obj, origin=ORIGIN, method="GET",
                        headers="x-AMZ-expected-BUCKET-owner, x-amz-server-side-encryption")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-headers"] == (
        "x-amz-expected-bucket-owner, x-amz-server-side-encryption")


def test_preflight_rule_without_allowed_headers_refuses_any(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]})
    assert preflight(server, bucket, obj, origin="localhost:4566", method="GET").status_code == 200
    response = preflight(server, bucket, obj, origin="localhost:4566", method="GET",
                         headers="x-amz-request-payer")
    assert response.status_code == 403


def test_preflight_first_matching_rule_wins(server, s3, bucket, obj) -> None:
    put_cors(s3, bucket,
             {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["PUT"], "MaxAgeSeconds": 1,
              "AllowedHeaders": ["content-type"]},
             {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT", "GET"], "MaxAgeSeconds": 2,
              "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]})
    first = preflight(server, bucket, obj, origin=ORIGIN, method="PUT", headers="content-type")
    assert first.headers["access-control-max-age"] == "1"
    second = preflight(server, bucket, obj, origin=ORIGIN, method="PUT",
                       headers="content-type, x-amz-date")
    assert cors_headers(second) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "PUT, GET",
        "access-control-allow-headers": "content-type, x-amz-date",
        "access-control-expose-headers": "ETag",
        "access-control-max-age": "2",
        "vary": VARY,
    }


@pytest.mark.parametrize(("method", "shown"), [(None, "null"), ("PATCH", "PATCH"), ("get", "get")])
def test_preflight_needs_a_method_s3_allows(server, s3, bucket, obj, method, shown) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]})
    headers = {"origin": ORIGIN} | ({"method": method} if method else {})
    response = preflight(server, bucket, obj, **headers)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["Code"], error["Message"]) == (
        "BadRequest", f"Invalid Access-Control-Request-Method: {shown}")


def test_preflight_ignores_credentials_and_subresources(server, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["POST"]})
    response = requests.options(
        url(server, bucket) + "?uploads",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Authorization": "AWS4-HMAC-SHA256 garbage"}, timeout=30)
    assert response.status_code == 200


def test_preflight_virtual_host_style(server, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]})
    response = requests.options(
        f"{server.endpoint}/some/key",
        headers={"Host": f"{bucket}.s3.sealbox.test:{server.port}", "Origin": ORIGIN,
                 "Access-Control-Request-Method": "PUT"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


# -- actual requests -----------------------------------------------------------------


@pytest.fixture
def cors_bucket(s3, bucket, obj):
    put_cors(s3, bucket, {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "HEAD", "PUT"],
                          "MaxAgeSeconds": 3000, "AllowedHeaders": ["*"],
                          "ExposeHeaders": ["ETag", "x-amz-request-id"]})
    return bucket


GET_HEADERS = {  # AWS-recorded "get-right-origin", with an ExposeHeader added
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": "GET, HEAD, PUT",
    "access-control-expose-headers": "ETag, x-amz-request-id",
    "access-control-max-age": "3000",
    "vary": VARY,
}


def presigned(s3, method: str, bucket: str, key: str) -> str:
    return s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": key})


def test_get_with_a_matching_origin_carries_cors_headers(s3, cors_bucket, obj) -> None:
    response = requests.get(presigned(s3, "get_object", cors_bucket, obj),
                            headers={"Origin": ORIGIN}, timeout=30)
    assert response.status_code == 200
    assert response.content == b"test-cors"
    assert cors_headers(response) == GET_HEADERS


def test_head_with_a_matching_origin_carries_cors_headers(s3, cors_bucket, obj) -> None:
    response = requests.head(presigned(s3, "head_object", cors_bucket, obj),
                             headers={"Origin": ORIGIN}, timeout=30)
    assert response.status_code == 200
    assert cors_headers(response) == GET_HEADERS


def test_put_with_a_matching_origin_carries_cors_headers(s3, cors_bucket) -> None:
    response = requests.put(presigned(s3, "put_object", cors_bucket, "new"), data=b"x",
                            headers={"Origin": ORIGIN}, timeout=30)
    assert response.status_code == 200
    assert cors_headers(response) == GET_HEADERS
    assert s3.get_object(Bucket=cors_bucket, Key="new")["Body"].read() == b"x"


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a cross-origin request
        {"Referer": ORIGIN},  # AWS-recorded "get-referer"
        {"Origin": "http://localhost:4200"},  # AWS-recorded "get-wrong-origin"
        {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"},  # "get-wrong-op"
    ],
)
def test_get_without_a_matching_rule_has_no_cors_headers(s3, cors_bucket, obj, headers) -> None:
    response = requests.get(presigned(s3, "get_object", cors_bucket, obj), headers=headers,
                            timeout=30)
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_delete_not_in_the_rule_has_no_cors_headers(s3, cors_bucket, obj) -> None:
    response = requests.delete(presigned(s3, "delete_object", cors_bucket, obj),
                               headers={"Origin": ORIGIN}, timeout=30)
    assert response.status_code == 204
    assert cors_headers(response) == {}


def test_get_without_configuration_has_no_cors_headers(server, s3, bucket, obj) -> None:
    response = requests.get(presigned(s3, "get_object", bucket, obj),
                            headers={"Origin": "whatever"}, timeout=30)
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_bad_signature_403_carries_cors_headers(s3, cors_bucket, obj) -> None:
    link = presigned(s3, "get_object", cors_bucket, obj)
    tampered = link[:-4] + ("0000" if not link.endswith("0000") else "1111")
    response = requests.get(tampered, headers={"Origin": ORIGIN}, timeout=30)
    assert response.status_code == 403
    assert error_of(response)["Code"] == "SignatureDoesNotMatch"
    assert cors_headers(response) == GET_HEADERS


def test_anonymous_403_and_404_carry_cors_headers(server, s3, cors_bucket) -> None:
    denied = requests.get(url(server, cors_bucket, "test-cors"), headers={"Origin": ORIGIN},
                          timeout=30)
    assert denied.status_code == 403
    assert cors_headers(denied) == GET_HEADERS
    missing = requests.get(presigned(s3, "get_object", cors_bucket, "nope"),
                           headers={"Origin": ORIGIN}, timeout=30)
    assert missing.status_code == 404
    assert error_of(missing)["Code"] == "NoSuchKey"
    assert cors_headers(missing) == GET_HEADERS
    head_missing = requests.head(presigned(s3, "head_object", cors_bucket, "nope"),
                                 headers={"Origin": ORIGIN}, timeout=30)
    assert head_missing.status_code == 404
    assert cors_headers(head_missing) == GET_HEADERS


def test_browser_post_error_carries_cors_headers(server, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["POST"]})
    response = requests.post(url(server, bucket), files={"key": (None, "k")},
                             headers={"Origin": ORIGIN}, timeout=30)
    assert 400 <= response.status_code < 500
    assert response.headers["access-control-allow-origin"] == "*"


def test_change_is_seen_at_once_by_the_same_server(server, s3, bucket, obj) -> None:
    link = presigned(s3, "get_object", bucket, obj)
    assert cors_headers(requests.get(link, headers={"Origin": ORIGIN}, timeout=30)) == {}
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]})
    got = requests.get(link, headers={"Origin": ORIGIN}, timeout=30)
    assert got.headers["access-control-allow-origin"] == "*"
    s3.delete_bucket_cors(Bucket=bucket)
    assert cors_headers(requests.get(link, headers={"Origin": ORIGIN}, timeout=30)) == {}


def test_recreated_bucket_starts_without_cors(server, s3, bucket) -> None:
    put_cors(s3, bucket, {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]})
    assert preflight(server, bucket, origin=ORIGIN, method="GET").status_code == 200
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    # DeleteBucket drops this process's cached rules at once.
    assert preflight(server, bucket, origin=ORIGIN, method="GET").status_code == 403
