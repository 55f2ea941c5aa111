"""The pure parts of versioning (api/s3/versioning.py, access/actions.py):
which version ids a request may name, and which IAM action naming one needs."""

from __future__ import annotations

import pytest

from sealbox.access.actions import action_for
from sealbox.api.router import route
from sealbox.api.s3.versioning import checked_version, new_version_id, version_headers
from sealbox.errors import S3Error


def test_new_version_ids_are_32_url_safe_characters_and_accepted_back() -> None:
    ids = {new_version_id() for _ in range(100)}
    assert len(ids) == 100
    for vid in ids:
        assert checked_version(vid) == vid


def test_no_version_id_starts_with_a_dash_a_command_line_would_take_for_an_option() -> None:
    # One random id in 64 would: `aws s3api delete-object --version-id "$V"`
    # then fails with "expected one argument" (the README's object-lock
    # example did, once in a full run). 20 000 ids without the rule hold
    # one starting with "-" all but e**-312 of the time.
    assert not [vid for vid in (new_version_id() for _ in range(20_000)) if vid[0] == "-"]


@pytest.mark.parametrize("value", ["", "x", "0" * 31, "0" * 33, "a/b" + "0" * 29, "NULL"])
def test_a_version_id_sealbox_did_not_make_is_invalid_argument(value: str) -> None:
    with pytest.raises(S3Error) as bad:
        checked_version(value)
    assert bad.value.code == "InvalidArgument" and bad.value.status == 400


def test_null_names_the_null_version_and_is_never_sent_on_writes() -> None:
    assert checked_version("null") == "null"
    assert version_headers("null") == []
    assert version_headers("a" * 32) == [("x-amz-version-id", "a" * 32)]


@pytest.mark.parametrize(("operation", "action"), [
    ("GetObject", "s3:GetObjectVersion"), ("HeadObject", "s3:GetObjectVersion"),
    ("DeleteObject", "s3:DeleteObjectVersion"), ("PutObjectTagging", "s3:PutObjectVersionTagging"),
    ("GetObjectTagging", "s3:GetObjectVersionTagging"), ("PutObject", "s3:PutObject"),
])
def test_naming_a_version_needs_the_version_action(operation: str, action: str) -> None:
    assert action_for(operation, True)[0] == action
    assert action_for(operation, False)[0] != "s3:GetObjectVersion"


def test_put_versioning_routes_to_put_bucket_versioning() -> None:
    assert route("PUT", "b", None, {"versioning": ""}, {}).operation == "PutBucketVersioning"
    assert route("GET", "b", None, {"versioning": ""}, {}).operation == "GetBucketVersioning"
