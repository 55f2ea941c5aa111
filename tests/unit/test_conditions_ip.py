"""IpAddress / NotIpAddress, IPv4 and IPv6 CIDRs.

Rows: tests/vectors/iam/ip.json (AWS's documented examples; source in each file)."""

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


@pytest.mark.parametrize("case", _cases("ip.json"), ids=lambda c: c["name"])
def test_aws_example(case: dict[str, Any]) -> None:
    assert holds(case["condition"], case["context"]) is case["holds"]


@pytest.mark.parametrize("value", ["123", "10.0.0.0/33", "fe80::/129", "host.example.com", ""])
def test_an_invalid_address_is_refused(value: str) -> None:
    with pytest.raises(InvalidCondition, match="Invalid IP address in Conditions"):
        compile_condition("IpAddress", "aws:sourceip", [value], variables=True)


def test_host_bits_in_a_cidr_are_ignored_as_iam_does() -> None:
    assert holds({"IpAddress": {"aws:SourceIp": "192.0.2.77/24"}}, {"aws:SourceIp": "192.0.2.1"})


def test_a_request_address_that_is_not_an_address_matches_nothing() -> None:
    assert not holds({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, {"aws:SourceIp": "unknown"})
    assert holds({"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, {"aws:SourceIp": "unknown"})
