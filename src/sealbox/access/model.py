"""Policy documents: parsed, checked and compiled once, as IAM and S3 read them.

``parse_policy`` turns the JSON of a bucket policy or an identity policy
into a frozen ``Policy`` whose patterns are already compiled, so the
caller can cache it and ``evaluate`` does no parsing per request. Anything
S3 would refuse raises ``MalformedPolicy`` (400) with S3's wording of the
fault; where S3's exact text is not documented the reason is ours and says
so in a comment. References: "IAM JSON policy element reference", "Policy
evaluation logic", "Bucket policy examples", and the answers of
PutBucketPolicy that S3-compatible projects recorded against AWS (for
example versity/versitygw issues #645–#650, #1536).

Decisions:

- JSON keys are case-sensitive and duplicated keys are refused (a
  document that says ``Effect`` twice means two things).
- A missing ``Version`` is ``2008-10-17``, in which policy variables are
  plain text; only ``2012-10-17`` and ``2008-10-17`` exist.
- Bucket policies: ``Principal`` or ``NotPrincipal`` is required; actions
  are S3's; each resource is an ``arn:aws:s3:::`` ARN of *this* bucket;
  each action must apply to one of the statement's resources; size at most
  20 KB of compact JSON. Identity policies: no principal; resources are
  ``*`` or ARNs; 6,144 characters without whitespace (IAM's managed policy
  quota).
- ``NotPrincipal`` only with ``Deny`` (AWS: "we strongly recommend that you
  do not use NotPrincipal with Allow"; we refuse it, as it grants to
  everyone not named, anonymous included).
- A principal that does not exist is refused, as S3 does ("Invalid
  principal in policy"); the caller says what exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal

from sealbox import json_text
from sealbox.access.conditions import Condition, InvalidCondition, compile_condition
from sealbox.access.keys import known_key
from sealbox.access.networks import parse_cidr
from sealbox.access.s3_actions import S3_ACTIONS
from sealbox.access.variables import Context, Template, context_key, parse_template
from sealbox.errors import S3Error
from sealbox.wildcards import GlobSet, cached_glob, compile_glob

PolicyKind = Literal["bucket", "identity"]
Effect = Literal["Allow", "Deny"]

VERSIONS = ("2012-10-17", "2008-10-17")
BUCKET_POLICY_LIMIT = 20 * 1024  # bytes of compact JSON ("Bucket policy size: 20 KB")
IDENTITY_POLICY_LIMIT = 6144  # characters without whitespace (IAM managed policy)
RAW_LIMIT = 256 * 1024  # never parse more than this, whatever its whitespace
S3_ARN = "arn:aws:s3:::"

_ACCOUNT_ID = re.compile(r"\d{12}\Z")
_ROOT_ARN = re.compile(r"arn:aws:iam::(\d{12}):root\Z")
_USER_ARN = re.compile(r"arn:aws:iam::(\d{12}):user/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}\Z")
_SERVICE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:amazonaws\.com|sealbox)\Z")
_ACTION = re.compile(r"([a-z0-9-]+):([A-Za-z0-9*?-]+)\Z", re.IGNORECASE)


class MalformedPolicy(S3Error):
    """A policy document S3 or IAM would refuse; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__("MalformedPolicy", reason)
        self.reason = reason


# ---------------------------------------------------------------- matchers


@dataclass(frozen=True)
class NameSet:
    """Action names or resource ARNs with ``*`` / ``?``, compiled once.

    ``exact`` holds names without wildcards (lower-case for actions),
    ``globs`` the others (``sealbox.wildcards``), ``templates`` the
    resources that hold a policy variable."""

    patterns: tuple[str, ...]
    any: bool
    exact: frozenset[str]
    globs: GlobSet | None = field(compare=False)
    templates: tuple[Template, ...] = ()

    @classmethod
    def build(cls, patterns: Sequence[str], *, fold: bool, variables: bool = False) -> NameSet:
        exact, globs, templates = set(), [], []
        for p in patterns:
            parsed = parse_template(p, variables)
            if isinstance(parsed, Template):
                templates.append(parsed)
            elif "*" in p or "?" in p:
                globs.append(p.lower() if fold else p)
            else:
                exact.add(p.lower() if fold else p)
        compiled = GlobSet.of(globs) if globs else None
        return cls(tuple(patterns), "*" in globs, frozenset(exact), compiled, tuple(templates))

    def match(self, name: str, context: Context | None = None) -> bool:
        """``name`` must already be lower-case for a folded (action) set."""
        if self.any or name in self.exact:
            return True
        if self.globs is not None and self.globs.match(name):
            return True
        return bool(self.templates) and context is not None and self.match_templates(name, context)

    def match_templates(self, name: str, context: Context) -> bool:
        for t in self.templates:
            if not name.startswith(t.prefix):
                continue
            glob = t.glob(context)
            if glob is not None and glob.match(name):
                return True
        return False


