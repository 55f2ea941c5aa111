"""A bucket's lifecycle configuration as values, and what the rules say
about one object: whether a rule's filter takes it, when it expires, the
``x-amz-expiration`` header that says so. Pure: the clock is an argument.

Kept as the bucket setting ``lifecycle`` (JSON, ``encode``/``decode``);
``sealbox.api.s3.lifecycle`` reads and writes S3's XML, and
``sealbox.lifecycle.worker`` applies the rules.

Days are S3's: "Amazon S3 calculates the time by adding the number of days
specified in the rule to the object creation time and rounding the
resulting time to the next day midnight UTC" (the S3 User Guide, "Lifecycle
configuration elements": created 2014-01-15 10:30 with 3 days expires
2014-01-19 00:00). A shortened day (``--lifecycle-day-seconds``, for tests)
is not rounded, as RGW's ``rgw_lc_debug_interval`` is not: ceph/s3-tests'
lifecycle tests time their waits on that.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from sealbox.http.dates import format_http_date

SETTING = "lifecycle"
DAY = 86400
MAX_RULES = 1000
MAX_ID_LENGTH = 255

# How a rule's filter was written, so GetBucketLifecycleConfiguration answers
# it as it was put (ceph/s3-tests compares the rules it gets with those it
# put): the legacy top-level <Prefix>, or <Filter> holding nothing, one
# predicate, or <And>.
LEGACY_PREFIX = "LegacyPrefix"
FILTER_SHAPES = ("Empty", "Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And")


@dataclass(frozen=True)
class Filter:
    """Which objects a rule takes: all of its predicates hold."""

    shape: str = "Empty"  # LEGACY_PREFIX, or one of FILTER_SHAPES
    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    greater_than: int | None = None  # ObjectSizeGreaterThan, bytes
    less_than: int | None = None  # ObjectSizeLessThan, bytes

    def matches(self, key: str, tags: tuple[tuple[str, str], ...], size: int) -> bool:
        if not key.startswith(self.prefix):
            return False
        if self.greater_than is not None and not size > self.greater_than:
            return False
        if self.less_than is not None and not size < self.less_than:
            return False
        if self.tags:
            have = dict(tags)
            return all(have.get(name) == value for name, value in self.tags)
        return True


@dataclass(frozen=True)
class Rule:
    """One ``<Rule>``; ``None`` is a member left out."""

    id: str
    enabled: bool
    filter: Filter = field(default_factory=Filter)
    expiration_days: int | None = None
    expiration_date: datetime | None = None  # midnight UTC
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_days: int | None = None  # AbortIncompleteMultipartUpload.DaysAfterInitiation

    @property
    def expires_current(self) -> bool:
        return self.expiration_days is not None or self.expiration_date is not None


@dataclass(frozen=True)
class Configuration:
    rules: tuple[Rule, ...]

    def enabled(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)


def after_days(start: float, days: int, day_seconds: int = DAY) -> float:
    """When ``days`` days after ``start`` (epoch seconds) comes, as S3
    counts: at the next midnight UTC (at it, when it is one)."""
    end = start + days * day_seconds
    if day_seconds != DAY:
        return end  # a shortened day has no midnight (see the module docstring)
    return math.ceil(end / DAY) * DAY


def current_expiry(rule: Rule, created: float, day_seconds: int = DAY) -> float | None:
    """When ``rule`` expires a current version created at ``created``."""
    if rule.expiration_days is not None:
        return after_days(created, rule.expiration_days, day_seconds)
    if rule.expiration_date is not None:
        return rule.expiration_date.timestamp()
    return None


def first_expiry(config: Configuration, key: str, tags: tuple[tuple[str, str], ...], size: int,
                 created: float, day_seconds: int = DAY) -> tuple[float, Rule] | None:
    """The earliest expiry of a current version among the enabled rules
    that take it, and the rule; None when none will expire it."""
    found: tuple[float, Rule] | None = None
    for rule in config.rules:
        if not rule.enabled or not rule.expires_current:
            continue
        if not rule.filter.matches(key, tags, size):
            continue
        when = current_expiry(rule, created, day_seconds)
        if when is not None and (found is None or when < found[0]):
            found = (when, rule)
    return found


# A rule id in a header: printable ASCII as it is, the rest percent-encoded
# (an id is any text up to 255 characters; a header value is not).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\%')


def expiration_header(config: Configuration, key: str, tags: tuple[tuple[str, str], ...],
                      size: int, created: datetime) -> str | None:
    """``x-amz-expiration``'s value for a current version, as S3 writes it
    (``expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="…"``), or None.

    Always in real days: the header tells a client the date S3 would give
    (RGW does the same under ``rgw_lc_debug_interval``, and s3-tests'
    header tests expect it)."""
    found = first_expiry(config, key, tags, size, created.timestamp())
    if found is None:
        return None
    when, rule = found
    date = format_http_date(datetime.fromtimestamp(when, UTC))
    return f'expiry-date="{date}", rule-id="{quote(rule.id, safe=_HEADER_SAFE)}"'


# -- stored form ---------------------------------------------------------------


def encode(config: Configuration) -> str:
    """The bucket setting's document."""
    return json.dumps({"rules": [_rule_json(rule) for rule in config.rules]},
                      separators=(",", ":"))


def _rule_json(rule: Rule) -> dict[str, object]:
    f = rule.filter
    out: dict[str, object] = {
        "id": rule.id, "enabled": rule.enabled, "shape": f.shape, "prefix": f.prefix,
        "tags": [list(tag) for tag in f.tags], "gt": f.greater_than, "lt": f.less_than,
        "days": rule.expiration_days, "eodm": rule.expired_object_delete_marker,
        "date": None if rule.expiration_date is None else rule.expiration_date.timestamp(),
        "noncurrent_days": rule.noncurrent_days, "newer": rule.newer_noncurrent_versions,
        "abort_days": rule.abort_days,
    }
    return out


def decode(document: str) -> Configuration:
    """The configuration a stored document holds."""
    data = json.loads(document)
    return Configuration(tuple(_rule(item) for item in data["rules"]))


def _rule(item: dict[str, object]) -> Rule:
    date = item.get("date")
    tags = item.get("tags") or []
    assert isinstance(tags, list)
    return Rule(
        id=str(item["id"]), enabled=bool(item["enabled"]),
        filter=Filter(shape=str(item["shape"]), prefix=str(item["prefix"]),
                      tags=tuple((str(k), str(v)) for k, v in tags),
                      greater_than=_int(item.get("gt")), less_than=_int(item.get("lt"))),
        expiration_days=_int(item.get("days")),
        expiration_date=None if date is None else datetime.fromtimestamp(float(str(date)), UTC),
        expired_object_delete_marker=None if item.get("eodm") is None else bool(item["eodm"]),
        noncurrent_days=_int(item.get("noncurrent_days")),
        newer_noncurrent_versions=_int(item.get("newer")),
        abort_days=_int(item.get("abort_days")),
    )


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))
