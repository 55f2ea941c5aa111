"""The IAM Query API's input side, with no I/O: the form body and query
string read into parameters, the parameters checked as IAM checks them, and
``IamError``, the one error type the IAM operations raise.

IAM is an AWS "query" protocol service: ``Action=CreateUser&Version=
2010-05-08&UserName=alice``, form-encoded in a POST body (botocore) or in
the query string (IAM accepts both, as Ceph RGW does). Lists are
``Name.member.N``; IAM's only list inputs we meet are ``Tags``, which
sealbox does not keep.

Messages follow IAM's (the AWS "Coral" validation wording), so scripts that
match on them keep working: ``1 validation error detected: Value null at
'userName' failed to satisfy constraint: Member must not be null``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sealbox.store.identity import IdentityError

API_VERSION = "2010-05-08"
MAX_BODY = 64 * 1024  # bytes: above the largest policy document IAM takes, percent-encoded
DEFAULT_MAX_ITEMS = 100  # IAM's page size when MaxItems is not given
MAX_MAX_ITEMS = 1000
_MARKER = re.compile(r"[\x20-\xff]{1,320}")
_BOOLEAN = {"true": True, "false": False}
SERVICE_FAILURE = (
    "The request processing has failed because of an unknown error, exception or failure."
)


@dataclass
class IamError(Exception):
    """An IAM refusal: IAM's code, message and HTTP status; ``type`` is
    ``Sender`` (the caller's fault) or ``Receiver`` (ours)."""

    code: str
    message: str
    status: int = 400
    type: str = "Sender"
    fields: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @classmethod
    def from_identity(cls, error: IdentityError) -> IamError:
        """The store's IAM errors carry IAM's code, message and status already."""
        kind = "Receiver" if error.status >= 500 else "Sender"
        return cls(error.code, error.message, error.status, kind)


def validation_error(field_name: str, value: str | None, constraint: str) -> IamError:
    shown = "null" if value is None else f"'{value if len(value) <= 256 else value[:256] + '…'}'"
    return IamError(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{field_name}' failed to satisfy "
        f"constraint: {constraint}",
    )


def field_name(param: str) -> str:
    """IAM names a parameter in its messages in lower camel case: ``userName``."""
    return param[:1].lower() + param[1:]


def parse_form(body: bytes, raw_query: str, content_type: str | None) -> dict[str, str]:
    """The request's parameters: the query string's, then the form body's
    (which win). A name given twice keeps its first value in each part, as
    the S3 side reads query strings. Raises ``IamError`` when the body is
    not form text."""
    params: dict[str, str] = {}
    for name, value in _pairs(raw_query):
        params.setdefault(name, value)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if body and media_type in ("", "application/x-www-form-urlencoded"):
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            # Form bodies are percent-encoded ASCII; raw bytes mean the
            # client sent something else.
            raise IamError(
                "MalformedQueryString", "The request body is not URL-encoded form data."
            ) from None
        from_body: dict[str, str] = {}
        for name, value in _pairs(text):
            from_body.setdefault(name, value)
        params.update(from_body)
    return params


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise IamError(
            "MalformedQueryString", "A parameter is not valid percent-encoded UTF-8."
        ) from None


class Params:
    """An operation's parameters, read as IAM reads them."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __repr__(self) -> str:
        return f"Params({sorted(self._values)})"

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def required(self, name: str) -> str:
        value = self._values.get(name)
        if value is None:
            raise validation_error(field_name(name), None, "Member must not be null")
        return value

    def optional(self, name: str, default: str) -> str:
        value = self._values.get(name)
        return default if value is None else value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        found = _BOOLEAN.get(value.lower())
        if found is None:
            raise validation_error(field_name(name), value, "Member must be true or false")
        return found

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self._values.get(name)
        if value is None:
            if default is None:
                raise validation_error(field_name(name), None, "Member must not be null")
            return default
        if value not in choices:
            raise validation_error(
                field_name(name),
                value,
                f"Member must satisfy enum value set: [{', '.join(choices)}]",
            )
        return value

    def max_items(self) -> int:
        value = self._values.get("MaxItems")
        if value is None:
            return DEFAULT_MAX_ITEMS
        if not re.fullmatch(r"[0-9]{1,10}", value):
            raise validation_error("maxItems", value, "Member must be an integer")
        number = int(value)
        if number < 1:
            raise validation_error(
                "maxItems", value, "Member must have value greater than or equal to 1"
            )
        if number > MAX_MAX_ITEMS:
            raise validation_error(
                "maxItems", value, f"Member must have value less than or equal to {MAX_MAX_ITEMS}"
            )
        return number

    def marker(self) -> str:
        """The previous page's ``Marker`` ('' for the first page)."""
        value = self._values.get("Marker")
        if value is None:
            return ""
        if not _MARKER.fullmatch(value):
            raise validation_error(
                "marker", value, r"Member must satisfy regular expression pattern: [\u0020-\u00FF]+"
            )
        return value
