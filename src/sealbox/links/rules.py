"""The signing endpoint's rules (issue 13, "A signing endpoint instead of a
Lambda"): which token issuers sealbox believes, and which links a token's
holder may ask ``POST /_sealbox/sign`` for. Pure: no I/O, no clock.

The operator stores one document (``sealbox link rules put``)::

    {"Issuers": [{"Name", "Issuer", "Audience", "HS256Secret" | "PublicKeyPem" | "Jwks"}],
     "Rules": [{"Issuer", "SignAs", "Methods", "Resource", "MaxExpires", "MaxUses",
                "BindClientIp", "ContentTypes", "MaxSize", "AllowedOrigins"}]}

``parse_rules`` checks every member and raises ``RulesError`` naming the
field (``Rules[1].Resource``); unknown members are refused, so a typo is
not silently a rule that allows more. ``JwksFile`` is the CLI's: it reads
the file when the rules are put and sends its keys as ``Jwks``, so the
server never opens a path a request names.

An issuer's key fixes its algorithms: ``HS256Secret`` → HS256, an RSA key
→ RS256, a P-256 EC key → ES256. A token's header never chooses (no
``none``, no HS256 with an RSA key's PEM as the secret).

A ``Resource`` is ``bucket/key-pattern``: the bucket literal, the key with
``*`` and ``?`` and ``${jwt:CLAIM}``. A claim's value is substituted as
literal text (``sealbox.wildcards`` pieces that are not live), so a ``sub``
of ``a*`` matches only ``a*``; and a value that is not one plain path
segment (empty, ``.``, ``..``, holding ``/`` or ``\\`` or a control
character) makes the rule not apply at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sealbox.links.model import MAX_EXPIRES, MAX_USES, METHODS
from sealbox.wildcards import Glob, Piece, cached_glob

SETTING = "link-rules"  # the server setting that holds the document
MAX_DOCUMENT = 256 * 1024  # bytes of the document's JSON
MAX_ISSUERS = 32
MAX_RULES = 256
MAX_STARS = 64  # wildcards in one pattern (Resource, ContentTypes, AllowedOrigins)
MAX_PATTERN = 1024
MAX_CLAIM = 256
MIN_HS256_SECRET = 32  # RFC 7518 3.2: a key at least as long as the hash
SECRET_SHOWN = "(set)"

_ISSUER_FIELDS = ("Name", "Issuer", "Audience", "HS256Secret", "PublicKeyPem", "Jwks",
                  "JwksFile")
_RULE_FIELDS = ("Issuer", "SignAs", "Methods", "Resource", "MaxExpires", "MaxUses",
                "BindClientIp", "ContentTypes", "MaxSize", "AllowedOrigins")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_USER = re.compile(r"[\w+=,.@-]{1,64}\Z")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_VARIABLE = re.compile(r"\$\{jwt:([A-Za-z0-9_.:-]{1,64})\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RulesError(ValueError):
    """A rules document that cannot be used; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"


@dataclass(frozen=True)
class Issuer:
    """A token issuer: the ``iss`` and ``aud`` it must carry, and its keys
    (``key`` for a secret or PEM; ``jwks`` the JWKS JSON), kept out of reprs."""

    name: str
    issuer: str
    audience: str
    algorithm: str  # HS256, RS256 or ES256: the only one its tokens may use
    key: str | None = None
    jwks: str | None = None

    def __repr__(self) -> str:
        return f"Issuer({self.name!r}, {self.issuer!r}, {self.algorithm})"


@dataclass(frozen=True)
class Template:
    """A ``Resource`` key pattern as pieces: text, or a claim's name."""

    bucket: str
    parts: tuple[tuple[str, bool], ...]  # (text, True) a pattern, (claim, False) a claim

    def glob(self, claims: dict[str, Any]) -> Glob | None:
        """The key pattern with the claims substituted as literal text, or
        None when a claim is missing or not one plain path segment."""
        pieces: list[Piece] = []
        for text, is_pattern in self.parts:
            if is_pattern:
                pieces.append((text, True))
                continue
            value = claim_text(claims.get(text))
            if value is None:
                return None
            pieces.append((value, False))
        return Glob(tuple(pieces))


@dataclass(frozen=True)
class Rule:
    issuer: str
    sign_as: str
    methods: tuple[str, ...]
    resource: Template
    max_expires: int
    max_uses: int | None
    bind_client_ip: bool
    content_types: tuple[str, ...]
    max_size: int | None
    allowed_origins: tuple[str, ...]

    def admits_origin(self, origin: str) -> bool:
        return any(cached_glob(p).match(origin) for p in self.allowed_origins)

    def admits_content_type(self, content_type: str | None) -> bool:
        if not self.content_types:
            return True
        if content_type is None:
            return False
        return any(cached_glob(p).match(content_type) for p in self.content_types)


