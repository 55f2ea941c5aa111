"""Object lock through boto3 (and raw signed requests, and the ``sealbox``
CLI) against a real server, on SQLite and PostgreSQL: buckets with object
lock, default retention, lock headers on every kind of write, retention and
legal holds, and the promise: a locked version is not removed, nor its
bytes freed, by any path, root included, until it may be."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

FAR = datetime(2100, 1, 1, tzinfo=UTC)
LOCKED_MESSAGE = "Access Denied because object protected by object lock."
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def _refused(call, *args: object, **kw: object) -> tuple[str, int]:
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kw)
    return _error(excinfo)


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@pytest.fixture
def locked_bucket(s3, bucket) -> str:
    """A fresh bucket made with object lock (no default retention)."""
    name = bucket + "-lock"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _user(client_factory, server, bucket: str, actions: list[str]):
    """A boto3 client for a new IAM user allowed ``actions`` on the bucket."""
    iam = client_factory("iam")
    name = f"lock-{hashlib.sha1((bucket + ','.join(actions)).encode()).hexdigest()[:20]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": actions,
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1, "mode": "standard"}))


# -- buckets ---------------------------------------------------------------------


def test_a_bucket_made_with_object_lock_is_versioned_for_good(s3, locked_bucket) -> None:
    assert s3.get_bucket_versioning(Bucket=locked_bucket)["Status"] == "Enabled"
    got = s3.get_object_lock_configuration(Bucket=locked_bucket)
    assert got["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}
    assert _refused(s3.put_bucket_versioning, Bucket=locked_bucket,
                    VersioningConfiguration={"Status": "Suspended"}) == ("InvalidBucketState", 409)
    assert s3.get_bucket_versioning(Bucket=locked_bucket)["Status"] == "Enabled"


def test_default_retention_round_trips_and_applies_to_new_versions(s3, locked_bucket) -> None:
    conf = {"ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}}
    s3.put_object_lock_configuration(Bucket=locked_bucket, ObjectLockConfiguration=conf)
    assert s3.get_object_lock_configuration(
        Bucket=locked_bucket)["ObjectLockConfiguration"] == conf
    before = datetime.now(UTC)
    version = s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x")["VersionId"]
    head = s3.head_object(Bucket=locked_bucket, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert before + timedelta(days=2) - timedelta(seconds=5) < until
    assert until < datetime.now(UTC) + timedelta(days=2, seconds=5)
    assert "ObjectLockLegalHoldStatus" not in head
    assert s3.get_object_retention(Bucket=locked_bucket, Key="k")["Retention"] == {
        "Mode": "GOVERNANCE", "RetainUntilDate": until}
    # Given headers win over the default.
    s3.put_object(Bucket=locked_bucket, Key="own", Body=b"y", ObjectLockMode="GOVERNANCE",
                  ObjectLockRetainUntilDate=FAR)
    assert s3.head_object(Bucket=locked_bucket, Key="own")["ObjectLockRetainUntilDate"] == FAR
    # A rule of years; a configuration without a rule removes the default.
    conf["Rule"]["DefaultRetention"] = {"Mode": "COMPLIANCE", "Years": 1}
    s3.put_object_lock_configuration(Bucket=locked_bucket, ObjectLockConfiguration=conf)
    assert s3.get_object_lock_configuration(
        Bucket=locked_bucket)["ObjectLockConfiguration"] == conf
    s3.put_object_lock_configuration(Bucket=locked_bucket,
                                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    s3.put_object(Bucket=locked_bucket, Key="plain", Body=b"z")
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked_bucket, Key="plain")
    s3.delete_object(Bucket=locked_bucket, Key="k", VersionId=version,
                     BypassGovernanceRetention=True)


@pytest.mark.parametrize(("rule", "code"), [
    ("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>", "MalformedXML"),
    ("<Mode>GOVERNANCE</Mode>", "MalformedXML"),
    ("<Mode>governance</Mode><Days>1</Days>", "MalformedXML"),
    ("<Mode>GOVERNANCE</Mode><Days>one</Days>", "MalformedXML"),
    ("<Mode>GOVERNANCE</Mode><Days>0</Days>", "InvalidRetentionPeriod"),
    ("<Mode>COMPLIANCE</Mode><Years>-1</Years>", "InvalidRetentionPeriod"),
    ("<Mode>COMPLIANCE</Mode><Years>101</Years>", "InvalidRetentionPeriod"),
    ("<Mode>COMPLIANCE</Mode><Days>36501</Days>", "InvalidRetentionPeriod"),
])
def test_bad_default_retentions_are_refused(signed, locked_bucket, rule: str, code: str) -> None:
    body = (f"<ObjectLockConfiguration {NS}><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
            f"<Rule><DefaultRetention>{rule}</DefaultRetention></Rule>"
            "</ObjectLockConfiguration>").encode()
    r = signed("PUT", f"/{locked_bucket}?object-lock", body=body,
               headers={"Content-MD5": _md5(body)})
    assert r.status_code == 400 and f"<Code>{code}</Code>".encode() in r.content


def test_lock_configuration_needs_enabled_valid_xml_and_an_integrity_header(
        signed, locked_bucket) -> None:
    def put(body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
        return signed("PUT", f"/{locked_bucket}?object-lock", body=body,
                      headers={"Content-MD5": _md5(body)} if headers is None else headers)

    disabled = (f"<ObjectLockConfiguration {NS}><ObjectLockEnabled>Disabled</ObjectLockEnabled>"
                "</ObjectLockConfiguration>").encode()
    assert b"<Code>MalformedXML</Code>" in put(disabled).content
    assert b"<Code>MalformedXML</Code>" in put(b"<ObjectLockConfiguration").content
    enabled = disabled.replace(b"Disabled", b"Enabled")
    missing = put(enabled, {})
    assert missing.status_code == 400 and b"<Code>InvalidRequest</Code>" in missing.content
    assert b"Content-MD5 OR x-amz-checksum- HTTP header is required" in missing.content
    wrong = put(enabled, {"Content-MD5": _md5(b"other")})
    assert wrong.status_code == 400 and b"<Code>BadDigest</Code>" in wrong.content
    crc = base64.b64encode(zlib.crc32(enabled).to_bytes(4, "big")).decode()
    assert put(enabled, {"x-amz-checksum-crc32": crc}).status_code == 200


def test_a_bucket_without_object_lock_refuses_lock_requests(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    conf = {"ObjectLockEnabled": "Enabled"}
    assert _refused(s3.put_object_lock_configuration, Bucket=bucket,
                    ObjectLockConfiguration=conf) == ("InvalidBucketState", 409)
    assert _refused(s3.get_object_lock_configuration, Bucket=bucket) == (
        "ObjectLockConfigurationNotFoundError", 404)
    for call, kw in [
        (s3.put_object_retention, {"Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}}),
        (s3.get_object_retention, {}),
        (s3.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
        (s3.get_object_legal_hold, {}),
        (s3.put_object, {"Body": b"y", "ObjectLockLegalHoldStatus": "ON"}),
    ]:
        assert _refused(call, Bucket=bucket, Key="k", **kw) == ("InvalidRequest", 400)
    assert _refused(s3.get_object_lock_configuration, Bucket=bucket + "-none") == (
        "NoSuchBucket", 404)
    assert _refused(s3.put_object, Bucket=bucket + "-none", Key="k", Body=b"y",
                    ObjectLockLegalHoldStatus="ON") == ("NoSuchBucket", 404)
    # Enabling versioning makes an existing bucket eligible, as S3 allows now.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert _refused(s3.put_object_lock_configuration, Bucket=bucket,
                    ObjectLockConfiguration=conf) == ("InvalidBucketState", 409)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=conf)
    s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"})
    # The version from before versioning is held like any other.
    assert _refused(s3.delete_object, Bucket=bucket, Key="k", VersionId="null") == (
        "AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})


# -- lock on writes ----------------------------------------------------------------


def test_lock_headers_on_put_come_back_on_get_and_head(s3, locked_bucket) -> None:
    put = s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=FAR, ObjectLockLegalHoldStatus="ON")
    for got in (s3.head_object(Bucket=locked_bucket, Key="k"),
                s3.get_object(Bucket=locked_bucket, Key="k", VersionId=put["VersionId"])):
        assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"],
                got["ObjectLockLegalHoldStatus"]) == ("GOVERNANCE", FAR, "ON")
    raw = s3.get_object(Bucket=locked_bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert raw["x-amz-object-lock-retain-until-date"] == "2100-01-01T00:00:00.000Z"
    assert s3.get_object_legal_hold(Bucket=locked_bucket, Key="k")["LegalHold"] == {
        "Status": "ON"}
    s3.put_object_legal_hold(Bucket=locked_bucket, Key="k", LegalHold={"Status": "OFF"})
    assert s3.head_object(Bucket=locked_bucket, Key="k")["ObjectLockLegalHoldStatus"] == "OFF"
    s3.delete_object(Bucket=locked_bucket, Key="k", VersionId=put["VersionId"],
                     BypassGovernanceRetention=True)


@pytest.mark.parametrize(("headers", "message"), [
    ({"x-amz-object-lock-mode": "GOVERNANCE"}, b"must both be supplied"),
    ({"x-amz-object-lock-retain-until-date": "2100-01-01T00:00:00Z"}, b"must both be supplied"),
    ({"x-amz-object-lock-mode": "FOREVER",
      "x-amz-object-lock-retain-until-date": "2100-01-01T00:00:00Z"}, b"Unknown wormMode"),
    ({"x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-object-lock-retain-until-date": "tomorrow"}, b"ISO 8601"),
    ({"x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-object-lock-retain-until-date": "2001-01-01T00:00:00Z"}, b"in the future"),
    ({"x-amz-object-lock-legal-hold": "on"}, b"Legal Hold must be"),
])
def test_bad_lock_headers_are_invalid_arguments(signed, s3, locked_bucket,
                                                headers: dict[str, str], message: bytes) -> None:
    r = signed("PUT", f"/{locked_bucket}/k", body=b"x",
               headers={"Content-MD5": _md5(b"x"), **headers})
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    assert message in r.content
    assert "Versions" not in s3.list_object_versions(Bucket=locked_bucket)


def test_a_put_with_lock_headers_needs_content_md5_or_a_checksum(signed, s3,
                                                                 locked_bucket) -> None:
    hold = {"x-amz-object-lock-legal-hold": "ON"}
    r = signed("PUT", f"/{locked_bucket}/k", body=b"x", headers=hold)
    assert r.status_code == 400 and b"<Code>InvalidRequest</Code>" in r.content
    assert "Versions" not in s3.list_object_versions(Bucket=locked_bucket)
    bad = signed("PUT", f"/{locked_bucket}/k", body=b"x",
                 headers={**hold, "Content-MD5": _md5(b"y")})
    assert bad.status_code == 400 and b"<Code>BadDigest</Code>" in bad.content
    crc = base64.b64encode(zlib.crc32(b"x").to_bytes(4, "big")).decode()
    ok = signed("PUT", f"/{locked_bucket}/k", body=b"x",
                headers={**hold, "x-amz-checksum-crc32": crc})
    assert ok.status_code == 200
    assert s3.head_object(Bucket=locked_bucket, Key="k")["ObjectLockLegalHoldStatus"] == "ON"
    # Without lock headers, a plain PUT needs neither (the default retention applies).
    assert signed("PUT", f"/{locked_bucket}/plain", body=b"x").status_code == 200
    s3.put_object_legal_hold(Bucket=locked_bucket, Key="k", LegalHold={"Status": "OFF"})


def test_multipart_copy_and_post_form_take_their_own_lock(s3, server, locked_bucket) -> None:
    upload = s3.create_multipart_upload(Bucket=locked_bucket, Key="mp",
                                        ObjectLockMode="GOVERNANCE",
                                        ObjectLockRetainUntilDate=FAR,
                                        ObjectLockLegalHoldStatus="ON")
    part = s3.upload_part(Bucket=locked_bucket, Key="mp", UploadId=upload["UploadId"],
                          PartNumber=1, Body=b"abc")
    done = s3.complete_multipart_upload(
        Bucket=locked_bucket, Key="mp", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    head = s3.head_object(Bucket=locked_bucket, Key="mp")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"],
            head["ObjectLockLegalHoldStatus"]) == ("GOVERNANCE", FAR, "ON")
    assert _refused(s3.delete_object, Bucket=locked_bucket, Key="mp",
                    VersionId=done["VersionId"]) == ("AccessDenied", 403)
    # A copy has the lock its request asks for, never its source's.
    s3.copy_object(Bucket=locked_bucket, Key="copy", CopySource={"Bucket": locked_bucket,
                                                                 "Key": "mp"})
    plain = s3.head_object(Bucket=locked_bucket, Key="copy")
    assert "ObjectLockMode" not in plain and "ObjectLockLegalHoldStatus" not in plain
    s3.copy_object(Bucket=locked_bucket, Key="copy", ObjectLockLegalHoldStatus="ON",
                   CopySource={"Bucket": locked_bucket, "Key": "mp"})
    assert s3.head_object(Bucket=locked_bucket, Key="copy")["ObjectLockLegalHoldStatus"] == "ON"
    # A browser form's fields do what the headers do.
    post = s3.generate_presigned_post(
        locked_bucket, "form", Fields={"x-amz-object-lock-legal-hold": "ON"},
        Conditions=[{"x-amz-object-lock-legal-hold": "ON"}], ExpiresIn=60)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"posted")},
                      timeout=10)
    assert r.status_code == 204, r.text
    assert s3.head_object(Bucket=locked_bucket, Key="form")["ObjectLockLegalHoldStatus"] == "ON"
    for key in ("mp", "copy", "form"):
        s3.put_object_legal_hold(Bucket=locked_bucket, Key=key, LegalHold={"Status": "OFF"})


# -- retention and legal holds ---------------------------------------------------------


def test_retention_lengthens_freely_and_shortens_only_with_the_bypass(s3, locked_bucket) -> None:
    version = s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x")["VersionId"]
    assert _refused(s3.get_object_retention, Bucket=locked_bucket, Key="k") == (
        "NoSuchObjectLockConfiguration", 404)
    assert _refused(s3.get_object_legal_hold, Bucket=locked_bucket, Key="k") == (
        "NoSuchObjectLockConfiguration", 404)
    near, far = datetime(2090, 1, 1, tzinfo=UTC), FAR

    def retain(mode: str, until: datetime, **kw: object) -> None:
        s3.put_object_retention(Bucket=locked_bucket, Key="k",
                                Retention={"Mode": mode, "RetainUntilDate": until}, **kw)

    retain("GOVERNANCE", near)
    retain("GOVERNANCE", far)  # longer: allowed
    assert _refused(retain, "GOVERNANCE", near) == ("AccessDenied", 403)
    assert _refused(retain, "COMPLIANCE", far) == ("AccessDenied", 403)  # mode change
    retain("GOVERNANCE", near, BypassGovernanceRetention=True)
    assert s3.get_object_retention(Bucket=locked_bucket, Key="k")["Retention"] == {
        "Mode": "GOVERNANCE", "RetainUntilDate": near}
    # An empty Retention removes it, with the bypass only.
    assert _refused(s3.put_object_retention, Bucket=locked_bucket, Key="k",
                    Retention={}) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=locked_bucket, Key="k", Retention={},
                            BypassGovernanceRetention=True)
    assert _refused(s3.get_object_retention, Bucket=locked_bucket, Key="k")[1] == 404
    s3.delete_object(Bucket=locked_bucket, Key="k", VersionId=version)


def test_retention_and_legal_hold_of_a_named_version(s3, locked_bucket) -> None:
    first = s3.put_object(Bucket=locked_bucket, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=locked_bucket, Key="k", Body=b"2")
    s3.put_object_legal_hold(Bucket=locked_bucket, Key="k", VersionId=first,
                             LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked_bucket, Key="k",
                                    VersionId=first)["LegalHold"] == {"Status": "ON"}
    assert _refused(s3.get_object_legal_hold, Bucket=locked_bucket, Key="k")[1] == 404
    missing = "A" * 32
    assert _refused(s3.put_object_legal_hold, Bucket=locked_bucket, Key="k", VersionId=missing,
                    LegalHold={"Status": "ON"}) == ("NoSuchVersion", 404)
    assert _refused(s3.get_object_retention, Bucket=locked_bucket, Key="nokey") == (
        "NoSuchKey", 404)
    assert _refused(s3.delete_object, Bucket=locked_bucket, Key="k", VersionId=first) == (
        "AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=locked_bucket, Key="k", VersionId=first,
                             LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked_bucket, Key="k", VersionId=first)


@pytest.mark.parametrize(("path", "body", "code"), [
    ("retention", ("<Retention {ns}><Mode>governance</Mode>"
                   "<RetainUntilDate>2100-01-01T00:00:00Z</RetainUntilDate></Retention>"),
     "MalformedXML"),
    ("retention", "<Retention {ns}><Mode>GOVERNANCE</Mode></Retention>", "MalformedXML"),
    ("retention", ("<Retention {ns}><Mode>GOVERNANCE</Mode>"
                   "<RetainUntilDate>soon</RetainUntilDate></Retention>"), "MalformedXML"),
    ("retention", ("<Retention {ns}><Mode>GOVERNANCE</Mode>"
                   "<RetainUntilDate>2001-01-01T00:00:00Z</RetainUntilDate></Retention>"),
     "InvalidArgument"),
    ("legal-hold", "<LegalHold {ns}><Status>on</Status></LegalHold>", "MalformedXML"),
    ("legal-hold", "<LegalHold {ns}></LegalHold>", "MalformedXML"),
    ("legal-hold", "<Retention {ns}/>", "MalformedXML"),
])
def test_bad_retention_and_legal_hold_documents(signed, s3, locked_bucket, path: str, body: str,
                                                code: str) -> None:
    s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x")
    data = body.format(ns=NS).encode()
    r = signed("PUT", f"/{locked_bucket}/k?{path}", body=data,
               headers={"Content-MD5": _md5(data)})
    assert r.status_code == 400 and f"<Code>{code}</Code>".encode() in r.content
    head = s3.head_object(Bucket=locked_bucket, Key="k")
    assert "ObjectLockMode" not in head and "ObjectLockLegalHoldStatus" not in head
    unsigned_digest = signed("PUT", f"/{locked_bucket}/k?legal-hold",
                             body=b"<LegalHold><Status>ON</Status></LegalHold>")
    assert unsigned_digest.status_code == 400
    assert b"<Code>InvalidRequest</Code>" in unsigned_digest.content


# -- the promise ------------------------------------------------------------------------------


def test_governance_holds_against_deletes_unless_bypassed_by_one_allowed_to(
        s3, client_factory, server, locked_bucket) -> None:
    locked = s3.put_object(Bucket=locked_bucket, Key="k", Body=b"kept",
                           ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=FAR)["VersionId"]
    free = s3.put_object(Bucket=locked_bucket, Key="other", Body=b"x")["VersionId"]
    assert _refused(s3.delete_object, Bucket=locked_bucket, Key="k", VersionId=locked) == (
        "AccessDenied", 403)
    # Without a version id: a delete marker, as S3 does; the version stays.
    marker = s3.delete_object(Bucket=locked_bucket, Key="k")
    assert marker["DeleteMarker"] is True
    s3.delete_object(Bucket=locked_bucket, Key="k", VersionId=marker["VersionId"])
    # DeleteObjects: the locked entry is that key's error; the other goes.
    got = s3.delete_objects(Bucket=locked_bucket, Delete={"Objects": [
        {"Key": "k", "VersionId": locked}, {"Key": "other", "VersionId": free}]})
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in got["Errors"]] == [
        ("k", locked, "AccessDenied")]
    assert got["Errors"][0]["Message"] == LOCKED_MESSAGE
    assert [(d["Key"], d["VersionId"]) for d in got["Deleted"]] == [("other", free)]
    # A user who may delete versions but not bypass governance: refused, with or without asking.
    user = _user(client_factory, server, locked_bucket,
                 ["s3:DeleteObjectVersion", "s3:DeleteObject", "s3:GetObjectRetention",
                  "s3:PutObjectRetention"])
    for bypass in (False, True):
        assert _refused(user.delete_object, Bucket=locked_bucket, Key="k", VersionId=locked,
                        BypassGovernanceRetention=bypass) == ("AccessDenied", 403)
        denied = user.delete_objects(Bucket=locked_bucket, BypassGovernanceRetention=bypass,
                                     Delete={"Objects": [{"Key": "k", "VersionId": locked}]})
        assert denied["Errors"][0]["Code"] == "AccessDenied"
    assert _refused(user.put_object_retention, Bucket=locked_bucket, Key="k",
                    Retention={}, BypassGovernanceRetention=True) == ("AccessDenied", 403)
    assert s3.get_object(Bucket=locked_bucket, Key="k",
                         VersionId=locked)["Body"].read() == b"kept"
    # One allowed s3:BypassGovernanceRetention, asking for it: gone.
    bypasser = _user(client_factory, server, locked_bucket,
                     ["s3:DeleteObjectVersion", "s3:DeleteObject",
                      "s3:BypassGovernanceRetention"])
    deleted = bypasser.delete_objects(Bucket=locked_bucket, BypassGovernanceRetention=True,
                                      Delete={"Objects": [{"Key": "k", "VersionId": locked}]})
    assert "Errors" not in deleted and deleted["Deleted"][0]["VersionId"] == locked
    assert _refused(s3.head_object, Bucket=locked_bucket, Key="k", VersionId=locked)[1] == 404


def test_the_lock_actions_need_their_own_permissions(s3, client_factory, server,
                                                     locked_bucket) -> None:
    s3.put_object(Bucket=locked_bucket, Key="k", Body=b"x")
    reader = _user(client_factory, server, locked_bucket, ["s3:GetObject", "s3:PutObject"])
    # GET and HEAD show a version's lock only to those who may read it, as S3.
    s3.put_object(Bucket=locked_bucket, Key="shown", Body=b"x", ObjectLockMode="GOVERNANCE",
                  ObjectLockRetainUntilDate=FAR, ObjectLockLegalHoldStatus="ON")
    head = reader.head_object(Bucket=locked_bucket, Key="shown")
    assert not {"ObjectLockMode", "ObjectLockRetainUntilDate",
                "ObjectLockLegalHoldStatus"} & set(head)
    retention_reader = _user(client_factory, server, locked_bucket,
                             ["s3:GetObject", "s3:GetObjectRetention"])
    got = retention_reader.get_object(Bucket=locked_bucket, Key="shown")
    assert got["ObjectLockMode"] == "GOVERNANCE" and "ObjectLockLegalHoldStatus" not in got
    assert s3.head_object(Bucket=locked_bucket, Key="shown")["ObjectLockLegalHoldStatus"] == "ON"
    s3.put_object_legal_hold(Bucket=locked_bucket, Key="shown", LegalHold={"Status": "OFF"})
    for call, kw in [
        (reader.put_object_retention, {"Retention": {"Mode": "GOVERNANCE",
                                                     "RetainUntilDate": FAR}}),
        (reader.get_object_retention, {}),
        (reader.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
        (reader.get_object_legal_hold, {}),
    ]:
        assert _refused(call, Bucket=locked_bucket, Key="k", **kw) == ("AccessDenied", 403)
    assert _refused(reader.get_object_lock_configuration, Bucket=locked_bucket) == (
        "AccessDenied", 403)
    assert _refused(reader.put_object_lock_configuration, Bucket=locked_bucket,
                    ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}) == (
        "AccessDenied", 403)
    holder = _user(client_factory, server, locked_bucket,
                   ["s3:PutObjectLegalHold", "s3:GetObjectLegalHold"])
    holder.put_object_legal_hold(Bucket=locked_bucket, Key="k", LegalHold={"Status": "ON"})
    assert holder.get_object_legal_hold(Bucket=locked_bucket,
                                        Key="k")["LegalHold"]["Status"] == "ON"
    holder.put_object_legal_hold(Bucket=locked_bucket, Key="k", LegalHold={"Status": "OFF"})


def test_policies_can_cap_retention_with_the_object_lock_condition_keys(
        client_factory, server, locked_bucket) -> None:
    """AWS's pattern: allow the lock actions, deny a retention longer than
    ten days and COMPLIANCE mode on upload, by the s3:object-lock-* keys."""
    user = _user(client_factory, server, locked_bucket,
                 ["s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
                  "s3:GetObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"])
    s3 = client_factory()
    s3.put_bucket_policy(Bucket=locked_bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectRetention",
             "Resource": f"arn:aws:s3:::{locked_bucket}/*",
             "Condition": {"NumericGreaterThan": {
                 "s3:object-lock-remaining-retention-days": "10"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{locked_bucket}/*",
             "Condition": {"StringEquals": {"s3:object-lock-mode": "COMPLIANCE"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectLegalHold",
             "Resource": f"arn:aws:s3:::{locked_bucket}/*",
             "Condition": {"StringEquals": {"s3:object-lock-legal-hold": "ON"}}}]}))
    soon = datetime.now(UTC) + timedelta(days=5)
    version = user.put_object(Bucket=locked_bucket, Key="k", Body=b"x",
                              ObjectLockMode="GOVERNANCE",
                              ObjectLockRetainUntilDate=soon)["VersionId"]
    assert _refused(user.put_object, Bucket=locked_bucket, Key="k", Body=b"x",
                    ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=soon) == (
        "AccessDenied", 403)

    def retain(days: int) -> None:
        user.put_object_retention(Bucket=locked_bucket, Key="k", Retention={
            "Mode": "GOVERNANCE", "RetainUntilDate": datetime.now(UTC) + timedelta(days=days)})

    retain(9)
    assert _refused(retain, 30) == ("AccessDenied", 403)
    assert _refused(user.put_object_legal_hold, Bucket=locked_bucket, Key="k",
                    LegalHold={"Status": "ON"}) == ("AccessDenied", 403)
    user.put_object_legal_hold(Bucket=locked_bucket, Key="k", LegalHold={"Status": "OFF"})
    s3.delete_bucket_policy(Bucket=locked_bucket)
    user.delete_object(Bucket=locked_bucket, Key="k", VersionId=version,
                       BypassGovernanceRetention=True)


def _sweep(server) -> subprocess.CompletedProcess[str]:
    """``sealbox sweep-blobs`` with no grace: every blob no record names goes."""
    dsn = [a for i, a in enumerate(server.extra_args) if i and server.extra_args[i - 1] ==
           "--meta-dsn"]
    args = ["--meta-dsn", dsn[0]] if dsn else []
    return subprocess.run(
        [sys.executable, "-m", "sealbox", "sweep-blobs", "--data-dir", str(server.data_dir),
         "--min-age-hours", "0", "--json", *args],
        env={**os.environ, **server.env}, capture_output=True, text=True, timeout=60,
        check=False)


def test_compliance_and_legal_hold_hold_against_everyone_until_they_end(
        s3, server, locked_bucket) -> None:
    until = datetime.now(UTC) + timedelta(seconds=4)
    kept = s3.put_object(Bucket=locked_bucket, Key="c", Body=b"compliance",
                         ObjectLockMode="COMPLIANCE",
                         ObjectLockRetainUntilDate=until)["VersionId"]
    held = s3.put_object(Bucket=locked_bucket, Key="h", Body=b"held",
                         ObjectLockLegalHoldStatus="ON")["VersionId"]
    # Root, asking for the bypass: still refused, one by one or in a batch.
    for key, version in (("c", kept), ("h", held)):
        assert _refused(s3.delete_object, Bucket=locked_bucket, Key=key, VersionId=version,
                        BypassGovernanceRetention=True) == ("AccessDenied", 403)
    got = s3.delete_objects(Bucket=locked_bucket, BypassGovernanceRetention=True,
                            Delete={"Objects": [{"Key": "c", "VersionId": kept},
                                                {"Key": "h", "VersionId": held}]})
    assert sorted(e["Code"] for e in got["Errors"]) == ["AccessDenied", "AccessDenied"]
    # Nor may its retention be cut, even with the bypass.
    for retention in ({}, {"Mode": "GOVERNANCE", "RetainUntilDate": FAR},
                      {"Mode": "COMPLIANCE",
                       "RetainUntilDate": until - timedelta(seconds=2)}):
        assert _refused(s3.put_object_retention, Bucket=locked_bucket, Key="c",
                        Retention=retention, BypassGovernanceRetention=True) == (
            "AccessDenied", 403)
    # Nor do a bucket delete or the CLI's sweep free its bytes.
    assert _refused(s3.delete_bucket, Bucket=locked_bucket) == ("BucketNotEmpty", 409)
    swept = _sweep(server)
    assert swept.returncode == 0, swept.stderr
    for key, version, body in (("c", kept, b"compliance"), ("h", held, b"held")):
        assert s3.get_object(Bucket=locked_bucket, Key=key,
                             VersionId=version)["Body"].read() == body
    # Once the date has passed (the server's clock), it may go; a hold until released.
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)
    assert s3.delete_object(Bucket=locked_bucket, Key="c", VersionId=kept)[
        "ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _refused(s3.delete_object, Bucket=locked_bucket, Key="h", VersionId=held) == (
        "AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=locked_bucket, Key="h", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked_bucket, Key="h", VersionId=held)
    s3.delete_bucket(Bucket=locked_bucket)
