"""Browser POST uploads: who signed the form, and does it meet its policy.

A POST form carries its own authority: a base64 JSON policy and a
signature over that base64 text, made with Signature Version 4
(``x-amz-algorithm``, ``x-amz-credential``, ``x-amz-date``,
``x-amz-signature``) or, for legacy clients, Version 2 (``AWSAccessKeyId``,
``signature``: base64 HMAC-SHA1). A form with neither is anonymous.

Sources: "POST Policy" (sigv4-HTTPPOSTConstructPolicy), "Creating an HTML
form" (sigv4-HTTPPOSTForms, HTTPPOSTForms for V2) and "Browser-Based Upload
using HTTP POST" (sigv4-post-example) in the S3 API reference. The error
wording is S3's as other implementations recorded it; where S3 names a
field it uses the case it documents (``'X-Amz-Signature'``).

Pure: the clock (``now``) and the key table (``lookup``) are parameters.
The form is given as its fields before the file, names as sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sealbox import json_text
from sealbox.auth.principal import ANONYMOUS_AUTH, AuthResult, Credential
from sealbox.auth.sigv4 import canonical, keys, parse
from sealbox.errors import S3Error
from sealbox.http.dates import parse_iso8601

Lookup = Callable[[str], Credential | None]

V4_ALGORITHM = "AWS4-HMAC-SHA256"
# The V4 fields in the order S3 names the first one missing.
V4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "Policy")
V2_FIELDS = ("AWSAccessKeyId", "Signature", "Policy")
# "Each form field that you specify in a form (except x-amz-signature, file,
# policy, and field names that have an x-ignore- prefix) must appear in the
# list of conditions" (POST Policy, Conditions); the V2 page exempts
# AWSAccessKeyId and signature in the same sentence.
UNCOVERED = frozenset({"x-amz-signature", "file", "policy", "signature", "awsaccesskeyid"})
# A checksum field only asks S3 to verify the file (a wrong one is refused
# with BadDigest): it grants nothing a policy could have to allow, and S3
# takes it without a condition (issue 16; MinIO, which follows S3 here,
# exempts the same fields in its postPolicyIgnoreKeys).
CHECKSUM_FIELDS = frozenset(f"x-amz-checksum-{name}" for name in
                            ("crc32", "crc32c", "crc64nvme", "sha1", "sha256"))
IGNORED_PREFIX = "x-ignore-"

MISSING_FIELD = ("Bucket POST must contain a field named '{}'.  If it is specified, please "
                 "check the order of the fields.")
EXPIRED = "Invalid according to Policy: Policy expired."
CONDITION_FAILED = "Invalid according to Policy: Policy Condition failed: "
EXTRA_FIELDS = "Invalid according to Policy: Extra input fields: "


@dataclass(frozen=True)
class Form:
    """A form's fields before the file, in order, names as sent.

    Field names are case-insensitive (s3-tests
    ``test_post_object_case_insensitive_condition_fields`` sends ``kEy``
    and ``pOLICy``); the first field of a name wins.
    """

    fields: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        wanted = name.lower()
        for field_name, value in self.fields:
            if field_name.lower() == wanted:
                return value
        return None

    def names(self) -> list[str]:
        return [name for name, _ in self.fields]


@dataclass(frozen=True)
class Condition:
    """One policy condition. ``field`` is lower-case without ``$``, or None
    when the policy wrote a name without ``$`` (which matches nothing)."""

    operator: str  # "eq", "starts-with" or "content-length-range"
    field: str | None
    value: str
    text: str  # as S3 quotes it: ["eq", "$key", "a"]
    low: int = 0
    high: int = 0


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class SizeRange:
    """The file sizes every ``content-length-range`` allows, bounds included."""

    low: int = 0
    high: int | None = None

    def check(self, size: int) -> None:
        """EntityTooLarge / EntityTooSmall with the sizes, as S3 answers."""
        if self.high is not None and size > self.high:
            raise S3Error("EntityTooLarge", ProposedSize=str(size),
                          MaxSizeAllowed=str(self.high))
        if size < self.low:
            raise S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum "
                          "allowed size", ProposedSize=str(size), MinSizeAllowed=str(self.low))


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", "Invalid Policy: " + message)


def _missing(name: str) -> S3Error:
    return S3Error("InvalidArgument", MISSING_FIELD.format(name), ArgumentName=name,
                   ArgumentValue="")


# --- signatures -----------------------------------------------------------------


def is_signed(form: Form) -> bool:
    """Whether the form claims a signature (V4 or V2); a policy alone does not."""
    return any(form.get(name) is not None for name in V4_FIELDS[:4] + V2_FIELDS[:2])


def authenticate_form(form: Form, lookup: Lookup, region: str) -> AuthResult:
    """Who signed the form's policy, or the anonymous principal.

    The signature covers the policy's base64 text as sent, so it is checked
    before the policy is decoded: a policy changed after signing is a
    signature mismatch, never a policy error.
    """
    if any(form.get(name) is not None for name in V4_FIELDS[:4]):
        return _verify_v4(form, lookup, region)
    if any(form.get(name) is not None for name in V2_FIELDS[:2]):
        return _verify_v2(form, lookup)
    return ANONYMOUS_AUTH


def _require(form: Form, names: Iterable[str]) -> list[str]:
    values = []
    for name in names:
        value = form.get(name)
        if value is None:
            raise _missing(name)
        values.append(value)
    return values


def _mismatch(access_key: str, provided: str, policy: str) -> S3Error:
    return S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access_key, StringToSign=policy,
                   SignatureProvided=provided, StringToSignBytes=canonical.hex_bytes(policy))


def _credential(lookup: Lookup, access_key: str) -> Credential:
    credential = lookup(access_key)
    if credential is None or not credential.active:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return credential


def _verify_v4(form: Form, lookup: Lookup, region: str) -> AuthResult:
    algorithm, credential_text, amz_date, signature, policy = _require(form, V4_FIELDS)
    if algorithm != V4_ALGORITHM:
        raise S3Error("InvalidArgument", parse.QUERY_ALGORITHM, ArgumentName="X-Amz-Algorithm",
                      ArgumentValue=algorithm)
    signed_at = parse.parse_amz_date(amz_date)
    if signed_at is None:
        raise S3Error("InvalidArgument", "X-Amz-Date must be formated via ISO8601 Long format",
                      ArgumentName="X-Amz-Date", ArgumentValue=amz_date)
    scope = parse.parse_credential(credential_text, region, code="InvalidArgument", prefix="")
    credential = _credential(lookup, scope.access_key)
    key = keys.signing_key(credential.secret_key, scope.date, region, scope.service)
    if not keys.signatures_match(keys.sign(key, policy), signature):
        raise _mismatch(scope.access_key, signature, policy)
    return AuthResult(principal=credential.principal, auth_type="POST",
                      signature_version=V4_ALGORITHM, payload_hash="UNSIGNED-PAYLOAD",
                      signed_at=signed_at, scope=scope.scope)


def _verify_v2(form: Form, lookup: Lookup) -> AuthResult:
    access_key, signature, policy = _require(form, V2_FIELDS)
    credential = _credential(lookup, access_key)
    digest = hmac.new(credential.secret_key.encode("utf-8"),
                      policy.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape")):
        raise _mismatch(access_key, signature, policy)
    return AuthResult(principal=credential.principal, auth_type="POST", signature_version="AWS",
                      payload_hash="UNSIGNED-PAYLOAD")


# --- the policy document --------------------------------------------------------


def decode_policy(encoded: str) -> PostPolicy:
    """The policy a form's ``policy`` field holds, or InvalidPolicyDocument."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("invalid Base64 encoding.") from None
    try:
        document = json_text.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError, a lone surrogate too
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    for name in document:
        # Member names are case-sensitive: s3-tests sends "EXPIRATION" and
        # "CONDITIONS" and expects 400.
        if name not in ("expiration", "conditions"):
            raise _invalid(f"Unexpected: '{name.lower()}'")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    expiration = _expiration(document["expiration"])
    if "conditions" not in document:
        raise _invalid("Policy missing conditions.")
    items = document["conditions"]
    if not isinstance(items, list):
        raise _invalid("Invalid 'conditions' value: must be a List.")
    return PostPolicy(expiration, tuple(_condition(item) for item in items))


