"""sealbox.wildcards: ``*`` / ``?`` patterns matched without backtracking.

The translation to ``re`` that sealbox used before (issue 11) is kept here
as the oracle: random patterns and texts — stars, question marks, regex
metacharacters, newlines, non-ASCII — match alike both ways. How long
adversarial texts take, through every caller: test_wildcards_timing.py."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.wildcards import Glob, GlobSet, Piece, cached_glob, compile_glob

# -- the oracle: the old translation, as it was in access/variables.py --------------


def glob_to_regex(text: str) -> str:
    out = []
    for ch in text:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def oracle(pieces: Sequence[Piece], text: str) -> bool:
    body = "".join(glob_to_regex(t) if live else re.escape(t) for t, live in pieces)
    return re.compile(body + r"\Z", re.DOTALL).match(text) is not None


# Characters that are special somewhere: wildcards, regex syntax, the ARN and
# path separators, a newline (``.`` without DOTALL would refuse it), a
# letter outside Latin-1 and one outside the BMP.
ALPHABET = "ab*?.\\[]()+^$|{}\n:/é𝄞"
patterns = st.text(alphabet=ALPHABET, max_size=12)
texts = st.text(alphabet=ALPHABET.replace("*", "").replace("?", "") + "*?", max_size=24)


@st.composite
def pattern_and_instance(draw: st.DrawFn) -> tuple[str, str]:
    """A pattern and a text made from it (each ``*`` a random run, each
    ``?`` a random character), sometimes then altered by one character:
    random texts alone rarely match a pattern with several literals."""
    pattern = draw(patterns)
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(draw(st.text(alphabet=ALPHABET, max_size=4)))
        elif ch == "?":
            out.append(draw(st.sampled_from(ALPHABET)))
        else:
            out.append(ch)
    text = "".join(out)
    if text and draw(st.booleans()):
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(["", "a", "\n", "ab"])) + text[i + 1 :]
    return pattern, text


@settings(max_examples=3000, deadline=None)
@given(patterns, texts)
def test_agrees_with_the_regex_it_replaces(pattern: str, text: str) -> None:
    assert compile_glob(pattern).match(text) is oracle([(pattern, True)], text)


@settings(max_examples=3000, deadline=None)
@given(pattern_and_instance())
def test_agrees_on_texts_made_from_the_pattern(case: tuple[str, str]) -> None:
    pattern, text = case
    assert compile_glob(pattern).match(text) is oracle([(pattern, True)], text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(patterns, st.booleans()), max_size=4), texts)
def test_agrees_with_literal_pieces(pieces: list[Piece], text: str) -> None:
    # A policy variable's value is literal text: its * and ? are themselves.
    assert Glob(pieces).match(text) is oracle(pieces, text)


@settings(max_examples=1000, deadline=None)
@given(st.lists(patterns, max_size=5), texts)
def test_a_set_matches_when_one_of_its_patterns_does(several: list[str], text: str) -> None:
    expected = any(oracle([(p, True)], text) for p in several)
    assert GlobSet.of(several).match(text) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("", "", True),
        ("", "a", False),
        ("*", "", True),
        ("**", "anything", True),
        ("?", "", False),
        ("?", "\n", True),  # ? is any one character, a newline too
        ("?", "𝄞", True),  # one code point
        ("a*", "a\nb", True),
        ("*a", "ba", True),
        ("*a*", "bab", True),
        ("*ab*", "aab", True),
        ("a*b", "ab", True),
        ("ab*ba", "aba", False),  # head and tail do not overlap
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*?", "", False),
        ("?*?", "x", False),
        ("?*?", "xy", True),
        ("*a?c*", "xxabcxx", True),
        ("*a?c*", "xxacxx", False),
        ("*??b", "ab", False),
        ("*??b", "aab", True),
        ("a.b", "axb", False),  # regex syntax is text
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("*a*a*a*b", "a" * 100, False),
        ("*a*a*a*b", "a" * 100 + "b", True),
    ],
)
def test_table(pattern: str, text: str, matches: bool) -> None:
    assert compile_glob(pattern).match(text) is matches
    assert oracle([(pattern, True)], text) is matches


@pytest.mark.parametrize(
    ("pattern", "shape", "text"),
    [
        ("abc", "exact", "abc"),
        ("abc*", "prefix", "abc"),
        ("*abc", "suffix", "abc"),
        ("*", "any", ""),
        ("***", "any", ""),
        ("a*c", "other", ""),
        ("a?", "other", ""),
        ("a?*", "other", ""),
    ],
)
def test_shapes_that_a_set_files_apart(pattern: str, shape: str, text: str) -> None:
    glob = compile_glob(pattern)
    assert (glob.shape, glob.text) == (shape, text)


def test_cached_glob_compiles_a_pattern_once() -> None:
    assert cached_glob("/images/*.jpg") is cached_glob("/images/*.jpg")
