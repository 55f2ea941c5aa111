"""Who calls the admin API: SigV4 as botocore's SigV4Auth signs any AWS JSON
service (any service name, the path encoded twice) and as sealbox's own CLI
signs it (the path encoded once) are both accepted, with the keys' owner as
the principal; forged, anonymous and badly scoped requests are refused in
IAM's words. botocore is the reference signer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sealbox.api.admin.auth import authenticate, double_encoded, scope_service
from sealbox.api.admin.request import AdminError
from sealbox.api.common.context import Services
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import Credential, Principal
from sealbox.cli.client import sign
from sealbox.clock import FixedClock
from sealbox.config import Settings
from sealbox.server.request import Request

WHEN = datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC)
AK, SK = "AKIAADMINTESTKEY0001", "admin/test/secret/0123456789abcdefghijkl"
ALICE = Principal("user", "alice", "arn:aws:iam::000000000000:user/alice", AK)
ENDPOINT = "http://127.0.0.1:9000"


@pytest.fixture(autouse=True)
def fixed_botocore_clock() -> Iterator[None]:
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           lambda remove_tzinfo=True: WHEN.replace(tzinfo=None)):
        yield


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    credential = Credential(AK, SK, ALICE)
    executor = ThreadPoolExecutor(max_workers=1)
    yield Services(Settings(), None, None, FixedClock(WHEN), executor,  # type: ignore[arg-type]
                   lookup_credential=lambda key: credential if key == AK else None)
    executor.shutdown()


def request_of(method: str, url: str, headers: dict[str, str]) -> Request:
    parts = urlsplit(url)
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered.setdefault("host", parts.netloc)
    return Request(method, parts.path, parts.query, lowered, "127.0.0.1", "http",
                   receive=None)


def botocore_signed(method: str, path: str, body: bytes = b"", service: str = "sealbox",
                    secret: str = SK) -> Request:
    raw = AWSRequest(method, ENDPOINT + path, data=body)
    SigV4Auth(Credentials(AK, secret), service, "us-east-1").add_auth(raw)
    prepared = raw.prepare()
    return request_of(method, prepared.url, dict(prepared.headers))


def who(services: Services, request: Request, body: bytes = b"") -> Principal:
    return asyncio.run(authenticate(request, services, body)).principal


def refusal(services: Services, request: Request, body: bytes = b"") -> AdminError:
    with pytest.raises(AdminError) as info:
        asyncio.run(authenticate(request, services, body))
    return info.value


@pytest.mark.parametrize("service", ["sealbox", "iam", "execute-api", "s3"])
def test_botocore_signatures_with_any_service_name_are_the_signers(services: Services,
                                                                   service: str) -> None:
    body = json.dumps({"UserName": "bob"}).encode()
    request = botocore_signed("POST", "/_sealbox/api/v1/users", body, service)
    assert who(services, request, body) == ALICE


@pytest.mark.parametrize("path", [
    "/_sealbox/api/v1/policies/arn%3Aaws%3Aiam%3A%3A000000000000%3Apolicy%2Fteam%2Fr",
    "/_sealbox/api/v1/users/a@b.example/access-keys",
    "/_sealbox/api/v1/users/a%2Bb",
])
def test_paths_as_botocore_encodes_them_are_accepted(services: Services, path: str) -> None:
    assert who(services, botocore_signed("GET", path)) == ALICE


def test_the_cli_signs_as_the_server_checks_once_encoded_paths(services: Services) -> None:
    url = (ENDPOINT + "/_sealbox/api/v1/users/alice/attached-policies/"
           "arn%3Aaws%3Aiam%3A%3A000000000000%3Apolicy%2Fr")
    headers = sign("DELETE", url, b"", {}, AK, SK, "us-east-1", WHEN)
    assert who(services, request_of("DELETE", url, headers)) == ALICE


def test_the_cli_signer_writes_what_botocore_writes_for_a_plain_path() -> None:
    body = b'{"UserName":"bob"}'
    url = ENDPOINT + "/_sealbox/api/v1/users?MaxItems=5"
    ours = sign("POST", url, body, {"Content-Type": "application/json"}, AK, SK, "us-east-1",
                WHEN)
    raw = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(AK, SK), "sealbox", "us-east-1").add_auth(raw)
    assert ours["Authorization"] == raw.headers["Authorization"]
    assert ours["X-Amz-Date"] == raw.headers["X-Amz-Date"]


def test_a_body_other_than_the_one_signed_is_refused(services: Services) -> None:
    request = botocore_signed("POST", "/_sealbox/api/v1/users", b'{"UserName":"bob"}')
    error = refusal(services, request, b'{"UserName":"eve"}')
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.fields["canonicalRequest"].startswith("POST\n/_sealbox/api/v1/users\n")
    assert SK not in json.dumps(error.fields)


def test_a_wrong_secret_or_unknown_key_is_refused(services: Services) -> None:
    wrong = refusal(services, botocore_signed("GET", "/_sealbox/api/v1/users", secret="x" * 40))
    assert wrong.code == "SignatureDoesNotMatch"
    raw = AWSRequest("GET", ENDPOINT + "/_sealbox/api/v1/users")
    SigV4Auth(Credentials("AKIAUNKNOWN000000000", SK), "sealbox", "us-east-1").add_auth(raw)
    unknown = refusal(services, request_of("GET", raw.url, dict(raw.prepare().headers)))
    assert (unknown.code, unknown.status) == ("InvalidClientTokenId", 403)


def test_another_region_is_refused(services: Services) -> None:
    raw = AWSRequest("GET", ENDPOINT + "/_sealbox/api/v1/users")
    SigV4Auth(Credentials(AK, SK), "sealbox", "eu-west-1").add_auth(raw)
    error = refusal(services, request_of("GET", raw.url, dict(raw.prepare().headers)))
    assert error.message == "Credential should be scoped to a valid region."


def test_no_signature_is_the_anonymous_principal(services: Services) -> None:
    assert who(services, request_of("GET", ENDPOINT + "/_sealbox/api/v1/users", {})).is_anonymous


def test_a_request_signed_too_long_ago_is_refused(services: Services) -> None:
    request = botocore_signed("GET", "/_sealbox/api/v1/users")
    later = Services(services.settings, services.meta, services.blobs,
                     FixedClock(WHEN.replace(hour=13)), services.executor,
                     lookup_credential=services.lookup_credential)
    assert refusal(later, request).message.startswith("Signature expired")


SEALBOX_HEADER = ("AWS4-HMAC-SHA256 Credential=AK/20240229/us-east-1/sealbox/aws4_request, "
                  "SignedHeaders=host, Signature=0")


@pytest.mark.parametrize(("authorization", "query", "service"), [
    (SEALBOX_HEADER, "", "sealbox"),
    ("AWS4-HMAC-SHA256 Credential=AK/20240229/us-east-1/iam/aws4_request,x", "", "iam"),
    ("", "X-Amz-Credential=AK%2F20240229%2Fus-east-1%2Fexecute-api%2Faws4_request",
     "execute-api"),
    ("AWS4-HMAC-SHA256 Credential=AK/20240229/us-east-1/a b/aws4_request", "", "sealbox"),
    ("AWS4-HMAC-SHA256 Credential=AK/20240229/us-east-1", "", "sealbox"),
    ("", "", "sealbox"),
])
def test_the_scopes_service_is_read_from_the_header_or_query(authorization: str, query: str,
                                                             service: str) -> None:
    headers: dict[str, Any] = {"authorization": authorization} if authorization else {}
    assert scope_service(RequestFacts("GET", "/", query, headers)) == service


def test_double_encoding_only_differs_for_escapes_and_reserved_characters() -> None:
    assert double_encoded(RequestFacts("GET", "/_sealbox/api/v1/users/alice", "", {})) is None
    twice = double_encoded(RequestFacts("GET", "/x/a%2Fb", "", {}))
    assert twice is not None and twice.raw_path == "/x/a%252Fb"
