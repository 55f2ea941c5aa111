"""S3's ``LifecycleConfiguration`` document, read into
``sealbox.lifecycle.rules`` values (with S3's refusals) and written back.

Up to 1000 ``<Rule>``s, each with an ``ID`` (made up when left out, at most
255 characters, unique), a ``Status`` (``Enabled`` or ``Disabled``), either
the legacy ``<Prefix>`` or a ``<Filter>`` (nothing, or one of ``Prefix``,
``Tag``, ``ObjectSizeGreaterThan``, ``ObjectSizeLessThan``, ``And``), and at
least one action: ``Expiration`` (``Days``, a ``Date`` at midnight UTC, or
``ExpiredObjectDeleteMarker``), ``NoncurrentVersionExpiration``
(``NoncurrentDays``, ``NewerNoncurrentVersions``),
``AbortIncompleteMultipartUpload`` (``DaysAfterInitiation``). Refused as S3
refuses them: a document outside the schema is ``MalformedXML`` (a
``Filter`` is a union: two predicates need ``And``); a value out of range
``InvalidArgument``; members that exclude each other ``InvalidRequest``.
``Transition`` and ``NoncurrentVersionTransition`` are refused with
``InvalidStorageClass`` (S3's answer to a storage class it does not offer):
sealbox keeps every object in one storage class, so a transition has
nowhere to go, and accepting one would be a silent lie. A rule is written
back as it was put (the legacy ``Prefix`` stays a ``Prefix``).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC
from typing import Any

from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.http.dates import format_iso8601, parse_iso8601
from sealbox.lifecycle.rules import (
    LEGACY_PREFIX,
    MAX_ID_LENGTH,
    MAX_RULES,
    Configuration,
    Filter,
    Rule,
)

MAX_BODY = 1024 * 1024  # 1000 rules of ~1 KiB
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
MAX_NEWER_NONCURRENT = 100  # S3's bound on NewerNoncurrentVersions
ONE_STORAGE_CLASS = ("sealbox keeps every object in one storage class (STANDARD), so a "
                     "{0} has no storage class to move objects to")

_RULE_CHILDREN = frozenset({"ID", "Status", "Prefix", "Filter", "Expiration",
                            "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload",
                            "Transition", "Transitions", "NoncurrentVersionTransition",
                            "NoncurrentVersionTransitions"})
_AND_CHILDREN = frozenset({"Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"})


# -- parsing -------------------------------------------------------------------


def parse_configuration(body: bytes) -> Configuration:
    """The configuration a ``LifecycleConfiguration`` document holds, or
    the error S3 gives for it."""
    root = parse_xml(body, "LifecycleConfiguration", max_length=MAX_BODY)
    if any(child.tag != "Rule" for child in root):
        raise S3Error("MalformedXML")
    elements = list(root)
    if not elements:
        raise S3Error("MalformedXML")  # the schema requires one rule at least
    if len(elements) > MAX_RULES:
        raise S3Error("InvalidRequest", f"Lifecycle configuration has more than {MAX_RULES} "
                      "rules")
    rules = tuple(_rule(element) for element in elements)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise S3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more "
                          "than one rule", ArgumentName="ID", ArgumentValue=rule.id)
        seen.add(rule.id)
    return Configuration(rules)


def _only(element: Any, name: str) -> Any | None:
    found = find_all(element, name)
    if len(found) > 1:
        raise S3Error("MalformedXML")
    return found[0] if found else None


def _rule(element: Any) -> Rule:
    names = [child.tag for child in element]
    if any(name not in _RULE_CHILDREN for name in names):
        raise S3Error("MalformedXML")
    for name in ("Transition", "Transitions", "NoncurrentVersionTransition",
                 "NoncurrentVersionTransitions"):
        if name in names:
            kind = "Transition" if "Noncurrent" not in name else "NoncurrentVersionTransition"
            raise S3Error("InvalidStorageClass", ONE_STORAGE_CLASS.format(kind))
    if len(set(names)) != len(names):
        raise S3Error("MalformedXML")  # each member once
    rule_id = find_text(element, "ID")
    if rule_id is None or rule_id == "":
        rule_id = secrets.token_urlsafe(36)[:48]  # S3 makes one up
    if len(rule_id) > MAX_ID_LENGTH:
        raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255",
                      ArgumentName="ID", ArgumentValue=rule_id[:64])
    status = find_text(element, "Status")
    if status not in ("Enabled", "Disabled"):
        raise S3Error("MalformedXML")
    rule_filter = _rule_filter(element)
    expiration = _only(element, "Expiration")
    noncurrent = _only(element, "NoncurrentVersionExpiration")
    abort = _only(element, "AbortIncompleteMultipartUpload")
    if expiration is None and noncurrent is None and abort is None:
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    rule = Rule(id=rule_id, enabled=status == "Enabled", filter=rule_filter)
    if expiration is not None:
        rule = _expiration(expiration, rule)
    if noncurrent is not None:
        rule = _noncurrent(noncurrent, rule)
    if abort is not None:
        days = _count(abort, "DaysAfterInitiation", "AbortIncompleteMultipartUpload",
                      required=True)
        rule = _with(rule, abort_days=days)
        if rule_filter.tags:
            raise S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be "
                          "specified with Tags.")
        if rule_filter.greater_than is not None or rule_filter.less_than is not None:
            raise S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be "
                          "specified with an object size filter.")
    return rule


def _with(rule: Rule, **changes: Any) -> Rule:
    return replace(rule, **changes)


def _rule_filter(element: Any) -> Filter:
    legacy = find_all(element, "Prefix")
    filters = find_all(element, "Filter")
    if len(legacy) + len(filters) != 1:
        # One of them, once: S3's schema has the rule name either.
        raise S3Error("MalformedXML")
    if legacy:
        return Filter(shape=LEGACY_PREFIX, prefix=_prefix(legacy[0].text or ""))
    children = list(filters[0])
    if not children:
        return Filter(shape="Empty")
    if len(children) != 1:
        raise S3Error("MalformedXML")  # Filter is a union: one predicate, or And
    child = children[0]
    if child.tag == "And":
        return _and(child)
    if child.tag == "Prefix":
        return Filter(shape="Prefix", prefix=_prefix(child.text or ""))
    if child.tag == "Tag":
        return Filter(shape="Tag", tags=(_tag(child),))
    if child.tag == "ObjectSizeGreaterThan":
        return Filter(shape=child.tag, greater_than=_size(child))
    if child.tag == "ObjectSizeLessThan":
        return Filter(shape=child.tag, less_than=_size(child, least=1))
    raise S3Error("MalformedXML")


def _and(element: Any) -> Filter:
    if any(child.tag not in _AND_CHILDREN for child in element):
        raise S3Error("MalformedXML")
    for name in ("Prefix", "ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        _only(element, name)
    prefix = find_text(element, "Prefix")
    tags = tuple(_tag(tag) for tag in find_all(element, "Tag"))
    if len({name for name, _ in tags}) != len(tags):
        raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    greater = _only(element, "ObjectSizeGreaterThan")
    less = _only(element, "ObjectSizeLessThan")
    result = Filter(shape="And", prefix=_prefix(prefix or ""), tags=tags,
                    greater_than=None if greater is None else _size(greater),
                    less_than=None if less is None else _size(less, least=1))
    if (result.greater_than is not None and result.less_than is not None
            and result.greater_than >= result.less_than):
        raise S3Error("InvalidRequest", "ObjectSizeGreaterThan must be less than "
                      "ObjectSizeLessThan")
    return result


def _prefix(text: str) -> str:
    if len(text.encode()) > 1024 or "\x00" in text:
        raise S3Error("InvalidArgument", "The prefix is too long or holds a NUL.",
                      ArgumentName="Prefix", ArgumentValue=text[:64])
    return text


def _tag(element: Any) -> tuple[str, str]:
    key, value = find_text(element, "Key"), find_text(element, "Value")
    if key is None or value is None or len(element) != 2:
        raise S3Error("MalformedXML")
    if not key or len(key) > MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
        raise S3Error("InvalidTag", "The TagKey you have provided is invalid" if
                      not key or len(key) > MAX_TAG_KEY else
                      "The TagValue you have provided is invalid")
    return key, value


def _number(text: str | None) -> int:
    """A whole number as the schema's integer; MalformedXML otherwise."""
    value = (text or "").strip()
    body = value[1:] if value[:1] == "-" else value
    if not body.isascii() or not body.isdigit() or len(body) > 18:
        raise S3Error("MalformedXML")
    return int(value)


