"""Bucket policies, Block Public Access and the seeds' three bucket policies,
over real HTTP with boto3 and plain (unsigned) requests.

The seeds' documents are pasted with only the names changed: the bucket,
the network id (a sealbox network named on the command line stands for
the VPC) and the site.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer


def error_of(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"].get("Message", ""))


def anonymous_get(server: RunningServer, path: str,
                  headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(server.endpoint + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def public_read_policy(bucket: str, **extra: Any) -> str:
    statement = {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                 "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*", **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def open_bucket(s3: Any, bucket: str) -> None:
    """Turn off the bucket's Block Public Access, as the seeds do first."""
    s3.delete_public_access_block(Bucket=bucket)


# -- the operations ------------------------------------------------------------


def test_policy_round_trip_status_and_delete(s3: Any, bucket: str) -> None:
    assert error_of(s3.get_bucket_policy, Bucket=bucket)[:2] == (404, "NoSuchBucketPolicy")
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}, indent=2)
    s3.put_bucket_policy(Bucket=bucket, Policy=document)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == document  # byte for byte
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    s3.delete_bucket_policy(Bucket=bucket)
    assert error_of(s3.get_bucket_policy, Bucket=bucket)[:2] == (404, "NoSuchBucketPolicy")
    s3.delete_bucket_policy(Bucket=bucket)  # deleting none is fine, as on S3


@pytest.mark.parametrize("document, reason", [
    ("not json", "Policies must be valid JSON and the first byte must be '{'"),
    ('{"Statement": [', "This policy contains invalid Json"),
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
     '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-bucket/*"}]}',
     "Policy has invalid resource"),
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
     '"Action": "s3:Fly", "Resource": "arn:aws:s3:::BUCKET/*"}]}', "Policy has invalid action"),
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
     '"Principal": {"AWS": "arn:aws:iam::000000000000:user/nobody-here"}, '
     '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/*"}]}',
     "Invalid principal in policy"),
    ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
     '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/*", '
     '"Condition": {"StringLikeButNot": {"aws:Referer": "x"}}}]}', ""),
    # a lone surrogate escape: JSON's syntax, but no text (once a 500)
    (('{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", '
      '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/\\ud800"}]}'),
     "This policy contains invalid Json"),
])
def test_malformed_policy_is_refused_and_the_old_one_stays(
        s3: Any, bucket: str, document: str, reason: str) -> None:
    old = public_read_policy(bucket).replace("Allow", "Deny")
    s3.put_bucket_policy(Bucket=bucket, Policy=old)
    status, code, message = error_of(s3.put_bucket_policy, Bucket=bucket,
                                     Policy=document.replace("BUCKET", bucket))
    assert (status, code) == (400, "MalformedPolicy")
    if reason:
        assert message == reason
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == old


def test_policy_over_20_kb_is_refused(s3: Any, bucket: str) -> None:
    statements = [{"Sid": f"S{i}", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"arn:aws:s3:::{bucket}/{'x' * 200}{i}"} for i in range(100)]
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    assert len(document) > 20 * 1024
    assert error_of(s3.put_bucket_policy, Bucket=bucket, Policy=document)[:2] == (
        400, "MalformedPolicy")


def test_policy_of_a_missing_bucket(s3: Any) -> None:
    assert error_of(s3.get_bucket_policy, Bucket="no-such-bucket-here")[:2] == (
        404, "NoSuchBucket")


# -- Block Public Access -----------------------------------------------------


def test_new_bucket_blocks_public_access_and_enforces_owner(s3: Any, bucket: str) -> None:
    config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert config == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                      "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_block_public_policy_refuses_a_public_policy(s3: Any, bucket: str) -> None:
    status, code, _ = error_of(s3.put_bucket_policy, Bucket=bucket,
                               Policy=public_read_policy(bucket))
    assert (status, code) == (403, "AccessDenied")
    assert error_of(s3.get_bucket_policy, Bucket=bucket)[:2] == (404, "NoSuchBucketPolicy")


def test_public_policy_admits_anonymous_readers_until_restricted(
        server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>hello</p>")
    assert anonymous_get(server, f"/{bucket}/page.html")[0] == 403
    open_bucket(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    assert anonymous_get(server, f"/{bucket}/page.html") == (200, b"<p>hello</p>")
    # Listing was not granted: still refused.
    assert anonymous_get(server, f"/{bucket}")[0] == 403
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "RestrictPublicBuckets": True})
    assert anonymous_get(server, f"/{bucket}/page.html")[0] == 403
    s3.delete_public_access_block(Bucket=bucket)
    assert anonymous_get(server, f"/{bucket}/page.html")[0] == 200


