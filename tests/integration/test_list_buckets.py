"""ListBuckets paging: max-buckets, continuation-token, prefix, bucket-region.

The session's server holds other tests' buckets too, so every test lists
under a prefix of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def named(s3) -> Iterator[list[str]]:
    """Three buckets, in name order, under a prefix no other test uses."""
    prefix = f"lb-{uuid.uuid4().hex[:10]}-"
    names = [f"{prefix}{suffix}" for suffix in ("a", "b", "c")]
    for name in reversed(names):
        s3.create_bucket(Bucket=name)
    yield names
    for name in names:
        s3.delete_bucket(Bucket=name)


def _prefix(names: list[str]) -> str:
    return names[0][:-1]


def test_max_buckets_pages_in_name_order_with_a_token_only_when_more_follow(s3, named) -> None:
    prefix = _prefix(named)
    seen = []
    kwargs: dict[str, object] = {"Prefix": prefix, "MaxBuckets": 2}
    first = s3.list_buckets(**kwargs)
    assert [b["Name"] for b in first["Buckets"]] == named[:2]
    assert first["Prefix"] == prefix
    seen += [b["Name"] for b in first["Buckets"]]
    second = s3.list_buckets(ContinuationToken=first["ContinuationToken"], **kwargs)
    seen += [b["Name"] for b in second["Buckets"]]
    assert "ContinuationToken" not in second
    assert seen == named


def test_exactly_max_buckets_left_gives_no_token(s3, named) -> None:
    # s3-tests test_list_buckets_paginated: a full last page is not truncated.
    response = s3.list_buckets(Prefix=_prefix(named), MaxBuckets=3)
    assert [b["Name"] for b in response["Buckets"]] == named
    assert "ContinuationToken" not in response


def test_the_boto3_paginator_walks_every_bucket(s3, named) -> None:
    pages = s3.get_paginator("list_buckets").paginate(
        Prefix=_prefix(named), PaginationConfig={"PageSize": 1})
    assert [b["Name"] for page in pages for b in page["Buckets"]] == named


def test_bucket_region_filters(s3, named) -> None:
    assert [b["Name"] for b in s3.list_buckets(
        Prefix=_prefix(named), BucketRegion="us-east-1")["Buckets"]] == named
    assert s3.list_buckets(Prefix=_prefix(named), BucketRegion="eu-west-1")["Buckets"] == []


@pytest.mark.parametrize("value", ["0", "10001", "-1", "ten"])
def test_max_buckets_out_of_range_is_invalid_argument(client_factory, value: str) -> None:
    s3 = client_factory()

    def set_value(request, **_: object) -> None:
        # botocore itself refuses values out of range: add it before signing.
        request.url += f"?max-buckets={value}"

    s3.meta.events.register("before-sign.s3.ListBuckets", set_value)
    with pytest.raises(ClientError) as excinfo:
        s3.list_buckets()
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgument"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_token_sealbox_did_not_issue_is_invalid_argument(s3) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.list_buckets(MaxBuckets=1, ContinuationToken="not a token")
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgument"
