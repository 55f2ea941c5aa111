"""The request context: the condition keys of one request, from its facts.

The server calls ``request_context`` once per request with what it knows
(address, TLS, headers, the authenticated principal, the clock's now) and
passes the result as ``AccessRequest.context``. Values follow AWS's
"AWS global condition context keys" and "Actions, resources, and condition
keys for Amazon S3"; a key is absent when AWS would not send it (no
``aws:username`` for root or anonymous, no ``s3:authType`` for anonymous
requests, no ``s3:TlsVersion`` over plain HTTP).

Keys are in lookup form (``variables.context_key``): lower-case names, tag
keys as written. Every value is a tuple of strings; multivalued keys
(``aws:SourceVpc`` when networks overlap, ``s3:RequestObjectTagKeys``) have
several.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from typing import Any

from sealbox.access.networks import Networks
from sealbox.access.variables import context_key
from sealbox.auth.principal import Principal
from sealbox.errors import S3Error
from sealbox.http.dates import format_iso8601

ContextDict = dict[str, tuple[str, ...]]

# The keys whose values differ from one request to the next (the clock, the
# signature's age): added by ``add_changing_keys``, all others by
# ``steady_context``.
CHANGING_KEYS = frozenset({"aws:currenttime", "aws:epochtime", "s3:signatureage"})

# The longest value a request may bring into the policy context (Referer,
# User-Agent, the tagging header, the listing parameters). S3 refuses a
# request whose header section is over 8 KB (RequestHeaderSectionTooLarge,
# MaxSizeAllowed 8192), so no header value S3 accepts is longer; but
# sealbox's own limit (Settings.max_header_bytes) may be raised, and a query
# parameter (s3:prefix) is bounded only by the request line. Wildcard
# matching costs time in proportion to a value's length (sealbox.wildcards);
# this bounds the length. A longer value refuses the request (400) rather
# than being cut short: a cut value could match a pattern the whole one does
# not (a Deny with StringNotLike "*.example.com").
MAX_VALUE_CHARS = 8192


class ValueTooLong(S3Error):
    """A request value over ``MAX_VALUE_CHARS``: for a header, S3's answer
    to a header section over 8 KB; for a query parameter, InvalidArgument
    (S3 documents no answer; the wording is ours)."""

    def __init__(self, name: str, *, header: bool) -> None:
        if header:
            super().__init__("RequestHeaderSectionTooLarge", MaxSizeAllowed=str(MAX_VALUE_CHARS))
        else:
            super().__init__("InvalidArgument", f"{name} is longer than {MAX_VALUE_CHARS} "
                             "characters.", ArgumentName=name)
        self.name = name


# The facts steady_context checks, in its argument order: (name, whether a header).
_CHECKED = (("Referer", True), ("User-Agent", True), ("x-amz-content-sha256", True),
            ("x-amz-acl", True), ("prefix", False), ("delimiter", False), ("max-keys", False))


def _refuse_long(values: tuple[str | None, ...], tags: Mapping[str, str] | None) -> None:
    """``ValueTooLong`` for the first value over the cap, if any."""
    for (name, header), value in zip(_CHECKED, values, strict=True):
        if value is not None and len(value) > MAX_VALUE_CHARS:
            raise ValueTooLong(name, header=header)
    if tags and max(map(len, chain(tags, tags.values()))) > MAX_VALUE_CHARS:
        raise ValueTooLong("x-amz-tagging", header=True)


# aws:PrincipalType per principal kind ("Request information that you can
# use for policy variables").
_PRINCIPAL_TYPE = {"root": "Account", "user": "User", "anonymous": "Anonymous"}


@lru_cache(maxsize=1024)
def principal_account(principal: Principal) -> str | None:
    """The account id in an ``arn:aws:iam::<account>:…`` principal ARN."""
    parts = principal.arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[4]:
        return parts[4]
    return None


def principal_keys(principal: Principal) -> ContextDict:
    """aws:username, aws:userid, aws:PrincipalType, aws:PrincipalArn,
    aws:PrincipalAccount as AWS sets them for this kind of principal.

    IAM users have no unique id (``AIDA…``) here, so their aws:userid is
    their name."""
    kind = principal.kind
    ctx: ContextDict = {}
    if kind == "anonymous":
        ctx["aws:principaltype"] = ("Anonymous",)
        ctx["aws:userid"] = ("anonymous",)
        return ctx
    account = principal_account(principal)
    if kind in _PRINCIPAL_TYPE:
        ctx["aws:principaltype"] = (_PRINCIPAL_TYPE[kind],)
    elif kind == "service":
        ctx["aws:principalisawsservice"] = ("true",)
        ctx["aws:principalservicename"] = (principal.name,)
    if kind == "user":
        ctx["aws:username"] = (principal.name,)
        ctx["aws:userid"] = (principal.name,)
    elif kind == "root" and account:
        ctx["aws:userid"] = (account,)
    if principal.arn.startswith("arn:"):
        ctx["aws:principalarn"] = (principal.arn,)
    if account:
        ctx["aws:principalaccount"] = (account,)
    return ctx


@lru_cache(maxsize=1024)
def _principal_items(principal: Principal) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """principal_keys, memoised: a principal makes many requests."""
    return tuple(principal_keys(principal).items())


@lru_cache(maxsize=16)
def _iso(epoch_seconds: int) -> str:
    """aws:CurrentTime's form; memoised, as requests share the same second."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_context(principal: Principal, *, now: datetime, signed_at: datetime | None = None,
                    **facts: Any) -> ContextDict:
    """The condition keys of one request: ``steady_context`` of ``facts``
    (its keyword arguments) and the changing keys of ``now`` and
    ``signed_at``. See ``sealbox.access.evaluate`` for where the server
    takes each argument from."""
    ctx = steady_context(principal, **facts)
    add_changing_keys(ctx, principal, now=now, signed_at=signed_at)
    return ctx


