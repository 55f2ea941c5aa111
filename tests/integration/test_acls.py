"""ACL grants and Object Ownership over real HTTP: boto3, the AWS CLI and
unsigned requests against a real server (SQLite and PostgreSQL).

Until sealbox has several accounts, a grant to another canonical id names
nobody who can sign here; it is still kept and shown exactly (its effect is
in tests/unit/test_acl_evaluate.py, with principals of two accounts).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
OTHER_ID = "f" * 64  # a canonical id of an account this server does not have (yet)


def error_of(call: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def anonymous(server: RunningServer, method: str, path: str, body: bytes | None = None,
              ) -> tuple[int, bytes]:
    request = urllib.request.Request(server.endpoint + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def grants_of(answer: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, id or URI, permission) of each grant, in order."""
    out = []
    for grant in answer["Grants"]:
        grantee = grant["Grantee"]
        out.append((grantee["Type"], grantee.get("ID") or grantee.get("URI"),
                    grant["Permission"]))
    return out


def acls_on(s3: Any, bucket: str, ownership: str = "BucketOwnerPreferred",
            public: bool = False) -> str:
    """Enable ACLs on the bucket (and allow public ones); its owner's id."""
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": ownership}]})
    if public:
        s3.delete_public_access_block(Bucket=bucket)
    return s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]


@pytest.fixture
def plain_user(client_factory: Any, server: RunningServer) -> Iterator[Any]:
    """An S3 client signed as a fresh IAM user with no policy at all."""
    iam = client_factory("iam")
    name = f"acl-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    yield boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"],
                       config=Config(s3={"addressing_style": "path"},
                                     retries={"max_attempts": 1}))
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


# -- grants set and read back ------------------------------------------------------


def test_grant_headers_on_put_object_are_read_back_exactly(s3: Any, bucket: str) -> None:
    owner = acls_on(s3, bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", GrantFullControl=f'id="{owner}"',
                  GrantRead=f'id="{OTHER_ID}", uri="{LOG_DELIVERY}"',
                  GrantWriteACP=f"id={OTHER_ID.upper()}")
    answer = s3.get_object_acl(Bucket=bucket, Key="k")
    assert answer["Owner"] == {"ID": owner, "DisplayName": "root"}
    # Groups' grants first (RGW's order), then the rest as given.
    assert grants_of(answer) == [
        ("Group", LOG_DELIVERY, "READ"), ("CanonicalUser", OTHER_ID, "READ"),
        ("CanonicalUser", OTHER_ID, "WRITE_ACP"), ("CanonicalUser", owner, "FULL_CONTROL")]
    owners = [g["Grantee"] for g in answer["Grants"] if g["Grantee"].get("ID") == owner]
    assert owners[0]["DisplayName"] == "root"


def test_access_control_policy_bodies_on_bucket_and_object(s3: Any, bucket: str) -> None:
    owner = acls_on(s3, bucket)
    policy = {"Owner": {"ID": owner}, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "WRITE"},
        {"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "READ_ACP"},
        {"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID}, "Permission": "READ"}]}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert grants_of(s3.get_bucket_acl(Bucket=bucket)) == [
        ("Group", LOG_DELIVERY, "WRITE"), ("Group", LOG_DELIVERY, "READ_ACP"),
        ("CanonicalUser", owner, "FULL_CONTROL"), ("CanonicalUser", OTHER_ID, "READ")]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy={
        "Owner": {"ID": owner},
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID},
                    "Permission": "READ_ACP"}]})
    # Exactly what was set: S3 adds no owner grant to explicit grants.
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="k")) == [
        ("CanonicalUser", OTHER_ID, "READ_ACP")]
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert grants_of(s3.get_bucket_acl(Bucket=bucket)) == [
        ("CanonicalUser", owner, "FULL_CONTROL")]


