"""What ``POST /_sealbox/sign`` decides, without I/O: whose token it is
(``verify_token``, with PyJWT) and which link its holder may have
(``choose``). The clock is a parameter; the endpoint (``api/sign``) reads the
rules, finds the signer's key and makes the link.

Token checks: the issuer is found by the token's ``iss`` (unverified, only
to pick the key); then PyJWT verifies the signature with that issuer's key
and its one algorithm, and ``iss`` and ``aud``; ``exp`` (required) and
``nbf`` are checked here against ``now`` with ``LEEWAY`` seconds either way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from sealbox.links.rules import Issuer, LinkRules, Rule

LEEWAY = 30  # seconds of clock skew allowed on exp and nbf
MAX_TOKEN = 8192
_KEY = re.compile(r"[^/\\\x00-\x1f\x7f]+(?:/[^/\\\x00-\x1f\x7f]+)*\Z")


class SignError(Exception):
    """A refusal: ``code``, ``message`` and the HTTP ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_token(message: str) -> SignError:
    return SignError(401, "InvalidToken", message)


def bad_request(message: str) -> SignError:
    return SignError(400, "InvalidRequest", message)


@dataclass(frozen=True)
class SignRequest:
    """The body of ``POST /_sealbox/sign``."""

    bucket: str
    key: str
    method: str
    content_type: str | None = None
    expires: int | None = None

    @classmethod
    def parse(cls, body: bytes) -> SignRequest:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise bad_request("The body must be a JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("The body must be a JSON object")
        known = ("Bucket", "Key", "Method", "ContentType", "Expires")
        for name in data:
            if name not in known:
                raise bad_request(f"Unknown member {str(name)[:64]!r} (known: "
                                  f"{', '.join(known)})")
        bucket, key, method = data.get("Bucket"), data.get("Key"), data.get("Method", "GET")
        if not isinstance(bucket, str) or not bucket or len(bucket) > 63:
            raise bad_request("Bucket is required")
        if (not isinstance(key, str) or not key or len(key.encode()) > 1024
                or not _KEY.match(key) or any(p in (".", "..") for p in key.split("/"))):
            raise bad_request("Key is required: 1 to 1024 bytes, no empty, '.' or '..' "
                              "segments, no '\\' or control characters")
        if not isinstance(method, str) or method not in ("GET", "HEAD", "PUT"):
            raise bad_request("Method must be GET, HEAD or PUT")
        content_type = data.get("ContentType")
        if content_type is not None and (not isinstance(content_type, str) or not content_type
                                         or len(content_type) > 256
                                         or any(ord(c) < 32 for c in content_type)):
            raise bad_request("ContentType must be text of at most 256 characters")
        if content_type is not None and method != "PUT":
            raise bad_request("ContentType applies to PUT only")
        expires = data.get("Expires")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)
                                    or expires < 1):
            raise bad_request("Expires must be a whole number of seconds, at least 1")
        return cls(bucket, key, method, content_type, expires)


def bearer_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>``."""
    if not authorization:
        raise bad_token("Send the application's token as Authorization: Bearer <token>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise bad_token("Send the application's token as Authorization: Bearer <token>")
    if len(token) > MAX_TOKEN:
        raise bad_token(f"The token is longer than {MAX_TOKEN} characters")
    return token


def _keys(issuer: Issuer, header: dict[str, Any]) -> list[Any]:
    if issuer.key is not None:
        return [issuer.key]
    keys = jwt.PyJWKSet.from_json(issuer.jwks or "{}").keys
    kid = header.get("kid")
    if kid is not None:
        keys = [k for k in keys if k.key_id == kid]
    return [k.key for k in keys]


def verify_token(token: str, rules: LinkRules, now: datetime) -> tuple[Issuer, dict[str, Any]]:
    """The issuer and the claims of a token it signed, or ``SignError`` 401."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise bad_token("The token is not a JWT") from None
    issuer = rules.issuer_for(unverified.get("iss"))
    if issuer is None:
        raise bad_token("The token's issuer (iss) is not one the rules name")
    if header.get("alg") != issuer.algorithm:
        raise bad_token(f"The token must be signed with {issuer.algorithm}")
    claims = None
    for key in _keys(issuer, header):
        try:
            claims = jwt.decode(
                token, key, algorithms=[issuer.algorithm], audience=issuer.audience,
                issuer=issuer.issuer,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "require": ["exp", "iss", "aud"]})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAudienceError:
            raise bad_token("The token's audience (aud) is not this server's") from None
        except jwt.InvalidIssuerError:
            raise bad_token("The token's issuer (iss) does not match") from None
        except jwt.MissingRequiredClaimError as error:
            raise bad_token(f"The token has no {error.claim!r} claim") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise bad_token("The token is not valid") from None
    if claims is None:
        raise bad_token("The token's signature does not verify")
    at = now.timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise bad_token("The token's exp must be a number")
    if exp + LEEWAY <= at:
        raise bad_token("The token has expired")
    if nbf is not None:
        if isinstance(nbf, bool) or not isinstance(nbf, int | float):
            raise bad_token("The token's nbf must be a number")
        if nbf - LEEWAY > at:
            raise bad_token("The token is not valid yet (nbf)")
    return issuer, claims


@dataclass(frozen=True)
class Choice:
    """The rule that allows a request, and the link it gives."""

    rule: Rule
    expires: int
    max_uses: int | None
    max_size: int | None


def choose(rules: LinkRules, issuer: Issuer, claims: dict[str, Any], asked: SignRequest,
           origin: str | None) -> Choice:
    """The first rule of the issuer that admits the request (a page's
    ``origin``, when sent, must be one the rule allows), or 403."""
    for rule in rules.rules:
        if rule.issuer != issuer.name or asked.method not in rule.methods:
            continue
        if origin is not None and not rule.admits_origin(origin):
            continue
        if rule.resource.bucket != asked.bucket:
            continue
        glob = rule.resource.glob(claims)
        if glob is None or not glob.match(asked.key):
            continue
        if asked.method == "PUT" and not rule.admits_content_type(asked.content_type):
            continue
        expires = min(asked.expires or rule.max_expires, rule.max_expires)
        return Choice(rule, expires, rule.max_uses, rule.max_size)
    raise SignError(403, "AccessDenied", "No rule allows this token a "
                    f"{asked.method} link to {asked.bucket}/{asked.key}")
