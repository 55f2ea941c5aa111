"""The signing endpoint's rules and the signature doctor per account (issue
17), against a real server (SQLite and PostgreSQL): each account keeps its
own rules document, whose ``SignAs`` users are its own, and is signed for at
``POST /_sealbox/sign/<account>`` (``/_sealbox/sign`` stays the first
account's); the doctor finds a key in whichever account owns it, and an
account diagnoses only its own keys, requests and distributions (the
administrator, the first account, all)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import jwt
import requests

from sealbox.testing.server import RunningServer
from tests.integration.edge_site import make_site
from tests.integration.test_accounts import (
    Keys,
    admin,
    client,
    new_account,
    new_user,
    root_keys,
    unique,
)

SECRET = "team b's own HS256 secret, 32 bytes or more of it"
RECORDED_WITHIN = 5.0  # the failure recorder writes every 0.5 s


def token(issuer: str, sub: str = "alice") -> str:
    return jwt.encode({"iss": issuer, "aud": "sealbox", "sub": sub,
                       "exp": int(time.time() + 300)}, SECRET, algorithm="HS256")


def sign(server: RunningServer, path: str, bearer: str, body: dict[str, Any]
         ) -> requests.Response:
    return requests.post(f"{server.endpoint}{path}", json=body,
                         headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def team(server: RunningServer) -> tuple[str, Keys, str, str]:
    """A new account with a bucket holding ``alice/book.txt``, a signer user
    allowed to read it, and rules for its own issuer: (account, root keys,
    bucket, issuer URL)."""
    account, keys = new_account(server)
    bucket = unique("team")
    s3 = client(server, keys)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="alice/book.txt", Body=b"team b's book")
    signer_arn, _ = new_user(server, keys, {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    issuer = f"https://{account}.example"
    put = admin(server, keys, "PUT", "link-rules", {
        "Issuers": [{"Name": "app", "Issuer": issuer, "Audience": "sealbox",
                     "HS256Secret": SECRET}],
        "Rules": [{"Issuer": "app", "SignAs": signer_arn.rsplit("/", 1)[1], "Methods": ["GET"],
                   "Resource": f"{bucket}/${{jwt:sub}}/*", "MaxExpires": 600}]})
    assert put.status_code == 200, put.text
    return account, keys, bucket, issuer


# -- the signing endpoint's rules -------------------------------------------------


def test_each_account_keeps_its_own_rules_and_signing_url(server: RunningServer) -> None:
    account, keys, bucket, issuer = team(server)
    shown = admin(server, keys, "GET", "link-rules").json()
    assert [i["Issuer"] for i in shown["Issuers"]] == [issuer]
    assert shown["Issuers"][0]["HS256Secret"] == "(set)"
    # The first account's document is another one: team b's issuer is not in it.
    first = admin(server, root_keys(server), "GET", "link-rules").json()
    assert issuer not in [i["Issuer"] for i in first.get("Issuers", [])]

    body = {"Bucket": bucket, "Key": "alice/book.txt"}
    made = sign(server, f"/_sealbox/sign/{account}", token(issuer), body)
    assert made.status_code == 200, made.text
    assert requests.get(made.json()["Url"], timeout=30).content == b"team b's book"
    # The first account's endpoint does not know team b's issuer, nor does
    # a third account's, nor one with no account at that id.
    other, _ = new_account(server)
    for path in ("/_sealbox/sign", f"/_sealbox/sign/{other}", "/_sealbox/sign/999999999998"):
        refused = sign(server, path, token(issuer), body)
        assert refused.status_code == 401, (path, refused.text)
    for path in ("/_sealbox/sign/12345", f"/_sealbox/sign/{account}/x"):
        missing = sign(server, path, token(issuer), body)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"


def test_sign_as_names_a_user_of_the_rules_own_account(server: RunningServer) -> None:
    _, keys, bucket, _ = team(server)
    first_user = unique("first-only")
    made = admin(server, root_keys(server), "POST", "users", {"UserName": first_user})
    assert made.status_code in (200, 201), made.text
    refused = admin(server, keys, "PUT", "link-rules", {
        "Issuers": [{"Name": "app", "Issuer": "https://x.example", "Audience": "sealbox",
                     "HS256Secret": SECRET}],
        "Rules": [{"Issuer": "app", "SignAs": first_user, "Methods": ["GET"],
                   "Resource": f"{bucket}/*"}]})
    assert refused.status_code == 400
    assert "Rules[0].SignAs" in refused.json()["error"]["message"]
    # Nothing changed: the account's own rules stand.
    kept = admin(server, keys, "GET", "link-rules").json()
    assert kept["Rules"][0]["SignAs"] != first_user


def test_the_cli_reads_the_callers_accounts_rules(server: RunningServer, tmp_path) -> None:
    _, keys, _, issuer = team(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=keys.access_key, AWS_SECRET_ACCESS_KEY=keys.secret_key)
    done = subprocess.run([sys.executable, "-m", "sealbox", "link", "rules", "get",
                           "--endpoint-url", server.endpoint, "--data-dir",
                           str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert [i["Issuer"] for i in json.loads(done.stdout)["Issuers"]] == [issuer]


# -- the signature doctor ----------------------------------------------------------


def doctor(server: RunningServer, keys: Keys, **body: Any) -> requests.Response:
    return admin(server, keys, "POST", "doctor", body)


def recorded(server: RunningServer, keys: Keys, request_id: str) -> requests.Response:
    """The doctor's answer about a refused request, once it is recorded."""
    started = time.monotonic()
    while True:
        answer = doctor(server, keys, RequestId=request_id)
        if answer.status_code != 404 or time.monotonic() - started > RECORDED_WITHIN:
            return answer
        time.sleep(0.2)


