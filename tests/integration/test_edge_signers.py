# ruff: noqa: F811  (pytest fixtures imported from test_cloudfront_signers)
"""Links from the CloudFront signers people use, fetched over HTTP through a
real distribution (SQLite and PostgreSQL): botocore's ``CloudFrontSigner``,
``aws cloudfront sign``, ``@aws-sdk/cloudfront-signer`` and the
``aws-cloudfront-sign`` npm package (Expires and Policy together, ``~`` as
``%7E``). Each is accepted before expiry and refused after, refused from an
address outside its policy, before its DateGreaterThan, and with a key of
another key group. The signers run as in test_cloudfront_signers.py."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.integration.edge_site import Site, make_site, public_pem, unique
from tests.integration.test_cloudfront_signers import (  # noqa: F401  (fixtures)
    EC_KEY,
    RSA_KEY,
    _pem,
    aws_cli,
    node,
    run_node,
)

BODY = b"lesson video bytes" * 64
PATH = "/course/lesson-1.mp4"


@pytest.fixture(scope="module")
def edge(s3: Any, client_factory: Any, server: Any) -> dict[str, Any]:
    """A distribution trusting one group with an RSA and an ECDSA key (the
    signer modules' own), and the id of a key in another group."""
    cf = client_factory("cloudfront")
    site = make_site(s3, cf, server.endpoint, server.port)
    s3.put_object(Bucket=site.bucket, Key=PATH[1:], Body=BODY)
    ids = {}
    for name, key in (("rsa", RSA_KEY), ("ec", EC_KEY)):
        ids[name] = cf.create_public_key(PublicKeyConfig={
            "CallerReference": unique("k"), "Name": unique(name),
            "EncodedKey": public_pem(key)})["PublicKey"]["Id"]
    got = cf.get_key_group(Id=site.group_id)
    cf.update_key_group(Id=site.group_id, IfMatch=got["ETag"], KeyGroupConfig={
        "Name": got["KeyGroup"]["KeyGroupConfig"]["Name"],
        "Items": [site.key_id, ids["rsa"], ids["ec"]]})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ids["stranger"] = cf.create_public_key(PublicKeyConfig={
        "CallerReference": unique("k"), "Name": unique("stranger"),
        "EncodedKey": public_pem(stranger)})["PublicKey"]["Id"]
    cf.create_key_group(KeyGroupConfig={"Name": unique("other"), "Items": [ids["stranger"]]})
    return {"site": site, "ids": ids, "stranger": stranger}


def fetch(site: Site, link: str | dict[str, str]) -> Any:
    """GET the lesson with a signed URL, or with signed cookies."""
    if isinstance(link, dict):
        return site.get(site.url(PATH), cookies={k: str(v) for k, v in link.items()})
    return site.get(link)


def code(response: Any) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in response.text else ""


def in_seconds(seconds: int) -> int:
    return int(time.time()) + seconds


# -- one signer per function: (key name, expires, starts, ip) -> link ---------------


def botocore_link(edge: dict[str, Any], key: str, expires: int, starts: int | None,
                  ip: str | None) -> str:
    site, private = edge["site"], {"rsa": RSA_KEY, "stranger": edge["stranger"]}[key]
    signer = CloudFrontSigner(edge["ids"][key], lambda m: private.sign(m, padding.PKCS1v15(),
                                                                       hashes.SHA1()))
    when = dt.datetime.fromtimestamp(expires, dt.UTC)
    if starts is None and ip is None:
        return signer.generate_presigned_url(site.url(PATH), date_less_than=when)
    policy = signer.build_policy(site.url(PATH), when,
                                 dt.datetime.fromtimestamp(starts, dt.UTC) if starts else None,
                                 ip)
    return signer.generate_presigned_url(site.url(PATH), policy=policy)


def aws_cli_link(edge: dict[str, Any], aws_cli: tuple[str, Any], key: str, expires: int,
                 starts: int | None, ip: str | None) -> str:
    import os
    import subprocess

    options = ["--date-less-than", str(expires)]
    if starts is not None:
        options += ["--date-greater-than",
                    dt.datetime.fromtimestamp(starts, dt.UTC).isoformat()]
    if ip is not None:
        options += ["--ip-address", ip]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run([aws_cli[0], "cloudfront", "sign", "--url", edge["site"].url(PATH),
                           "--key-pair-id", edge["ids"][key], "--private-key",
                           f"file://{aws_cli[1]}", *options],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def sdk_js_link(edge: dict[str, Any], node: str, key: str, expires: int, starts: int | None,
                ip: str | None, *, algorithm: str = "SHA256", cookies: bool = False) -> Any:
    private = {"rsa": RSA_KEY, "ec": EC_KEY}[key]
    return run_node(node, package="@aws-sdk/cloudfront-signer", url=edge["site"].url(PATH),
                    keyPairId=edge["ids"][key], privateKey=_pem(private), expires=expires,
                    starts=starts, ipAddress=ip, algorithm=algorithm, cookies=cookies)


def npm_sign_link(edge: dict[str, Any], node: str, expires: int, ip: str | None, *,
                  cookies: bool = False) -> Any:
    return run_node(node, package="aws-cloudfront-sign", url=edge["site"].url(PATH),
                    keyPairId=edge["ids"]["rsa"], privateKey=_pem(RSA_KEY), expires=expires,
                    ipAddress=ip, cookies=cookies)


# -- the judgements -------------------------------------------------------------------


def test_botocore_links(edge: dict[str, Any]) -> None:
    site = edge["site"]
    assert fetch(site, botocore_link(edge, "rsa", in_seconds(300), None, None)).content == BODY
    assert code(fetch(site, botocore_link(edge, "rsa", in_seconds(-1), None, None))) == "AccessDenied"
    assert fetch(site, botocore_link(edge, "rsa", in_seconds(300), None, "127.0.0.0/8")).status_code == 200
    assert code(fetch(site, botocore_link(edge, "rsa", in_seconds(300), None, "10.0.0.0/8"))) == "AccessDenied"
    later = botocore_link(edge, "rsa", in_seconds(600), in_seconds(300), None)
    assert code(fetch(site, later)) == "AccessDenied"
    assert code(fetch(site, botocore_link(edge, "stranger", in_seconds(300), None, None))) == "InvalidKey"


def test_aws_cli_sign_links(edge: dict[str, Any], aws_cli: tuple[str, Any]) -> None:
    site = edge["site"]
    assert fetch(site, aws_cli_link(edge, aws_cli, "rsa", in_seconds(300), None, None)).status_code == 200
    past = aws_cli_link(edge, aws_cli, "rsa", in_seconds(-1), None, None)
    assert code(fetch(site, past)) == "AccessDenied"
    outside = aws_cli_link(edge, aws_cli, "rsa", in_seconds(300), None, "10.0.0.0/8")
    assert code(fetch(site, outside)) == "AccessDenied"
    inside = aws_cli_link(edge, aws_cli, "rsa", in_seconds(300), None, "127.0.0.1/32")
    assert fetch(site, inside).status_code == 200
    later = aws_cli_link(edge, aws_cli, "rsa", in_seconds(600), in_seconds(300), None)
    assert code(fetch(site, later)) == "AccessDenied"


@pytest.mark.parametrize("key", ["rsa", "ec"])
@pytest.mark.parametrize("cookies", [False, True], ids=["url", "cookies"])
def test_aws_sdk_js_links(edge: dict[str, Any], node: str, key: str, cookies: bool) -> None:
    site = edge["site"]

    def link(expires: int, starts: int | None = None, ip: str | None = None) -> Any:
        return sdk_js_link(edge, node, key, expires, starts, ip, cookies=cookies)

    assert fetch(site, link(in_seconds(300))).content == BODY
    assert code(fetch(site, link(in_seconds(-1)))) == "AccessDenied"
    assert code(fetch(site, link(in_seconds(300), ip="10.0.0.0/8"))) == "AccessDenied"
    assert fetch(site, link(in_seconds(300), ip="127.0.0.0/8")).status_code == 200
    assert code(fetch(site, link(in_seconds(600), starts=in_seconds(300)))) == "AccessDenied"
    assert fetch(site, link(in_seconds(600), starts=in_seconds(-60))).status_code == 200


@pytest.mark.parametrize("cookies", [False, True], ids=["url", "cookies"])
def test_aws_cloudfront_sign_npm_links(edge: dict[str, Any], node: str, cookies: bool) -> None:
    site = edge["site"]
    link = npm_sign_link(edge, node, in_seconds(300), None, cookies=cookies)
    if not cookies:
        assert "Expires=" in link and "Policy=" in link
    assert fetch(site, link).content == BODY
    outside = npm_sign_link(edge, node, in_seconds(300), "10.0.0.0/8", cookies=cookies)
    assert code(fetch(site, outside)) == "AccessDenied"


def test_links_stop_working_when_they_expire(edge: dict[str, Any], node: str,
                                             aws_cli: tuple[str, Any]) -> None:
    """Every signer's short-lived link: accepted now, refused once expired."""
    site = edge["site"]
    # Long enough for five signers to run (two are subprocesses) on a busy
    # machine before the first fetch; the test then sleeps out the rest.
    expires = in_seconds(12)
    links = [
        botocore_link(edge, "rsa", expires, None, None),
        aws_cli_link(edge, aws_cli, "rsa", expires, None, None),
        sdk_js_link(edge, node, "ec", expires, None, None),
        sdk_js_link(edge, node, "rsa", expires, None, None, cookies=True),
        npm_sign_link(edge, node, expires, None),
    ]
    for link in links:
        assert fetch(site, link).status_code == 200, link
    time.sleep(max(0.0, expires - time.time()) + 0.2)
    for link in links:
        refused = fetch(site, link)
        assert refused.status_code == 403 and code(refused) == "AccessDenied", link


def test_ecdsa_key_signed_url_is_served(edge: dict[str, Any]) -> None:
    """An ECDSA P-256 key (the other kind a key group takes) signing by hand."""
    from sealbox.auth.cloudfront import b64encode_cloudfront, canned_policy

    site = edge["site"]
    url = site.url(PATH)
    expires = in_seconds(300)
    signature = EC_KEY.sign(canned_policy(url, expires).encode(), ec.ECDSA(hashes.SHA256()))
    link = (f"{url}?Expires={expires}&Signature={b64encode_cloudfront(signature)}"
            f"&Key-Pair-Id={edge['ids']['ec']}&Hash-Algorithm=SHA256")
    assert fetch(site, link).content == BODY