@dataclass(frozen=True)
class Principals:
    """What a ``Principal`` / ``NotPrincipal`` names.

    ``accounts`` holds account ids (named as ``123456789012`` or as
    ``arn:aws:iam::123456789012:root``, which "behave the same way");
    ``users`` user ARNs; ``services`` service names."""

    everyone: bool = False
    accounts: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    canonical: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Statement:
    """One statement, compiled. ``index`` is its place in the document."""

    index: int
    sid: str | None
    effect: Effect
    principals: Principals | None  # None in identity policies
    not_principal: bool
    actions: NameSet
    not_action: bool
    resources: NameSet
    not_resource: bool
    conditions: tuple[Condition, ...]
    # Set on a residual copy (sealbox.access.residual): the statement as
    # written, with every condition.
    written: Statement | None = field(default=None, compare=False, repr=False)

    @property
    def as_written(self) -> Statement:
        """The statement as the policy states it (a residual copy's original)."""
        return self.written if self.written is not None else self

    @property
    def allow(self) -> bool:
        return self.effect == "Allow"

    def matches_action(self, action: str) -> bool:
        """``action`` lower-case (``s3:getobject``)."""
        return self.actions.match(action) is not self.not_action

    def matches_resource(self, resource: str, context: Context) -> bool:
        return self.resources.match(resource, context) is not self.not_resource

    def conditions_hold(self, context: Context) -> bool:
        for condition in self.conditions:
            if not condition.holds(context):
                return False
        return True

    @property
    def label(self) -> str:
        return f"Sid {self.sid!r}" if self.sid else f"statement {self.index}"

    @property
    def is_public(self) -> bool:
        """S3's "public" test for one statement: it allows everyone ("*")
        and no condition pins the request to fixed values of a key S3
        counts as restricting (S3 User Guide, "The meaning of 'public'")."""
        if not self.allow or self.principals is None or not self.principals.everyone:
            return False
        return not any(_restricts(c) for c in self.conditions)


# Keys that make a statement to "*" non-public when fixed ("The meaning of
# 'public'", Block Public Access).
_RESTRICTING_KEYS = frozenset(
    k.lower()
    for k in [
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "aws:SourceAccount",
        "aws:userid",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgID",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:DataAccessPointArn",
        "s3:DataAccessPointAccount",
    ]
)
_FIXING_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
)


def _restricts(c: Condition) -> bool:
    if c.if_exists or c.set_op == "all" or not c.values:
        return False  # a request without the key passes: nothing is pinned
    if c.key == "aws:sourceip":
        # "at least /8 for IPv4 and /32 for IPv6" — wider ranges stay public.
        if c.base != "IpAddress":
            return False
        cidrs = [parse_cidr(v) for v in c.values]
        return all(
            cidr is not None and cidr[2].bit_count() >= (8 if cidr[0] == 4 else 32)
            for cidr in cidrs
        )
    return c.key in _RESTRICTING_KEYS and c.base in _FIXING_OPERATORS and c.fixed_values


EXISTING_TAG_PREFIX = "s3:existingobjecttag/"  # a condition key, lookup form