def _size(element: Any, least: int = 0) -> int:
    size = _number(element.text)
    if size < least:
        raise S3Error("InvalidArgument", f"'{element.tag}' should be "
                      f"{'greater than 0' if least else 'a non-negative integer'}",
                      ArgumentName=element.tag, ArgumentValue=str(size))
    return size


def _count(element: Any, name: str, action: str, *, required: bool = False) -> int | None:
    """A positive number of days (or versions) in ``action``."""
    text = find_text(element, name)
    if text is None:
        if required:
            raise S3Error("MalformedXML")
        return None
    value = _number(text)
    if value <= 0:
        raise S3Error("InvalidArgument", f"'{name}' for {action} action must be a positive "
                      "integer", ArgumentName=name, ArgumentValue=str(value))
    return value


def _expiration(element: Any, rule: Rule) -> Rule:
    names = [child.tag for child in element]
    if (any(name not in ("Days", "Date", "ExpiredObjectDeleteMarker") for name in names)
            or len(set(names)) != len(names) or len(names) != 1):
        # Exactly one of the three: S3 refuses ExpiredObjectDeleteMarker
        # beside Days or Date as MalformedXML (aws/aws-cli#8239).
        raise S3Error("MalformedXML")
    if "Days" in names:
        return _with(rule, expiration_days=_count(element, "Days", "Expiration"))
    if "Date" in names:
        text = (find_text(element, "Date") or "").strip()
        try:
            date = parse_iso8601(text if "T" in text else text + "T00:00:00Z")
        except ValueError:
            raise S3Error("MalformedXML") from None
        date = date.astimezone(UTC)
        if (date.hour, date.minute, date.second, date.microsecond) != (0, 0, 0, 0):
            raise S3Error("InvalidArgument", "'Date' must be at midnight GMT",
                          ArgumentName="Date", ArgumentValue=text[:64])
        return _with(rule, expiration_date=date)
    flag = (find_text(element, "ExpiredObjectDeleteMarker") or "").strip()
    if flag not in ("true", "false"):
        raise S3Error("MalformedXML")
    if rule.filter.tags:
        raise S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with "
                      "Tags.")
    return _with(rule, expired_object_delete_marker=flag == "true")


