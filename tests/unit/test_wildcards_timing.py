"""Wildcard matching cannot be made slow (issue 11), through every caller.

One anonymous GET with a 6 KB ``Referer`` held a worker for 6 s against an
anti-hotlinking Deny when patterns were regular expressions; ``*a*a*a*b``
against 1 KiB of ``a`` took 61 s. Each row here is a pattern and a text
built to make a backtracking matcher retry every way its stars can split
the text (the text almost matches, and fails at its end); each must be
decided in under ``BOUND`` seconds, at 256 characters, 6 KiB and 64 KiB.

Only public entry points that predate sealbox.wildcards are called, so the
table also runs against the code before it. There (commit 0c0d57f) the
five-star rows did not finish in 120 s even at 256 characters, seven other
256-character rows failed (0.06-0.8 s each: ``dots``, ``newlines``), and
CloudFront's two-pointer matcher, which backtracked to its last star, took
12 s on the 64 KiB ``long-segment`` row."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from sealbox.access.conditions import compile_condition
from sealbox.access.model import parse_policy
from sealbox.auth.cloudfront import wildcard_match as cloudfront_match
from sealbox.store.edge_config import path_matches

BOUND = 0.05  # seconds, for one match; the matcher needs well under a millisecond
SIZES = [256, 6 * 1024, 64 * 1024]

# (name, pattern tail, text tail of n characters): the pattern tail follows
# each caller's fixed start (``https://``, ``arn:aws:s3:::bkt/``, ``/``).
ROWS: list[tuple[str, str, Callable[[int], str]]] = [
    ("five-stars", "*a*a*a*a*a*b", lambda n: "a" * n),
    ("forty-stars", "*" + "a*" * 40 + "b", lambda n: "a" * n),
    ("dots", "*.*.*.*/x", lambda n: "a." * (n // 2)),
    ("question-marks", "*a?a?a?a?b*", lambda n: "a" * n),
    ("long-segment", "*" + "a" * 300 + "b*", lambda n: "a" * n),
    ("newlines", "*\n*\n*\n*x", lambda n: "\n" * n),
]
CASES = [
    pytest.param(pattern, make, n, id=f"{name}-{n}")
    for name, pattern, make in ROWS
    for n in SIZES
]


def seconds(decide: Callable[[], object]) -> float:
    start = time.perf_counter()
    decide()
    return time.perf_counter() - start


@pytest.mark.parametrize(("pattern", "make", "n"), CASES)
def test_string_like_condition(pattern: str, make: Callable[[int], str], n: int) -> None:
    deny_unless = compile_condition(
        "StringNotLike",
        "aws:referer",
        ["https://example.com/*", "https://*.example.com/*", "https://" + pattern],
        variables=True,
    )
    context = {"aws:referer": ("https://" + make(n),)}
    assert seconds(lambda: deny_unless.holds(context)) < BOUND


@pytest.mark.parametrize(("pattern", "make", "n"), CASES)
def test_string_like_with_a_policy_variable(
    pattern: str, make: Callable[[int], str], n: int
) -> None:
    like = compile_condition("StringLike", "s3:prefix", ["${aws:username}/" + pattern],
                             variables=True)
    context = {"aws:username": ("u",), "s3:prefix": ("u/" + make(n),)}
    assert seconds(lambda: like.holds(context)) < BOUND


@pytest.mark.parametrize(("pattern", "make", "n"), CASES)
def test_arn_like_condition(pattern: str, make: Callable[[int], str], n: int) -> None:
    arn_like = compile_condition("ArnLike", "aws:sourcearn", ["arn:aws:s3:::bkt/" + pattern],
                                 variables=True)
    context = {"aws:sourcearn": ("arn:aws:s3:::bkt/" + make(n),)}
    assert seconds(lambda: arn_like.holds(context)) < BOUND


@pytest.mark.parametrize(("pattern", "make", "n"), CASES)
def test_resource_element(pattern: str, make: Callable[[int], str], n: int) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/" + pattern}]})
    statement = parse_policy(document, kind="identity").statements[0]
    resource = "arn:aws:s3:::bkt/" + make(n)
    assert seconds(lambda: statement.matches_resource(resource, {})) < BOUND


@pytest.mark.parametrize(("pattern", "make", "n"), CASES)
def test_cloudfront_policy_resource(pattern: str, make: Callable[[int], str], n: int) -> None:
    url = "https://d111111abcdef8.cloudfront.net/" + make(n)
    pattern = "https://d111111abcdef8.cloudfront.net/" + pattern
    assert seconds(lambda: cloudfront_match(pattern, url)) < BOUND


@pytest.mark.parametrize(("pattern", "make", "n"), CASES)
def test_behaviour_and_invalidation_paths(pattern: str, make: Callable[[int], str], n: int) -> None:
    path = "/" + make(n)
    assert seconds(lambda: path_matches("/" + pattern, path)) < BOUND