def _expiration(value: object) -> datetime:
    """"ISO8601 GMT date format" (POST Policy, Expiration): ``…Z``, with or
    without fractional seconds. ``str(datetime)`` (a space, ``+00:00``) is
    refused, as s3-tests ``test_post_object_invalid_date_format`` expects."""
    text = value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, str) and value.endswith("Z") and value.isascii():
        try:
            return parse_iso8601(value)
        except ValueError:
            pass
    raise _invalid(f"Invalid 'expiration' value: '{text}'")


def _quote(items: list[object]) -> str:
    return "[" + ", ".join(json.dumps(item, ensure_ascii=False) for item in items) + "]"


def _field(name: str) -> str | None:
    return name[1:].lower() if name.startswith("$") else None


def _bound(value: object) -> int:
    # S3 reads a bound written as a string of digits too; 512.0, -1 or
    # "test" are not sizes.
    if isinstance(value, bool):
        raise _invalid("Invalid JSON.")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    raise _invalid("Invalid JSON.")


def _condition(item: object) -> Condition:
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one "
                           "property specified.")
        ((name, value),) = item.items()
        if not isinstance(value, str):
            raise _invalid("Invalid Simple-Condition: value must be a string.")
        return Condition("eq", name.lower(), value, _quote(["eq", "$" + name, value]))
    if isinstance(item, list):
        if not item or not isinstance(item[0], str):
            raise _invalid("Invalid Condition: missing operation identifier.")
        operator = item[0].lower()
        if operator not in ("eq", "starts-with", "content-length-range"):
            raise _invalid(f"Invalid Condition: unknown operation '{item[0]}'.")
        if len(item) != 3:
            raise _invalid(f"Invalid {item[0]}: wrong number of arguments.")
        text = _quote(item)
        if operator == "content-length-range":
            low, high = _bound(item[1]), _bound(item[2])
            return Condition(operator, None, "", text, low, high)
        name, value = item[1], item[2]
        if not isinstance(name, str) or not isinstance(value, str):
            raise _invalid("Invalid JSON.")
        return Condition(operator, _field(name), value, text)
    raise _invalid("Invalid condition test: must be a List or Object.")


