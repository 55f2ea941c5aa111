"""The signature doctor on a real server (SQLite and PostgreSQL): each cause
made by a real client — boto3, the AWS CLI, the JavaScript SDK, curl-like
requests, botocore's CloudFront signer — and named by ``sealbox doctor`` /
``POST /_sealbox/api/v1/doctor``, alone. Failed requests are also diagnosed
by their ``x-amz-request-id``, from what the server recorded."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from sealbox.cli.client import AdminClient, ApiError, path
from sealbox.testing.server import RunningServer
from tests.integration.edge_site import _cf64, make_site

JS_DIR = Path(__file__).resolve().parents[1] / "js"
RECORDED_WITHIN = 3.0  # the recorder writes every 0.5 s


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(server: RunningServer) -> AdminClient:
    return AdminClient(server.endpoint, server.access_key, server.secret_key)


@pytest.fixture
def doctor(admin: AdminClient):
    """Ask the doctor (as root); the causes' codes and the answer."""

    def ask(**body: Any) -> dict[str, Any]:
        return admin.call("POST", path("doctor"), body=body).body  # type: ignore[no-any-return]

    return ask


def codes(answer: dict[str, Any]) -> list[str]:
    return [cause["Code"] for cause in answer["Causes"]]


def by_request_id(doctor: Any, request_id: str) -> dict[str, Any]:
    """The diagnosis of a refused request, once the recorder has written it."""
    started = time.monotonic()
    while True:
        try:
            return doctor(RequestId=request_id)  # type: ignore[no-any-return]
        except ApiError as error:
            if error.code != "NoSuchRequest" or time.monotonic() - started > RECORDED_WITHIN:
                raise
        time.sleep(0.2)


@pytest.fixture
def cli(server: RunningServer, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sealbox", "doctor", *args,
                               "--endpoint-url", server.endpoint, "--data-dir",
                               str(tmp_path / "none")],
                              capture_output=True, text=True, timeout=60, env=env, check=False)

    return run


@pytest.fixture
def obj(s3: Any, bucket: str) -> tuple[str, str]:
    s3.put_object(Bucket=bucket, Key="reports/q3.pdf", Body=b"quarterly")
    return bucket, "reports/q3.pdf"


# -- valid, and the CLI's words -----------------------------------------------------------


def test_a_good_presigned_url_is_valid_in_plain_words_and_json(s3: Any, obj: Any, cli: Any
                                                                ) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    assert requests.get(url, timeout=30).status_code == 200
    text = cli(url)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("valid:")
    answer = json.loads(cli(url, "--json").stdout)
    assert answer["Verdict"] == "valid" and answer["Causes"] == []


def test_the_cli_says_what_is_wrong_and_what_was_expected(s3: Any, obj: Any, cli: Any) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": obj[0], "Key": obj[1]})
    done = cli(url, "--method", "GET")
    assert done.returncode == 0, done.stderr
    assert "MethodMismatch: The URL was signed for PUT and is used with GET" in done.stdout
    assert "expected: PUT" in done.stdout and "got:      GET" in done.stdout


# -- SigV4 presigned URLs, each cause from a real client ------------------------------------


def test_a_boto3_url_sent_to_another_host_is_host_changed(server: RunningServer, s3: Any,
                                                          obj: Any, doctor: Any) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    # Another name for the same server: a proxy that rewrites Host does the same.
    moved = url.replace("127.0.0.1", "localhost")
    refused = requests.get(url, headers={"Host": f"localhost:{server.port}"}, timeout=30)
    assert refused.status_code == 403
    answer = doctor(Url=moved)
    assert codes(answer) == ["HostChanged"]
    assert answer["Causes"][0]["Expected"] == f"127.0.0.1:{server.port}"
    assert answer["Causes"][0]["Got"] == f"localhost:{server.port}"
    recorded = by_request_id(doctor, refused.headers["x-amz-request-id"])
    assert codes(recorded) == ["HostChanged"]


