"""``json_text.loads``: JSON whose strings are Unicode text."""

from __future__ import annotations

import pytest

from sealbox import json_text
from sealbox.json_text import LoneSurrogate


@pytest.mark.parametrize("document", [
    r'"\ud800"',
    r'"\udfff"',
    r'{"a": ["x", {"b": "tail \udc00"}]}',
    r'{"\ud800": 1}',  # a member name
    r'"\ude00\ud83d"',  # a pair in the wrong order is two lone halves
    r'"\ud83d"',  # a high half with nothing after it
])
def test_a_lone_surrogate_anywhere_is_refused_as_a_value_error(document: str) -> None:
    with pytest.raises(LoneSurrogate):
        json_text.loads(document)
    with pytest.raises(ValueError):  # what callers catch for malformed JSON
        json_text.loads(document.encode())


def test_a_surrogate_pair_is_one_code_point_and_is_kept() -> None:
    assert json_text.loads(r'{"smile": "\ud83d\ude00"}') == {"smile": "\U0001f600"}


def test_options_reach_json_loads() -> None:
    assert json_text.loads('{"a": 1, "a": 2}', object_pairs_hook=list) == [("a", 1), ("a", 2)]


def test_deep_documents_are_checked_without_recursion() -> None:
    depth = 50_000
    value: object = "\ud800"
    for _ in range(depth):
        value = [value]
    assert json_text.has_lone_surrogate(value)
