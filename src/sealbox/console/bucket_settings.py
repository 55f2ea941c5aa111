"""A bucket's settings: its policy, its Block Public Access, its CORS
rules; and the account's Block Public Access.

Each is S3's own request as the principal (``?policy``,
``?publicAccessBlock``, ``?cors``) or the admin API's
(``public-access-block``), so S3's checks and refusals are the ones shown:
a bucket policy is judged by S3's grammar (``MalformedPolicy`` and why), a
public one refused under ``BlockPublicPolicy`` (``AccessDenied``), CORS
rules by S3's schema (``MalformedXML``). A refused text is shown again as
typed, with S3's answer above it.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from typing import Any

from sealbox.console import results
from sealbox.console.access import api_path, change
from sealbox.console.calls import encode_path
from sealbox.console.page import BadForm, Page, url
from sealbox.console.render import redirect
from sealbox.console.results import Refusal, Refused
from sealbox.server.responses import Response

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MAX_TEXT = 64 * 1024  # S3 keeps a bucket policy under 20 KB, CORS rules under 64 KB
SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
CORS_STARTER = """<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://www.example.com</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>"""


def block_xml(chosen: dict[str, bool]) -> bytes:
    """A PublicAccessBlockConfiguration body with every setting named."""
    members = "".join(f"<{n}>{'true' if chosen[n] else 'false'}</{n}>" for n in SETTINGS)
    return (f'<PublicAccessBlockConfiguration xmlns="{_NS[1:-1]}">{members}'
            "</PublicAccessBlockConfiguration>").encode()


def read_block(body: bytes) -> dict[str, bool]:
    root = ET.fromstring(body)
    return {n: (root.findtext(_NS + n) or root.findtext(n) or "").lower() == "true"
            for n in SETTINGS}


def _chosen(page: Page) -> dict[str, bool]:
    return {n: page.arg(n) == "on" for n in SETTINGS}


def _text(page: Page, name: str) -> str:
    value = page.arg(name)
    if len(value) > MAX_TEXT:
        raise BadForm(f"The text is longer than {MAX_TEXT} characters.")
    return value


async def settings_page(page: Page, status: int = 200, *, policy: str | None = None,
                        cors: str | None = None, policy_refusal: Refusal | None = None,
                        cors_refusal: Refusal | None = None,
                        block_refusal: Refusal | None = None) -> Response:
    """The bucket's three settings; a text just refused is shown as typed."""
    bucket = page.required("bucket" if "bucket" in page.form else "name")
    path = encode_path(bucket)
    if policy is None:
        answer = await page.caller.s3("GET", path, [("policy", "")])
        policy = answer.body.decode("utf-8", "replace") if answer.ok else ""
        if not answer.ok and results.refusal(answer).code == "NoSuchBucket":
            raise Refused(results.refusal(answer))  # no settings to show
        if not answer.ok and answer.status != 404:
            policy_refusal = results.refusal(answer)
    if cors is None:
        answer = await page.caller.s3("GET", path, [("cors", "")])
        cors = answer.body.decode("utf-8", "replace") if answer.ok else ""
        if not answer.ok and answer.status != 404:
            cors_refusal = results.refusal(answer)
    answer = await page.caller.s3("GET", path, [("publicAccessBlock", "")])
    block = read_block(answer.body) if answer.ok else dict.fromkeys(SETTINGS, False)
    if not answer.ok and answer.status != 404 and block_refusal is None:
        block_refusal = results.refusal(answer)
    return page.render("bucket_settings.html", status, bucket=bucket, policy=policy,
                       cors=cors, cors_starter=CORS_STARTER, block=block, settings=SETTINGS,
                       policy_refusal=policy_refusal, cors_refusal=cors_refusal,
                       block_refusal=block_refusal, url=url)


def _failed(answer: Any) -> tuple[int, Refusal]:
    refusal = results.refusal(answer)
    return (refusal.status if refusal.status >= 400 else 502), refusal


async def put_policy(page: Page) -> Response:
    """The bucket policy as typed; an empty text deletes it."""
    bucket, text = page.required("bucket"), _text(page, "policy")
    if text.strip():
        answer = await page.caller.s3("PUT", encode_path(bucket), [("policy", "")],
                                      {"content-type": "application/json"}, text.encode())
    else:
        answer = await page.caller.s3("DELETE", encode_path(bucket), [("policy", "")])
    if not answer.ok:
        status, refusal = _failed(answer)
        return await settings_page(page, status, policy=text, policy_refusal=refusal)
    return redirect(url("bucket/settings", name=bucket))


async def put_cors(page: Page) -> Response:
    """The CORS rules as typed (S3's XML); an empty text deletes them."""
    bucket, text = page.required("bucket"), _text(page, "cors")
    body = text.encode()
    if text.strip():
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # S3 requires one
        answer = await page.caller.s3("PUT", encode_path(bucket), [("cors", "")],
                                      {"content-type": "application/xml", "content-md5": md5},
                                      body)
    else:
        answer = await page.caller.s3("DELETE", encode_path(bucket), [("cors", "")])
    if not answer.ok:
        status, refusal = _failed(answer)
        return await settings_page(page, status, cors=text, cors_refusal=refusal)
    return redirect(url("bucket/settings", name=bucket))


async def put_block(page: Page) -> Response:
    bucket = page.required("bucket")
    answer = await page.caller.s3("PUT", encode_path(bucket), [("publicAccessBlock", "")],
                                  {"content-type": "application/xml"}, block_xml(_chosen(page)))
    if not answer.ok:
        status, refusal = _failed(answer)
        return await settings_page(page, status, block_refusal=refusal)
    return redirect(url("bucket/settings", name=bucket))


async def account_page(page: Page) -> Response:
    """The signed-in account's Block Public Access (S3 Control's, by the admin API)."""
    answer = await page.caller.admin("GET", api_path("public-access-block"))
    if answer.status == 404:  # none set: every setting off
        chosen: dict[str, object] = {}
    else:
        chosen = results.checked(answer).json().get("PublicAccessBlockConfiguration") or {}
    return page.render("account_block.html", block={n: bool(chosen.get(n)) for n in SETTINGS},
                       settings=SETTINGS, url=url)


async def put_account_block(page: Page) -> Response:
    chosen = _chosen(page)
    await change(page, "PUT", "public-access-block", payload=chosen)
    return redirect(url("access/public-access"))