def test_a_url_for_a_proxys_public_name_names_it_by_request_id(server: RunningServer,
                                                               obj: Any, doctor: Any) -> None:
    import boto3
    from botocore.config import Config

    public = boto3.client("s3", endpoint_url="https://files.example.com", region_name="us-east-1",
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key,
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
    url = public.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    # What a proxy that sets Host to its upstream sends on.
    upstream = url.replace("https://files.example.com", server.endpoint)
    refused = requests.get(upstream, headers={"X-Forwarded-Host": "files.example.com",
                                              "X-Forwarded-Proto": "https"}, timeout=30)
    assert refused.status_code == 403
    answer = by_request_id(doctor, refused.headers["x-amz-request-id"])
    assert codes(answer) == ["HostChanged"]
    assert (answer["Causes"][0]["Expected"], answer["Causes"][0]["Got"]) == (
        "files.example.com", f"127.0.0.1:{server.port}")


def test_an_aws_cli_url_with_its_key_re_encoded_is_path_encoding(
        aws_env: dict[str, str], s3: Any, bucket: str, doctor: Any,
        server: RunningServer) -> None:
    s3.put_object(Bucket=bucket, Key="annual report.pdf", Body=b"x")
    done = subprocess.run(["aws", "--endpoint-url", server.endpoint, "s3", "presign",
                           f"s3://{bucket}/annual report.pdf"], env=aws_env,
                          capture_output=True, text=True, timeout=60, check=True)
    url = done.stdout.strip()
    assert "annual%20report.pdf" in url
    assert requests.get(url, timeout=30).status_code == 200
    # A form encoder on the way writes the space as '+', a plus in a path.
    re_encoded = url.replace("annual%20report", "annual+report")
    refused = requests.get(re_encoded, timeout=30)
    assert refused.status_code == 403
    assert codes(doctor(Url=re_encoded)) == ["PathEncoding"]
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == ["PathEncoding"]


def test_a_put_url_used_for_get_is_method_mismatch(s3: Any, obj: Any, doctor: Any) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": obj[0], "Key": obj[1]})
    refused = requests.get(url, timeout=30)
    assert refused.status_code == 403
    answer = doctor(Url=url, Method="GET")
    assert codes(answer) == ["MethodMismatch"]
    assert (answer["Causes"][0]["Expected"], answer["Causes"][0]["Got"]) == ("PUT", "GET")
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == [
        "MethodMismatch"]


def test_a_parameter_added_on_the_way_is_query_changed(s3: Any, obj: Any, doctor: Any) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    tracked = url + "&utm_source=newsletter"
    refused = requests.get(tracked, timeout=30)
    assert refused.status_code == 403
    answer = doctor(Url=tracked)
    assert codes(answer) == ["QueryChanged"] and answer["Causes"][0]["Got"] == "utm_source"


def test_an_expired_url_is_expired(s3: Any, obj: Any, doctor: Any) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]},
                                    ExpiresIn=1)
    time.sleep(2.1)
    refused = requests.get(url, timeout=30)
    assert refused.status_code == 403
    assert codes(doctor(Url=url)) == ["Expired"]
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == ["Expired"]


def test_a_url_for_longer_than_a_week_is_expires_too_long(s3: Any, obj: Any,
                                                          doctor: Any) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]},
                                    ExpiresIn=604801)
    assert requests.get(url, timeout=30).status_code == 400
    assert codes(doctor(Url=url)) == ["ExpiresTooLong"]


def test_a_url_dated_in_the_future_is_not_yet_valid(server: RunningServer, obj: Any,
                                                    doctor: Any) -> None:
    from sealbox.auth.principal import Credential, root_principal
    from sealbox.auth.sigv4.presign import presign_url

    credential = Credential(server.access_key, server.secret_key,
                            root_principal(server.access_key))
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # a signer whose clock is ahead
    url = presign_url("GET", f"{server.endpoint}/{obj[0]}/{obj[1]}", credential, "us-east-1",
                      300, ahead)
    assert requests.get(url, timeout=30).status_code == 403
    assert codes(doctor(Url=url)) == ["NotYetValid"]


