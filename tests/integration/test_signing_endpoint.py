"""The signing endpoint, ``POST /_sealbox/sign`` (issue 13), against real
servers on SQLite and PostgreSQL: application tokens made with PyJWT
(HS256, RS256, ES256) and with ``jose`` from npm get links that work with
requests and curl; expired, wrong-audience, wrong-issuer, ``alg: none`` and
HS/RS-confused tokens are 401; a ``sub`` of ``../*`` or ``a*`` cannot widen
its rule; a PUT link uploads with the Content-Type it names; a link bound to
the client's address; CORS; the rules put and got through the API and the
CLI, every bad document refused with nothing stored."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt
import pytest
import requests
from botocore.config import Config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sealbox.cli.client import AdminClient, ApiError, path
from sealbox.testing.server import RunningServer

SECRET = "a shop's HS256 secret of 32 bytes or more, kept server-side"
SHOP = "https://shop.example"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
JS_DIR = Path(__file__).resolve().parents[1] / "js"
BODY = b"chapter one: it was a dark and stormy night"


def public_pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> AdminClient:
    return AdminClient(server.endpoint, server.access_key, server.secret_key)


@pytest.fixture(scope="module")
def books(s3: Any, admin: AdminClient) -> str:
    return set_up(s3, admin)


def set_up(s3: Any, admin: AdminClient) -> str:
    """A bucket, a signer user allowed to read and write it, and the rules."""
    bucket = f"books-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="alice/chapter1.txt", Body=BODY)
    s3.put_object(Bucket=bucket, Key="a*/chapter1.txt", Body=b"literal star")
    signer = f"link-signer-{uuid.uuid4().hex[:6]}"
    admin.call("POST", path("users"), {"UserName": signer})
    admin.call("POST", path("users", signer, "access-keys"))
    admin.call("PUT", path("users", signer, "policies", "books"), {"PolicyDocument": {
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/private/*"},
        ]}})
    admin.call("PUT", path("link-rules"), rules(bucket, signer))
    return bucket


def rules(bucket: str, signer: str) -> dict[str, Any]:
    return {
        "Issuers": [
            {"Name": "shop", "Issuer": SHOP, "Audience": "sealbox", "HS256Secret": SECRET},
            {"Name": "rsa", "Issuer": "https://rsa.example", "Audience": "sealbox",
             "PublicKeyPem": public_pem(RSA_KEY)},
            {"Name": "ec", "Issuer": "https://ec.example", "Audience": "sealbox",
             "PublicKeyPem": public_pem(EC_KEY)},
        ],
        "Rules": [
            *({"Issuer": name, "SignAs": signer, "Methods": ["GET"],
               "Resource": f"{bucket}/${{jwt:sub}}/*", "MaxExpires": 900, "MaxUses": 3}
              for name in ("shop", "rsa", "ec")),
            {"Issuer": "shop", "SignAs": signer, "Methods": ["HEAD"],
             "Resource": f"{bucket}/${{jwt:sub}}/*", "BindClientIp": True},
            {"Issuer": "shop", "SignAs": signer, "Methods": ["PUT"],
             "Resource": f"{bucket}/uploads/${{jwt:sub}}/*", "ContentTypes": ["image/*"],
             "MaxSize": 1000, "AllowedOrigins": ["https://shop.example"]},
            {"Issuer": "shop", "SignAs": signer, "Methods": ["GET"],
             "Resource": f"{bucket}/private/${{jwt:sub}}/*"},
        ],
    }


def token(sub: str = "alice", *, key: Any = SECRET, algorithm: str = "HS256", iss: str = SHOP,
          aud: str = "sealbox", exp: float | None = None, **extra: Any) -> str:
    claims = {"iss": iss, "aud": aud, "sub": sub,
              "exp": int(time.time() + 300 if exp is None else exp), **extra}
    return jwt.encode(claims, key, algorithm=algorithm)


def sign(server: RunningServer, body: dict[str, Any], bearer: str | None,
         **headers: str) -> requests.Response:
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return requests.post(f"{server.endpoint}/_sealbox/sign", json=body, headers=headers,
                         timeout=30)


def error_of(response: requests.Response) -> dict[str, str]:
    value: dict[str, str] = response.json()["error"]
    return value


def curl(url: str) -> tuple[int, bytes]:
    done = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", url],
                          capture_output=True, timeout=30, check=True)
    body, _, status = done.stdout.rpartition(b"\n")
    return int(status), body


# -- good tokens -------------------------------------------------------------

def test_hs256_token_gets_a_get_link_that_works_with_requests_and_curl(
        server: RunningServer, books: str, admin: AdminClient) -> None:
    answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                  token())
    assert answer.status_code == 200, answer.text
    link = answer.json()
    assert set(link) == {"Url", "LinkId", "Method", "Expires", "Headers"}
    assert link["Method"] == "GET" and link["Headers"] == {}
    assert requests.get(link["Url"], timeout=30).content == BODY
    assert curl(link["Url"]) == (200, BODY)
    record = admin.call("GET", path("links", link["LinkId"])).body
    assert record["MaxUses"] == 3 and record["Uses"] == 2
    assert requests.get(link["Url"], timeout=30).status_code == 200
    assert requests.get(link["Url"], timeout=30).status_code == 403  # the rule's MaxUses


def test_expires_defaults_to_and_is_capped_by_the_rules_max_expires(
        server: RunningServer, books: str, admin: AdminClient) -> None:
    for asked in (None, 60, 86400):
        body: dict[str, Any] = {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"}
        if asked is not None:
            body["Expires"] = asked
        link = sign(server, body, token()).json()
        record = admin.call("GET", path("links", link["LinkId"])).body
        assert record["Expires"] == link["Expires"]
        expires = int(urlsplit(link["Url"]).query.split("X-Amz-Expires=")[1].split("&")[0])
        assert expires == (60 if asked == 60 else 900)


@pytest.mark.parametrize("key, algorithm, iss", [
    (private_pem(RSA_KEY), "RS256", "https://rsa.example"),
    (private_pem(EC_KEY), "ES256", "https://ec.example"),
])
def test_rs256_and_es256_tokens_get_links(server: RunningServer, books: str, key: str,
                                          algorithm: str, iss: str) -> None:
    answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                  token(key=key, algorithm=algorithm, iss=iss))
    assert answer.status_code == 200, answer.text
    assert requests.get(answer.json()["Url"], timeout=30).content == BODY


def test_put_link_uploads_with_the_content_type_it_names(server: RunningServer, books: str,
                                                         s3: Any) -> None:
    key = "uploads/alice/avatar.png"
    answer = sign(server, {"Bucket": books, "Key": key, "Method": "PUT",
                           "ContentType": "image/png"}, token())
    assert answer.status_code == 200, answer.text
    link = answer.json()
    assert link["Headers"] == {"Content-Type": "image/png"}
    wrong = requests.put(link["Url"], data=b"png", headers={"Content-Type": "text/html"},
                         timeout=30)
    assert wrong.status_code == 403
    big = requests.put(link["Url"], data=b"x" * 1001, headers=link["Headers"], timeout=30)
    assert big.status_code in (400, 403)  # the rule's MaxSize
    done = requests.put(link["Url"], data=b"\x89PNG", headers=link["Headers"], timeout=30)
    assert done.status_code == 200, done.text
    got = s3.get_object(Bucket=books, Key=key)
    assert got["ContentType"] == "image/png" and got["Body"].read() == b"\x89PNG"


def test_put_refused_for_a_content_type_the_rule_does_not_admit(server: RunningServer,
                                                                books: str) -> None:
    for content_type in ("text/html", None):
        body = {"Bucket": books, "Key": "uploads/alice/page.html", "Method": "PUT"}
        if content_type:
            body["ContentType"] = content_type
        answer = sign(server, body, token())
        assert answer.status_code == 403 and error_of(answer)["code"] == "AccessDenied"


# -- tokens and requests refused -----------------------------------------------

def _alg_none() -> str:
    return jwt.encode({"iss": SHOP, "aud": "sealbox", "sub": "alice",
                       "exp": int(time.time()) + 300}, None, algorithm="none")


def _hs_rs_confusion() -> str:
    """An HS256 token whose secret is the RSA issuer's public PEM: a verifier
    that lets the header choose would accept it."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"iss": "https://rsa.example", "aud": "sealbox", "sub": "alice",
                             "exp": int(time.time()) + 300}).encode())
    mac = hmac.new(public_pem(RSA_KEY).encode(), f"{head}.{claims}".encode(), hashlib.sha256)
    return f"{head}.{claims}.{b64(mac.digest())}"


