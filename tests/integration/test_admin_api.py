"""The admin JSON API over HTTP against a real server (SQLite and
PostgreSQL), signed with botocore's SigV4Auth as any AWS JSON client signs:
IAM operations as root and as IAM users with and without rights, the
server's Block Public Access, the refusals (anonymous, forged, malformed,
oversized, unknown routes) as JSON, curl's --aws-sigv4, and the OpenAPI
document."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from openapi_spec_validator import validate

API = "/_sealbox/api/v1/"
ACCOUNT = "arn:aws:iam::000000000000"
READ_USERS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser"], "Resource": "*"}]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Api:
    """Signed calls to one server's admin API with one key."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        self.endpoint = endpoint
        self.credentials = Credentials(access_key, secret_key)
        self.session = requests.Session()

    def __call__(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                 service: str = "sealbox", headers: dict[str, str] | None = None,
                 query: dict[str, str] | None = None) -> requests.Response:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        request = AWSRequest(method, self.endpoint + API + path, data=data, params=query or {},
                             headers=dict(headers or {}))
        SigV4Auth(self.credentials, service, "us-east-1").add_auth(request)
        prepared = request.prepare()
        return self.session.request(method, prepared.url, data=data,
                                    headers=dict(prepared.headers), timeout=30)


def ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def refused(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["requestId"]
    return str(error["message"])


@pytest.fixture(scope="session")
def api(server) -> Api:
    return Api(server.endpoint, server.access_key, server.secret_key)


@pytest.fixture
def user_api(api: Api, server) -> Iterator[tuple[str, Api]]:
    """A fresh IAM user with a key (made through the API), and its own Api."""
    name = unique("admin-user")
    ok(api("POST", "users", {"UserName": name}), 201)
    key = ok(api("POST", f"users/{name}/access-keys"), 201)["AccessKey"]
    yield name, Api(server.endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    for inline in ok(api("GET", f"users/{name}/policies"))["PolicyNames"]:
        api("DELETE", f"users/{name}/policies/{inline}")
    api("DELETE", f"users/{name}/access-keys/{key['AccessKeyId']}")
    api("DELETE", f"users/{name}")


# -- IAM as root ------------------------------------------------------------------


def test_users_groups_and_policies_round_trip(api: Api) -> None:
    user, group, policy = unique("u"), unique("g"), unique("p")
    made = ok(api("POST", "users", {"UserName": user, "Path": "/team/"}), 201)["User"]
    assert made["Arn"] == f"{ACCOUNT}:user/team/{user}"
    assert ok(api("GET", f"users/{user}"))["User"] == made
    ok(api("POST", "groups", {"GroupName": group}), 201)
    ok(api("PUT", f"groups/{group}/users/{user}"), 204)
    assert [u["UserName"] for u in ok(api("GET", f"groups/{group}"))["Users"]] == [user]
    created = ok(api("POST", "policies", {"PolicyName": policy, "PolicyDocument": READ_USERS}),
                 201)["Policy"]
    ok(api("POST", f"groups/{group}/attached-policies", {"PolicyArn": policy}), 204)
    attached = ok(api("GET", f"groups/{group}/attached-policies"))["AttachedPolicies"]
    assert attached == [{"PolicyName": policy, "PolicyArn": created["Arn"]}]
    assert ok(api("GET", f"policies/{policy}"))["Policy"]["PolicyDocument"] == READ_USERS
    refused(api("DELETE", f"policies/{policy}"), 409, "DeleteConflict")
    ok(api("DELETE", f"groups/{group}/attached-policies/{created['Arn']}"), 204)
    ok(api("DELETE", f"policies/{policy}"), 204)
    ok(api("DELETE", f"groups/{group}/users/{user}"), 204)
    ok(api("DELETE", f"groups/{group}"), 204)
    ok(api("DELETE", f"users/{user}"), 204)
    refused(api("GET", f"users/{user}"), 404, "NoSuchEntity")


def test_access_keys_are_listed_without_secrets_and_can_be_disabled(api: Api) -> None:
    user = unique("keys")
    ok(api("POST", "users", {"UserName": user}), 201)
    key = ok(api("POST", f"users/{user}/access-keys"), 201)["AccessKey"]
    assert len(key["SecretAccessKey"]) == 40
    listed = api("GET", f"users/{user}/access-keys")
    assert key["SecretAccessKey"] not in listed.text
    ok(api("PATCH", f"users/{user}/access-keys/{key['AccessKeyId']}", {"Status": "Inactive"}),
       204)
    metadata = ok(api("GET", f"users/{user}/access-keys"))["AccessKeyMetadata"]
    assert [k["Status"] for k in metadata] == ["Inactive"]
    refused(api("PATCH", f"users/{user}/access-keys/{key['AccessKeyId']}", {"Status": "Off"}),
            400, "ValidationError")
    ok(api("DELETE", f"users/{user}/access-keys/{key['AccessKeyId']}"), 204)
    ok(api("DELETE", f"users/{user}"), 204)


def test_lists_page_with_iams_marker(api: Api) -> None:
    prefix = f"/{unique('paged')}/"
    names = sorted(unique("p") for _ in range(3))
    for name in names:
        ok(api("POST", "users", {"UserName": name, "Path": prefix}), 201)
    first = ok(api("GET", "users", query={"PathPrefix": prefix, "MaxItems": "2"}))
    assert first["IsTruncated"] is True and len(first["Users"]) == 2
    rest = ok(api("GET", "users", query={"PathPrefix": prefix, "Marker": first["Marker"]}))
    assert [u["UserName"] for u in first["Users"] + rest["Users"]] == names
    for name in names:
        ok(api("DELETE", f"users/{name}"), 204)


def test_server_wide_block_public_access_is_the_one_s3_control_sees(api: Api,
                                                                   client_factory) -> None:
    settings = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": False}
    try:
        assert ok(api("PUT", "public-access-block", settings)) == {
            "PublicAccessBlockConfiguration": settings}
        assert ok(api("GET", "public-access-block"))["PublicAccessBlockConfiguration"] == settings
        refused(api("PUT", "public-access-block", {"BlockPublicAcls": "yes"}), 400,
                "ValidationError")
    finally:
        ok(api("DELETE", "public-access-block"), 204)
    refused(api("GET", "public-access-block"), 404, "NoSuchPublicAccessBlockConfiguration")


# -- IAM users: the access gate ----------------------------------------------------------


def test_a_user_without_rights_is_refused_in_json(user_api: tuple[str, Api]) -> None:
    name, as_user = user_api
    message = refused(as_user("GET", "users"), 403, "AccessDenied")
    assert message.startswith(f"User: {ACCOUNT}:user/{name} is not authorized to perform: "
                              "iam:ListUsers")
    refused(as_user("POST", "users", {"UserName": unique("nope")}), 403, "AccessDenied")
    refused(as_user("GET", "edge/distributions"), 403, "AccessDenied")
    refused(as_user("GET", "public-access-block"), 403, "AccessDenied")


def test_a_user_with_a_policy_may_do_what_it_allows(api: Api, user_api: tuple[str, Api]) -> None:
    name, as_user = user_api
    ok(api("PUT", f"users/{name}/policies/read-users", {"PolicyDocument": READ_USERS}), 204)
    assert isinstance(ok(as_user("GET", "users"))["Users"], list)
    assert ok(as_user("GET", f"users/{name}"))["User"]["UserName"] == name
    refused(as_user("DELETE", f"users/{name}"), 403, "AccessDenied")
    ok(api("DELETE", f"users/{name}/policies/read-users"), 204)
    refused(as_user("GET", "users"), 403, "AccessDenied")  # the change is seen at once


def test_an_explicit_deny_wins_and_says_so(api: Api, user_api: tuple[str, Api]) -> None:
    name, as_user = user_api
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]}
    ok(api("PUT", f"users/{name}/policies/mixed", {"PolicyDocument": document}), 204)
    message = refused(as_user("POST", "users", {"UserName": unique("x")}), 403, "AccessDenied")
    assert message.endswith("with an explicit deny in an identity-based policy")


