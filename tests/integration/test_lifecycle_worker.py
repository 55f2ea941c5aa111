"""The lifecycle worker, through a real server whose "day" is 2 seconds
(``--lifecycle-day-seconds 2``) and whose passes run twice a second:
objects expire, delete markers appear and go, noncurrent versions go (the
newest kept), multipart uploads are aborted, disabled rules do nothing,
filters by prefix, tag and size choose, and the bytes are freed. Every wait
is a poll with a deadline; a test that expects nothing to happen waits for
a witness that a pass has run."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.testing.server import RunningServer
from tests.conftest import make_client

DAY = 2  # seconds
FAST = ("--lifecycle-day-seconds", str(DAY), "--lifecycle-interval-seconds", "0.5")
DEADLINE = 20.0


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("lifecycle")
    with RunningServer(data_dir=base / "data", extra_args=FAST) as running:
        yield running


@pytest.fixture(scope="module")
def s3(fast_server: RunningServer) -> Any:
    return make_client(fast_server)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"lc-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _rules(s3: Any, bucket: str, *rules: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration={"Rules": list(rules)})


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _versions(s3: Any, bucket: str) -> tuple[list[str], list[str]]:
    """(version ids, delete marker ids), newest first per key."""
    listed = s3.list_object_versions(Bucket=bucket)
    return ([v["VersionId"] for v in listed.get("Versions", [])],
            [m["VersionId"] for m in listed.get("DeleteMarkers", [])])


def _versioned(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _blob_files(server: RunningServer) -> set[str]:
    """The blob files on disk. The server is shared by the module's tests and
    its worker expires other tests' objects meanwhile: a test compares the
    files it made, never a count."""
    return {f"{d}/{f}" for d, _, files in os.walk(server.data_dir / "objects") for f in files}


def test_objects_expire_by_prefix_and_their_bytes_go(s3: Any, fast_server: RunningServer,
                                                      bucket: str) -> None:
    before = _blob_files(fast_server)
    for key in ("tmp/a", "tmp/b", "keep/a"):
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(2048))
    mine = _blob_files(fast_server) - before
    assert len(mine) == 3
    _rules(s3, bucket, {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                        "Expiration": {"Days": 1}})
    _until(lambda: _keys(s3, bucket) == ["keep/a"], "tmp/ expired")
    assert len(mine & _blob_files(fast_server)) == 1  # freed as a delete frees them
    # A bucket never versioned keeps nothing of them: no marker, no version.
    assert _versions(s3, bucket) == (["null"], [])


def test_a_disabled_rule_and_a_later_day_do_nothing(s3: Any, bucket: str) -> None:
    for key in ("off/a", "later/a", "witness/a"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    _rules(s3, bucket,
           {"ID": "off", "Filter": {"Prefix": "off/"}, "Status": "Disabled",
            "Expiration": {"Days": 1}},
           {"ID": "later", "Filter": {"Prefix": "later/"}, "Status": "Enabled",
            "Expiration": {"Days": 30}},
           {"ID": "witness", "Filter": {"Prefix": "witness/"}, "Status": "Enabled",
            "Expiration": {"Days": 1}})
    _until(lambda: "witness/a" not in _keys(s3, bucket), "the witness expired")
    assert _keys(s3, bucket) == ["later/a", "off/a"]


def test_filters_by_tag_and_size_choose(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="tagged", Body=b"x", Tagging="tmp=yes")
    s3.put_object(Bucket=bucket, Key="untagged", Body=b"x")
    s3.put_object(Bucket=bucket, Key="big", Body=b"b" * 3000)
    s3.put_object(Bucket=bucket, Key="small", Body=b"s" * 1000)
    _rules(s3, bucket,
           {"ID": "tag", "Filter": {"Tag": {"Key": "tmp", "Value": "yes"}}, "Status": "Enabled",
            "Expiration": {"Days": 1}},
           {"ID": "size", "Filter": {"And": {"Prefix": "b", "ObjectSizeGreaterThan": 2000}},
            "Status": "Enabled", "Expiration": {"Days": 1}})
    _until(lambda: _keys(s3, bucket) == ["small", "untagged"], "tagged and big expired")


def test_a_versioned_bucket_gets_a_marker_then_loses_the_noncurrent_version(
        s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    version = s3.put_object(Bucket=bucket, Key="doc", Body=b"v1")["VersionId"]
    _rules(s3, bucket, {"ID": "cur", "Filter": {}, "Status": "Enabled",
                        "Expiration": {"Days": 1}})
    _until(lambda: len(_versions(s3, bucket)[1]) == 1, "a delete marker")
    assert _versions(s3, bucket)[0] == [version]  # kept: only hidden
    assert _keys(s3, bucket) == []
    _rules(s3, bucket, {"ID": "old", "Filter": {}, "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
    # The version goes; then the marker is alone, but this rule does not
    # remove expired object delete markers.
    _until(lambda: _versions(s3, bucket)[0] == [], "the noncurrent version removed")
    assert len(_versions(s3, bucket)[1]) == 1


def test_newer_noncurrent_versions_are_kept(s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=f"v{n}".encode())["VersionId"]
           for n in range(6)]
    _rules(s3, bucket, {"ID": "keep2", "Filter": {"Prefix": ""}, "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1,
                                                        "NewerNoncurrentVersions": 2}})
    _until(lambda: len(_versions(s3, bucket)[0]) == 3, "three versions left")
    assert _versions(s3, bucket)[0] == ids[::-1][:3]  # the current one and the two newest
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v5"


def test_expired_object_delete_markers_go_once_alone(s3: Any, bucket: str) -> None:
    _versioned(s3, bucket)
    s3.put_object(Bucket=bucket, Key="gone/a", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone/a")
    s3.put_object(Bucket=bucket, Key="other/a", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="other/a")
    _rules(s3, bucket, {"ID": "markers", "Filter": {"Prefix": "gone/"}, "Status": "Enabled",
                        "Expiration": {"ExpiredObjectDeleteMarker": True},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
    _until(lambda: [v["Key"] for v in s3.list_object_versions(Bucket=bucket).get(
        "DeleteMarkers", [])] == ["other/a"], "gone/a's version and then its marker removed")
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in listed.get("Versions", [])] == ["other/a"]


def test_incomplete_multipart_uploads_are_aborted(s3: Any, fast_server: RunningServer,
                                                  bucket: str) -> None:
    before = _blob_files(fast_server)
    stale = s3.create_multipart_upload(Bucket=bucket, Key="up/a")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="up/a", UploadId=stale, PartNumber=1,
                   Body=os.urandom(1024))
    kept = s3.create_multipart_upload(Bucket=bucket, Key="other/a")["UploadId"]
    mine = _blob_files(fast_server) - before
    assert len(mine) == 1
    _rules(s3, bucket, {"ID": "abort", "Filter": {"Prefix": "up/"}, "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})

    def uploads() -> list[str]:
        return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get(
            "Uploads", [])]

    _until(lambda: uploads() == [kept], "the upload under up/ aborted")
    assert not mine & _blob_files(fast_server)  # its part's bytes


def test_a_bucket_bigger_than_a_page_is_worked_through(s3: Any, bucket: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    keys = [f"many/{n:04d}" for n in range(1100)]  # more than the worker's page of 1000
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b""), keys))
    s3.put_object(Bucket=bucket, Key="zz-keep", Body=b"")
    _rules(s3, bucket, {"ID": "many", "Filter": {"Prefix": "many/"}, "Status": "Enabled",
                        "Expiration": {"Days": 1}})
    _until(lambda: _keys(s3, bucket) == ["zz-keep"], "all 1100 expired")


def test_a_pass_waits_while_another_process_holds_the_lock(
        tmp_path: Path) -> None:
    """On SQLite, one process of those sharing the database makes the passes:
    while another holds the lock, this server's passes do nothing."""
    from sealbox.store.exclusive import file_lock

    with RunningServer(data_dir=tmp_path / "data", extra_args=FAST) as server:
        client = make_client(server)
        client.create_bucket(Bucket="locked")
        client.put_object(Bucket="locked", Key="a", Body=b"x")
        lock = str(server.data_dir / "meta.sqlite3") + ".sealbox.lifecycle.lock"
        with file_lock(lock) as held:
            assert held
            _rules(client, "locked", {"ID": "r", "Filter": {}, "Status": "Enabled",
                                      "Expiration": {"Days": 1}})
            time.sleep(3 * DAY)
            assert _keys(client, "locked") == ["a"]
        _until(lambda: _keys(client, "locked") == [], "expired once the lock is free")


def test_a_suspended_bucket_gets_a_null_marker_in_place_of_the_null_version(
        s3: Any, fast_server: RunningServer, bucket: str) -> None:
    _versioned(s3, bucket)
    before = _blob_files(fast_server)
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"null version")
    mine = _blob_files(fast_server) - before
    assert len(mine) == 2
    _rules(s3, bucket, {"ID": "r", "Filter": {}, "Status": "Enabled",
                        "Expiration": {"Days": 1}})
    _until(lambda: _versions(s3, bucket)[1] == ["null"], "a null delete marker")
    assert _versions(s3, bucket)[0] == [kept]  # the null version is gone, as S3 replaces it
    assert len(mine & _blob_files(fast_server)) == 1