@dataclass(frozen=True)
class Policy:
    """A compiled policy. Cache it; it is immutable.

    ``condition_keys`` lists every context key its conditions and variables
    read (lookup form), so the server computes costly keys
    (``s3:ExistingObjectTag/…`` needs the object's tags) only when some
    policy reads them."""

    kind: PolicyKind
    name: str
    version: str
    id: str | None
    statements: tuple[Statement, ...]
    size: int
    condition_keys: frozenset[str]
    public: bool = False
    _by_action: dict[str, tuple[Statement, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _by_request: dict[tuple[str, str], tuple[tuple[Statement, bool], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def is_public(self) -> bool:
        """Whether S3 would call this bucket policy public (Block Public Access)."""
        return self.public

    @cached_property
    def reads_existing_tags(self) -> bool:
        """Whether a condition reads ``s3:ExistingObjectTag/…`` (the server
        then reads the object's tags for the context)."""
        return any(k.startswith(EXISTING_TAG_PREFIX) for k in self.condition_keys)

    def statements_for(self, action: str) -> tuple[Statement, ...]:
        """The statements whose Action / NotAction admit ``action`` (lower
        case), memoised per action: the action set is small and fixed."""
        hit = self._by_action.get(action)
        if hit is None:
            hit = tuple(s for s in self.statements if s.matches_action(action))
            if len(self._by_action) < 512:
                self._by_action[action] = hit
        return hit

    def candidates(self, action: str, resource: str) -> tuple[tuple[Statement, bool], ...]:
        """The statements that may apply to ``action`` (lower case) on
        ``resource``, in order, each with whether its Resource still needs
        the request's context (a policy variable whose literal start the
        resource has). Only Principal and Condition are left to check.

        Memoised per (action, resource), at most ``_REQUESTS_KEPT`` of them
        (then started afresh): a popular object's requests skip every
        statement about other resources without matching it again."""
        key = (action, resource)
        hit = self._by_request.get(key)
        if hit is None:
            hit = tuple(
                (st, dynamic)
                for st in self.statements_for(action)
                for applies, dynamic in (_resource_applies(st, resource),)
                if applies or dynamic
            )
            if len(self._by_request) >= _REQUESTS_KEPT:
                self._by_request.clear()
            self._by_request[key] = hit
        return hit


_REQUESTS_KEPT = 4096


def _resource_applies(st: Statement, resource: str) -> tuple[bool, bool]:
    """(whether ``st``'s Resource / NotResource admits ``resource`` without
    the context, whether that depends on the context). A template (a
    policy variable) can match only a name starting with its literal start."""
    r = st.resources
    if r.any or resource in r.exact or (r.globs is not None and r.globs.match(resource)):
        return not st.not_resource, False
    if any(resource.startswith(t.prefix) for t in r.templates):
        return False, True
    return st.not_resource, False


# ---------------------------------------------------------------- parsing


PrincipalExists = Callable[[str], bool]


def parse_policy(
    document: str | bytes,
    *,
    kind: PolicyKind = "bucket",
    bucket: str | None = None,
    name: str = "",
    principal_exists: PrincipalExists | None = None,
) -> Policy:
    """Parse, check and compile a policy document, or raise ``MalformedPolicy``.

    ``bucket`` is the bucket a bucket policy is for: its resources must
    name it. ``principal_exists`` is asked about every principal the
    document names — an ``AWS`` principal as an ARN (an account id is
    asked as ``arn:aws:iam::<id>:root``), a ``Service`` by its name, a
    ``CanonicalUser`` by its id — and refusing one makes the policy
    invalid; without it, any well-formed principal is accepted. ``name``
    is carried into decisions (an identity policy's name)."""
    if isinstance(document, bytes):
        if len(document) > RAW_LIMIT:
            raise MalformedPolicy(_too_large(kind))
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPolicy("This policy contains invalid Json") from None
    if len(document) > RAW_LIMIT:
        raise MalformedPolicy(_too_large(kind))
    if not document.lstrip().startswith("{"):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    try:
        data = json_text.loads(document, object_pairs_hook=_no_duplicates,
                               parse_constant=_no_constant)
    except _Duplicate:
        raise MalformedPolicy("Invalid policy syntax.") from None
    except ValueError:  # a lone surrogate (json_text.LoneSurrogate) too
        raise MalformedPolicy("This policy contains invalid Json") from None
    compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if kind == "bucket":
        size = len(compact.encode("utf-8"))
        if size > BUCKET_POLICY_LIMIT:
            raise MalformedPolicy(_too_large(kind))
    else:
        size = sum(1 for ch in document if not ch.isspace())
        if size > IDENTITY_POLICY_LIMIT:
            raise MalformedPolicy(_too_large(kind))
    return _policy(data, kind, bucket, name, principal_exists, size)


def _too_large(kind: PolicyKind) -> str:
    # S3's exact words for an oversized bucket policy are not documented;
    # IAM's for identity policies are "Cannot exceed quota for PolicySize".
    if kind == "bucket":
        return f"Policies must be no larger than {BUCKET_POLICY_LIMIT} bytes"
    return f"Cannot exceed quota for PolicySize: {IDENTITY_POLICY_LIMIT}"


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity are not JSON


def _policy(
    data: Any,
    kind: PolicyKind,
    bucket: str | None,
    name: str,
    principal_exists: PrincipalExists | None,
    size: int,
) -> Policy:
    if not isinstance(data, dict):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    for key in data:
        if key not in ("Version", "Id", "Statement"):
            raise MalformedPolicy(f"Unknown field {key}")
    version = data.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise MalformedPolicy("The policy must contain a valid version string")
    policy_id = data.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicy("Invalid policy syntax.")
    if "Statement" not in data:
        raise MalformedPolicy("Missing required field Statement")
    raw = data["Statement"]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise MalformedPolicy("Invalid policy syntax.")
    if not raw:
        raise MalformedPolicy("Could not parse the policy: Statement is empty!")
    variables = version == "2012-10-17"
    statements = []
    sids: set[str] = set()
    for index, item in enumerate(raw):
        statement = _statement(item, index, kind, bucket, principal_exists, variables)
        if statement.sid:
            if statement.sid in sids:
                raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique.")
            sids.add(statement.sid)
        statements.append(statement)
    keys: set[str] = set()
    for s in statements:
        keys.update(c.key for c in s.conditions)
        for t in s.resources.templates:
            keys.update(t.keys)
        for c in s.conditions:
            for v in c.values:
                parsed = parse_template(v, variables)
                if isinstance(parsed, Template):
                    keys.update(parsed.keys)
    public = any(s.is_public for s in statements)
    return Policy(kind, name, version, policy_id, tuple(statements), size, frozenset(keys), public)


_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)


def _statement(
    item: Any,
    index: int,
    kind: PolicyKind,
    bucket: str | None,
    principal_exists: PrincipalExists | None,
    variables: bool,
) -> Statement:
    if not isinstance(item, dict):
        raise MalformedPolicy("Invalid policy syntax.")
    for key in item:
        if key not in _STATEMENT_FIELDS:
            raise MalformedPolicy(f"Unknown field {key}")
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicy("Invalid policy syntax.")
    if "Effect" not in item:
        raise MalformedPolicy("Missing required field Effect")
    effect = item["Effect"]
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy(f"Invalid effect: {effect}")

    principals, not_principal = _principal_element(item, kind, effect, principal_exists)
    action_patterns, not_action = _pair(item, "Action", "NotAction")
    actions = _actions(action_patterns, kind)
    resource_patterns, not_resource = _pair(item, "Resource", "NotResource")
    for resource in resource_patterns:
        _check_resource(resource, kind, bucket)
    if kind == "bucket" and not not_action and not not_resource:
        _check_applies(action_patterns, resource_patterns)
    resources = NameSet.build(resource_patterns, fold=False, variables=variables)
    conditions = _conditions(item.get("Condition"), variables) if "Condition" in item else ()
    return Statement(
        index,
        sid or None,
        effect,
        principals,
        not_principal,
        actions,
        not_action,
        resources,
        not_resource,
        conditions,
    )


def _strings(value: Any, reason: str) -> list[str]:
    """An element's value: a string, or a non-empty list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise MalformedPolicy(reason)


def _pair(item: Mapping[str, Any], plain: str, negated: str) -> tuple[list[str], bool]:
    if plain in item and negated in item:
        raise MalformedPolicy("Invalid policy syntax.")
    if plain not in item and negated not in item:
        raise MalformedPolicy(f"Missing required field {plain}")
    not_ = negated in item
    reason = "Policy has invalid action" if plain == "Action" else "Policy has invalid resource"
    return _strings(item[negated if not_ else plain], reason), not_


def _principal_element(
    item: Mapping[str, Any],
    kind: PolicyKind,
    effect: str,
    principal_exists: PrincipalExists | None,
) -> tuple[Principals | None, bool]:
    named = [k for k in ("Principal", "NotPrincipal") if k in item]
    if kind == "identity":
        if named:
            raise MalformedPolicy("Policy document should not specify a principal.")
        return None, False
    if not named:
        raise MalformedPolicy("Missing required field Principal")
    if len(named) == 2:
        raise MalformedPolicy("Invalid policy syntax.")
    not_principal = named[0] == "NotPrincipal"
    if not_principal and effect == "Allow":
        raise MalformedPolicy("Invalid principal in policy")
    return _principals(item[named[0]], principal_exists), not_principal


def _principals(value: Any, principal_exists: PrincipalExists | None) -> Principals:
    invalid = "Invalid principal in policy"
    if value == "*":
        return Principals(everyone=True)
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy(invalid)
    everyone = False
    accounts: set[str] = set()
    users: set[str] = set()
    services: set[str] = set()
    canonical: set[str] = set()
    asked: list[str] = []
    for key, entries in value.items():
        listed = _strings(entries, invalid)
        if key == "AWS":
            for entry in listed:
                if entry == "*":
                    everyone = True
                elif _ACCOUNT_ID.match(entry):
                    accounts.add(entry)
                    asked.append(f"arn:aws:iam::{entry}:root")
                elif m := _ROOT_ARN.match(entry):
                    accounts.add(m.group(1))
                    asked.append(entry)
                elif _USER_ARN.match(entry):
                    users.add(entry)
                    asked.append(entry)
                else:
                    raise MalformedPolicy(invalid)
        elif key == "Service":
            for entry in listed:
                if not _SERVICE.match(entry):
                    raise MalformedPolicy(invalid)
                services.add(entry)
                asked.append(entry)
        elif key == "CanonicalUser":
            canonical.update(listed)
            asked.extend(listed)
        else:
            raise MalformedPolicy(invalid)
    if principal_exists is not None and not all(principal_exists(p) for p in asked):
        raise MalformedPolicy(invalid)
    return Principals(
        everyone, frozenset(accounts), frozenset(users), frozenset(services), frozenset(canonical)
    )


def _actions(patterns: Iterable[str], kind: PolicyKind) -> NameSet:
    for pattern in patterns:
        if pattern == "*":
            continue
        m = _ACTION.match(pattern)
        if m is None:
            raise MalformedPolicy("Policy has invalid action")
        service = m.group(1).lower()
        if kind == "bucket" and service != "s3":
            raise MalformedPolicy("Policy has invalid action")
        if service == "s3" and not _names_some(pattern):
            raise MalformedPolicy("Policy has invalid action")
    return NameSet.build(list(patterns), fold=True)


def _names_some(pattern: str) -> bool:
    """Whether an ``s3:`` pattern names at least one action S3 defines."""
    return bool(_action_kinds(pattern.lower()))


@lru_cache(maxsize=1024)
def _action_kinds(lowered: str) -> frozenset[str]:
    """The kinds of resource (bucket, object, service) of the S3 actions a
    lower-case action pattern names; memoised, as policies repeat patterns."""
    if not ("*" in lowered or "?" in lowered):
        kind = S3_ACTIONS.get(lowered)
        return frozenset(() if kind is None else (kind,))
    glob = compile_glob(lowered)
    return frozenset(k for a, k in S3_ACTIONS.items() if glob.match(a))


def _check_resource(resource: str, kind: PolicyKind, bucket: str | None) -> None:
    if kind == "identity":
        if resource != "*" and not (resource.startswith("arn:") and resource.count(":") >= 5):
            raise MalformedPolicy(f'Resource {resource} must be in ARN format or "*".')
        return
    if not resource.startswith(S3_ARN) or len(resource) == len(S3_ARN):
        raise MalformedPolicy("Policy has invalid resource")
    if bucket is None:
        return
    named = resource[len(S3_ARN) :].split("/", 1)[0]
    if "${" in named:
        return  # judged per request, when the variable has a value
    if not cached_glob(named).match(bucket):
        # S3 refuses a resource of another bucket in a bucket policy.
        raise MalformedPolicy("Policy has invalid resource")


def _check_applies(actions: Sequence[str], resources: Sequence[str]) -> None:
    """S3 refuses a statement whose action applies to none of its resources
    (``s3:PutObject`` on ``arn:aws:s3:::bucket``): "Action does not apply to
    any resource(s) in statement"."""
    reach: set[str] = set()
    for resource in resources:
        rest = resource[len(S3_ARN) :]
        if "/" in rest:
            reach.add("object")  # bkt/*: objects only, though * spans "/"
        elif "*" in rest or "${" in rest:
            reach.update(("bucket", "object"))  # bkt* also matches bkt/key
        else:
            reach.add("bucket")
    for pattern in actions:
        lowered = "s3:*" if pattern == "*" else pattern.lower()
        if not _action_kinds(lowered) & reach:
            raise MalformedPolicy("Action does not apply to any resource(s) in statement")


def _condition_values(value: Any) -> list[str]:
    """Condition values: strings, or JSON numbers and booleans written as
    text (``"s3:max-keys": 10``, ``"aws:SecureTransport": false``)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, str):
            out.append(v)
        elif isinstance(v, int | float):
            out.append(repr(v))
        else:
            raise MalformedPolicy("Invalid policy syntax.")
    return out


def _conditions(block: Any, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise MalformedPolicy("Invalid policy syntax.")
    out = []
    for operator, keys in block.items():
        if not isinstance(keys, dict):
            raise MalformedPolicy("Invalid policy syntax.")
        for written, value in keys.items():
            key = context_key(written)
            if not known_key(key):
                raise MalformedPolicy("Policy has an invalid condition key")
            try:
                out.append(
                    compile_condition(operator, key, _condition_values(value), variables=variables)
                )
            except InvalidCondition as e:
                raise MalformedPolicy(str(e)) from None
        if not keys:
            try:  # an operator with no keys constrains nothing, but must exist
                compile_condition(operator, "aws:sourceip", [], variables=variables)
            except InvalidCondition as e:
                raise MalformedPolicy(str(e)) from None
    return tuple(out)