@dataclass(frozen=True)
class LinkRules:
    issuers: tuple[Issuer, ...]
    rules: tuple[Rule, ...]
    document: dict[str, Any]  # as put, secrets included: what is stored

    def issuer_for(self, iss: object) -> Issuer | None:
        for issuer in self.issuers:
            if issuer.issuer == iss:
                return issuer
        return None

    def origin_allowed(self, origin: str) -> bool:
        """Whether any rule lets a page on ``origin`` call the endpoint."""
        return any(rule.admits_origin(origin) for rule in self.rules)

    def shown(self) -> dict[str, Any]:
        """The document without its secrets (``HS256Secret`` as ``(set)``)."""
        issuers = []
        for item in self.document.get("Issuers", []):
            item = dict(item)
            if "HS256Secret" in item:
                item["HS256Secret"] = SECRET_SHOWN
            issuers.append(item)
        return {"Issuers": issuers, "Rules": self.document.get("Rules", [])}


EMPTY = LinkRules((), (), {"Issuers": [], "Rules": []})


def claim_text(value: object) -> str | None:
    """A claim as the text substituted in a pattern, or None when it cannot
    stand for one path segment."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if (not text or len(text) > MAX_CLAIM or text in (".", "..") or "/" in text
            or "\\" in text or _CONTROL.search(text)):
        return None
    return text


def parse_rules_text(text: str | bytes) -> LinkRules:
    """A stored or sent document's rules (``RulesError`` otherwise)."""
    if len(text) > MAX_DOCUMENT:
        raise RulesError("document", f"must be at most {MAX_DOCUMENT} bytes")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise RulesError("document", "is not JSON") from None
    return parse_rules(document)


def parse_rules(document: object) -> LinkRules:
    """The rules of a document, every member checked."""
    if not isinstance(document, dict):
        raise RulesError("document", "must be a JSON object")
    _known(document, ("Issuers", "Rules"), "document")
    if len(json.dumps(document)) > MAX_DOCUMENT:
        raise RulesError("document", f"must be at most {MAX_DOCUMENT} bytes")
    issuers = tuple(_issuer(item, f"Issuers[{i}]")
                    for i, item in enumerate(_list(document, "Issuers", "document",
                                                   MAX_ISSUERS)))
    names = [issuer.name for issuer in issuers]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise RulesError(f"Issuers[{i}].Name", f"{name!r} is named twice")
    rules = tuple(_rule(item, f"Rules[{i}]", names)
                  for i, item in enumerate(_list(document, "Rules", "document", MAX_RULES)))
    return LinkRules(issuers, rules, document)