# Tokens are made when the test runs, not when it is collected: a suite
# that runs for minutes would otherwise see every token expired.
@pytest.mark.parametrize("make, said", [
    (lambda: None, "Bearer"),
    (lambda: "not-a-jwt", "not a JWT"),
    (lambda: "a.b.c", "not a JWT"),
    (lambda: token(exp=time.time() - 120), "expired"),
    (lambda: token(aud="someone-else"), "audience"),
    (lambda: token(iss="https://evil.example"), "issuer"),
    (lambda: token(key="another secret of thirty-two bytes or more"), "signature"),
    (lambda: token(nbf=int(time.time()) + 600), "not valid yet"),
    (_alg_none, "HS256"),
    (_hs_rs_confusion, "RS256"),
], ids=["missing", "garbage", "malformed", "expired", "wrong-audience", "wrong-issuer",
        "wrong-secret", "not-yet", "alg-none", "hs-rs-confusion"])
def test_bad_tokens_are_401(server: RunningServer, books: str, make: Any, said: str) -> None:
    answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                  make())
    assert answer.status_code == 401, answer.text
    error = error_of(answer)
    assert error["code"] == "InvalidToken" and said in error["message"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_expiry_within_the_leeway_is_accepted(server: RunningServer, books: str) -> None:
    answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                  token(exp=time.time() - 5))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("sub", ["../*", "..", "*", "alice/..", "al?ce"])