def test_account_block_public_access_applies_to_every_bucket(
        server: RunningServer, s3: Any, signed: Any, bucket: str) -> None:
    """S3 Control's account-level form. botocore's s3control client puts the
    account id in the host name, which a loopback endpoint cannot resolve,
    so these requests are signed by botocore and sent directly."""
    path = "/v20180820/configuration/publicAccessBlock"
    account = {"x-amz-account-id": "000000000000"}
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    open_bucket(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert anonymous_get(server, f"/{bucket}/a")[0] == 200
    answer = signed("GET", path, headers=account)
    assert answer.status_code == 404
    assert b"<Code>NoSuchPublicAccessBlockConfiguration</Code>" in answer.content
    assert signed("GET", path, headers={"x-amz-account-id": "123456789012"}).status_code == 403
    config = (b'<PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/'
              b'2018-08-20/"><BlockPublicPolicy>true</BlockPublicPolicy>'
              b"<RestrictPublicBuckets>true</RestrictPublicBuckets>"
              b"</PublicAccessBlockConfiguration>")
    try:
        assert signed("PUT", path, config, headers=account).status_code == 200
        answer = signed("GET", path, headers=account)
        assert answer.status_code == 200
        assert b"<BlockPublicAcls>false</BlockPublicAcls>" in answer.content
        assert b"<RestrictPublicBuckets>true</RestrictPublicBuckets>" in answer.content
        assert anonymous_get(server, f"/{bucket}/a")[0] == 403
        assert error_of(s3.put_bucket_policy, Bucket=bucket,
                        Policy=public_read_policy(bucket))[:2] == (403, "AccessDenied")
    finally:
        assert signed("DELETE", path, headers=account).status_code == 204
    assert anonymous_get(server, f"/{bucket}/a")[0] == 200


def test_malformed_public_access_block_is_refused(signed: Any, bucket: str) -> None:
    body = (b'<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration>")
    answer = signed("PUT", f"/{bucket}?publicAccessBlock", body)
    assert answer.status_code == 400 and b"<Code>MalformedXML</Code>" in answer.content


# -- ACLs and Object Ownership --------------------------------------------------


def test_acls_are_refused_while_the_owner_is_enforced(s3: Any, bucket: str) -> None:
    status, code, message = error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x",
                                     ACL="public-read")
    assert (status, code, message) == (400, "AccessControlListNotSupported",
                                       "The bucket does not allow ACLs")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"]["ID"] == acl["Owner"]["ID"]
    assert error_of(s3.put_bucket_acl, Bucket=bucket, ACL="public-read")[:2] == (
        400, "AccessControlListNotSupported")
    # From the bucket owner's account, private is the owner's full control too
    # (another account's is refused: tests/integration/test_refusals_and_ownership.py).
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_bucket_acl(Bucket=bucket, ACL="bucket-owner-full-control")


def test_create_bucket_with_an_acl_and_enforced_owner(s3: Any) -> None:
    status, code, _ = error_of(s3.create_bucket, Bucket="acl-enforced-refused",
                               ACL="public-read")
    assert (status, code) == (400, "InvalidBucketAclWithObjectOwnership")


def test_public_object_acl_needs_acls_enabled_and_not_ignored(
        server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    # BlockPublicAcls (on for new buckets) refuses the public ACL.
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x",
                    ACL="public-read")[:2] == (403, "AccessDenied")
    open_bucket(s3, bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"public", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert {g["Grantee"].get("URI") for g in grants} >= {
        "http://acs.amazonaws.com/groups/global/AllUsers"}
    assert "x-amz-acl" not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"][
        "HTTPHeaders"]
    assert anonymous_get(server, f"/{bucket}/k") == (200, b"public")
    assert anonymous_get(server, f"/{bucket}/private")[0] == 403
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "IgnorePublicAcls": True})
    assert anonymous_get(server, f"/{bucket}/k")[0] == 403