# -- refusals ----------------------------------------------------------------------


def test_anonymous_and_forged_requests_are_refused(api: Api, server) -> None:
    refused(requests.get(server.endpoint + API + "users", timeout=30), 403,
            "MissingAuthenticationToken")
    forged = Api(server.endpoint, server.access_key, "not-the-secret-" * 3)
    response = forged("GET", "users")
    refused(response, 403, "SignatureDoesNotMatch")
    assert "canonicalRequest" in response.json()["error"]
    assert server.secret_key not in response.text
    refused(Api(server.endpoint, "AKIANOSUCHKEY0000000", "x" * 40)("GET", "users"), 403,
            "InvalidClientTokenId")


@pytest.mark.parametrize(("raw", "code"), [
    (b"{not json", "MalformedJSON"), (b"[1, 2]", "MalformedJSON"),
    (b'{"UserName": "\\u0000"}', "MalformedJSON"), (b"\xff\xfe\x00", "MalformedJSON"),
    (b'{"UserName": 5}', "InvalidParameter"), (b'{"UserName": "x", "Tags": []}',
                                               "InvalidParameter"),
    (b"{}", "InvalidParameter"), (b'{"UserName": "bad name!"}', "ValidationError"),
])
def test_bad_bodies_are_400_json(api: Api, raw: bytes, code: str) -> None:
    refused(api("POST", "users", raw=raw), 400, code)