def test_a_claim_cannot_widen_the_pattern(server: RunningServer, books: str, sub: str) -> None:
    for key in ("alice/chapter1.txt", "a*/chapter1.txt", "x/chapter1.txt"):
        answer = sign(server, {"Bucket": books, "Key": key, "Method": "GET"}, token(sub))
        assert answer.status_code == 403, (sub, key, answer.text)
        assert error_of(answer)["code"] == "AccessDenied"


def test_a_claim_with_a_star_matches_only_literally(server: RunningServer, books: str) -> None:
    star = token("a*")
    answer = sign(server, {"Bucket": books, "Key": "a*/chapter1.txt", "Method": "GET"}, star)
    assert answer.status_code == 200, answer.text
    assert requests.get(answer.json()["Url"], timeout=30).content == b"literal star"
    for key in ("alice/chapter1.txt", "ab/chapter1.txt"):
        assert sign(server, {"Bucket": books, "Key": key, "Method": "GET"},
                    star).status_code == 403


def test_another_users_object_or_bucket_is_403(server: RunningServer, books: str) -> None:
    for body in ({"Bucket": books, "Key": "bob/chapter1.txt", "Method": "GET"},
                 {"Bucket": "other-bucket", "Key": "alice/chapter1.txt", "Method": "GET"},
                 {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "PUT"}):
        assert sign(server, body, token()).status_code == 403


