"""Condition operators, as "IAM JSON policy elements: Condition operators" defines them.

A ``Condition`` block is operators → keys → values. The logic (AWS,
"Conditions with multiple context keys or values"):

- several operators, and several keys under one operator: AND;
- several values for one key: OR — except for the negated operators
  (``StringNotEquals``, ``StringNotEqualsIgnoreCase``, ``StringNotLike``,
  ``NumericNotEquals``, ``DateNotEquals``, ``NotIpAddress``,
  ``ArnNotEquals``, ``ArnNotLike``), where they are NOR: the request value
  must match none of them;
- a key absent from the request: the condition is false, except that a
  negated operator is then true ("If the policy condition requires that
  the key is not matched … and the right key is not present, the condition
  is true"), ``…IfExists`` is true, ``ForAllValues:`` is true and
  ``ForAnyValue:`` false; ``Null`` tests presence itself;
- ``ForAllValues:`` — every request value satisfies the operator (the
  negation, if any, applied per value); ``ForAnyValue:`` — at least one
  does. Without a set operator a key with several values is read as "any
  value matches" for the positive operators and "no value matches" for the
  negated ones, so ``aws:SourceVpc`` (the names of every sealbox network
  holding the client) answers "is the request from this network".

Operator names are exact (``stringequals`` is refused); key names are
case-insensitive (see ``variables.context_key``); values compare as each
operator says. Each operator family compiles its values once into a
*positive* matcher ``(request_value, context) -> bool``; negation, set
operators and ``IfExists`` are applied in ``Condition.holds``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from sealbox.access.networks import in_cidrs, parse_address, parse_cidr
from sealbox.access.variables import Context, Template, parse_template
from sealbox.wildcards import Glob, GlobSet, Piece

Matcher = Callable[[str, Context], bool]


class InvalidCondition(ValueError):
    """A condition IAM would refuse; ``str()`` is S3's wording."""


# ---------------------------------------------------------------- names


# operator -> (family, comparison, negated)
OPERATORS: dict[str, tuple[str, str, bool]] = {
    "StringEquals": ("string", "eq", False),
    "StringNotEquals": ("string", "eq", True),
    "StringEqualsIgnoreCase": ("string", "ieq", False),
    "StringNotEqualsIgnoreCase": ("string", "ieq", True),
    "StringLike": ("string", "like", False),
    "StringNotLike": ("string", "like", True),
    "NumericEquals": ("numeric", "eq", False),
    "NumericNotEquals": ("numeric", "eq", True),
    "NumericLessThan": ("numeric", "lt", False),
    "NumericLessThanEquals": ("numeric", "le", False),
    "NumericGreaterThan": ("numeric", "gt", False),
    "NumericGreaterThanEquals": ("numeric", "ge", False),
    "DateEquals": ("date", "eq", False),
    "DateNotEquals": ("date", "eq", True),
    "DateLessThan": ("date", "lt", False),
    "DateLessThanEquals": ("date", "le", False),
    "DateGreaterThan": ("date", "gt", False),
    "DateGreaterThanEquals": ("date", "ge", False),
    "Bool": ("bool", "eq", False),
    "BinaryEquals": ("binary", "eq", False),
    "IpAddress": ("ip", "in", False),
    "NotIpAddress": ("ip", "in", True),
    # "ArnEquals and ArnLike behave identically": both match component-wise
    # with wildcards.
    "ArnEquals": ("arn", "like", False),
    "ArnLike": ("arn", "like", False),
    "ArnNotEquals": ("arn", "like", True),
    "ArnNotLike": ("arn", "like", True),
    "Null": ("null", "null", False),
}


def split_operator(name: str) -> tuple[str, str | None, bool]:
    """``ForAnyValue:StringLikeIfExists`` → (``StringLike``, ``any``, True).

    Raises ``InvalidCondition`` ("Invalid Condition type : X") for a name
    that is not an operator; ``Null`` takes neither a set operator nor
    ``IfExists``."""
    rest, set_op = name, None
    if name.startswith("ForAllValues:"):
        rest, set_op = name[len("ForAllValues:") :], "all"
    elif name.startswith("ForAnyValue:"):
        rest, set_op = name[len("ForAnyValue:") :], "any"
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base not in OPERATORS or (base == "Null" and (if_exists or set_op)):
        raise InvalidCondition(f"Invalid Condition type : {name}")
    return base, set_op, if_exists


# ---------------------------------------------------------------- families