def test_a_policy_document_string_with_a_lone_surrogate_is_malformed(api: Api) -> None:
    # The body is clean JSON; the document inside it, a string, escapes U+D800.
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*", "Sid": "\ud800"}]})
    assert "\\ud800" in document
    refused(api("POST", "policies", {"PolicyName": unique("lone"), "PolicyDocument": document}),
            400, "MalformedPolicyDocument")


def test_an_oversized_body_is_413_without_being_read(server) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = requests.post(server.endpoint + API + "users", data=body, timeout=30)
    refused(response, 413, "RequestEntityTooLarge")


def test_unknown_routes_and_methods_are_404_and_405_json(api: Api, server) -> None:
    refused(api("GET", "no/such/route"), 404, "NotFound")
    refused(requests.get(server.endpoint + "/_sealbox/api/v2/users", timeout=30), 404, "NotFound")
    response = api("PUT", "users")
    refused(response, 405, "MethodNotAllowed")
    assert response.headers["allow"] == "GET, POST"
    refused(api("GET", "users", query={"Bogus": "1"}), 400, "InvalidParameter")


def test_the_health_path_still_answers(server) -> None:
    assert requests.get(server.endpoint + "/_sealbox/health", timeout=30).json() == {
        "status": "ok"}


# -- other clients and the document -----------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_aws_sigv4_can_call_it(server) -> None:
    name = unique("curl")
    base = ["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:sealbox",
            "--user", f"{server.access_key}:{server.secret_key}"]
    made = subprocess.run([*base, "-H", "Content-Type: application/json", "-d",
                           json.dumps({"UserName": name}), server.endpoint + API + "users"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(made.stdout)["User"]["UserName"] == name
    got = subprocess.run([*base, server.endpoint + API + f"users/{name}"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(got.stdout)["User"]["UserName"] == name
    gone = subprocess.run([*base, "-X", "DELETE", "-w", "%{http_code}",
                           server.endpoint + API + f"users/{name}"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert gone.stdout == "204"


def test_the_openapi_document_is_served_valid_and_unsigned(server) -> None:
    response = requests.get(server.endpoint + "/_sealbox/api/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    validate(document)
    assert API + "users/{UserName}/access-keys" in document["paths"]
    assert API + "edge/distributions/{Id}/config" in document["paths"]


def test_a_client_that_sends_half_a_body_does_not_hurt_the_server(server, api: Api) -> None:
    host, port = server.endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST " + API.encode() + b"users HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"UserName\"")
    assert ok(api("GET", "users", query={"MaxItems": "1"}))["Users"] is not None