def _noncurrent(element: Any, rule: Rule) -> Rule:
    if any(child.tag not in ("NoncurrentDays", "NewerNoncurrentVersions") for child in element):
        raise S3Error("MalformedXML")
    days = _count(element, "NoncurrentDays", "NoncurrentVersionExpiration", required=True)
    newer = _count(element, "NewerNoncurrentVersions", "NoncurrentVersionExpiration")
    if newer is not None and newer > MAX_NEWER_NONCURRENT:
        raise S3Error("InvalidArgument", f"'NewerNoncurrentVersions' should be at most "
                      f"{MAX_NEWER_NONCURRENT}", ArgumentName="NewerNoncurrentVersions",
                      ArgumentValue=str(newer))
    return _with(rule, noncurrent_days=days, newer_noncurrent_versions=newer)


# -- rendering -----------------------------------------------------------------


def render_configuration(config: Configuration) -> bytes:
    """GetBucketLifecycleConfiguration's body: each rule as it was put."""
    return render("LifecycleConfiguration", [("Rule", _rule_children(r)) for r in config.rules])


def _tag_children(tag: tuple[str, str]) -> list[tuple[str, object]]:
    return [("Key", tag[0]), ("Value", tag[1])]


def _filter_children(f: Filter) -> list[tuple[str, object]]:
    if f.shape == "Empty":
        return []
    if f.shape == "Prefix":
        return [("Prefix", f.prefix)]
    if f.shape == "Tag":
        return [("Tag", _tag_children(f.tags[0]))]
    if f.shape == "ObjectSizeGreaterThan":
        return [("ObjectSizeGreaterThan", str(f.greater_than))]
    if f.shape == "ObjectSizeLessThan":
        return [("ObjectSizeLessThan", str(f.less_than))]
    both: list[tuple[str, object]] = [("Prefix", f.prefix)] if f.prefix else []
    both += [("Tag", _tag_children(tag)) for tag in f.tags]
    if f.greater_than is not None:
        both.append(("ObjectSizeGreaterThan", str(f.greater_than)))
    if f.less_than is not None:
        both.append(("ObjectSizeLessThan", str(f.less_than)))
    return [("And", both)]


def _rule_children(rule: Rule) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if rule.expires_current or rule.expired_object_delete_marker is not None:
        expiration: list[tuple[str, object]] = []
        if rule.expiration_date is not None:
            expiration.append(("Date", format_iso8601(rule.expiration_date)))
        if rule.expiration_days is not None:
            expiration.append(("Days", str(rule.expiration_days)))
        if rule.expired_object_delete_marker is not None:
            expiration.append(("ExpiredObjectDeleteMarker", rule.expired_object_delete_marker))
        out.append(("Expiration", expiration))
    out.append(("ID", rule.id))
    if rule.filter.shape == LEGACY_PREFIX:
        out.append(("Prefix", rule.filter.prefix))
    else:
        out.append(("Filter", _filter_children(rule.filter)))
    out.append(("Status", "Enabled" if rule.enabled else "Disabled"))
    if rule.noncurrent_days is not None:
        out.append(("NoncurrentVersionExpiration", [
            ("NoncurrentDays", str(rule.noncurrent_days)),
            ("NewerNoncurrentVersions", None if rule.newer_noncurrent_versions is None
             else str(rule.newer_noncurrent_versions)),
        ]))
    if rule.abort_days is not None:
        out.append(("AbortIncompleteMultipartUpload",
                    [("DaysAfterInitiation", str(rule.abort_days))]))
    return out
