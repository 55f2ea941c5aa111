"""What a refused request is told, and who owns what another account writes,
against a real server (SQLite and PostgreSQL) with boto3, signed as two
accounts and unsigned:

- a bucket that does not exist is NoSuchBucket to anyone (S3: bucket names
  are global); a missing key is NoSuchKey only for a requester who may list
  the bucket by that key's prefix, AccessDenied for anyone else (GetObject's
  "Permissions");
- a copy's bucket policy sees ``s3:x-amz-copy-source`` and
  ``s3:x-amz-metadata-directive``;
- with ACLs disabled another account's write may carry only
  ``bucket-owner-full-control`` (the owner's account ``private`` too);
  with BucketOwnerPreferred that ACL makes the bucket owner own the object,
  and a multipart upload's ``Owner`` says who will own it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer
from tests.integration.test_accounts import client, new_account, root_keys, unique


def refused(call: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def anonymous(server: RunningServer, method: str, path: str) -> tuple[int, str]:
    answer = requests.request(method, server.endpoint + path, timeout=10)
    return answer.status_code, answer.text


@pytest.fixture(scope="module")
def other(server: RunningServer) -> Any:
    """An S3 client signed as the root of a second account."""
    _, keys = new_account(server)
    return client(server, keys)


@pytest.fixture(scope="module")
def owner(server: RunningServer) -> Any:
    return client(server, root_keys(server))


def legacy_bucket(owner: Any, ownership: str = "ObjectWriter", acl: str | None = None) -> str:
    """A bucket with ACLs enabled and no Block Public Access."""
    name = unique("refusals")
    owner.create_bucket(Bucket=name, ObjectOwnership=ownership)
    owner.delete_public_access_block(Bucket=name)
    if acl is not None:
        owner.put_bucket_acl(Bucket=name, ACL=acl)
    return name


def policy(bucket: str, action: str, resource: str, condition: dict[str, Any] | None = None,
           ) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": "*"},
                                 "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# -- refusals ----------------------------------------------------------------------


def test_a_bucket_that_does_not_exist_is_no_such_bucket_to_anyone(
        server: RunningServer, owner: Any, other: Any) -> None:
    name = legacy_bucket(owner, acl="public-read")
    owner.delete_bucket(Bucket=name)
    for method in ("GET", "HEAD", "DELETE", "PUT"):
        status, body = anonymous(server, method, f"/{name}/foo")
        assert status == 404, method
        assert method == "HEAD" or "<Code>NoSuchBucket</Code>" in body
    assert refused(other.get_object, Bucket=name, Key="foo") == (404, "NoSuchBucket")


def test_a_missing_key_is_no_such_key_only_to_who_may_list(
        server: RunningServer, owner: Any) -> None:
    private = legacy_bucket(owner)
    readable = legacy_bucket(owner, acl="public-read")
    owner.put_object(Bucket=readable, Key="there", Body=b"kept private")
    # Nobody outside may list the private bucket: a missing key tells nothing.
    status, body = anonymous(server, "GET", f"/{private}/nothing")
    assert status == 403 and "<Code>AccessDenied</Code>" in body
    assert anonymous(server, "HEAD", f"/{private}/nothing")[0] == 403
    # The public-read ACL lets anyone list: S3 says what a listing would.
    status, body = anonymous(server, "GET", f"/{readable}/nothing")
    assert status == 404 and "<Code>NoSuchKey</Code>" in body
    assert anonymous(server, "HEAD", f"/{readable}/nothing")[0] == 404
    # An object that exists is still not readable through the bucket's ACL.
    assert anonymous(server, "GET", f"/{readable}/there")[0] == 403


def test_list_by_prefix_decides_which_missing_keys_are_404(owner: Any, other: Any) -> None:
    s3 = owner
    bucket = legacy_bucket(owner)
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        bucket, "s3:ListBucket", f"arn:aws:s3:::{bucket}",
        {"StringLike": {"s3:prefix": "public/*"}}))
    s3.put_object(Bucket=bucket, Key="public/there", Body=b"not for them")
    assert refused(other.head_object, Bucket=bucket, Key="public/missing")[0] == 404
    assert refused(other.get_object, Bucket=bucket, Key="public/missing") == (404, "NoSuchKey")
    assert refused(other.head_object, Bucket=bucket, Key="private/missing")[0] == 403
    assert refused(other.get_object, Bucket=bucket, Key="private/missing") == (
        403, "AccessDenied")
    # Listing is not reading: an object that exists stays refused.
    assert refused(other.get_object, Bucket=bucket, Key="public/there") == (
        403, "AccessDenied")


def test_who_may_read_but_not_list_is_refused_a_missing_key(owner: Any, other: Any) -> None:
    # Allowed s3:GetObject, not s3:ListBucket: a missing key is 403, as S3
    # answers it, so reading cannot probe which keys exist.
    bucket = legacy_bucket(owner)
    owner.put_bucket_policy(Bucket=bucket, Policy=policy(
        bucket, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    owner.put_object(Bucket=bucket, Key="there", Body=b"readable")
    assert other.get_object(Bucket=bucket, Key="there")["Body"].read() == b"readable"
    assert refused(other.get_object, Bucket=bucket, Key="missing") == (403, "AccessDenied")
    assert refused(other.head_object, Bucket=bucket, Key="missing")[0] == 403
    # Allowed to list too: now the key is told missing.
    both = json.loads(policy(bucket, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    both["Statement"].append(json.loads(policy(
        bucket, "s3:ListBucket", f"arn:aws:s3:::{bucket}"))["Statement"][0])
    owner.put_bucket_policy(Bucket=bucket, Policy=json.dumps(both))
    assert refused(other.get_object, Bucket=bucket, Key="missing") == (404, "NoSuchKey")
    assert refused(other.head_object, Bucket=bucket, Key="missing")[0] == 404
    # The bucket's owner may list: 404 to it all along.
    assert refused(owner.get_object, Bucket=bucket, Key="missing") == (404, "NoSuchKey")


# -- a copy's condition keys ----------------------------------------------------------


def test_copy_source_and_metadata_directive_are_condition_keys(
        owner: Any, other: Any) -> None:
    source = legacy_bucket(owner)
    target = legacy_bucket(owner)
    for key in ("public/a", "private/a"):
        owner.put_object(Bucket=source, Key=key, Body=key.encode())
    owner.put_bucket_policy(Bucket=source, Policy=policy(
        source, "s3:GetObject", f"arn:aws:s3:::{source}/*"))
    owner.put_bucket_policy(Bucket=target, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{target}/*",
            "Condition": {"StringLike": {"s3:x-amz-copy-source": f"{source}/public/*"},
                          "StringEquals": {"s3:x-amz-metadata-directive": "COPY"}}}]}))
    other.copy_object(Bucket=target, Key="copied", CopySource={"Bucket": source,
                                                              "Key": "public/a"},
                      MetadataDirective="COPY")
    assert refused(other.copy_object, Bucket=target, Key="copied",
                   CopySource={"Bucket": source, "Key": "private/a"},
                   MetadataDirective="COPY") == (403, "AccessDenied")
    assert refused(other.copy_object, Bucket=target, Key="copied",
                   CopySource={"Bucket": source, "Key": "public/a"},
                   MetadataDirective="REPLACE") == (403, "AccessDenied")
    # Not a copy at all: no copy source to match.
    assert refused(other.put_object, Bucket=target, Key="put", Body=b"x") == (
        403, "AccessDenied")


# -- Object Ownership -------------------------------------------------------------------


def test_acls_disabled_take_only_bucket_owner_full_control_from_others(
        owner: Any, other: Any) -> None:
    name = unique("enforced")
    owner.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    owner.delete_public_access_block(Bucket=name)
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}]}))
    owner.put_object(Bucket=name, Key="plain", Body=b"x")
    for call, kwargs in ((other.put_object, {"Key": "k", "Body": b"x"}),
                         (other.put_bucket_acl, {}),
                         (other.put_object_acl, {"Key": "plain"}),
                         (other.create_multipart_upload, {"Key": "m"})):
        for acl in ("private", "public-read", "bucket-owner-read"):
            assert refused(call, Bucket=name, ACL=acl, **kwargs) == (
                400, "AccessControlListNotSupported"), (call, acl)
        call(Bucket=name, ACL="bucket-owner-full-control", **kwargs)
    # The other account's object is still the bucket owner's.
    assert other.get_object_acl(Bucket=name, Key="k")["Owner"]["ID"] == (
        owner.get_bucket_acl(Bucket=name)["Owner"]["ID"])
    # From the owner's account, private is its full control: rclone and
    # forms that send it by default keep working.
    owner.put_object(Bucket=name, Key="mine", Body=b"x", ACL="private")
    owner.put_bucket_acl(Bucket=name, ACL="private")
    assert refused(owner.put_object, Bucket=name, Key="mine", Body=b"x",
                   ACL="public-read") == (400, "AccessControlListNotSupported")
    # A new bucket may say private: it grants nobody else anything.
    made = unique("private")
    owner.create_bucket(Bucket=made, ACL="private", ObjectOwnership="BucketOwnerEnforced")
    owner.delete_bucket(Bucket=made)


def test_bucket_owner_preferred_gives_the_owner_what_is_written_for_it(
        owner: Any, other: Any) -> None:
    name = legacy_bucket(owner, ownership="BucketOwnerPreferred")
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}]}))
    bucket_owner = owner.get_bucket_acl(Bucket=name)["Owner"]["ID"]
    writer = other.list_buckets()["Owner"]["ID"]
    kept = other.create_multipart_upload(Bucket=name, Key="theirs")["UploadId"]
    given = other.create_multipart_upload(Bucket=name, Key="ours",
                                          ACL="bucket-owner-full-control")["UploadId"]
    parts = other.list_parts(Bucket=name, Key="theirs", UploadId=kept)
    assert (parts["Initiator"]["ID"], parts["Owner"]["ID"]) == (writer, writer)
    parts = other.list_parts(Bucket=name, Key="ours", UploadId=given)
    assert (parts["Initiator"]["ID"], parts["Owner"]["ID"]) == (writer, bucket_owner)
    uploads = {u["Key"]: u for u in owner.list_multipart_uploads(Bucket=name)["Uploads"]}
    assert uploads["theirs"]["Owner"]["ID"] == writer
    assert uploads["ours"]["Owner"]["ID"] == bucket_owner
    assert uploads["ours"]["Initiator"]["ID"] == writer
    # Listings name each object's owner.
    other.put_object(Bucket=name, Key="listed-theirs", Body=b"x")
    other.put_object(Bucket=name, Key="listed-ours", Body=b"x", ACL="bucket-owner-full-control")
    listed = owner.list_objects(Bucket=name, Prefix="listed-")["Contents"]
    assert {o["Key"]: o["Owner"]["ID"] for o in listed} == {
        "listed-theirs": writer, "listed-ours": bucket_owner}
    listed = owner.list_objects_v2(Bucket=name, Prefix="listed-", FetchOwner=True)["Contents"]
    assert {o["Key"]: o["Owner"]["ID"] for o in listed} == {
        "listed-theirs": writer, "listed-ours": bucket_owner}
    # The object owner's grant first, then the bucket owner's.
    other.put_object(Bucket=name, Key="read", Body=b"x", ACL="bucket-owner-read")
    grants = other.get_object_acl(Bucket=name, Key="read")["Grants"]
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in grants] == [
        (writer, "FULL_CONTROL"), (bucket_owner, "READ")]
    for key, upload in (("theirs", kept), ("ours", given)):
        other.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload)
