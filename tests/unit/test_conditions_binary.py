"""BinaryEquals: base64 values compared as bytes.

Rows: tests/vectors/iam/binary.json (AWS's documented examples; source in each file)."""

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


@pytest.mark.parametrize("case", _cases("binary.json"), ids=lambda c: c["name"])
def test_aws_example(case: dict[str, Any]) -> None:
    assert holds(case["condition"], case["context"]) is case["holds"]


def test_a_policy_value_that_is_not_base64_is_refused() -> None:
    with pytest.raises(InvalidCondition, match="operator BinaryEquals"):
        compile_condition("BinaryEquals", "key", ["not base64!"], variables=True)
