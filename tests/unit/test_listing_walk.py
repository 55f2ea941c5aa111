"""The listing walk against an in-memory store.

The tables are S3's documented examples and ceph/s3-tests' recorded
answers; a property test checks the walk against a naive full scan, and
that paging with the walk's own positions lists everything exactly once.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.api.s3.listing import MAX_CHAR, Page, Position, decode_token, encode_token, walk
from sealbox.errors import S3Error


@dataclass(frozen=True)
class Item:
    key: str
    upload_id: str = ""


class FakeStore:
    """``list_objects`` over sorted keys (code point = UTF-8 byte order),
    counting the calls and the rows it hands out."""

    def __init__(self, keys: list[str], prefix: str = "") -> None:
        self.keys = sorted(set(keys))
        self.prefix = prefix
        self.calls = 0
        self.rows = 0

    def __call__(self, after: Position, limit: int) -> list[Item]:
        self.calls += 1
        start = max(bisect.bisect_right(self.keys, after[0]),
                    bisect.bisect_left(self.keys, self.prefix))
        out: list[Item] = []
        for key in self.keys[start:]:
            if len(out) == limit or not key.startswith(self.prefix):
                break
            out.append(Item(key))
        self.rows += len(out)
        return out


def listing(keys: list[str], prefix: str = "", delimiter: str = "", after: str = "",
            max_keys: int = 1000) -> Page[Item]:
    return walk(FakeStore(keys, prefix), prefix, delimiter, after, max_keys)


def names(page: Page[Item]) -> tuple[list[str], list[str]]:
    return [i.key for i in page.items], page.prefixes


# -- S3's documented examples ------------------------------------------------------

# ListObjects / ListObjectsV2 API reference, "Listing keys using the prefix
# and delimiter parameters".
PHOTOS = [
    "sample.jpg",
    "photos/2006/January/sample.jpg",
    "photos/2006/February/sample2.jpg",
    "photos/2006/February/sample3.jpg",
    "photos/2006/February/sample4.jpg",
]


def test_walk_doc_example_delimiter_at_root() -> None:
    page = listing(PHOTOS, delimiter="/")
    assert names(page) == (["sample.jpg"], ["photos/"])
    assert not page.truncated


def test_walk_doc_example_prefix_photos_2006() -> None:
    page = listing(PHOTOS, prefix="photos/2006/", delimiter="/")
    assert names(page) == ([], ["photos/2006/February/", "photos/2006/January/"])


# -- ceph/s3-tests ----------------------------------------------------------------------

S3TESTS_KEYS = ["asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"]

# (prefix, marker, max_keys, truncated, keys, prefixes, last)
DELIMITER_PREFIX = [
    ("", "", 1, True, ["asdf"], [], "asdf"),
    ("", "asdf", 1, True, [], ["boo/"], "boo/"),
    ("", "boo/", 1, False, [], ["cquux/"], "cquux/"),
    ("", "", 2, True, ["asdf"], ["boo/"], "boo/"),
    ("", "boo/", 2, False, [], ["cquux/"], "cquux/"),
    ("boo/", "", 1, True, ["boo/bar"], [], "boo/bar"),
    ("boo/", "boo/bar", 1, False, [], ["boo/baz/"], "boo/baz/"),
    ("boo/", "", 2, False, ["boo/bar"], ["boo/baz/"], "boo/baz/"),
]


@pytest.mark.parametrize("prefix,marker,max_keys,truncated,keys,prefixes,last", DELIMITER_PREFIX)
def test_walk_s3tests_delimiter_prefix_pages(prefix: str, marker: str, max_keys: int,
                                             truncated: bool, keys: list[str],
                                             prefixes: list[str], last: str) -> None:
    page = listing(S3TESTS_KEYS, prefix=prefix, delimiter="/", after=marker, max_keys=max_keys)
    assert names(page) == (keys, prefixes)
    assert page.truncated is truncated
    assert page.last == (last, "")


@pytest.mark.parametrize("delimiter,prefixes", [
    ("a", ["ba", "ca"]),  # s3-tests test_bucket_list_delimiter_alt: any string delimits
    ("%", ["b%", "c%"]),
    (" ", ["b ", "c "]),
    (".", ["b.", "c."]),
])
def test_walk_delimiter_any_string(delimiter: str, prefixes: list[str]) -> None:
    sep = "" if delimiter == "a" else delimiter
    stored = [f"b{sep}ar", f"b{sep}az", f"c{sep}ab", "foo"]
    assert names(listing(stored, delimiter=delimiter)) == (["foo"], prefixes)


def test_walk_delimiter_no_key_holds() -> None:
    # s3-tests test_bucket_list_delimiter_unreadable / _not_exist
    stored = ["bar", "baz", "cab", "foo"]
    assert names(listing(stored, delimiter="\n")) == (stored, [])
    assert names(listing(stored, delimiter="/")) == (stored, [])


def test_walk_multi_character_delimiter() -> None:
    stored = ["a--b--c", "a--d", "a-e", "f"]
    assert names(listing(stored, delimiter="--")) == (["a-e", "f"], ["a--"])
    assert names(listing(stored, prefix="a--", delimiter="--")) == (["a--d"], ["a--b--"])


def test_walk_key_equal_to_prefix_ending_in_delimiter_is_a_key() -> None:
    # s3-tests test_bucket_list_delimiter_prefix_ends_with_delimiter
    assert names(listing(["asdf/"], prefix="asdf/", delimiter="/")) == (["asdf/"], [])


def test_walk_not_skip_special() -> None:
    # s3-tests test_bucket_list_delimiter_not_skip_special: keys right after a
    # dense common prefix ("0/" + 999 keys) are all listed.
    stored = ["0/"] + [f"0/{i}" for i in range(1000, 1999)] + ["1999", "1999#", "1999+", "2000"]
    assert names(listing(stored, delimiter="/")) == (["1999", "1999#", "1999+", "2000"], ["0/"])


def test_walk_max_keys_zero_is_empty_and_not_truncated() -> None:
    page = listing(["bar", "baz"], max_keys=0)
    assert page.entries == [] and not page.truncated


def test_walk_marker_not_in_list_and_after_list() -> None:
    stored = ["bar", "baz", "foo", "quxx"]
    assert names(listing(stored, after="blah")) == (["foo", "quxx"], [])
    assert names(listing(stored, after="zzz")) == ([], [])
    assert names(listing(stored, after="\n")) == (stored, [])


def test_walk_marker_inside_common_prefix_skips_it() -> None:
    # Entries (keys and common prefixes) are listed strictly after the
    # marker, so a common prefix the marker lies in was already listed.
    stored = ["a/1", "a/2", "b/1", "c"]
    assert names(listing(stored, delimiter="/", after="a/1")) == (["c"], ["b/"])
    assert names(listing(stored, delimiter="/", after="a")) == (["c"], ["a/", "b/"])


def test_walk_orders_by_utf8_bytes() -> None:
    stored = ["z", "é", "\U0001f600", "\uffef", "A", "a"]
    assert names(listing(stored))[0] == sorted(stored, key=lambda k: k.encode("utf-8"))


def test_walk_keys_continuing_with_max_code_point_are_still_grouped() -> None:
    stored = ["a/x", f"a/{MAX_CHAR}", f"a/{MAX_CHAR}{MAX_CHAR}", f"a/{MAX_CHAR}z", "b"]
    page = listing(stored, delimiter="/")
    assert names(page) == (["b"], ["a/"])


# -- cost: the walk jumps over common prefixes ----------------------------------------


def test_walk_does_not_read_keys_under_a_common_prefix() -> None:
    stored = [f"dir{d:03d}/file{f:05d}" for d in range(100) for f in range(1000)]
    store = FakeStore(stored)
    page = walk(store, "", "/", "", 1000)
    assert page.prefixes == [f"dir{d:03d}/" for d in range(100)]
    # 100,000 keys: the first batch (1001 rows), then two rows per directory.
    assert store.rows < 1300
    assert store.calls <= 110


def test_walk_flat_page_is_one_store_call() -> None:
    stored = [f"k{i:06d}" for i in range(5000)]
    store = FakeStore(stored)
    page = walk(store, "", "", "", 1000)
    assert len(page.items) == 1000 and page.truncated
    assert store.calls == 1 and store.rows == 1001


# -- uploads: positions inside a key -------------------------------------------------


def test_walk_upload_positions_page_within_one_key() -> None:
    uploads = [Item("a", "u1"), Item("a", "u2"), Item("a", "u3"), Item("b", "u4")]

    def list_fn(after: Position, limit: int) -> list[Item]:
        key, uid = after
        rest = [u for u in uploads if u.key > key or (uid and u.key == key and u.upload_id > uid)]
        return rest[:limit]

    def pos(u: Item) -> Position:
        return (u.key, u.upload_id)

    first = walk(list_fn, "", "", "", 2, position=pos)
    assert [u.upload_id for u in first.items] == ["u1", "u2"] and first.truncated
    assert first.last == ("a", "u2")
    second = walk(list_fn, "", "", first.last, 2, position=pos)  # type: ignore[arg-type]
    assert [u.upload_id for u in second.items] == ["u3", "u4"] and not second.truncated


# -- continuation tokens ---------------------------------------------------------------


@pytest.mark.parametrize("last", ["a", "photos/2006/", "é/ü +%", "\U0001f600", "x" * 1024])
def test_token_round_trip(last: str) -> None:
    token = encode_token(last)
    assert decode_token(token) == last
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("token", ["!!!", "a", "YQ=", "YQ==", "/w", "gA", "YQ a"])
def test_token_refuses_what_we_did_not_issue(token: str) -> None:
    with pytest.raises(S3Error) as info:
        decode_token(token)
    assert info.value.code == "InvalidArgument"
    assert info.value.message == "The continuation token provided is incorrect"


# -- property: the walk equals a naive scan, and pages cover everything once --------


def naive(keys: list[str], prefix: str, delimiter: str, after: str) -> list[str]:
    """Every entry name (key or common prefix) after ``after``, in order."""
    out: list[str] = []
    for key in sorted(set(keys)):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        name = key if cut < 0 else key[: cut + len(delimiter)]
        if cut < 0 and key <= after:
            continue
        if cut >= 0 and (after.startswith(name) or name <= after):
            continue
        if not out or out[-1] != name:
            out.append(name)
    return out


alphabet = st.sampled_from(["a", "b", "/", "-", "é", MAX_CHAR, "\U0001f600"])
key_st = st.text(alphabet, min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(key_st, max_size=40), prefix=st.text(alphabet, max_size=2),
       delimiter=st.sampled_from(["", "/", "-", "a/", MAX_CHAR]),
       after=st.text(alphabet, max_size=4), max_keys=st.integers(1, 7),
       batch=st.integers(1, 5))
def test_walk_matches_naive_scan_and_pages_cover_all(keys: list[str], prefix: str,
                                                      delimiter: str, after: str,
                                                      max_keys: int, batch: int) -> None:
    expected = naive(keys, prefix, delimiter, after)
    store = FakeStore(keys, prefix)
    got: list[str] = []
    position: Position = (after, "")
    for _ in range(len(expected) + 2):
        page = walk(store, prefix, delimiter, position, max_keys, batch=batch)
        got += [e if isinstance(e, str) else e.key for e in page.entries]
        assert len(page.entries) <= max_keys
        if not page.truncated:
            break
        assert page.last is not None
        position = page.last
    assert got == expected
