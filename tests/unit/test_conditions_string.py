"""String operators: StringEquals / NotEquals / EqualsIgnoreCase / Like / NotLike.

Rows: tests/vectors/iam/string.json, negated.json (AWS's documented examples; source in each file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sealbox.access.conditions import InvalidCondition, compile_condition
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


@pytest.mark.parametrize("case", _cases("string.json", "negated.json"), ids=lambda c: c["name"])
def test_aws_example(case: dict[str, Any]) -> None:
    assert holds(case["condition"], case["context"]) is case["holds"]


@pytest.mark.parametrize("name", ["stringequals", "StringEqual", "StringLikeIfExist", "IfExists"])
def test_unknown_operator_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidCondition, match="Invalid Condition type : " + name):
        compile_condition(name, "aws:referer", ["x"], variables=True)


def test_like_star_spans_slashes() -> None:
    assert holds({"StringLike": {"s3:prefix": "a/*"}}, {"s3:prefix": "a/b/c/d"})


def test_like_is_anchored_at_both_ends() -> None:
    assert not holds({"StringLike": {"s3:prefix": "b*"}}, {"s3:prefix": "ab"})
    assert not holds({"StringLike": {"s3:prefix": "a"}}, {"s3:prefix": "ab"})


def test_equals_treats_wildcards_as_text() -> None:
    assert not holds({"StringEquals": {"s3:prefix": "a*"}}, {"s3:prefix": "abc"})
    assert holds({"StringEquals": {"s3:prefix": "a*"}}, {"s3:prefix": "a*"})


def test_regex_metacharacters_are_text() -> None:
    assert holds(
        {"StringLike": {"aws:Referer": "https://a.b/(x)+[y]*"}},
        {"aws:Referer": "https://a.b/(x)+[y]zzz"},
    )
    assert not holds(
        {"StringLike": {"aws:Referer": "https://a.b/*"}}, {"aws:Referer": "https://aXb/"}
    )


def test_variables_are_text_in_2008_version_policies() -> None:
    c = compile_condition("StringEquals", "s3:prefix", ["${aws:username}"], variables=False)
    assert c.holds({"s3:prefix": ("${aws:username}",), "aws:username": ("a",)})
    assert not c.holds({"s3:prefix": ("a",), "aws:username": ("a",)})
