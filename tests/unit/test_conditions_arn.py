"""ArnEquals / ArnLike / ArnNotEquals / ArnNotLike: component-wise matching.

Rows: tests/vectors/iam/arn.json (AWS's documented examples; source in each file)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.access.conditions import ArnGlob, compile_condition
from sealbox.access.variables import context_key

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "iam"


def _cases(*names: str) -> list[dict[str, Any]]:
    return [c for n in names for c in json.loads((VECTORS / n).read_text())["cases"]]


def holds(block: dict[str, dict[str, Any]], context: dict[str, Any]) -> bool:
    """A Condition block against a context, as a statement evaluates it."""
    ctx = {context_key(k): tuple(v) if isinstance(v, list) else (v,) for k, v in context.items()}
    return all(
        compile_condition(
            op, context_key(key), value if isinstance(value, list) else [value], variables=True
        ).holds(ctx)
        for op, keys in block.items()
        for key, value in keys.items()
    )


@pytest.mark.parametrize("case", _cases("arn.json"), ids=lambda c: c["name"])
def test_aws_example(case: dict[str, Any]) -> None:
    assert holds(case["condition"], case["context"]) is case["holds"]


def test_a_value_that_is_not_an_arn_matches_nothing() -> None:
    assert not holds(
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, {"aws:SourceArn": "not-an-arn"}
    )


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("arn:aws:iam::*", "arn:aws:iam::123456789012:user/a:b", True),  # a short pattern's end
        ("arn:aws:iam::*x", "arn:aws:iam::1:x", False),  # only a last * takes the colons
        ("arn:aws:iam::1", "arn:aws:iam::1:x", False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k:with:colons", True),
        ("arn:*:s3:::b", "arn:aws:x:s3:::b", False),  # a * stays in its component
        ("arn:aws:s?:::b", "arn:aws:s3:::b", True),
        ("arn:aws:s?:::b", "arn:aws:s::::b", False),  # a ? is no colon either
        ("", "", True),
        ("*", "anything:at:all", True),
    ],
)
def test_arn_glob(pattern: str, value: str, matches: bool) -> None:
    assert ArnGlob([(pattern, True)]).match(value) is matches
    assert (old_arn_regex([(pattern, True)]).match(value) is not None) is matches


# -- the matcher against the regular expression it replaced (issue 11) ------------


def old_arn_regex(pieces: Sequence[tuple[str, bool]]) -> re.Pattern[str]:
    """access/conditions.arn_regex before sealbox.wildcards, the oracle."""
    out: list[str] = []
    colons = 0
    for text, live in pieces:
        for ch in text:
            if ch == ":" and colons < 5:
                colons += 1
                out.append(":")
            elif live and ch == "*":
                out.append("[^:]*" if colons < 5 else ".*")
            elif live and ch == "?":
                out.append("[^:]" if colons < 5 else ".")
            else:
                out.append(re.escape(ch))
    if colons < 5 and out and out[-1] == "[^:]*":
        out[-1] = ".*"
    return re.compile("".join(out) + r"\Z", re.DOTALL)


ARN_TEXT = st.text(alphabet="a:*?/.\n", max_size=12)


@st.composite
def pieces_and_value(draw: st.DrawFn) -> tuple[list[tuple[str, bool]], str]:
    """Pattern pieces, and a value made from them (wildcards filled with
    runs that may hold colons) or drawn freely."""
    pieces = draw(st.lists(st.tuples(ARN_TEXT, st.booleans()), min_size=1, max_size=3))
    if draw(st.booleans()):
        return pieces, draw(st.text(alphabet="a:/.\n", max_size=16))
    out = []
    for text, live in pieces:
        for ch in text:
            if live and ch == "*":
                out.append(draw(st.text(alphabet="a:/", max_size=3)))
            elif live and ch == "?":
                out.append(draw(st.sampled_from("a:/")))
            else:
                out.append(ch)
    return pieces, "".join(out)


@settings(max_examples=1500, deadline=None)
@given(pieces_and_value())
def test_arn_glob_agrees_with_the_regex_it_replaced(
    case: tuple[list[tuple[str, bool]], str],
) -> None:
    pieces, value = case
    assert ArnGlob(pieces).match(value) is (old_arn_regex(pieces).match(value) is not None)
