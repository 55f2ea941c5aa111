"""The edge in front of a versioned bucket (issue 16): a cached object is
served within its TTL, and once stale it is kept only while the origin's
current version is the one cached; a new version, even of the same bytes
(so the same ETag), or a delete marker is seen by the next request after
the entry's TTL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.edge_site import Site, make_site


@pytest.fixture
def site(s3: Any, client_factory: Any, server: Any) -> Site:
    made = make_site(s3, client_factory("cloudfront"), server.endpoint, server.port)
    s3.put_bucket_versioning(Bucket=made.bucket, VersioningConfiguration={"Status": "Enabled"})
    return made


def test_a_new_version_with_the_same_bytes_is_not_refreshed_as_the_old(site: Site,
                                                                       s3: Any) -> None:
    first = s3.put_object(Bucket=site.bucket, Key="notes.txt", Body=b"same",
                          CacheControl="max-age=1")["VersionId"]
    url = site.signed("/notes.txt")
    got = site.get(url)
    assert got.headers["x-cache"] == "Miss from cloudfront"
    assert got.headers["x-amz-version-id"] == first
    assert site.get(url).headers["x-cache"] == "Hit from cloudfront"  # within its TTL
    time.sleep(1.2)
    refreshed = site.get(url)  # stale, the origin unchanged: kept
    assert refreshed.headers["x-cache"] == "RefreshHit from cloudfront"
    second = s3.put_object(Bucket=site.bucket, Key="notes.txt", Body=b"same",
                           CacheControl="max-age=1", ContentType="text/plain")["VersionId"]
    time.sleep(1.2)
    fetched = site.get(url)
    assert fetched.headers["x-cache"] == "Miss from cloudfront"
    assert fetched.headers["x-amz-version-id"] == second
    assert fetched.headers["content-type"] == "text/plain"


def test_a_delete_marker_is_seen_once_the_entry_is_stale(site: Site, s3: Any) -> None:
    s3.put_object(Bucket=site.bucket, Key="gone.txt", Body=b"here", CacheControl="max-age=1")
    url = site.signed("/gone.txt")
    assert site.get(url).content == b"here"
    assert s3.delete_object(Bucket=site.bucket, Key="gone.txt")["DeleteMarker"]
    time.sleep(1.2)
    refused = site.get(url)
    # The distribution may read objects, not list the bucket: S3's answer
    # for a missing key is then 403, and the cached body is not served.
    assert refused.status_code == 403 and b"here" not in refused.content
