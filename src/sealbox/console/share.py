"""Sharing: a managed link for an object (expiry, uses, bound addresses, a
note), shown with a Copy button and a QR code; a bucket's or an object's
links with their uses and a Revoke button each.

Links are made and revoked by the admin API as the principal
(``POST /_sealbox/api/v1/links``, ``DELETE …/links/{id}``): its checks
(``sealbox:CreateLink`` on the object, the link's own terms) are the ones
the CLI meets. The QR code is drawn here, as SVG (segno), so no script and
no other site sees the link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno

from sealbox.console import results
from sealbox.console.page import BadForm, Page, url
from sealbox.console.render import PREFIX, redirect
from sealbox.server.responses import Response

LINKS_PATH = "/_sealbox/api/v1/links"
EXPIRY_CHOICES = (("1h", "1 hour"), ("1d", "1 day"), ("7d", "7 days"), ("15m", "15 minutes"))
MAX_BIND_TEXT = 2000


def qr_data_uri(text: str) -> str:
    """The QR code of ``text`` as an SVG data: URI (allowed by the CSP's img-src)."""
    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


def link_payload(page: Page) -> dict[str, Any]:
    """The CreateLink body from the Share form."""
    payload: dict[str, Any] = {"Bucket": page.required("bucket"), "Key": page.required("key"),
                               "Expires": page.arg("expires", "1d") or "1d"}
    uses = page.arg("uses").strip()
    if uses:
        if not uses.isdigit() or len(uses) > 9:
            raise BadForm("Uses must be a whole number.")
        payload["MaxUses"] = int(uses)
    bind = page.arg("bind")[:MAX_BIND_TEXT]
    networks = [n for n in bind.replace(",", " ").split() if n]
    if networks:
        payload["BindIp"] = networks
    note = page.arg("note")
    if note:
        payload["Note"] = note
    return payload


async def create(page: Page) -> Response:
    payload = link_payload(page)
    answer = await page.caller.admin("POST", LINKS_PATH, payload=payload)
    bucket, key = payload["Bucket"], payload["Key"]
    if not answer.ok:
        return page.render("link_refused.html", answer.status if answer.status >= 400 else 502,
                           refusal=results.refusal(answer), bucket=bucket, key=key, url=url)
    created = answer.json()
    return page.render("link.html", link=created, bucket=bucket, key=key,
                       qr=qr_data_uri(created["Url"]), url=url)


async def links_page(page: Page) -> Response:
    bucket = page.required("bucket")
    key = page.arg("key") or None
    answer = results.checked(await page.caller.admin("GET", LINKS_PATH, [("Bucket", bucket)]))
    links = [link for link in answer.json().get("Links", []) if key is None or link["Key"] == key]
    return page.render("links.html", bucket=bucket, key=key, links=links, url=url,
                       back=page.request.raw_path + (f"?{page.request.raw_query}"
                                                     if page.request.raw_query else ""))


async def revoke(page: Page) -> Response:
    link_id = page.required("link_id")
    results.checked(await page.caller.admin("DELETE", f"{LINKS_PATH}/{quote(link_id, safe='')}"))
    back = page.arg("back")
    # Only back into the console: a form must not send the browser elsewhere.
    if not back.startswith(PREFIX) or "//" in back or "\\" in back:
        back = url("")
    return redirect(back)