def test_copy_and_multipart_keep_the_grants_they_ask_for(s3: Any, bucket: str) -> None:
    acls_on(s3, bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", GrantRead=f'id="{OTHER_ID}"')
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    assert [g[2] for g in grants_of(s3.get_object_acl(Bucket=bucket, Key="copy"))] == [
        "FULL_CONTROL"]  # a copy starts private
    s3.copy_object(Bucket=bucket, Key="copy2", CopySource={"Bucket": bucket, "Key": "src"},
                   GrantReadACP=f'id="{OTHER_ID}"')
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="copy2")) == [
        ("CanonicalUser", OTHER_ID, "READ_ACP")]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", GrantRead=f'id="{OTHER_ID}"')
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1,
                          Body=b"p")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]})
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="mp")) == [
        ("CanonicalUser", OTHER_ID, "READ")]


def test_versions_keep_their_own_acls(s3: Any, bucket: str) -> None:
    acls_on(s3, bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1",
                          GrantRead=f'id="{OTHER_ID}"')["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    assert len(grants_of(s3.get_object_acl(Bucket=bucket, Key="k"))) == 1
    assert ("CanonicalUser", OTHER_ID, "READ") in grants_of(
        s3.get_object_acl(Bucket=bucket, Key="k", VersionId=first))
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=first, GrantWrite=f'id="{OTHER_ID}"')
    assert grants_of(s3.get_object_acl(Bucket=bucket, Key="k", VersionId=first)) == [
        ("CanonicalUser", OTHER_ID, "WRITE")]
    assert len(grants_of(s3.get_object_acl(Bucket=bucket, Key="k"))) == 1


# -- validation ----------------------------------------------------------------------


def test_bad_grants_get_s3s_errors_and_nothing_is_kept(s3: Any, signed: Any, bucket: str,
                                                       ) -> None:
    acls_on(s3, bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    before = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    cases = [
        ({"GrantRead": 'id="not-a-canonical-id"'}, (400, "InvalidArgument")),
        ({"GrantRead": 'uri="http://acs.amazonaws.com/groups/global/Nobody"'},
         (400, "InvalidArgument")),
        ({"GrantRead": 'color="blue"'}, (400, "InvalidArgument")),
        ({"GrantRead": 'emailAddress="nobody@example.com"'},
         (400, "UnresolvableGrantByEmailAddress")),
        ({"GrantRead": f'id="{OTHER_ID}"', "ACL": "private"}, (400, "InvalidRequest")),
    ]
    for extra, expected in cases:
        assert error_of(s3.put_object_acl, Bucket=bucket, Key="k", **extra) == expected, extra
        assert error_of(s3.put_object, Bucket=bucket, Key="n", Body=b"x", **extra) == expected
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    bodies = [
        ((f'<Grant><Grantee {xsi} xsi:type="CanonicalUser"><ID>{OTHER_ID}</ID></Grantee>'
          "<Permission>EVERYTHING</Permission></Grant>"), "MalformedACLError"),
        (f"<Grant><Grantee><ID>{OTHER_ID}</ID></Grantee><Permission>READ</Permission></Grant>",
         "MalformedACLError"),
        ((f'<Grant><Grantee {xsi} xsi:type="AmazonCustomerByEmail"><EmailAddress>a@example.com'
          "</EmailAddress></Grantee><Permission>READ</Permission></Grant>"),
         "UnresolvableGrantByEmailAddress"),
        ((f'<Grant><Grantee {xsi} xsi:type="Group"><URI>urn:nobody</URI></Grantee>'
          "<Permission>READ</Permission></Grant>"), "InvalidArgument"),
    ]
    for grants, code in bodies:
        body = (f"<AccessControlPolicy><AccessControlList>{grants}</AccessControlList>"
                "</AccessControlPolicy>").encode()
        answer = signed("PUT", f"/{bucket}/k?acl", body)
        assert answer.status_code == 400 and f"<Code>{code}</Code>" in answer.text, grants
        answer = signed("PUT", f"/{bucket}?acl", body)
        assert answer.status_code == 400 and f"<Code>{code}</Code>" in answer.text, grants
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Grants"] == before
    assert error_of(s3.head_object, Bucket=bucket, Key="n")[0] == 404
    answer = signed("PUT", f"/{bucket}/k?acl", b"<AccessControlPolicy/>",
                    headers={"x-amz-acl": "private"})
    assert "<Code>UnexpectedContent</Code>" in answer.text


def test_bucket_owner_enforced_refuses_grants_but_takes_the_owners(s3: Any, bucket: str,
                                                                   ) -> None:
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x",
                    GrantRead=f'id="{OTHER_ID}"') == (400, "AccessControlListNotSupported")
    assert error_of(s3.put_bucket_acl, Bucket=bucket, GrantRead=f'id="{OTHER_ID}"') == (
        400, "AccessControlListNotSupported")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", GrantFullControl=f'id="{owner}"')
    s3.put_bucket_acl(Bucket=bucket, GrantFullControl=f'id="{owner}"')
    assert error_of(s3.create_bucket, Bucket=f"{bucket}-g", GrantRead=f'id="{OTHER_ID}"') == (
        400, "InvalidBucketAclWithObjectOwnership")
    s3.create_bucket(Bucket=f"{bucket}-w", ObjectOwnership="ObjectWriter",
                     GrantRead=f'id="{OTHER_ID}"')
    assert ("CanonicalUser", OTHER_ID, "READ") in grants_of(
        s3.get_bucket_acl(Bucket=f"{bucket}-w"))
    assert error_of(s3.create_bucket, Bucket=f"{bucket}-x", ObjectOwnership="Nobody") == (
        400, "InvalidArgument")


