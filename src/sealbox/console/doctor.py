"""The signature doctor's page: paste a link (or a refused request's id),
see the verdict and each cause in plain words.

The diagnosis is the admin API's (``POST /_sealbox/api/v1/doctor``,
answering ``{"Verdict", "Causes": [{"Code", "Message", "Expected",
"Got"}]}``), asked as the signed-in principal; the page only words it. A
server without the doctor answers that path 404, and the page says the
doctor is not available here rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sealbox.console import results
from sealbox.console.page import BadForm, Page
from sealbox.server.responses import Response

DOCTOR_PATH = "/_sealbox/api/v1/doctor"
MAX_INPUT = 16 * 1024  # a presigned URL with a session token is ~2 KB
METHODS = ("GET", "PUT", "HEAD", "DELETE", "POST")
# Each cause's headline, as a person would say it; the server's own
# message follows it with the details.
HEADLINES = {
    "Expired": "The link has expired.",
    "NotYetValid": "The link is not valid yet (it was signed for a later time).",
    "ExpiresTooLong": "The link asks to live longer than S3 allows (7 days).",
    "ClockSkew": "The clock of the machine that signed it is off.",
    "UnknownAccessKey": "The access key that signed it does not exist here.",
    "AccessKeyInactive": "The access key that signed it is disabled.",
    "WrongSecret": "It was signed with another secret key than this access key's.",
    "WrongRegion": "It was signed for another region.",
    "WrongService": "It was signed for another service.",
    "HostChanged": "It arrived on another host or port than it was signed for (a proxy?).",
    "SchemeChanged": "It was signed for http and used with https, or the other way round.",
    "PathEncoding": "The object's name was encoded differently from when it was signed.",
    "QueryChanged": "A parameter was added, dropped or re-encoded on the way.",
    "MethodMismatch": "It was signed for another method (PUT, GET…).",
    "SignedHeaderMissing": "A header it was signed with was not sent.",
    "SignedHeaderChanged": "A header it was signed with was sent with another value.",
    "PayloadHashMismatch": "The body sent is not the one that was signed.",
    "Revoked": "The link was revoked.",
    "UsedUp": "The link has been used as many times as it allows.",
    "AddressNotAllowed": "The link does not work from this address.",
    "AccessDenied": "The signature is right; a policy refuses the request.",
    "KeyNotTrusted": "The distribution does not trust the key that signed it.",
    "PolicyResourceMismatch": "The CloudFront policy names other files.",
    "PolicyExpired": "The CloudFront policy has expired.",
    "IpNotAllowed": "The CloudFront policy does not allow this address.",
    "MalformedPolicy": "The CloudFront policy cannot be read.",
    "BadBase64": "A CloudFront value is not in CloudFront's base64 (-_~).",
}


@dataclass(frozen=True)
class Cause:
    code: str
    headline: str
    message: str
    expected: str
    got: str


def causes(found: Any) -> list[Cause]:
    """The answer's causes, each with its headline; members that are not
    text are shown as text."""
    out = []
    for item in (found.get("Causes") or []) if isinstance(found, dict) else []:
        if not isinstance(item, dict):
            continue
        code = str(item.get("Code") or "")
        out.append(Cause(code, HEADLINES.get(code, ""), _text(item.get("Message")),
                         _text(item.get("Expected")), _text(item.get("Got"))))
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def request_body(text: str, method: str) -> dict[str, str]:
    """What the doctor is asked: a URL, or a refused request's id."""
    if "://" in text:
        return {"Url": text, "Method": method}
    return {"RequestId": text}


async def doctor_page(page: Page) -> Response:
    return page.render("doctor.html", text="", method="GET", methods=METHODS, verdict=None,
                       causes=[], refusal=None, unavailable=False)


async def diagnose(page: Page) -> Response:
    text = page.required("link").strip()
    if len(text) > MAX_INPUT:
        raise BadForm(f"A link is at most {MAX_INPUT} characters here.")
    method = page.arg("method", "GET")
    if method not in METHODS:
        raise BadForm("Choose a method from the list.")
    answer = await page.caller.admin("POST", DOCTOR_PATH, payload=request_body(text, method))
    values: dict[str, Any] = {"text": text, "method": method, "methods": METHODS,
                              "verdict": None, "causes": [], "refusal": None,
                              "unavailable": False}
    # The admin API answers a path it has no route for 404 "NotFound", before
    # it reads anything; the doctor names its own refusals otherwise.
    if answer.status == 404 and results.refusal(answer).code == "NotFound":
        return page.render("doctor.html", **{**values, "unavailable": True})
    if not answer.ok:
        refusal = results.refusal(answer)
        return page.render("doctor.html", refusal.status if refusal.status >= 400 else 502,
                           **{**values, "refusal": refusal})
    found = answer.json()
    verdict = found.get("Verdict") if isinstance(found, dict) else None
    return page.render("doctor.html", **{**values, "verdict": str(verdict or "unknown"),
                                         "causes": causes(found)})