def test_a_header_signed_request_from_a_slow_clock_is_clock_skew(
        server: RunningServer, obj: Any, doctor: Any) -> None:
    from sealbox.auth.principal import Credential, root_principal
    from sealbox.auth.sigv4.presign import sign_headers

    credential = Credential(server.access_key, server.secret_key,
                            root_principal(server.access_key))
    url = f"{server.endpoint}/{obj[0]}/{obj[1]}"
    late = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)  # a signer whose clock is late
    headers = sign_headers("GET", url, {}, credential, "us-east-1", late)
    refused = requests.get(url, headers=headers, timeout=30)
    assert refused.status_code == 403 and b"RequestTimeTooSkewed" in refused.content
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == ["ClockSkew"]


def test_a_url_signed_for_another_region_is_wrong_region(client_factory: Any, obj: Any,
                                                         doctor: Any, server: Any) -> None:
    import boto3
    from botocore.config import Config

    other = boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-1",
                         aws_access_key_id=server.access_key,
                         aws_secret_access_key=server.secret_key,
                         config=Config(signature_version="s3v4",
                                       s3={"addressing_style": "path"}))
    url = other.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    assert requests.get(url, timeout=30).status_code in (400, 403)
    answer = doctor(Url=url)
    assert codes(answer) == ["WrongRegion"]
    assert (answer["Causes"][0]["Expected"], answer["Causes"][0]["Got"]) == (
        "us-east-1", "eu-west-1")


def test_a_url_signed_for_another_service_is_wrong_service(server: RunningServer, obj: Any,
                                                           doctor: Any) -> None:
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("GET", f"{server.endpoint}/{obj[0]}/{obj[1]}")
    SigV4QueryAuth(Credentials(server.access_key, server.secret_key), "execute-api",
                   "us-east-1", expires=300).add_auth(request)
    assert requests.get(request.url, timeout=30).status_code in (400, 403)
    answer = doctor(Url=request.url)
    assert codes(answer) == ["WrongService"]
    assert (answer["Causes"][0]["Expected"], answer["Causes"][0]["Got"]) == ("s3", "execute-api")