def _string(comparison: str, values: Sequence[str], variables: bool) -> Matcher:
    fixed: list[str] = []
    templates: list[Template] = []
    for value in values:
        parsed = parse_template(value, variables)
        (templates if isinstance(parsed, Template) else fixed).append(parsed)  # type: ignore[arg-type]
    if comparison == "like":
        fixed_globs = GlobSet.of(fixed) if fixed else None

        def like(value: str, context: Context) -> bool:
            if fixed_globs is not None and fixed_globs.match(value):
                return True
            for t in templates:
                if not value.startswith(t.prefix):
                    continue
                glob = t.glob(context)
                if glob is not None and glob.match(value):
                    return True
            return False

        return like
    fold = comparison == "ieq"
    fixed_set = frozenset(v.casefold() for v in fixed) if fold else frozenset(fixed)
    if not templates:
        if fold:
            return lambda value, context: value.casefold() in fixed_set
        return lambda value, context: value in fixed_set

    def equals(value: str, context: Context) -> bool:
        probe = value.casefold() if fold else value
        if probe in fixed_set:
            return True
        for t in templates:
            text = t.text(context)
            if text is not None and (text.casefold() if fold else text) == probe:
                return True
        return False

    return equals


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


_EPOCH = re.compile(r"-?\d+(\.\d+)?\Z")


@lru_cache(maxsize=1024)
def parse_date(text: str) -> float | None:
    """Seconds since the epoch of an IAM date: epoch seconds (``1700000000``)
    or one of the W3C profiles of ISO 8601 (``2020-01-01``,
    ``2020-01-01T00:00:00Z``, ``2020-01-01T00:00:00.000+02:00``). A time
    without an offset is UTC."""
    text = text.strip()
    if _EPOCH.match(text):
        return float(text)
    if len(text) < 10 or text[4:5] != "-":
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _ordered(
    comparison: str, values: Sequence[str], parse: Callable[[str], float | None], operator: str
) -> Matcher:
    bounds = []
    for value in values:
        number = parse(value)
        if number is None:
            raise InvalidCondition(f"Invalid value in Conditions for operator {operator}")
        bounds.append(number)
    compare = _COMPARE[comparison]
    if comparison == "eq":
        exact = frozenset(bounds)

        def equal(value: str, context: Context) -> bool:
            return parse(value) in exact

        return equal

    # "greater than any bound" is "greater than the least" (bounds are finite).
    edge = min(bounds) if comparison in ("gt", "ge") else max(bounds)

    def ordered(value: str, context: Context) -> bool:
        number = parse(value)
        return number is not None and compare(number, edge)

    return ordered


def _bool(values: Sequence[str]) -> Matcher:
    wanted = set()
    for value in values:
        if value.lower() not in ("true", "false"):
            raise InvalidCondition("Invalid value in Conditions for operator Bool")
        wanted.add(value.lower())
    return lambda value, context: value.lower() in wanted


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary(values: Sequence[str]) -> Matcher:
    wanted = set()
    for value in values:
        decoded = _decode(value)
        if decoded is None:
            raise InvalidCondition("Invalid value in Conditions for operator BinaryEquals")
        wanted.add(decoded)
    return lambda value, context: _decode(value) in wanted


def _ip(values: Sequence[str]) -> Matcher:
    cidrs = []
    for value in values:
        cidr = parse_cidr(value)
        if cidr is None:
            raise InvalidCondition("Invalid IP address in Conditions")
        cidrs.append(cidr)
    frozen = tuple(cidrs)

    def inside(value: str, context: Context) -> bool:
        address = parse_address(value)
        return address is not None and in_cidrs(address, frozen)

    return inside


