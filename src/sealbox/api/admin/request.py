"""The admin JSON API's input side: the body read under its cap, parsed as
one JSON object, and its members and the query checked against the route.
``AdminError`` is the API's own refusal (the operations' refusals keep their
IAM or CloudFront codes).

JSON may carry what the IAM and CloudFront XML/form bodies cannot: U+0000,
lone surrogates (``"\\ud800"``) and other characters XML 1.0 refuses. They
are refused here, so no operation (or PostgreSQL, which cannot store
U+0000 in text) ever meets them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealbox.api.admin.routes import Route
from sealbox.errors import S3Error
from sealbox.server.request import Request

MAX_BODY = 1024 * 1024  # a DistributionConfig is a few KB, a policy at most 10 KB
_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SIGNATURE_QUERY = "X-Amz-"  # presigned requests carry their signature in the query
_MAX_SHOWN = 64


@dataclass
class AdminError(Exception):
    """A refusal of the admin API itself: code, message, HTTP status; extra
    members of the error object (``fields``) and response ``headers``."""

    code: str
    message: str
    status: int = 400
    fields: dict[str, str] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)


def invalid(message: str) -> AdminError:
    return AdminError("InvalidParameter", message)


def shown(name: str) -> str:
    """A client-chosen name, quoted and cut short, for an error message."""
    return repr(name if len(name) <= _MAX_SHOWN else name[:_MAX_SHOWN] + "…")


async def read_body(request: Request) -> bytes:
    """The whole body, or ``RequestEntityTooLarge`` past ``MAX_BODY`` (told by
    Content-Length before a byte is read, when it is sent)."""
    too_large = AdminError("RequestEntityTooLarge",
                           f"The request body must be at most {MAX_BODY} bytes.", 413)
    try:
        declared = request.content_length()
        if declared is not None and declared > MAX_BODY:
            raise too_large
        return await request.read(MAX_BODY)
    except S3Error as error:  # a bad Content-Length, or more bytes than allowed
        if error.code in ("MaxMessageLengthExceeded", "EntityTooLarge"):
            raise too_large from None
        raise invalid(error.message) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty), or ``MalformedJSON``."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise AdminError("MalformedJSON", "The body is nested too deeply.") from None
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError too
        raise AdminError("MalformedJSON", f"The body is not JSON: {str(error)[:200]}") from None
    if not isinstance(value, dict):
        raise AdminError("MalformedJSON", "The body must be a JSON object.")
    check_text(value)
    return value


def check_text(value: Any) -> None:
    """Refuse a string (member names too) holding a character XML 1.0 cannot
    carry. Iterative: a deep document must not exhaust the stack here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _FORBIDDEN_TEXT.search(item):
                raise AdminError("MalformedJSON", "The body holds a string with a control "
                                 "character, U+0000, U+FFFE/U+FFFF or a lone surrogate.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def query_params(route: Route, query: Mapping[str, str]) -> dict[str, str]:
    """The route's query parameters; any other (but a presigned request's
    own ``X-Amz-*``) is refused."""
    out: dict[str, str] = {}
    for name, value in query.items():
        if name.startswith(_SIGNATURE_QUERY):
            continue
        if name not in route.query:
            allowed = ", ".join(route.query) or "none"
            raise invalid(f"Unknown query parameter {shown(name)} (this route takes: {allowed}).")
        out[name] = value
    return out


def body_params(route: Route, body: Mapping[str, Any]) -> dict[str, Any]:
    """The members of an IAM or Block Public Access body, checked against the
    route: no unknown member, every required one, strings where IAM takes
    strings. A ``PolicyDocument`` may be a JSON object (sent on as its
    compact text) or the text itself; a ``PolicyArn`` an ARN or the name of
    a policy at path ``/``, as in the path."""
    for name in body:
        if name not in route.body:
            allowed = ", ".join(route.body) or "none"
            raise invalid(f"Unknown member {shown(name)} (this route takes: {allowed}).")
    for name in route.required:
        if name not in body:
            raise invalid(f"The member {name!r} is required.")
    if route.family == "pab":
        return dict(body)  # four booleans, checked by admin_pab.parse
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "PolicyDocument" and isinstance(value, dict | list):
            value = json.dumps(value, separators=(",", ":"))
        if not isinstance(value, str):
            raise invalid(f"The member {name!r} must be a string.")
        out[name] = value  # a PolicyArn: an ARN or a name (policy_arn, in the API)
    return out