def test_a_link_the_signers_policy_denies_is_not_made(server: RunningServer, books: str,
                                                     admin: AdminClient) -> None:
    before = len(admin.call("GET", path("links"), query={"Bucket": books}).body["Links"])
    answer = sign(server, {"Bucket": books, "Key": "private/alice/diary.txt", "Method": "GET"},
                  token())
    assert answer.status_code == 403
    assert error_of(answer)["message"] == (
        f"The rule's signer may not s3:GetObject on {books}/private/alice/diary.txt")
    assert len(admin.call("GET", path("links"), query={"Bucket": books}).body["Links"]) == before


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"Bucket": "b"}', b'{"Bucket": "b", "Key": "k", "Method": "POST"}',
    b'{"Bucket": "b", "Key": "k", "Extra": 1}', b'{"Bucket": "b", "Key": "a/../k"}',
    b'{"Bucket": "b", "Key": "k", "Expires": "soon"}',
])
def test_malformed_bodies_are_400(server: RunningServer, books: str, body: bytes) -> None:
    answer = requests.post(f"{server.endpoint}/_sealbox/sign", data=body, timeout=30,
                           headers={"Authorization": f"Bearer {token()}"})
    assert answer.status_code == 400, answer.text
    assert error_of(answer)["code"] == "InvalidRequest"


def test_a_large_body_is_413(server: RunningServer, books: str) -> None:
    answer = requests.post(f"{server.endpoint}/_sealbox/sign", data=b"x" * (1 << 20),
                           timeout=30, headers={"Authorization": f"Bearer {token()}"})
    assert answer.status_code == 413


# -- the client's address ---------------------------------------------------------