class ArnGlob:
    """An ARN pattern, matched component by component: the first five
    ``:``-separated components match separately (a ``*`` or ``?`` there
    does not cross a ``:``), the sixth — the resource, which may hold ``:``
    — takes the rest. A pattern with fewer components ending in ``*``
    (``arn:aws:iam::*``) lets that ``*`` take the rest, colons and all.
    ``pieces`` are (text, wildcards live) as from a template; a ``:`` in a
    variable's value still separates components."""

    __slots__ = ("colons", "exact", "globs", "open_end")

    def __init__(self, pieces: Sequence[Piece]) -> None:
        parts: list[list[Piece]] = [[]]
        for text, live in pieces:
            for ch in text:
                if ch == ":" and len(parts) < 6:
                    parts.append([])
                else:
                    parts[-1].append((ch, live))
        self.colons = len(parts) - 1
        self.open_end = self.colons < 5 and bool(parts[-1]) and parts[-1][-1] == ("*", True)
        wild = any(live and ("*" in text or "?" in text) for text, live in pieces)
        # Without a wildcard, component by component is the whole text alike.
        self.exact = None if wild else "".join(text for text, _ in pieces)
        self.globs = tuple(Glob(p) for p in parts)

    def match(self, value: str) -> bool:
        if self.exact is not None:
            return value == self.exact
        *components, rest = value.split(":", self.colons)
        if len(components) < self.colons:
            return False
        for glob, part in zip(self.globs, components):
            if not glob.match(part):
                return False
        if self.colons < 5:
            # A short pattern's last component matches no colon, unless it
            # ends in ``*``, which then takes everything from the first
            # colon on: its other wildcards see only the text before it.
            head, colon, _ = rest.partition(":")
            if colon and not self.open_end:
                return False
            rest = head
        return self.globs[-1].match(rest)


@lru_cache(maxsize=1024)
def _arn_glob(pieces: tuple[Piece, ...]) -> ArnGlob:
    """A template's ARN pattern for one set of variable values."""
    return ArnGlob(pieces)


def _arn(values: Sequence[str], variables: bool) -> Matcher:
    fixed = []
    templates = []
    for value in values:
        parsed = parse_template(value, variables)
        if isinstance(parsed, Template):
            templates.append(parsed)
        else:
            fixed.append(ArnGlob([(parsed, True)]))

    def arn(value: str, context: Context) -> bool:
        for glob in fixed:
            if glob.match(value):
                return True
        for t in templates:
            pieces = t.pieces(context)
            if pieces is not None and _arn_glob(tuple(pieces)).match(value):
                return True
        return False

    return arn


def _null(values: Sequence[str]) -> frozenset[bool]:
    wanted = set()
    for value in values:
        if value.lower() not in ("true", "false"):
            raise InvalidCondition("Invalid value in Conditions for operator Null")
        wanted.add(value.lower() == "true")
    return frozenset(wanted)


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Condition:
    """One (operator, key, values) of a Condition block, compiled."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # lookup form
    values: tuple[str, ...]
    base: str
    set_op: str | None
    if_exists: bool
    negated: bool
    matcher: Matcher | None = field(compare=False, repr=False)
    null_wants_absent: frozenset[bool] = field(default=frozenset(), compare=False, repr=False)

    def holds(self, context: Context) -> bool:
        """Whether the request's context satisfies this condition."""
        values = context.get(self.key)
        if self.matcher is None:  # Null: true means "the key is absent"
            return (not values) in self.null_wants_absent
        if not values:
            if self.if_exists or self.set_op == "all":
                return True
            if self.set_op == "any":
                return False
            return self.negated
        match = self.matcher
        negated = self.negated
        if self.set_op is None:
            if len(values) == 1:
                return match(values[0], context) is not negated
            return any(match(v, context) for v in values) is not negated
        if self.set_op == "all":
            return all(match(v, context) is not negated for v in values)
        return any(match(v, context) is not negated for v in values)

    @property
    def fixed_values(self) -> bool:
        """Whether every value is fixed text (no wildcard, no variable)."""
        return not any("*" in v or "?" in v or "${" in v for v in self.values)


def compile_condition(
    operator: str, key: str, values: Sequence[str], *, variables: bool
) -> Condition:
    """One condition, checked and compiled. ``key`` must already be in
    lookup form and known; ``values`` are strings (JSON numbers and
    booleans already written as text)."""
    base, set_op, if_exists = split_operator(operator)
    family, comparison, negated = OPERATORS[base]
    matcher: Matcher | None
    null_wants: frozenset[bool] = frozenset()
    if family == "string":
        matcher = _string(comparison, values, variables)
    elif family == "numeric":
        matcher = _ordered(comparison, values, parse_number, base)
    elif family == "date":
        matcher = _ordered(comparison, values, parse_date, base)
    elif family == "bool":
        matcher = _bool(values)
    elif family == "binary":
        matcher = _binary(values)
    elif family == "ip":
        matcher = _ip(values)
    elif family == "arn":
        matcher = _arn(values, variables)
    else:
        matcher, null_wants = None, _null(values)
    return Condition(
        operator, key, tuple(values), base, set_op, if_exists, negated, matcher, null_wants
    )