def test_public_bucket_acl_lets_anyone_list(server: RunningServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    open_bucket(s3, bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    status, body = anonymous_get(server, f"/{bucket}")
    assert status == 200 and b"<ListBucketResult" in body
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert anonymous_get(server, f"/{bucket}")[0] == 403
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    assert error_of(s3.get_bucket_ownership_controls, Bucket=bucket)[:2] == (
        404, "OwnershipControlsNotFoundError")


# -- the seeds' bucket policies -------------------------------------------------


def test_seed_deny_insecure_transport_refuses_plain_http(s3: Any, bucket: str) -> None:
    """Seed: "AllowSSLRequestsOnly" — deny every request when
    aws:SecureTransport is false. Over plain HTTP even the root is refused
    (an explicit Deny in a bucket policy binds the owner), except that it
    may still remove the policy."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Id": "ExamplePolicy",
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowSSLRequestsOnly",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Principal": "*",
        }],
    }))
    assert error_of(s3.get_object, Bucket=bucket, Key="k")[:2] == (403, "AccessDenied")
    assert error_of(s3.list_objects_v2, Bucket=bucket)[:2] == (403, "AccessDenied")
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def seed_network_policy(bucket: str, vpc: str) -> str:
    """Seed: "Access-to-specific-VPC-only" (the VPC id replaced by a network name)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "Policy1415115909152",
        "Statement": [{
            "Sid": "Access-to-specific-VPC-only",
            "Principal": "*",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpc": vpc}},
        }],
    })


def test_seed_network_only_policy(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    # Requests come from loopback, which the server names "loopback".
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_network_policy(bucket, "lab"))
    assert error_of(s3.get_object, Bucket=bucket, Key="k")[:2] == (403, "AccessDenied")
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_network_policy(bucket, "loopback"))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_seed_referer_policy(server: RunningServer, s3: Any, bucket: str) -> None:
    """Seed: allow GetObject only with a Referer like https://*.example.com/*."""
    s3.put_object(Bucket=bucket, Key="video.mp4", Body=b"frames")
    open_bucket(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Id": "HTTP referer policy example",
        "Statement": [{
            "Sid": "Allow only GET requests originating from www.example.com and example.com.",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringLike": {"aws:Referer": [
                "https://www.example.com/*", "https://example.com/*"]}},
        }],
    }))
    path = f"/{bucket}/video.mp4"
    assert anonymous_get(server, path, {"Referer": "https://www.example.com/course/1"}) == (
        200, b"frames")
    assert anonymous_get(server, path, {"Referer": "https://example.com/"})[0] == 200
    assert anonymous_get(server, path, {"Referer": "https://evil.example.net/"})[0] == 403
    assert anonymous_get(server, path)[0] == 403


def test_a_long_referer_against_an_anti_hotlinking_deny_is_judged_at_once(
        server: RunningServer, s3: Any, bucket: str) -> None:
    """Issue 11: a 6 KB Referer held a worker for seconds when wildcard
    patterns were regular expressions that backtrack."""
    s3.put_object(Bucket=bucket, Key="clip.mp4", Body=b"frames")
    open_bucket(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "NoHotlinks", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringNotLike": {"aws:Referer": [
             "https://example.com/*", "https://*.example.com/*", "*://*.*.*.example.org/*/*.mp4"]}}},
    ]}))
    path = f"/{bucket}/clip.mp4"
    assert anonymous_get(server, path, {"Referer": "https://www.example.com/v"})[0] == 200
    started = time.monotonic()
    status, _ = anonymous_get(server, path, {"Referer": "https://" + "a." * 3000 + "/"})
    assert status == 403
    assert time.monotonic() - started < 2  # the regex took seconds; this takes milliseconds


def test_a_listing_prefix_over_8_kib_is_refused_when_a_policy_reads_it(
        s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": "private/*"}}}]}))
    assert s3.list_objects_v2(Bucket=bucket, Prefix="p" * 8192)["KeyCount"] == 0
    status, code, _ = error_of(s3.list_objects_v2, Bucket=bucket, Prefix="p" * 8193)
    assert (status, code) == (400, "InvalidArgument")


def test_deny_overrides_allow_and_wrong_bucket(server: RunningServer, s3: Any,
                                               bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="open/secret", Body=b"s")
    open_bucket(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/open/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/open/secret"},
        ],
    }))
    assert anonymous_get(server, f"/{bucket}/open/a")[0] == 200
    assert anonymous_get(server, f"/{bucket}/open/secret")[0] == 403
    # Root is bound by the Deny too.
    assert error_of(s3.get_object, Bucket=bucket, Key="open/secret")[:2] == (403, "AccessDenied")
