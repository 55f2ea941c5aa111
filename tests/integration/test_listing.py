"""Listing against a real server, driven by boto3 and the AWS CLI.

Expected answers are S3's: its API reference examples (the
``photos/2006/`` delimiter example) and ceph/s3-tests' ``test_bucket_list*``
and ``test_bucket_listv2*`` cases, whose tables are restated here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.handlers import set_list_objects_encoding_type_url

# --- helpers ------------------------------------------------------------------------


def put_keys(s3: Any, bucket: str, keys: Iterable[str], body: bytes = b"") -> None:
    """Create many objects quickly: boto3 clients are thread-safe."""
    keys = list(keys)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=body or k.encode()),
                      keys))


def keys_of(response: dict[str, Any]) -> list[str]:
    return [c["Key"] for c in response.get("Contents", [])]


def prefixes_of(response: dict[str, Any]) -> list[str]:
    return [c["Prefix"] for c in response.get("CommonPrefixes", [])]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, dict[str, str]]:
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def utf8_sorted(keys: Iterable[str]) -> list[str]:
    return sorted(set(keys), key=lambda k: k.encode("utf-8"))


def fresh_client(server: Any, *, auto_url_encoding: bool = True) -> Any:
    """A client of its own, so event hooks do not leak into the shared one.

    Without ``auto_url_encoding`` boto3 does not add ``encoding-type=url``
    to listings, and keys travel as XML text.
    """
    client = boto3.client(
        "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1, "mode": "standard"}))
    if not auto_url_encoding:
        for op in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
            client.meta.events.unregister(f"before-parameter-build.s3.{op}",
                                          set_list_objects_encoding_type_url)
    return client


def raw_body(client: Any, method: str, **params: Any) -> bytes:
    """The XML body the server sends for ``client.<method>(**params)``,
    fetched through a presigned URL so that no client parser is involved."""
    url = client.generate_presigned_url(method, Params=params)
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read()


def aws(server: Any, aws_env: dict[str, str], *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint,
                          *args], env={**aws_env, "PYTHONIOENCODING": "utf-8"},
                         capture_output=True, encoding="utf-8", timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


# S3 API reference, ListObjects/ListObjectsV2 examples.
PHOTOS = [
    "sample.jpg",
    "photos/2006/January/sample.jpg",
    "photos/2006/February/sample2.jpg",
    "photos/2006/February/sample3.jpg",
    "photos/2006/February/sample4.jpg",
]

MANY = 1234  # over one page of 1000


@pytest.fixture(scope="module")
def many_bucket(s3: Any) -> tuple[str, list[str]]:
    """A bucket with 1234 keys in 13 "directories", shared by the paging tests."""
    name = f"listing-many-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    keys = [f"d{i % 13:02d}/k{i:05d}" for i in range(MANY)]
    put_keys(s3, name, keys, b"x")
    return name, utf8_sorted(keys)


# --- S3's documented examples ---------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_list_doc_example_delimiter_at_root(s3: Any, bucket: str, version: int) -> None:
    put_keys(s3, bucket, PHOTOS)
    call = s3.list_objects if version == 1 else s3.list_objects_v2
    r = call(Bucket=bucket, Delimiter="/")
    assert keys_of(r) == ["sample.jpg"]
    assert prefixes_of(r) == ["photos/"]
    assert r["Delimiter"] == "/" and r["Prefix"] == "" and r["IsTruncated"] is False
    assert r["MaxKeys"] == 1000 and r["Name"] == bucket
    if version == 2:
        assert r["KeyCount"] == 2


@pytest.mark.parametrize("version", [1, 2])
def test_list_doc_example_prefix_photos_2006(s3: Any, bucket: str, version: int) -> None:
    put_keys(s3, bucket, PHOTOS)
    call = s3.list_objects if version == 1 else s3.list_objects_v2
    r = call(Bucket=bucket, Prefix="photos/2006/", Delimiter="/")
    assert keys_of(r) == []
    assert prefixes_of(r) == ["photos/2006/February/", "photos/2006/January/"]
    assert r["Prefix"] == "photos/2006/"


def test_list_v1_raw_xml_is_s3_shaped(server: Any, s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, PHOTOS)
    body = raw_body(fresh_client(server, auto_url_encoding=False), "list_objects",
                    Bucket=bucket, Prefix="photos/2006/", Delimiter="/").decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
                           'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
    # The order of S3's example response.
    expected = (f"<Name>{bucket}</Name><Prefix>photos/2006/</Prefix><Marker></Marker>"
                "<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>"
                "<CommonPrefixes><Prefix>photos/2006/February/</Prefix></CommonPrefixes>"
                "<CommonPrefixes><Prefix>photos/2006/January/</Prefix></CommonPrefixes>"
                "</ListBucketResult>")
    assert body.endswith(expected)


# --- Contents ---------------------------------------------------------------------------


def test_list_contents_match_head_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="b.txt", Body=b"world!", ChecksumAlgorithm="SHA256")
    for r in (s3.list_objects(Bucket=bucket), s3.list_objects_v2(Bucket=bucket, FetchOwner=True)):
        for entry in r["Contents"]:
            head = s3.head_object(Bucket=bucket, Key=entry["Key"])
            assert entry["ETag"] == head["ETag"]
            assert entry["Size"] == head["ContentLength"]
            assert entry["LastModified"].replace(microsecond=0) == head["LastModified"]
            assert entry["StorageClass"] == "STANDARD"
            assert set(entry["Owner"]) == {"ID", "DisplayName"}
        by_key = {e["Key"]: e for e in r["Contents"]}
        assert by_key["b.txt"]["ChecksumAlgorithm"] == ["SHA256"]
        assert by_key["b.txt"]["ChecksumType"] == "FULL_OBJECT"


def test_list_last_modified_has_milliseconds(server: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    body = raw_body(fresh_client(server), "list_objects_v2", Bucket=bucket).decode()
    assert re.search(r"<LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z</LastModified>", body)
    assert "<ETag>&quot;" in body


def test_list_v2_owner_only_with_fetch_owner(s3: Any, bucket: str) -> None:
    # s3-tests test_bucket_listv2_fetchowner_{notempty,defaultempty,empty}
    put_keys(s3, bucket, ["foo/bar", "foo/baz", "quux"])
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket, FetchOwner=False)["Contents"][0]
    assert "Owner" in s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]
    assert "Owner" in s3.list_objects(Bucket=bucket)["Contents"][0]


# --- paging -------------------------------------------------------------------------------


def test_list_v2_paginator_over_many_keys(s3: Any, many_bucket: tuple[str, list[str]]) -> None:
    name, keys = many_bucket
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=name))
    assert [p["KeyCount"] for p in pages] == [1000, MANY - 1000]
    assert pages[0]["IsTruncated"] is True and "NextContinuationToken" in pages[0]
    assert pages[1]["IsTruncated"] is False and "NextContinuationToken" not in pages[1]
    assert [k for p in pages for k in keys_of(p)] == keys


def test_list_v1_paginator_over_many_keys(s3: Any, many_bucket: tuple[str, list[str]]) -> None:
    name, keys = many_bucket
    pages = list(s3.get_paginator("list_objects").paginate(Bucket=name))
    assert len(pages) == 2
    # Without a delimiter S3 sends no NextMarker; clients use the last key.
    assert "NextMarker" not in pages[0]
    assert [k for p in pages for k in keys_of(p)] == keys


def test_list_v2_small_pages_with_delimiter_and_prefix(
        s3: Any, many_bucket: tuple[str, list[str]]) -> None:
    name, keys = many_bucket
    pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=name, Delimiter="/", PaginationConfig={"PageSize": 5}))
    assert [p["KeyCount"] for p in pages] == [5, 5, 3]
    assert [c for p in pages for c in prefixes_of(p)] == [f"d{i:02d}/" for i in range(13)]
    under = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=name, Prefix="d03/", PaginationConfig={"PageSize": 7}))
    assert [k for p in under for k in keys_of(p)] == [k for k in keys if k.startswith("d03/")]


def test_list_v1_paginator_with_delimiter_uses_next_marker(
        s3: Any, many_bucket: tuple[str, list[str]]) -> None:
    name, _ = many_bucket
    pages = list(s3.get_paginator("list_objects").paginate(
        Bucket=name, Delimiter="/", PaginationConfig={"PageSize": 4}))
    assert pages[0]["NextMarker"] == "d03/"
    assert [c for p in pages for c in prefixes_of(p)] == [f"d{i:02d}/" for i in range(13)]


# ceph/s3-tests test_bucket_list_delimiter_prefix (and _underscore):
# (prefix, max_keys, truncated, keys, prefixes, next_marker)
S3TESTS_PAGES = [
    [("", 1, True, ["asdf"], [], "asdf"),
     ("", 1, True, [], ["boo/"], "boo/"),
     ("", 1, False, [], ["cquux/"], None)],
    [("", 2, True, ["asdf"], ["boo/"], "boo/"),
     ("", 2, False, [], ["cquux/"], None)],
    [("boo/", 1, True, ["boo/bar"], [], "boo/bar"),
     ("boo/", 1, False, [], ["boo/baz/"], None)],
    [("boo/", 2, False, ["boo/bar"], ["boo/baz/"], None)],
]


@pytest.mark.parametrize("steps", S3TESTS_PAGES)
def test_list_v1_s3tests_delimiter_prefix(s3: Any, bucket: str, steps: list[tuple]) -> None:
    put_keys(s3, bucket, ["asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"])
    marker = ""
    for prefix, max_keys, truncated, keys, prefixes, next_marker in steps:
        r = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=marker, MaxKeys=max_keys,
                            Prefix=prefix)
        assert (keys_of(r), prefixes_of(r), r["IsTruncated"]) == (keys, prefixes, truncated)
        assert r.get("NextMarker") == next_marker
        marker = next_marker or ""


@pytest.mark.parametrize("steps", S3TESTS_PAGES)
def test_list_v2_s3tests_delimiter_prefix(s3: Any, bucket: str, steps: list[tuple]) -> None:
    put_keys(s3, bucket, ["asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"])
    token = None
    for prefix, max_keys, truncated, keys, prefixes, _ in steps:
        params = {"Bucket": bucket, "Delimiter": "/", "MaxKeys": max_keys, "Prefix": prefix}
        if token:
            params["ContinuationToken"] = token
        r = s3.list_objects_v2(**params)
        assert (keys_of(r), prefixes_of(r), r["IsTruncated"]) == (keys, prefixes, truncated)
        assert r["KeyCount"] == len(keys) + len(prefixes)
        token = r.get("NextContinuationToken")
        assert (token is not None) == truncated


def test_list_not_skip_special_after_dense_prefix(s3: Any, bucket: str) -> None:
    # s3-tests test_bucket_list_delimiter_not_skip_special
    tail = ["1999", "1999#", "1999+", "2000"]
    put_keys(s3, bucket, ["0/"] + [f"0/{i}" for i in range(1000, 1999)] + tail)
    for call in (s3.list_objects, s3.list_objects_v2):
        r = call(Bucket=bucket, Delimiter="/")
        assert keys_of(r) == tail and prefixes_of(r) == ["0/"]


# --- markers, start-after, continuation tokens ------------------------------------------

FOUR = ["bar", "baz", "foo", "quxx"]


@pytest.mark.parametrize("marker,expected", [
    ("", FOUR), ("blah", ["foo", "quxx"]), ("zzz", []), ("\n", FOUR), ("baz", ["foo", "quxx"]),
])
def test_list_marker_and_start_after(s3: Any, bucket: str, marker: str,
                                     expected: list[str]) -> None:
    put_keys(s3, bucket, FOUR)
    r1 = s3.list_objects(Bucket=bucket, Marker=marker)
    assert keys_of(r1) == expected and r1["Marker"] == marker and r1["IsTruncated"] is False
    r2 = s3.list_objects_v2(Bucket=bucket, StartAfter=marker)
    assert keys_of(r2) == expected and r2["StartAfter"] == marker


def test_list_v2_continuation_token_round_trip(s3: Any, bucket: str) -> None:
    # s3-tests test_bucket_listv2_continuationtoken
    put_keys(s3, bucket, FOUR)
    token = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)["NextContinuationToken"]
    r = s3.list_objects_v2(Bucket=bucket, ContinuationToken=token)
    assert r["ContinuationToken"] == token
    assert keys_of(r) == ["baz", "foo", "quxx"] and r["IsTruncated"] is False


def test_list_v2_continuation_token_wins_over_start_after(s3: Any, bucket: str) -> None:
    # s3-tests test_bucket_listv2_both_continuationtoken_startafter
    put_keys(s3, bucket, FOUR)
    token = s3.list_objects_v2(Bucket=bucket, StartAfter="bar", MaxKeys=1)["NextContinuationToken"]
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="bar", ContinuationToken=token)
    assert r["ContinuationToken"] == token and r["StartAfter"] == "bar"
    assert keys_of(r) == ["foo", "quxx"]


def test_list_v2_empty_continuation_token_lists_from_start(s3: Any, bucket: str) -> None:
    # s3-tests test_bucket_listv2_continuationtoken_empty
    put_keys(s3, bucket, FOUR)
    r = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert r["ContinuationToken"] == "" and keys_of(r) == FOUR


@pytest.mark.parametrize("token", ["not-a-token!", "abc", "////"])
def test_list_v2_bad_continuation_token(s3: Any, bucket: str, token: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken=token)
    status, error = error_of(info)
    assert status == 400 and error["Code"] == "InvalidArgument"
    assert error["Message"] == "The continuation token provided is incorrect"


# --- max-keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_list_max_keys_zero_one_default(s3: Any, bucket: str, version: int) -> None:
    put_keys(s3, bucket, FOUR)
    call = s3.list_objects if version == 1 else s3.list_objects_v2
    r = call(Bucket=bucket, MaxKeys=0)
    assert keys_of(r) == [] and r["IsTruncated"] is False and r["MaxKeys"] == 0
    r = call(Bucket=bucket, MaxKeys=1)
    assert keys_of(r) == ["bar"] and r["IsTruncated"] is True
    r = call(Bucket=bucket)
    assert r["MaxKeys"] == 1000 and keys_of(r) == FOUR


def test_list_max_keys_above_1000_is_capped(s3: Any, many_bucket: tuple[str, list[str]]) -> None:
    name, _ = many_bucket
    r = s3.list_objects_v2(Bucket=name, MaxKeys=5000)
    assert r["KeyCount"] == 1000 and r["IsTruncated"] is True


def _add_query(client: Any, operation: str, extra: str) -> None:
    def add(params: dict[str, Any], **_: Any) -> None:
        params["url"] += ("&" if "?" in params["url"] else "?") + extra
    client.meta.events.register(f"before-call.s3.{operation}", add)


@pytest.mark.parametrize("value,message", [
    ("blah", "Provided max-keys not an integer or within integer range"),
    ("99999999999", "Provided max-keys not an integer or within integer range"),
    ("-1", "Argument max-keys must be an integer between 0 and 2147483647"),
])
def test_list_max_keys_invalid(server: Any, bucket: str, value: str, message: str) -> None:
    # s3-tests test_bucket_list_maxkeys_invalid
    client = fresh_client(server)
    _add_query(client, "ListObjects", f"max-keys={value}")
    with pytest.raises(ClientError) as info:
        client.list_objects(Bucket=bucket)
    status, error = error_of(info)
    assert status == 400 and error["Code"] == "InvalidArgument"
    assert error["Message"] == message
    assert error["ArgumentName"] == "max-keys" and error["ArgumentValue"] == value


def test_list_invalid_encoding_type(server: Any, bucket: str) -> None:
    client = fresh_client(server, auto_url_encoding=False)
    _add_query(client, "ListObjectsV2", "encoding-type=base64")
    with pytest.raises(ClientError) as info:
        client.list_objects_v2(Bucket=bucket)
    status, error = error_of(info)
    assert status == 400 and error["Code"] == "InvalidArgument"
    assert error["Message"] == "Invalid Encoding Method specified in Request"


@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2",
                                       "list_object_versions", "list_multipart_uploads"])
def test_list_missing_bucket(s3: Any, operation: str) -> None:
    with pytest.raises(ClientError) as info:
        getattr(s3, operation)(Bucket="no-such-bucket-for-listing")
    status, error = error_of(info)
    assert status == 404 and error["Code"] == "NoSuchBucket"
    assert error["BucketName"] == "no-such-bucket-for-listing"


# --- delimiters ---------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter,stored,keys,prefixes", [
    ("a", ["bar", "baz", "cab", "foo"], ["foo"], ["ba", "ca"]),
    ("%", ["b%ar", "b%az", "c%ab", "foo"], ["foo"], ["b%", "c%"]),
    (" ", ["b ar", "b az", "c ab", "foo"], ["foo"], ["b ", "c "]),
    (".", ["b.ar", "b.az", "c.ab", "foo"], ["foo"], ["b.", "c."]),
    ("\n", ["bar", "baz", "cab", "foo"], ["bar", "baz", "cab", "foo"], []),
    ("/", ["bar", "baz", "cab", "foo"], ["bar", "baz", "cab", "foo"], []),
    ("--", ["a--b--c", "a--d", "a-e", "f"], ["a-e", "f"], ["a--"]),
    ("+", ["x+1", "x+2", "y"], ["y"], ["x+"]),
])
@pytest.mark.parametrize("version", [1, 2])
def test_list_delimiters(s3: Any, bucket: str, version: int, delimiter: str, stored: list[str],
                         keys: list[str], prefixes: list[str]) -> None:
    put_keys(s3, bucket, stored)
    call = s3.list_objects if version == 1 else s3.list_objects_v2
    r = call(Bucket=bucket, Delimiter=delimiter)
    assert r["Delimiter"] == delimiter
    assert keys_of(r) == keys and prefixes_of(r) == prefixes


@pytest.mark.parametrize("version", [1, 2])
def test_list_empty_delimiter_is_absent(s3: Any, bucket: str, version: int) -> None:
    # s3-tests test_bucket_list_delimiter_empty / _none
    put_keys(s3, bucket, ["a/b", "c"])
    call = s3.list_objects if version == 1 else s3.list_objects_v2
    r = call(Bucket=bucket, Delimiter="")
    assert "Delimiter" not in r and keys_of(r) == ["a/b", "c"] and prefixes_of(r) == []


def test_list_prefix_ending_with_delimiter_lists_that_key(s3: Any, bucket: str) -> None:
    # s3-tests test_bucket_list{,v2}_delimiter_prefix_ends_with_delimiter
    put_keys(s3, bucket, ["asdf/"])
    for call in (s3.list_objects, s3.list_objects_v2):
        r = call(Bucket=bucket, Prefix="asdf/", Delimiter="/")
        assert keys_of(r) == ["asdf/"] and prefixes_of(r) == []


@pytest.mark.parametrize("prefix,delimiter,keys,prefixes", [
    # s3-tests test_bucket_list_prefix_delimiter_* tables
    ("foo/", "/", ["foo/bar"], ["foo/baz/"]),
    ("ba", "a", ["bar"], ["baza"]),
    ("d", "/", [], []),
    ("b", "z", ["b/a/c", "b/a/g", "b/a/r"], []),
    ("y", "z", [], []),
])
def test_list_prefix_with_delimiter(s3: Any, bucket: str, prefix: str, delimiter: str,
                                    keys: list[str], prefixes: list[str]) -> None:
    stored = {"/": ["asdf", "boo/bar", "foo/bar", "foo/baz/xyzzy", "quux/thud"],
              "a": ["bar", "baza", "cab", "foo"],
              "z": ["b/a/c", "b/a/g", "b/a/r", "g"]}[delimiter]
    put_keys(s3, bucket, stored)
    r = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter=delimiter)
    assert keys_of(r) == keys and prefixes_of(r) == prefixes


# --- key characters and order -----------------------------------------------------------

ODD_KEYS = ["foo+1/bar", "foo/bar/xyzzy", "quux ab/thud", "asdf+b", "100%/x", "a&b<c>d\"e'",
            "sp ace", "plus+plus", "pct%20not-decoded", "q?uery#frag", "tab\tkey", "é/ü",
            "日本/語", "\U0001f600.txt", "~tilde", "*star", "eq=a;b,c"]


def test_list_odd_keys_round_trip_through_boto3(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, ODD_KEYS)
    expected = utf8_sorted(ODD_KEYS)
    assert keys_of(s3.list_objects_v2(Bucket=bucket)) == expected
    assert keys_of(s3.list_objects(Bucket=bucket)) == expected
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["Key"] for v in versions] == expected


def test_list_odd_keys_round_trip_without_url_encoding(server: Any, s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, ODD_KEYS)
    client = fresh_client(server, auto_url_encoding=False)
    r = client.list_objects_v2(Bucket=bucket)
    assert "EncodingType" not in r
    assert keys_of(r) == utf8_sorted(ODD_KEYS)


@pytest.mark.parametrize("version", [1, 2])
def test_list_explicit_url_encoding(s3: Any, bucket: str, version: int) -> None:
    # s3-tests test_bucket_list{,v2}_encoding_basic: asked for explicitly,
    # boto3 hands back the encoded values.
    put_keys(s3, bucket, ["foo+1/bar", "foo/bar/xyzzy", "quux ab/thud", "asdf+b"])
    call = s3.list_objects if version == 1 else s3.list_objects_v2
    r = call(Bucket=bucket, Delimiter="/", EncodingType="url")
    assert r["EncodingType"] == "url" and r["Delimiter"] == "/"
    assert keys_of(r) == ["asdf%2Bb"]
    assert prefixes_of(r) == ["foo%2B1/", "foo/", "quux%20ab/"]


def test_list_prefix_and_marker_with_special_characters(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, ["a b/1", "a b/2", "a+b/1", "a%b/1"])
    assert keys_of(s3.list_objects_v2(Bucket=bucket, Prefix="a b/")) == ["a b/1", "a b/2"]
    assert keys_of(s3.list_objects_v2(Bucket=bucket, Prefix="a+b/")) == ["a+b/1"]
    assert keys_of(s3.list_objects_v2(Bucket=bucket, Prefix="a%b/")) == ["a%b/1"]
    r = s3.list_objects(Bucket=bucket, Prefix="a b/", Marker="a b/1")
    assert keys_of(r) == ["a b/2"] and r["Marker"] == "a b/1"
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="a b/1", Prefix="a b/")
    assert keys_of(r) == ["a b/2"] and r["StartAfter"] == "a b/1"


def test_list_unicode_order_is_utf8_bytes(s3: Any, bucket: str) -> None:
    keys = ["a", "Z", "z", "é", "ß", "\u00ff", "\u0100", "\uffef", "\U0001f600", "日本", "A/b",
            "a/b", "a-b", "a.b"]
    put_keys(s3, bucket, keys)
    expected = utf8_sorted(keys)
    assert keys_of(s3.list_objects_v2(Bucket=bucket)) == expected
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                         PaginationConfig={"PageSize": 3})
    assert [k for p in pages for k in keys_of(p)] == expected
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="é")
    assert keys_of(r) == expected[expected.index("é") + 1:]


def test_list_control_character_key_does_not_break_xml(server: Any, s3: Any,
                                                        bucket: str) -> None:
    key = "ctl\x01\x1b-key"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # boto3's own listing asks for url encoding: the key comes back whole.
    assert keys_of(s3.list_objects_v2(Bucket=bucket)) == [key]
    # Without it, the key is written with character references, as S3 does.
    body = raw_body(fresh_client(server, auto_url_encoding=False), "list_objects_v2",
                    Bucket=bucket).decode()
    assert "<Key>ctl&#x1;&#x1b;-key</Key>" in body


# --- ListObjectVersions ---------------------------------------------------------------------


def test_list_versions_every_object_is_one_null_version(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, PHOTOS)
    r = s3.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in r["Versions"]] == utf8_sorted(PHOTOS)
    for v in r["Versions"]:
        assert v["VersionId"] == "null" and v["IsLatest"] is True
        head = s3.head_object(Bucket=bucket, Key=v["Key"])
        assert v["ETag"] == head["ETag"] and v["Size"] == head["ContentLength"]
        assert v["StorageClass"] == "STANDARD" and "ID" in v["Owner"]
    assert "DeleteMarkers" not in r and r["IsTruncated"] is False
    assert r["KeyMarker"] == "" and r["VersionIdMarker"] == ""


def test_list_versions_delimiter_and_prefix(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, PHOTOS)
    r = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [v["Key"] for v in r["Versions"]] == ["sample.jpg"]
    assert prefixes_of(r) == ["photos/"]
    r = s3.list_object_versions(Bucket=bucket, Prefix="photos/2006/", Delimiter="/")
    assert "Versions" not in r
    assert prefixes_of(r) == ["photos/2006/February/", "photos/2006/January/"]


def test_list_versions_paging(s3: Any, bucket: str) -> None:
    keys = [f"v/{i:03d}" for i in range(23)] + ["w/1", "w/2"]
    put_keys(s3, bucket, keys)
    r = s3.list_object_versions(Bucket=bucket, MaxKeys=10)
    assert r["IsTruncated"] is True
    assert r["NextKeyMarker"] == "v/009" and r["NextVersionIdMarker"] == "null"
    pages = list(s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 10}))
    assert [v["Key"] for p in pages for v in p.get("Versions", [])] == keys
    # Paging with a delimiter: a page that ends in a common prefix.
    r = s3.list_object_versions(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert prefixes_of(r) == ["v/"] and r["NextKeyMarker"] == "v/"
    assert "NextVersionIdMarker" not in r
    r = s3.list_object_versions(Bucket=bucket, Delimiter="/", KeyMarker="v/")
    assert prefixes_of(r) == ["w/"] and r["IsTruncated"] is False


def test_list_versions_markers(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, ["a", "b", "c"])
    r = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="null")
    assert [v["Key"] for v in r["Versions"]] == ["b", "c"]
    assert r["KeyMarker"] == "a" and r["VersionIdMarker"] == "null"
    with pytest.raises(ClientError) as info:
        s3.list_object_versions(Bucket=bucket, VersionIdMarker="null")
    status, error = error_of(info)
    assert status == 400 and error["Code"] == "InvalidArgument"
    assert error["Message"] == "A version-id marker cannot be specified without a key marker."


# --- ListMultipartUploads -----------------------------------------------------------------


def test_list_uploads_paging_prefix_and_delimiter(s3: Any, bucket: str) -> None:
    created = []
    for key in ["a/1", "a/2", "b", "b", "c/x/y", "d"]:
        created.append((key, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]))
        time.sleep(0.005)  # uploads of one key are listed by initiation time (ms)
    try:
        r = s3.list_multipart_uploads(Bucket=bucket)
        assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == created
        assert r["IsTruncated"] is False and r["MaxUploads"] == 1000 and r["Bucket"] == bucket
        first = r["Uploads"][0]
        assert set(first["Initiator"]) == {"ID", "DisplayName"}
        assert first["Owner"]["ID"] == first["Initiator"]["ID"]
        assert first["StorageClass"] == "STANDARD" and first["Initiated"].year >= 2024

        pages = list(s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 1}))
        assert [(u["Key"], u["UploadId"]) for p in pages for u in p.get("Uploads", [])] == created
        # The two uploads of "b" are split across pages by upload-id-marker.
        r = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=3)
        assert r["IsTruncated"] is True
        assert (r["NextKeyMarker"], r["NextUploadIdMarker"]) == created[2]
        r = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=created[2][0],
                                      UploadIdMarker=created[2][1])
        assert [(u["Key"], u["UploadId"]) for u in r["Uploads"]] == created[3:]

        r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
        assert [u["Key"] for u in r["Uploads"]] == ["b", "b", "d"]
        assert prefixes_of(r) == ["a/", "c/"] and r["Delimiter"] == "/"
        r = s3.list_multipart_uploads(Bucket=bucket, Prefix="c/", Delimiter="/")
        assert "Uploads" not in r and prefixes_of(r) == ["c/x/"]
        r = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
        assert [u["Key"] for u in r["Uploads"]] == ["a/1", "a/2"]
        r = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="b")
        assert [u["Key"] for u in r["Uploads"]] == ["c/x/y", "d"]
    finally:
        for key, upload_id in created:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


# --- the AWS CLI ------------------------------------------------------------------------------


def test_aws_s3_ls(server: Any, s3: Any, bucket: str, aws_env: dict[str, str]) -> None:
    put_keys(s3, bucket, PHOTOS + ["with space.txt", "é.txt"])
    out = aws(server, aws_env, "s3", "ls", f"s3://{bucket}/")
    lines = out.splitlines()
    assert any(re.fullmatch(r"\s+PRE photos/", line) for line in lines), out
    files = [line.split(None, 3)[3] for line in lines if "PRE " not in line]
    assert files == ["sample.jpg", "with space.txt", "é.txt"]
    out = aws(server, aws_env, "s3", "ls", f"s3://{bucket}/photos/2006/")
    assert [line.split()[-1] for line in out.splitlines()] == ["February/", "January/"]


def test_aws_s3_ls_recursive_over_many_keys(server: Any, aws_env: dict[str, str],
                                            many_bucket: tuple[str, list[str]]) -> None:
    name, keys = many_bucket
    out = aws(server, aws_env, "s3", "ls", "--recursive", f"s3://{name}")
    listed = []
    for line in out.splitlines():
        date, _time, size, key = line.split(None, 3)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", date) and size == "1"
        listed.append(key)
    assert listed == keys


def test_aws_s3api_list_objects_v2_pages(server: Any, aws_env: dict[str, str],
                                         many_bucket: tuple[str, list[str]]) -> None:
    name, keys = many_bucket
    out = aws(server, aws_env, "s3api", "list-objects-v2", "--bucket", name, "--page-size", "300",
              "--query", "Contents[].Key", "--output", "text")
    assert out.split() == keys


@pytest.mark.parametrize("create,algorithm,kind", [
    ({"ChecksumAlgorithm": "CRC32"}, "CRC32", "COMPOSITE"),
    ({"ChecksumAlgorithm": "CRC32C", "ChecksumType": "FULL_OBJECT"}, "CRC32C", "FULL_OBJECT"),
    ({"ChecksumAlgorithm": "CRC64NVME"}, "CRC64NVME", "FULL_OBJECT"),
    ({}, None, None),
])
def test_list_uploads_checksum_algorithm_and_type(s3: Any, bucket: str, create: dict[str, str],
                                                   algorithm: str | None,
                                                   kind: str | None) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", **create)["UploadId"]
    try:
        upload = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]
        assert upload.get("ChecksumAlgorithm") == algorithm
        assert upload.get("ChecksumType") == kind
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_list_multipart_object_checksum_type_is_composite(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")[
        "UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"abc",
                          ChecksumAlgorithm="SHA256")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]}]})
    entry = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert entry["ChecksumAlgorithm"] == ["SHA256"] and entry["ChecksumType"] == "COMPOSITE"
    assert entry["ETag"].endswith('-1"')