# --- evaluation -----------------------------------------------------------------


def _holds(condition: Condition, form: Form) -> bool:
    if condition.field is None:
        return False
    value = form.get(condition.field)
    if value is None:
        return False  # a field the form lacks fails even ["starts-with", "$f", ""]
    if condition.operator == "eq":
        return value == condition.value
    if condition.field == "content-type":
        # "Content-Types values for a starts-with condition that include
        # commas are interpreted as lists. Each value in the list must meet
        # the condition" (POST Policy, Condition Matching).
        return all(part.strip(" \t").startswith(condition.value) for part in value.split(","))
    return value.startswith(condition.value)


def evaluate_policy(policy: PostPolicy, form: Form, now: datetime) -> SizeRange:
    """Check expiry, every condition in order, then that conditions cover
    every field; returns the file sizes the policy allows.

    ``form`` must hold the ``bucket`` field as the request's URL names it
    (a policy's bucket condition is checked against the bucket posted to,
    and a policy without one has an uncovered field, "bucket"), and ``key``
    with ``${filename}`` already replaced.
    """
    if now > policy.expiration:
        raise S3Error("AccessDenied", EXPIRED)
    low, high = 0, None
    for condition in policy.conditions:
        if condition.operator == "content-length-range":
            low = max(low, condition.low)
            high = condition.high if high is None else min(high, condition.high)
        elif not _holds(condition, form):
            raise S3Error("AccessDenied", CONDITION_FAILED + condition.text)
    covered = {c.field for c in policy.conditions if c.field is not None}
    for name in form.names():
        lower = name.lower()
        if (lower in UNCOVERED or lower in CHECKSUM_FIELDS or lower.startswith(IGNORED_PREFIX)
                or lower in covered):
            continue
        raise S3Error("AccessDenied", EXTRA_FIELDS + name)
    return SizeRange(low, high)
