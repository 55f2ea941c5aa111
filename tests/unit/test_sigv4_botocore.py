"""botocore as the reference signer: whatever boto3 / the AWS CLI (which is
botocore) sign, ``authenticate`` accepts, and one changed byte is refused.

Two layers: the real boto3 client (its serializer encodes keys and query
parameters exactly as it sends them; the request is captured before it
leaves), and the signers driven by hypothesis over random keys, parameters
and headers. Both run with botocore's pure-Python ``S3SigV4Auth`` /
``S3SigV4QueryAuth`` and with the AWS Common Runtime's (``awscrt``, the C
signer of the AWS CLI v2 and the newer SDKs), which boto3 picks when awscrt
is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbox.auth.authenticate import authenticate
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import AuthResult, Credential, root_principal
from sealbox.errors import S3Error

AK = "AKIDSEALBOXTEST00001"
SK = "s3cr3t/with+odd~chars=="
REGION = "us-east-1"
WHEN = datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC)
CRED = Credential(AK, SK, root_principal(AK))


def lookup(access_key: str) -> Credential | None:
    return CRED if access_key == AK else None


try:  # the CRT signers need awscrt (boto3[crt]); without it only botocore's own run
    import botocore.crt.auth as crt_auth
except ImportError:  # pragma: no cover
    crt_auth = None


def _now(remove_tzinfo: bool = True) -> datetime:
    return WHEN.replace(tzinfo=None) if remove_tzinfo else WHEN


@pytest.fixture(autouse=True)
def fixed_botocore_clock() -> Iterator[None]:
    # botocore and its CRT signers read the wall clock when they sign; pin it.
    with (
        mock.patch.object(botocore.auth, "get_current_datetime", _now),
        mock.patch.object(botocore.crt.auth, "get_current_datetime", _now),
    ):
        yield


def facts_from(method: str, url: str, headers: object) -> RequestFacts:
    """What the server sees for a request botocore would send: the URL's raw
    path and query, headers lower-cased, and the Host an HTTP client adds."""
    parts = urlsplit(url)
    lowered = {
        str(k).lower(): (v.decode() if isinstance(v, bytes) else str(v)).strip()
        for k, v in dict(headers).items()
    }  # type: ignore[call-overload]
    lowered.setdefault("host", botocore.auth._host_from_url(url))
    return RequestFacts(method, parts.path, parts.query, lowered)


def accept(facts: RequestFacts, now: datetime = WHEN) -> AuthResult:
    return authenticate(facts, lookup, now, REGION)


def refuse(facts: RequestFacts, now: datetime = WHEN) -> S3Error:
    with pytest.raises(S3Error) as info:
        authenticate(facts, lookup, now, REGION)
    return info.value


# --- the real boto3 client --------------------------------------------------------

KEYS = [
    "plain.txt",
    "a b",
    "a+b",
    "a~b",
    "100%",
    "!*'()",
    "é/ü/日本語.txt",
    "a=b&c=d",
    "dir//double/",
    "./dot/../x",
    "tab\tkey",
    "question?hash#",
    "$delete",
    "semi;colon,comma:at@",
    "back\\slash",
    "%2F literal",
    "emoji-😀",
]


class Captured(Exception):
    def __init__(self, request: object) -> None:
        super().__init__("captured")
        self.request = request


def boto3_client(addressing_style: str):
    client = boto3.client(
        "s3",
        endpoint_url="http://localhost:9000",
        region_name=REGION,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    )

    def capture(request: object, **_: object) -> None:
        raise Captured(request)

    client.meta.events.register("before-send.s3", capture)
    return client


def sent(call) -> RequestFacts:
    with pytest.raises(Captured) as info:
        call()
    request = info.value.request
    return facts_from(request.method, request.url, request.headers)


OPERATIONS = {
    "put_object": lambda c, k: c.put_object(
        Bucket="bkt", Key=k, Body=b"hello", Metadata={"note": "two  spaces\there"}
    ),
    "get_object_range": lambda c, k: c.get_object(Bucket="bkt", Key=k, Range="bytes=0-9"),
    "head_object": lambda c, k: c.head_object(Bucket="bkt", Key=k),
    "list_objects_v2": lambda c, k: c.list_objects_v2(
        Bucket="bkt", Prefix=k, Delimiter="/", StartAfter=k + "+ +"
    ),
    "copy_object": lambda c, k: c.copy_object(
        Bucket="bkt", Key=k, CopySource={"Bucket": "src", "Key": k}
    ),
    "delete_object": lambda c, k: c.delete_object(Bucket="bkt", Key=k),
}


@pytest.mark.parametrize("style", ["path", "virtual"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("key", KEYS)
def test_boto3_signed_request_is_accepted(style: str, operation: str, key: str) -> None:
    facts = sent(lambda: OPERATIONS[operation](boto3_client(style), key))
    result = accept(facts)
    assert result.principal == CRED.principal
    assert result.payload_hash == facts.headers["x-amz-content-sha256"]


@pytest.mark.parametrize("style", ["path", "virtual"])
@pytest.mark.parametrize("key", KEYS)
def test_boto3_presigned_urls_are_accepted(style: str, key: str) -> None:
    client = boto3_client(style)
    get = client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "bkt",
            "Key": key,
            "ResponseContentDisposition": 'attachment; filename="a+b c.txt"',
            "ResponseContentType": "text/plain; charset=utf-8",
        },
        ExpiresIn=3600,
    )
    put = client.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": key})
    for method, url in (("GET", get), ("PUT", put)):
        result = accept(facts_from(method, url, {}), now=WHEN + timedelta(minutes=59))
        assert result.auth_type == "REST-QUERY-STRING"
        assert result.payload_hash == "UNSIGNED-PAYLOAD"


def test_boto3_presigned_url_expires_after_expires_in() -> None:
    url = boto3_client("path").generate_presigned_url(
        "get_object", Params={"Bucket": "bkt", "Key": "k"}, ExpiresIn=60
    )
    err = refuse(facts_from("GET", url, {}), now=WHEN + timedelta(seconds=61))
    assert (err.code, err.message) == ("AccessDenied", "Request has expired")


# --- botocore's signers, driven by hypothesis ----------------------------------------

key_text = st.text(min_size=1, max_size=24)
param_text = st.text(max_size=16)
# Names that select an auth mechanism (X-Amz-*, Signature, AWSAccessKeyId) are
# left to test_sigv4_authenticate; CRT also refuses to sign X-Amz-Date & co.
param_names = st.text(min_size=1, max_size=12).filter(
    lambda n: not n.lower().startswith("x-amz-") and n not in ("Signature", "AWSAccessKeyId")
)
header_value = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(0x20, 0x7F)] + ["\t"]), max_size=20
)
meta_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], dict[str, str], bytes]:
    method = draw(st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST"]))
    key = draw(key_text)
    params = draw(st.dictionaries(param_names, param_text, max_size=4))
    metas = draw(st.dictionaries(meta_name, header_value, max_size=3))
    headers = {f"x-amz-meta-{name}": value for name, value in metas.items()}
    body = draw(st.binary(max_size=32)) if method in ("PUT", "POST") else b""
    host = draw(st.sampled_from(["localhost:9000", "bkt.s3.example.com", "127.0.0.1:8443"]))
    # the key encoded as botocore's serializer puts it in the URL
    url = f"http://{host}/bkt/{quote(key, safe='/~')}"
    return method, url, params, headers, body


HEADER_SIGNERS: dict[str, type] = {"python": botocore.auth.S3SigV4Auth}
QUERY_SIGNERS: dict[str, type] = {"python": botocore.auth.S3SigV4QueryAuth}
if crt_auth is not None:
    HEADER_SIGNERS["crt"] = crt_auth.CrtS3SigV4Auth
    QUERY_SIGNERS["crt"] = crt_auth.CrtS3SigV4QueryAuth
signer_names = st.sampled_from(sorted(HEADER_SIGNERS))


def _request(
    method: str, url: str, params: dict, headers: dict, body: bytes, signer: str
) -> AWSRequest:
    # botocore's Python signer is given the parameters apart (its params
    # path); the CRT signer gets them already in the URL, encoded as boto3's
    # serializer encodes them (botocore hands CRT ``params`` unencoded).
    if signer == "crt" and params:
        url = f"{url}?{percent_encode_sequence(params)}"
        params = {}
    return AWSRequest(method=method, url=url, params=params, headers=headers, data=body)


def botocore_header_signed(
    method: str, url: str, params: dict, headers: dict, body: bytes, signer: str = "python"
) -> RequestFacts:
    request = _request(method, url, params, headers, body, signer)
    HEADER_SIGNERS[signer](Credentials(AK, SK), "s3", REGION).add_auth(request)
    prepared = request.prepare()
    return facts_from(method, prepared.url, prepared.headers)


def botocore_presigned(
    method: str, url: str, params: dict, headers: dict, signer: str = "python"
) -> RequestFacts:
    request = _request(method, url, params, headers, b"", signer)
    QUERY_SIGNERS[signer](Credentials(AK, SK), "s3", REGION, expires=900).add_auth(request)
    prepared = request.prepare()
    return facts_from(method, prepared.url, prepared.headers)


RANDOM = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RANDOM
@given(requests(), signer_names)
def test_botocore_header_signed_requests_are_accepted(request: tuple, signer: str) -> None:
    method, url, params, headers, body = request
    result = accept(botocore_header_signed(method, url, params, headers, body, signer))
    assert result.auth_type == "REST-HEADER"


@RANDOM
@given(requests(), signer_names)
def test_botocore_presigned_requests_are_accepted(request: tuple, signer: str) -> None:
    method, url, params, headers, _ = request
    result = accept(botocore_presigned(method, url, params, headers, signer))
    assert result.auth_type == "REST-QUERY-STRING"


def _tamper_path(f: RequestFacts) -> RequestFacts:
    return replace(f, raw_path=f.raw_path + "x")


def _tamper_query(f: RequestFacts) -> RequestFacts:
    return replace(f, raw_query=f.raw_query + ("&" if f.raw_query else "") + "extra=1")


def _tamper_method(f: RequestFacts) -> RequestFacts:
    return replace(f, method="PATCH" if f.method != "PATCH" else "GET")


def _tamper_header(name: str):
    def tamper(f: RequestFacts) -> RequestFacts:
        headers = dict(f.headers)
        headers[name] = headers[name][:-1] + ("0" if headers[name][-1:] != "0" else "1")
        return replace(f, headers=headers)

    return tamper


def _tamper_signature(f: RequestFacts) -> RequestFacts:
    if "X-Amz-Signature=" in f.raw_query:
        head, _, sig = f.raw_query.rpartition("X-Amz-Signature=")
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        return replace(f, raw_query=head + "X-Amz-Signature=" + flipped)
    headers = dict(f.headers)
    auth = headers["authorization"]
    headers["authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    return replace(f, headers=headers)


def _tamper_query_param(name: str, value: str):
    def tamper(f: RequestFacts) -> RequestFacts:
        pieces = [
            f"{name}={value}" if piece.startswith(name + "=") else piece
            for piece in f.raw_query.split("&")
        ]
        return replace(f, raw_query="&".join(pieces))

    return tamper


HEADER_TAMPERS = {
    "path": _tamper_path,
    "query": _tamper_query,
    "method": _tamper_method,
    "date": lambda f: replace(f, headers={**f.headers, "x-amz-date": "20240229T123016Z"}),
    "host": _tamper_header("host"),
    "signature": _tamper_signature,
}
QUERY_TAMPERS = {
    "path": _tamper_path,
    "query": _tamper_query,
    "method": _tamper_method,
    "date": _tamper_query_param("X-Amz-Date", "20240229T123016Z"),
    "expires": _tamper_query_param("X-Amz-Expires", "901"),
    "host": _tamper_header("host"),
    "signature": _tamper_signature,
}


@RANDOM
@given(requests(), st.sampled_from(sorted(HEADER_TAMPERS)), signer_names)
def test_botocore_header_signed_request_with_one_change_is_refused(
    request: tuple, what: str, signer: str
) -> None:
    method, url, params, headers, body = request
    signed = botocore_header_signed(method, url, params, headers, body, signer)
    facts = HEADER_TAMPERS[what](signed)
    assert refuse(facts).code == "SignatureDoesNotMatch"


@RANDOM
@given(requests(), st.sampled_from(sorted(QUERY_TAMPERS)), signer_names)
def test_botocore_presigned_request_with_one_change_is_refused(
    request: tuple, what: str, signer: str
) -> None:
    method, url, params, headers, _ = request
    facts = QUERY_TAMPERS[what](botocore_presigned(method, url, params, headers, signer))
    assert refuse(facts).code == "SignatureDoesNotMatch"


@RANDOM
@given(requests())
def test_botocore_signed_header_value_changed_is_refused(request: tuple) -> None:
    method, url, params, _headers, body = request
    facts = botocore_header_signed(method, url, params, {"x-amz-meta-k": "v  a l"}, body)
    assert refuse(_tamper_header("x-amz-meta-k")(facts)).code == "SignatureDoesNotMatch"


def test_botocore_request_signed_for_another_secret_is_refused() -> None:
    request = AWSRequest(method="GET", url="http://localhost:9000/bkt/k")
    botocore.auth.S3SigV4Auth(Credentials(AK, SK + "x"), "s3", REGION).add_auth(request)
    prepared = request.prepare()
    assert refuse(facts_from("GET", prepared.url, prepared.headers)).code == "SignatureDoesNotMatch"