def _client_with(server: RunningServer, access_key: str, secret_key: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def test_a_url_signed_with_another_secret_is_wrong_secret(server: RunningServer, obj: Any,
                                                          doctor: Any) -> None:
    wrong = _client_with(server, server.access_key, "not-the-secret-at-all")
    url = wrong.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    refused = requests.get(url, timeout=30)
    assert refused.status_code == 403
    assert codes(doctor(Url=url)) == ["WrongSecret"]
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == ["WrongSecret"]


def test_a_url_with_a_key_this_server_lacks_is_unknown_access_key(
        server: RunningServer, obj: Any, doctor: Any) -> None:
    stranger = _client_with(server, "AKIASTRANGER00000000", "whatever")
    url = stranger.generate_presigned_url("get_object",
                                          Params={"Bucket": obj[0], "Key": obj[1]})
    assert requests.get(url, timeout=30).status_code == 403
    assert codes(doctor(Url=url)) == ["UnknownAccessKey"]


@pytest.fixture
def user(client_factory: Any) -> tuple[str, str, str]:
    """An IAM user with an access key: (name, access key, secret)."""
    iam = client_factory("iam")
    name = unique("doc")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key["AccessKeyId"], key["SecretAccessKey"]


def test_a_url_of_an_inactive_key_is_access_key_inactive(server: RunningServer, obj: Any,
                                                         client_factory: Any, user: Any,
                                                         doctor: Any) -> None:
    name, access_key, secret = user
    url = _client_with(server, access_key, secret).generate_presigned_url(
        "get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    client_factory("iam").update_access_key(UserName=name, AccessKeyId=access_key,
                                            Status="Inactive")
    assert requests.get(url, timeout=30).status_code == 403
    assert codes(doctor(Url=url)) == ["AccessKeyInactive"]


def test_a_policy_refusal_is_access_denied_naming_the_statement(
        server: RunningServer, s3: Any, obj: Any, client_factory: Any, user: Any,
        doctor: Any) -> None:
    name, access_key, secret = user
    arn = f"arn:aws:iam::000000000000:user/{name}"
    client_factory("iam").put_user_policy(UserName=name, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    s3.put_bucket_policy(Bucket=obj[0], Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoReportsForContractors", "Effect": "Deny",
                       "Principal": {"AWS": arn}, "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{obj[0]}/reports/*"}]}))
    url = _client_with(server, access_key, secret).generate_presigned_url(
        "get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    refused = requests.get(url, timeout=30)
    assert refused.status_code == 403
    for answer in (doctor(Url=url), by_request_id(doctor, refused.headers["x-amz-request-id"])):
        assert codes(answer) == ["AccessDenied"]
        assert "NoReportsForContractors" in answer["Causes"][0]["Message"]
        assert answer["Causes"][0]["Got"] == "NoReportsForContractors"


def test_a_js_sdk_put_with_another_content_type_is_signed_header_changed(
        server: RunningServer, bucket: str, doctor: Any, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.skip("the JavaScript SDK is not installed: run `npm ci --prefix tests/js`")
    body = tmp_path / "notes.txt"
    body.write_bytes(b"notes")
    env = dict(os.environ, SEALBOX_ENDPOINT=server.endpoint, AWS_ACCESS_KEY_ID=server.access_key,
               AWS_SECRET_ACCESS_KEY=server.secret_key, NODE_NO_WARNINGS="1")
    done = subprocess.run([node, "s3.mjs", "presigned-other-type", bucket, "notes.txt",
                           str(body)], cwd=JS_DIR, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    out = json.loads(done.stdout)
    assert out["status"] == 403, out
    answer = doctor(Url=out["url"], Method="PUT", Headers={"Content-Type": "image/png"})
    assert codes(answer) == ["SignedHeaderChanged"]
    assert (answer["Causes"][0]["Expected"], answer["Causes"][0]["Got"]) == (
        "text/plain", "image/png")
    assert codes(by_request_id(doctor, out["requestId"])) == ["SignedHeaderChanged"]


def test_a_signed_content_type_not_sent_is_signed_header_missing(s3: Any, obj: Any,
                                                                  doctor: Any) -> None:
    url = s3.generate_presigned_url("put_object", Params={
        "Bucket": obj[0], "Key": "upload.csv", "ContentType": "text/csv"})
    refused = requests.put(url, data=b"a,b\n", timeout=30)  # no Content-Type sent
    assert refused.status_code == 403
    assert codes(doctor(Url=url, Method="PUT")) == ["SignedHeaderMissing"]
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == [
        "SignedHeaderMissing"]


def test_a_body_other_than_the_signed_one_is_payload_hash_mismatch(signed: Any, obj: Any,
                                                                   doctor: Any) -> None:
    refused = signed("PUT", f"/{obj[0]}/changed.txt", body=b"tampered",
                     signed_body=b"original")
    assert refused.status_code == 400 and b"XAmzContentSHA256Mismatch" in refused.content
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == [
        "PayloadHashMismatch"]


def test_a_sigv2_url_is_judged_too(client_factory: Any, obj: Any, doctor: Any) -> None:
    v2 = client_factory(signature_version="s3")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    assert "AWSAccessKeyId=" in url and requests.get(url, timeout=30).status_code == 200
    assert doctor(Url=url)["Verdict"] == "valid"
    refused = requests.delete(url, timeout=30)
    assert refused.status_code == 403
    assert codes(doctor(Url=url, Method="DELETE")) == ["MethodMismatch"]
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == [
        "MethodMismatch"]


def test_a_sigv2_header_signed_with_another_secret_is_wrong_secret_by_request_id(
        server: RunningServer, obj: Any, doctor: Any) -> None:
    import boto3
    from botocore.config import Config

    wrong = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                         aws_access_key_id=server.access_key, aws_secret_access_key="nope",
                         config=Config(signature_version="s3", s3={"addressing_style": "path"},
                                       retries={"max_attempts": 1}))
    with pytest.raises(Exception) as refused:
        wrong.get_object(Bucket=obj[0], Key=obj[1])
    request_id = refused.value.response["ResponseMetadata"]["RequestId"]  # type: ignore[attr-defined]
    answer = by_request_id(doctor, request_id)
    assert codes(answer) == ["WrongSecret"] and answer["Kind"] == "SigV2"


# -- managed links ------------------------------------------------------------------------


def _link(admin: AdminClient, bucket: str, key: str, **members: Any) -> dict[str, Any]:
    return admin.call("POST", path("links"), {"Bucket": bucket, "Key": key, **members}).body


def test_a_revoked_link_is_revoked(admin: AdminClient, obj: Any, doctor: Any) -> None:
    link = _link(admin, *obj)
    assert doctor(Url=link["Url"])["Verdict"] == "valid"
    admin.call("POST", path("revocations"), {"Url": link["Url"]})
    assert requests.get(link["Url"], timeout=30).status_code == 403
    assert codes(doctor(Url=link["Url"])) == ["Revoked"]


def test_a_used_link_is_used_up(admin: AdminClient, obj: Any, doctor: Any) -> None:
    link = _link(admin, *obj, MaxUses=1)
    assert requests.get(link["Url"], timeout=30).status_code == 200
    refused = requests.get(link["Url"], timeout=30)
    assert refused.status_code == 403
    assert codes(doctor(Url=link["Url"])) == ["UsedUp"]
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == ["UsedUp"]


def test_a_bound_link_from_another_address_is_address_not_allowed(admin: AdminClient,
                                                                  obj: Any,
                                                                  doctor: Any) -> None:
    link = _link(admin, *obj, BindIp=["192.0.2.0/24"])
    assert requests.get(link["Url"], timeout=30).status_code == 403  # from 127.0.0.1
    answer = doctor(Url=link["Url"], SourceIp="127.0.0.1")
    assert codes(answer) == ["AddressNotAllowed"]
    assert answer["Causes"][0]["Got"] == "127.0.0.1"
    assert doctor(Url=link["Url"], SourceIp="192.0.2.7")["Verdict"] == "valid"


# -- CloudFront signed URLs -----------------------------------------------------------------


@pytest.fixture
def site(server: RunningServer, s3: Any, client_factory: Any) -> Any:
    made = make_site(s3, client_factory("cloudfront"), server.endpoint, server.port)
    s3.put_object(Bucket=made.bucket, Key="video.mp4", Body=b"frames")
    return made


def _custom_url(site: Any, url: str, resource: str, *, seconds: int = 300,
                ip: str | None = None) -> str:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    signer = site.signer()
    policy = signer.build_policy(resource, expires, ip_address=ip)
    return signer.generate_presigned_url(url, policy=policy)


def test_a_good_cloudfront_url_is_valid(site: Any, doctor: Any) -> None:
    url = site.signed("/video.mp4")
    assert site.get(url).status_code == 200
    answer = doctor(Url=url)
    assert answer["Verdict"] == "valid" and answer["Kind"] == "CloudFront-URL"


def test_cloudfront_causes_each_from_botocores_signer(site: Any, doctor: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expired = site.signed("/video.mp4", seconds=-60)
    untrusted = site.signed("/video.mp4", key_id="K2UNTRUSTEDKEY0", private_key=stranger)
    wrong_ip = _custom_url(site, site.url("/video.mp4"), site.url("/*"), ip="192.0.2.0/24")
    elsewhere = _custom_url(site, site.url("/video.mp4"), site.url("/private/*"))
    https_only = _custom_url(site, site.url("/video.mp4"), site.url("/*", scheme="https"))
    canned_https = site.signer().generate_presigned_url(
        site.url("/video.mp4", scheme="https"),
        date_less_than=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=300))
    used_over_http = "http://" + canned_https.removeprefix("https://")
    good = site.signed("/video.mp4")
    bad_base64 = good.replace("Signature=", "Signature=%25%25%25", 1)
    base = good.split("?", 1)[0]
    no_statement = _cf64(b'{"Statement": []}')
    malformed = f"{base}?Policy={no_statement}&Signature=AAAA&Key-Pair-Id={site.key_id}"
    expect = {expired: "PolicyExpired", untrusted: "KeyNotTrusted", wrong_ip: "IpNotAllowed",
              elsewhere: "PolicyResourceMismatch", https_only: "SchemeChanged",
              used_over_http: "SchemeChanged", bad_base64: "BadBase64",
              malformed: "MalformedPolicy"}
    for url, code in expect.items():
        refused = site.get(url)
        assert refused.status_code == 403, code
        assert codes(doctor(Url=url, SourceIp="127.0.0.1")) == [code], url
        # By request id too: the edge's refusal, recorded (no variation is
        # tried then: a canned URL whose scheme changed is only a mismatch).
        recorded = codes(by_request_id(doctor, refused.headers["x-amz-request-id"]))
        assert recorded == ["PolicyResourceMismatch" if url == used_over_http else code], url


# -- who may ask, and bad input ---------------------------------------------------------------


def test_the_doctor_needs_sealbox_doctor(server: RunningServer, client_factory: Any,
                                         user: Any, s3: Any, obj: Any) -> None:
    name, access_key, secret = user
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    theirs = AdminClient(server.endpoint, access_key, secret)
    with pytest.raises(ApiError) as refused:
        theirs.call("POST", path("doctor"), body={"Url": url})
    assert refused.value.status == 403 and refused.value.code == "AccessDenied"
    client_factory("iam").put_user_policy(UserName=name, PolicyName="doctor", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sealbox:Doctor", "Resource": "*"}]}))
    assert theirs.call("POST", path("doctor"), body={"Url": url}).body["Verdict"] == "valid"


def test_the_openapi_document_describes_the_doctor(server: RunningServer) -> None:
    document = requests.get(server.endpoint + "/_sealbox/api/openapi.json", timeout=30).json()
    operation = document["paths"]["/_sealbox/api/v1/doctor"]["post"]
    assert operation["x-sealbox-action"] == "sealbox:Doctor"
    assert set(operation["requestBody"]["content"]["application/json"]["schema"][
        "properties"]) == {"Url", "Method", "Headers", "RequestId", "SourceIp"}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"Url": "http://127.0.0.1/" + "a" * 1_000_000}, 400, "InvalidParameter"),
    ({"Url": "not a url"}, 400, "InvalidParameter"),
    ({"Url": "ftp://127.0.0.1/b/k"}, 400, "InvalidParameter"),
    ({"Url": "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
             "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
     400, "NotThisServer"),
    ({"Url": "http://127.0.0.1:9/b/k"}, 400, "InvalidParameter"),  # nothing signed
    ({"RequestId": "0123456789ABCDEF"}, 404, "NoSuchRequest"),
    ({"Url": "http://127.0.0.1/b/k", "RequestId": "X"}, 400, "InvalidParameter"),
    ({"Url": "http://127.0.0.1/b/k", "Method": "BREW"}, 400, "InvalidParameter"),
    ({"Url": "http://127.0.0.1/b/k", "Headers": "Content-Type: x"}, 400, "InvalidParameter"),
    ({"Link": "x"}, 400, "InvalidParameter"),
])
def test_bad_input_gets_a_clear_4xx(admin: AdminClient, body: dict[str, Any], status: int,
                                    code: str) -> None:
    with pytest.raises(ApiError) as refused:
        admin.call("POST", path("doctor"), body=body)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_url_longer_than_the_body_limit_is_413_not_500(admin: AdminClient) -> None:
    with pytest.raises(ApiError) as refused:
        admin.call("POST", path("doctor"), body={"Url": "http://127.0.0.1/" + "a" * 2_000_000})
    assert refused.value.status == 413


def test_a_recorded_failure_keeps_no_signature(server: RunningServer, s3: Any, obj: Any,
                                               doctor: Any) -> None:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": obj[0], "Key": obj[1]})
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    refused = requests.get(url + "&extra=1", timeout=30)
    assert codes(by_request_id(doctor, refused.headers["x-amz-request-id"])) == ["QueryChanged"]
    meta = server.data_dir / "meta.sqlite3"
    if not meta.exists():
        pytest.skip("PostgreSQL: the same rows, written by the same code")
    with sqlite3.connect(meta) as db:
        rows = db.execute("SELECT * FROM auth_failures").fetchall()
    assert rows and not any(signature in str(value) for row in rows for value in row)