def test_an_account_diagnoses_its_own_keys_and_the_administrator_all(
        server: RunningServer) -> None:
    account, keys, bucket, _ = team(server)
    _, stranger = new_account(server)
    administrator = root_keys(server)
    s3 = client(server, keys)
    good = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                           "Key": "alice/book.txt"})
    for asker in (keys, administrator):  # the key is found in its own account
        answer = doctor(server, asker, Url=good)
        assert answer.status_code == 200, answer.text
        assert answer.json()["Verdict"] == "valid"
    refused = doctor(server, stranger, Url=good)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "AccessDenied"
    first_url = client(server, administrator).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "x"})
    assert doctor(server, keys, Url=first_url).status_code == 403

    wrong = client(server, Keys(keys.access_key, "not-the-secret"))
    bad_url = wrong.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                 "Key": "alice/book.txt"})
    failed = requests.get(bad_url, timeout=30)
    assert failed.status_code == 403
    request_id = failed.headers["x-amz-request-id"]
    mine = recorded(server, keys, request_id)
    assert mine.status_code == 200, mine.text
    assert [c["Code"] for c in mine.json()["Causes"]] == ["WrongSecret"]
    assert recorded(server, administrator, request_id).json()["Causes"][0]["Code"] == \
        "WrongSecret"
    hidden = doctor(server, stranger, RequestId=request_id)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "NoSuchRequest"
    assert account  # (the team's id, for failures' messages)


def test_an_accounts_cloudfront_urls_are_its_own_to_diagnose(server: RunningServer) -> None:
    _, keys = new_account(server)
    _, stranger = new_account(server)
    site = make_site(client(server, keys), client(server, keys, "cloudfront"),
                     server.endpoint, server.port)
    client(server, keys).put_object(Bucket=site.bucket, Key="clip.mp4", Body=b"frames")
    url = site.signed("/clip.mp4")
    assert site.get(url).status_code == 200
    for asker in (keys, root_keys(server)):
        answer = doctor(server, asker, Url=url)
        assert answer.status_code == 200, answer.text
        assert answer.json()["Verdict"] == "valid"
        assert answer.json()["Kind"] == "CloudFront-URL"
    # To another account it is no distribution of its own: nothing to diagnose.
    assert doctor(server, stranger, Url=url).status_code == 400


def test_a_deleted_accounts_rules_go_with_it(server: RunningServer) -> None:
    made = admin(server, root_keys(server), "POST", "accounts",
                 {"AccountName": unique("gone")}).json()
    account, name = made["Account"]["AccountId"], made["Account"]["AccountName"]
    keys = Keys(made["AccessKey"]["AccessKeyId"], made["AccessKey"]["SecretAccessKey"])
    signer_arn, _ = new_user(server, keys, None)
    issuer = f"https://{account}.example"
    assert admin(server, keys, "PUT", "link-rules", {
        "Issuers": [{"Name": "app", "Issuer": issuer, "Audience": "sealbox",
                     "HS256Secret": SECRET}],
        "Rules": [{"Issuer": "app", "SignAs": signer_arn.rsplit("/", 1)[1],
                   "Methods": ["GET"], "Resource": "somewhere/*"}]}).status_code == 200
    body = {"Bucket": "somewhere", "Key": "k"}
    path = f"/_sealbox/sign/{account}"
    # The token is believed (403: its signer, allowed nothing, signs nothing).
    assert sign(server, path, token(issuer), body).status_code == 403
    assert admin(server, root_keys(server), "DELETE", f"accounts/{name}").status_code == 204
    # Gone with the account: no rule believes the token any more.
    assert sign(server, path, token(issuer), body).status_code == 401