# -- enforcement -------------------------------------------------------------------


def test_all_users_read_lets_anonymous_get_until_blocked_ignored_or_enforced(
        server: RunningServer, s3: Any, bucket: str) -> None:
    acls_on(s3, bucket)
    # BlockPublicAcls (a new bucket's) refuses a public grant.
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x",
                    GrantRead=f'uri="{ALL_USERS}"') == (403, "AccessDenied")
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"public", GrantRead=f'uri="{ALL_USERS}"')
    s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
    assert anonymous(server, "GET", f"/{bucket}/k") == (200, b"public")
    assert anonymous(server, "GET", f"/{bucket}/private")[0] == 403
    assert anonymous(server, "GET", f"/{bucket}/k?acl")[0] == 403  # READ is not READ_ACP
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "IgnorePublicAcls": True})
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 403
    s3.delete_public_access_block(Bucket=bucket)
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 200
    # ACLs disabled: every ACL is ignored, and Get*Acl show the owner's alone.
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 403
    assert [g[2] for g in grants_of(s3.get_object_acl(Bucket=bucket, Key="k"))] == [
        "FULL_CONTROL"]
    # A policy's explicit Deny beats the grant once ACLs count again.
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 200
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 403


def test_put_object_acl_changes_who_may_read(server: RunningServer, s3: Any,
                                             bucket: str) -> None:
    acls_on(s3, bucket, public=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 403
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert anonymous(server, "GET", f"/{bucket}/k") == (200, b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 403


def test_authenticated_users_lets_any_signed_request_read(
        server: RunningServer, s3: Any, bucket: str, plain_user: Any) -> None:
    acls_on(s3, bucket, public=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"members",
                  GrantRead=f'uri="{AUTHENTICATED}"')
    s3.put_object(Bucket=bucket, Key="private", Body=b"x")
    assert plain_user.get_object(Bucket=bucket, Key="k")["Body"].read() == b"members"
    assert error_of(plain_user.get_object, Bucket=bucket, Key="private")[0] == 403
    assert anonymous(server, "GET", f"/{bucket}/k")[0] == 403
    # A bucket grant: READ lists, READ_ACP reads the bucket's ACL, no more.
    s3.put_bucket_acl(Bucket=bucket, GrantRead=f'uri="{AUTHENTICATED}"',
                      GrantReadACP=f'uri="{AUTHENTICATED}"')
    assert [o["Key"] for o in plain_user.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "k", "private"]
    plain_user.get_bucket_acl(Bucket=bucket)
    assert error_of(plain_user.put_object, Bucket=bucket, Key="n", Body=b"x")[0] == 403
    assert error_of(plain_user.put_bucket_acl, Bucket=bucket, ACL="private")[0] == 403


def test_an_anonymous_writer_owns_what_it_writes(server: RunningServer, s3: Any,
                                                bucket: str) -> None:
    acls_on(s3, bucket, ownership="ObjectWriter", public=True)
    s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'uri="{ALL_USERS}"')
    assert anonymous(server, "PUT", f"/{bucket}/dropped", b"from nobody")[0] == 200
    # ObjectWriter: the bucket owner needs a grant to read another's object,
    # but may still delete it from its bucket.
    assert error_of(s3.get_object, Bucket=bucket, Key="dropped")[0] == 403
    s3.delete_object(Bucket=bucket, Key="dropped")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert anonymous(server, "PUT", f"/{bucket}/again", b"x")[0] == 403


# -- the AWS CLI and the server settings --------------------------------------------


def test_aws_cli_sets_and_reads_grants(server: RunningServer, s3: Any, bucket: str,
                                       aws_env: dict[str, str]) -> None:
    acls_on(s3, bucket)

    def aws(*args: str) -> str:
        return subprocess.run(["aws", "--endpoint-url", server.endpoint, "s3api", *args],
                              capture_output=True, text=True, env=aws_env, timeout=120,
                              check=True).stdout

    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    aws("put-object-acl", "--bucket", bucket, "--key", "k",
        "--grant-read", f"id={OTHER_ID}", "--grant-read-acp", f'uri="{LOG_DELIVERY}"')
    answer = json.loads(aws("get-object-acl", "--bucket", bucket, "--key", "k"))
    assert grants_of(answer) == [("Group", LOG_DELIVERY, "READ_ACP"),
                                 ("CanonicalUser", OTHER_ID, "READ")]
    aws("put-bucket-acl", "--bucket", bucket, "--grant-write", f'uri="{LOG_DELIVERY}"')
    assert ("Group", LOG_DELIVERY, "WRITE") in grants_of(
        json.loads(aws("get-bucket-acl", "--bucket", bucket)))


def test_server_settings_for_buckets_made_before_2023(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data", extra_args=(
            "--default-object-ownership", "ObjectWriter",
            "--new-bucket-block-public-access", "off")) as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key,
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="legacy", ACL="public-read")
        rules = s3.get_bucket_ownership_controls(Bucket="legacy")["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": "ObjectWriter"}]
        assert error_of(s3.get_public_access_block, Bucket="legacy") == (
            404, "NoSuchPublicAccessBlockConfiguration")
        assert anonymous(server, "GET", "/legacy")[0] == 200  # the public-read bucket ACL
        s3.put_bucket_policy(Bucket="legacy", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::legacy/*"}]}))
        s3.put_object(Bucket="legacy", Key="k", Body=b"open")
        assert anonymous(server, "GET", "/legacy/k") == (200, b"open")
        # CreateBucket's own header still wins over the server's default.
        s3.create_bucket(Bucket="modern", ObjectOwnership="BucketOwnerEnforced")
        assert error_of(s3.put_bucket_acl, Bucket="modern", ACL="public-read") == (
            400, "AccessControlListNotSupported")


def test_a_bad_setting_is_refused_before_serving() -> None:
    done = subprocess.run([sys.executable, "-m", "sealbox", "serve",
                           "--default-object-ownership", "Nobody"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--default-object-ownership" in done.stderr


def test_acls_cannot_be_disabled_while_the_bucket_acl_grants_others(s3: Any,
                                                                    bucket: str) -> None:
    acls_on(s3, bucket)
    s3.put_bucket_acl(Bucket=bucket, GrantRead=f'id="{OTHER_ID}"')
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert error_of(s3.put_bucket_ownership_controls, Bucket=bucket,
                    OwnershipControls=enforced) == (400, "InvalidBucketAclWithObjectOwnership")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=enforced)


def test_a_policy_can_require_a_grant_header(s3: Any, bucket: str) -> None:
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-grant-full-control": f"id={owner}"}}}]}))
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x") == (403, "AccessDenied")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", GrantFullControl=f"id={owner}")
