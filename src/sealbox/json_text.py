"""JSON whose strings are text: ``loads`` refuses a lone surrogate.

JSON's ``\\uXXXX`` escapes can name half of a UTF-16 surrogate pair on its
own (``"\\ud800"``). Python's ``json`` decodes it to a ``str`` holding a code
point that no UTF-8 encoder takes, so the document parses, and fails later
and far away: rendering an answer, hashing a policy's compact form, storing
it in SQLite or PostgreSQL — a 500 for what is the client's malformed input.
RFC 8259 §8.2 leaves such strings' behaviour "unpredictable"; every policy
reader here (bucket and IAM policies, POST policies, CloudFront custom
policies) refuses them where the rest of its malformed JSON is refused. A
well-formed pair (``"\\ud83d\\ude00"``) decodes to one code point and is
kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


class LoneSurrogate(ValueError):
    """A string of the document holds a lone surrogate. A ``ValueError``, as
    ``json.JSONDecodeError`` is, so callers refuse both with one clause."""


def loads(document: str | bytes, **options: Any) -> Any:
    """``json.loads(document, **options)``, refusing a lone surrogate in any
    string or member name with ``LoneSurrogate``."""
    value = json.loads(document, **options)
    if has_lone_surrogate(value):
        raise LoneSurrogate("a string holds a lone surrogate (not Unicode text)")
    return value


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string in ``value`` (member names too) holds a surrogate.
    Iterative: a deeply nested document must not exhaust the stack here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