def _request_from(source: str, method: str, url: str, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30,
                                      source_address=(source, 0))
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_bind_client_ip_binds_the_link_to_the_requesting_address(server: RunningServer,
                                                                 books: str) -> None:
    status, body = _request_from(
        "127.0.0.2", "POST", f"{server.endpoint}/_sealbox/sign",
        json.dumps({"Bucket": books, "Key": "alice/chapter1.txt", "Method": "HEAD"}).encode(),
        {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"})
    assert status == 200, body
    url = json.loads(body)["Url"]
    assert _request_from("127.0.0.2", "HEAD", url)[0] == 200
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30,
                                      source_address=("127.0.0.1", 0))
    try:
        conn.request("HEAD", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        response.read()
        assert response.status == 403
    finally:
        conn.close()
    # The same refusal's reason, told in a GET-able way: the link record says so.
    assert requests.head(url, timeout=30).status_code == 403


def test_behind_a_trusted_proxy_the_forwarded_address_is_bound(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--trusted-proxy", "127.0.0.1/32")) as proxied:
        s3 = boto3.client("s3", endpoint_url=proxied.endpoint, region_name="us-east-1",
                          aws_access_key_id=proxied.access_key,
                          aws_secret_access_key=proxied.secret_key,
                          config=Config(s3={"addressing_style": "path"},
                                        signature_version="s3v4"))
        bucket = set_up(s3, AdminClient(proxied.endpoint, proxied.access_key,
                                        proxied.secret_key))
        answer = sign(proxied, {"Bucket": bucket, "Key": "alice/chapter1.txt",
                                "Method": "HEAD"}, token(), **{"X-Forwarded-For": "203.0.113.7"})
        assert answer.status_code == 200, answer.text
        url = answer.json()["Url"]
        inside = requests.head(url, headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
        assert inside.status_code == 200
        outside = requests.head(url, headers={"X-Forwarded-For": "198.51.100.7"}, timeout=30)
        assert outside.status_code == 403
        assert requests.head(url, timeout=30).status_code == 403


# -- CORS -----------------------------------------------------------------------

def test_preflight_from_an_allowed_origin_and_not_from_another(server: RunningServer,
                                                               books: str) -> None:
    def preflight(origin: str) -> requests.Response:
        return requests.options(f"{server.endpoint}/_sealbox/sign", timeout=30, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})

    allowed = preflight("https://shop.example")
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = preflight("https://evil.example")
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers


def test_answers_to_an_allowed_origin_carry_cors_headers(server: RunningServer,
                                                         books: str) -> None:
    body = {"Bucket": books, "Key": "uploads/alice/a.png", "Method": "PUT",
            "ContentType": "image/png"}
    ok = sign(server, body, token(), Origin="https://shop.example")
    assert ok.status_code == 200, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = sign(server, body, "garbage", Origin="https://shop.example")
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    evil = sign(server, body, token(), Origin="https://evil.example")
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers
    # A GET rule without AllowedOrigins does not answer pages at all.
    page = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                token(), Origin="https://shop.example")
    assert page.status_code == 403


# -- the rules, through the API and the CLI -------------------------------------------

def test_get_never_shows_the_secret(admin: AdminClient, books: str) -> None:
    got = admin.call("GET", path("link-rules")).body
    assert got["Issuers"][0]["HS256Secret"] == "(set)"
    assert SECRET not in json.dumps(got)
    assert len(got["Rules"]) == 6


def test_a_document_got_and_put_back_keeps_its_secret(server: RunningServer, books: str,
                                                      admin: AdminClient) -> None:
    got = admin.call("GET", path("link-rules")).body
    assert admin.call("PUT", path("link-rules"), got).body == got
    answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                  token())
    assert answer.status_code == 200, answer.text
    renamed = json.loads(json.dumps(got))
    renamed["Issuers"][0]["Name"] = "renamed"
    with pytest.raises(ApiError) as refused:
        admin.call("PUT", path("link-rules"), renamed)
    assert "Issuers[0].HS256Secret" in str(refused.value)


def _with(document: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    section, index, name = where.split(".")
    copy[section][int(index)][name] = value
    return copy


@pytest.mark.parametrize("where, value, named", [
    ("Rules.0.Colour", "blue", "Rules[0].Colour"),
    ("Rules.0.Resource", "books/" + "*" * 1000, "Rules[0].Resource"),
    ("Rules.0.Resource", "no-slash", "Rules[0].Resource"),
    ("Rules.0.Resource", "b*/x", "Rules[0].Resource"),
    ("Rules.0.Resource", "books/${env:HOME}/*", "Rules[0].Resource"),
    ("Rules.0.SignAs", "nobody-at-all", "Rules[0].SignAs"),
    ("Rules.0.Issuer", "nowhere", "Rules[0].Issuer"),
    ("Rules.0.Methods", ["DELETE"], "Rules[0].Methods"),
    ("Rules.0.MaxExpires", 10**9, "Rules[0].MaxExpires"),
    ("Issuers.0.HS256Secret", "short", "Issuers[0].HS256Secret"),
    ("Issuers.1.PublicKeyPem", "-----BEGIN PUBLIC KEY-----\nxx\n", "Issuers[1].PublicKeyPem"),
    ("Issuers.0.JwksFile", "/etc/passwd", "Issuers[0]"),
], ids=["unknown-field", "1000-stars", "no-bucket", "bucket-pattern", "other-variable",
        "missing-signer", "unknown-issuer", "bad-method", "long-expiry", "short-secret",
        "bad-pem", "server-side-file"])
def test_bad_rules_are_refused_naming_the_field_and_nothing_changes(
        admin: AdminClient, books: str, where: str, value: Any, named: str) -> None:
    before = admin.call("GET", path("link-rules")).body
    document = _with(admin.call("GET", path("link-rules")).body, where, value)
    with pytest.raises(ApiError) as refused:
        admin.call("PUT", path("link-rules"), document)
    assert refused.value.status == 400, refused.value
    assert named in str(refused.value)
    assert admin.call("GET", path("link-rules")).body == before


def test_oversized_rules_are_refused(admin: AdminClient, books: str) -> None:
    before = admin.call("GET", path("link-rules")).body
    for size, status in ((300 * 1024, 400), (10 * 1024 * 1024, 413)):
        document = {"Issuers": [{"Name": "x", "Issuer": "x" * size, "Audience": "a",
                                 "HS256Secret": SECRET}], "Rules": []}
        with pytest.raises(ApiError) as refused:
            admin.call("PUT", path("link-rules"), document)
        assert refused.value.status == status
    assert admin.call("GET", path("link-rules")).body == before


def test_rules_routes_are_in_the_openapi_document(server: RunningServer) -> None:
    document = requests.get(f"{server.endpoint}/_sealbox/api/openapi.json", timeout=30).json()
    operations = document["paths"]["/_sealbox/api/v1/link-rules"]
    assert set(operations) >= {"get", "put"}


@pytest.fixture
def cli(server: RunningServer, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sealbox", *args, "--endpoint-url",
                               server.endpoint, "--data-dir", str(tmp_path / "none")],
                              capture_output=True, text=True, timeout=60, env=env,
                              cwd=tmp_path, check=False)

    return run


def test_cli_puts_and_gets_rules_with_a_jwks_file(cli: Any, admin: AdminClient,
                                                  server: RunningServer, books: str,
                                                  tmp_path: Path) -> None:
    saved = admin.call("GET", path("link-rules")).body
    saved["Issuers"][0]["HS256Secret"] = SECRET
    signer = saved["Rules"][0]["SignAs"]
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    jwk["kid"] = "ec-1"
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [jwk]}))
    document = {"Issuers": [{"Name": "app", "Issuer": "https://app.example",
                             "Audience": "sealbox", "JwksFile": "keys.json"}],
                "Rules": [{"Issuer": "app", "SignAs": signer, "Methods": ["GET"],
                           "Resource": f"{books}/${{jwt:sub}}/*"}]}
    (tmp_path / "rules.json").write_text(json.dumps(document))
    try:
        done = cli("link", "rules", "put", "--file", "rules.json")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "link rules stored: 1 issuers, 1 rules"
        got = cli("link", "rules", "get", "--json")
        assert got.returncode == 0
        shown = json.loads(got.stdout)
        assert shown["Issuers"][0]["Jwks"]["keys"][0]["kid"] == "ec-1"
        good = jwt.encode({"iss": "https://app.example", "aud": "sealbox", "sub": "alice",
                           "exp": int(time.time()) + 60}, private_pem(EC_KEY),
                          algorithm="ES256", headers={"kid": "ec-1"})
        answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                      good)
        assert answer.status_code == 200, answer.text
        (tmp_path / "big.json").write_bytes(b" " * (10 * 1024 * 1024))
        big = cli("link", "rules", "put", "--file", "big.json")
        assert big.returncode == 1 and "at most 262144 bytes" in big.stderr
        (tmp_path / "bad.json").write_text(json.dumps({"Rules": [{"Issuer": "none"}]}))
        bad = cli("link", "rules", "put", "--file", "bad.json")
        assert bad.returncode == 1 and "Rules[0].Issuer" in bad.stderr
        assert json.loads(cli("link", "rules", "get", "--json").stdout) == shown
    finally:
        admin.call("PUT", path("link-rules"), saved)


# -- jose from npm --------------------------------------------------------------------

@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None or not (JS_DIR / "node_modules" / "jose").is_dir():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI must run the jose tests: npm ci --prefix tests/js", pytrace=False)
        pytest.skip("Node.js or jose is not installed: run `npm ci --prefix tests/js`")
    return str(found)


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
def test_tokens_made_by_jose_from_npm(node: str, server: RunningServer, books: str,
                                      algorithm: str) -> None:
    key, iss = (SECRET, SHOP) if algorithm == "HS256" else (private_pem(RSA_KEY),
                                                            "https://rsa.example")
    done = subprocess.run([node, "jwt.mjs", algorithm, iss, "alice"], cwd=JS_DIR,
                          input=key, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer = sign(server, {"Bucket": books, "Key": "alice/chapter1.txt", "Method": "GET"},
                  done.stdout.strip())
    assert answer.status_code == 200, answer.text
    assert requests.get(answer.json()["Url"], timeout=30).content == BODY