def add_changing_keys(ctx: ContextDict, principal: Principal, *, now: datetime,
                      signed_at: datetime | None,
                      wanted: frozenset[str] = CHANGING_KEYS) -> None:
    """The keys that change from one request to the next (the clock and the
    signature's age: ``CHANGING_KEYS``), those of them ``wanted``, added to
    ``ctx``."""
    epoch = int(now.timestamp())
    if "aws:currenttime" in wanted:
        ctx["aws:currenttime"] = (_iso(epoch),)
    if "aws:epochtime" in wanted:
        ctx["aws:epochtime"] = (str(epoch),)
    if "s3:signatureage" in wanted and signed_at is not None and principal.kind != "anonymous":
        age_ms = int((now - signed_at).total_seconds() * 1000)
        ctx["s3:signatureage"] = (str(max(age_ms, 0)),)


def steady_context(
    principal: Principal,
    *,
    source_ip: str | None,
    secure_transport: bool,
    networks: Networks | None = None,
    referer: str | None = None,
    user_agent: str | None = None,
    auth_type: str | None = None,
    signature_version: str | None = None,
    tls_version: str | None = None,
    content_sha256: str | None = None,
    acl: str | None = None,
    prefix: str | None = None,
    delimiter: str | None = None,
    max_keys: str | None = None,
    existing_object_tags: Mapping[str, str] | None = None,
    request_object_tags: Mapping[str, str] | None = None,
    source_arn: str | None = None,
    source_account: str | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> ContextDict:
    """The condition keys of one request but those ``add_changing_keys``
    adds: the same for every request with the same facts. Raises
    ``ValueTooLong`` for a request value over ``MAX_VALUE_CHARS``."""
    cap = MAX_VALUE_CHARS  # written out: this runs for every new client's first request
    if (len(referer or "") > cap or len(user_agent or "") > cap or len(content_sha256 or "") > cap
            or len(acl or "") > cap or len(prefix or "") > cap or len(delimiter or "") > cap
            or len(max_keys or "") > cap or request_object_tags):
        _refuse_long((referer, user_agent, content_sha256, acl, prefix, delimiter, max_keys),
                     request_object_tags)
    ctx = dict(_principal_items(principal))
    ctx["aws:securetransport"] = ("true" if secure_transport else "false",)
    if source_ip:
        ctx["aws:sourceip"] = (source_ip,)
        if networks is not None:
            names = networks.names_for(source_ip)
            if names:
                ctx["aws:sourcevpc"] = names
                ctx["aws:sourcevpce"] = names
    if referer is not None:
        ctx["aws:referer"] = (referer,)
    if user_agent is not None:
        ctx["aws:useragent"] = (user_agent,)
    if principal.kind != "anonymous":
        if auth_type and auth_type != "ANONYMOUS":
            ctx["s3:authtype"] = (auth_type,)
        if signature_version:
            ctx["s3:signatureversion"] = (signature_version,)
    if tls_version:
        ctx["s3:tlsversion"] = (tls_version,)
    if content_sha256 is not None:
        ctx["s3:x-amz-content-sha256"] = (content_sha256,)
    if acl is not None:
        ctx["s3:x-amz-acl"] = (acl,)
    if prefix is not None:
        ctx["s3:prefix"] = (prefix,)
    if delimiter is not None:
        ctx["s3:delimiter"] = (delimiter,)
    if max_keys is not None:
        ctx["s3:max-keys"] = (max_keys,)
    if existing_object_tags:
        for k, v in existing_object_tags.items():
            ctx["s3:existingobjecttag/" + k] = (v,)
    if request_object_tags:
        for k, v in request_object_tags.items():
            ctx["s3:requestobjecttag/" + k] = (v,)
        ctx["s3:requestobjecttagkeys"] = tuple(request_object_tags)
    if source_arn is not None:
        ctx["aws:sourcearn"] = (source_arn,)
    if source_account is not None:
        ctx["aws:sourceaccount"] = (source_account,)
    if extra:
        for k, values in extra.items():
            ctx[context_key(k)] = tuple(values)
    return ctx


def object_lock_keys(mode: str | None, until: datetime | None, legal_hold: str | None, *,
                     now: datetime) -> dict[str, tuple[str, ...]]:
    """The ``s3:object-lock-*`` condition keys of a request that sets a
    version's lock (its ``x-amz-object-lock-*`` headers, or the body of
    PutObjectRetention / PutObjectLegalHold): the mode, the retain-until
    date (ISO 8601), the days from ``now`` to it (rounded up, so a
    retention asked for 30 days counts 30, not 29 and some hours), and the
    legal hold's ``ON``/``OFF``. A value the request leaves out is absent."""
    keys: dict[str, tuple[str, ...]] = {}
    if mode is not None:
        keys["s3:object-lock-mode"] = (mode,)
    if until is not None:
        keys["s3:object-lock-retain-until-date"] = (format_iso8601(until),)
        days = max(0, -(-int((until - now).total_seconds()) // 86400))
        keys["s3:object-lock-remaining-retention-days"] = (str(days),)
    if legal_hold is not None:
        keys["s3:object-lock-legal-hold"] = (legal_hold,)
    return keys