def _known(item: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    for name in item:
        if name not in fields:
            raise RulesError(f"{where}.{str(name)[:64]}",
                             f"unknown field (known: {', '.join(fields)})")


def _list(item: dict[str, Any], name: str, where: str, limit: int) -> list[Any]:
    value = item.get(name, [])
    if not isinstance(value, list):
        raise RulesError(f"{where}.{name}" if where != "document" else name, "must be a list")
    if len(value) > limit:
        raise RulesError(name, f"may hold at most {limit} entries")
    return value


def _text(item: dict[str, Any], name: str, where: str, *, required: bool = True,
          limit: int = 1024) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise RulesError(f"{where}.{name}", f"must be text of 1 to {limit} characters")
    return value


def _issuer(item: object, where: str) -> Issuer:
    if not isinstance(item, dict):
        raise RulesError(where, "must be a JSON object")
    _known(item, _ISSUER_FIELDS, where)
    name = _text(item, "Name", where)
    assert name is not None
    if not _NAME.match(name):
        raise RulesError(f"{where}.Name", "must be 1 to 64 letters, digits, '_', '.' or '-'")
    iss = _text(item, "Issuer", where)
    audience = _text(item, "Audience", where)
    assert iss is not None and audience is not None
    given = [k for k in ("HS256Secret", "PublicKeyPem", "Jwks", "JwksFile") if k in item]
    if len(given) != 1:
        raise RulesError(where, "must give exactly one of HS256Secret, PublicKeyPem, Jwks")
    kind = given[0]
    if kind == "JwksFile":
        raise RulesError(f"{where}.JwksFile", "is read by the CLI (sealbox link rules put), "
                         "which sends the keys as Jwks; send Jwks to the API")
    if kind == "HS256Secret":
        secret = _text(item, kind, where, limit=4096)
        assert secret is not None
        if len(secret.encode()) < MIN_HS256_SECRET:
            raise RulesError(f"{where}.HS256Secret",
                             f"must be at least {MIN_HS256_SECRET} bytes")
        return Issuer(name, iss, audience, "HS256", key=secret)
    if kind == "PublicKeyPem":
        pem = _text(item, kind, where, limit=16384)
        assert pem is not None
        return Issuer(name, iss, audience, pem_algorithm(pem, f"{where}.PublicKeyPem"), key=pem)
    jwks = item["Jwks"]
    algorithm = jwks_algorithm(jwks, f"{where}.Jwks")
    return Issuer(name, iss, audience, algorithm, jwks=json.dumps(jwks))


def pem_algorithm(pem: str, where: str) -> str:
    """RS256 for an RSA public key of 2048 bits or more, ES256 for P-256."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise RulesError(where, "is not a PEM public key") from None
    return _key_algorithm(key, rsa, ec, where)


def _key_algorithm(key: object, rsa: Any, ec: Any, where: str) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise RulesError(where, "an RSA key must have at least 2048 bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise RulesError(where, "must be an RSA (RS256) or P-256 EC (ES256) public key")


def jwks_algorithm(jwks: object, where: str) -> str:
    """The one algorithm of a JWKS's keys (all RSA, or all P-256)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise RulesError(where, 'must be a JWKS: {"keys": [...]} with at least one key')
    if len(jwks["keys"]) > 16:
        raise RulesError(where, "may hold at most 16 keys")
    found = set()
    for i, data in enumerate(jwks["keys"]):
        if not isinstance(data, dict) or "d" in data or "k" in data:
            raise RulesError(f"{where}.keys[{i}]", "must be a public RSA or EC key")
        try:
            key = jwt.PyJWK(data).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise RulesError(f"{where}.keys[{i}]", "is not a usable JWK") from None
        found.add(_key_algorithm(key, rsa, ec, f"{where}.keys[{i}]"))
    if len(found) != 1:
        raise RulesError(where, "keys must be all RSA or all P-256 EC")
    return found.pop()


def _pattern(value: str, field: str) -> None:
    if len(value) > MAX_PATTERN:
        raise RulesError(field, f"must be at most {MAX_PATTERN} characters")
    if value.count("*") > MAX_STARS:
        raise RulesError(field, f"may hold at most {MAX_STARS} '*'")
    if _CONTROL.search(value):
        raise RulesError(field, "must hold no control characters")


def _patterns(item: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    values = item.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise RulesError(f"{where}.{name}", "must be a list of non-empty text")
    if len(values) > 64:
        raise RulesError(f"{where}.{name}", "may hold at most 64 entries")
    for i, value in enumerate(values):
        _pattern(value, f"{where}.{name}[{i}]")
    return tuple(values)


def parse_resource(value: str, field: str) -> Template:
    """``bucket/key-pattern`` with ``${jwt:CLAIM}``, as a ``Template``."""
    _pattern(value, field)
    bucket, slash, key = value.partition("/")
    if not slash or not key:
        raise RulesError(field, "must be bucket/key-pattern, e.g. books/${jwt:sub}/*")
    if not _BUCKET.match(bucket):
        raise RulesError(field, f"the bucket {bucket[:64]!r} must be a bucket name, "
                         "no wildcards or claims")
    parts: list[tuple[str, bool]] = []
    at = 0
    for found in _VARIABLE.finditer(key):
        parts.append((key[at:found.start()], True))
        parts.append((found.group(1), False))
        at = found.end()
    parts.append((key[at:], True))
    for text, is_pattern in parts:
        if is_pattern and "$" in text:
            raise RulesError(field, "'$' may only begin ${jwt:CLAIM}")
    return Template(bucket, tuple(p for p in parts if p[0] or not p[1]))


def _number(item: dict[str, Any], name: str, where: str, low: int, high: int) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RulesError(f"{where}.{name}", f"must be a whole number from {low} to {high}")
    return value


def _rule(item: object, where: str, issuers: list[str]) -> Rule:
    if not isinstance(item, dict):
        raise RulesError(where, "must be a JSON object")
    _known(item, _RULE_FIELDS, where)
    issuer = _text(item, "Issuer", where)
    if issuer not in issuers:
        raise RulesError(f"{where}.Issuer", f"{str(issuer)[:64]!r} names no issuer in Issuers")
    sign_as = _text(item, "SignAs", where)
    assert issuer is not None and sign_as is not None
    if not _USER.match(sign_as):
        raise RulesError(f"{where}.SignAs", "must be an IAM user name")
    methods = item.get("Methods")
    if (not isinstance(methods, list) or not methods
            or not all(isinstance(m, str) and m in METHODS for m in methods)):
        raise RulesError(f"{where}.Methods", f"must be a list of {', '.join(METHODS)}")
    resource = _text(item, "Resource", where, limit=MAX_PATTERN * 2)
    assert resource is not None
    template = parse_resource(resource, f"{where}.Resource")
    max_expires = _number(item, "MaxExpires", where, 1, MAX_EXPIRES) or 900
    max_uses = _number(item, "MaxUses", where, 1, MAX_USES)
    bind = item.get("BindClientIp", False)
    if not isinstance(bind, bool):
        raise RulesError(f"{where}.BindClientIp", "must be true or false")
    content_types = _patterns(item, "ContentTypes", where)
    max_size = _number(item, "MaxSize", where, 0, 5 * 1024**3)
    if (content_types or max_size is not None) and methods != ["PUT"]:
        raise RulesError(where, "ContentTypes and MaxSize need Methods to be [\"PUT\"]")
    return Rule(issuer, sign_as, tuple(methods), template, max_expires, max_uses, bind,
                content_types, max_size, _patterns(item, "AllowedOrigins", where))
