"""Lifecycle configuration through a real server, with boto3 and raw signed
requests: PutBucketLifecycleConfiguration / Get / DeleteBucketLifecycle,
S3's refusals, and ``x-amz-expiration`` on object answers. (The worker that
applies the rules: test_lifecycle_worker.py.)"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _put(s3: Any, bucket: str, *rules: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration={"Rules": list(rules)})


def _refused(s3: Any, bucket: str, *rules: dict[str, Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        _put(s3, bucket, *rules)
    error = caught.value.response
    return (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"],
            error["Error"]["Message"])


def test_no_configuration_is_404_and_delete_is_204_either_way(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    _put(s3, bucket, {"ID": "r", "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 3}})
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


def test_rules_come_back_as_they_were_put(s3: Any, bucket: str) -> None:
    rules = [
        {"ID": "legacy", "Prefix": "logs/", "Status": "Enabled", "Expiration": {"Days": 31}},
        {"ID": "empty", "Filter": {}, "Status": "Disabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "tag", "Filter": {"Tag": {"Key": "tmp", "Value": "yes"}}, "Status": "Enabled",
         "Expiration": {"Days": 1}},
        {"ID": "and", "Filter": {"And": {"Prefix": "a/", "Tags": [
            {"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}],
            "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}},
         "Status": "Enabled", "NoncurrentVersionExpiration": {
             "NoncurrentDays": 5, "NewerNoncurrentVersions": 3}},
        {"ID": "big", "Filter": {"ObjectSizeGreaterThan": 1048576}, "Status": "Enabled",
         "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)}},
        {"ID": "uploads", "Filter": {"Prefix": "up/"}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]
    _put(s3, bucket, *rules)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got == rules


def test_a_rule_without_an_id_is_given_one(s3: Any, bucket: str) -> None:
    _put(s3, bucket, {"Prefix": "a/", "Status": "Enabled", "Expiration": {"Days": 2}},
         {"Prefix": "b/", "Status": "Enabled", "Expiration": {"Days": 2}})
    ids = [rule["ID"] for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]]
    assert len(ids) == 2 and all(ids) and ids[0] != ids[1]


EXPIRE = {"Expiration": {"Days": 1}}


@pytest.mark.parametrize(("rule", "code", "words"), [
    ({"ID": "a" * 256, "Prefix": "", "Status": "Enabled", **EXPIRE}, "InvalidArgument", "ID"),
    ({"ID": "r", "Prefix": "", "Status": "enabled", **EXPIRE}, "MalformedXML", ""),
    ({"ID": "r", "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 0}},
     "InvalidArgument", "positive integer"),
    ({"ID": "r", "Prefix": "", "Status": "Enabled",
      "Expiration": {"Date": datetime(2030, 1, 1, 12, tzinfo=UTC)}}, "InvalidArgument",
     "midnight"),
    ({"ID": "r", "Prefix": "", "Status": "Enabled",
      "Expiration": {"Days": 3, "ExpiredObjectDeleteMarker": True}}, "MalformedXML", ""),
    ({"ID": "r", "Prefix": "a", "Filter": {"Prefix": "b"}, "Status": "Enabled", **EXPIRE},
     "MalformedXML", ""),
    ({"ID": "r", "Filter": {"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}},
      "Status": "Enabled", **EXPIRE}, "MalformedXML", ""),
    ({"ID": "r", "Prefix": "", "Status": "Enabled"}, "InvalidRequest", "action"),
    ({"ID": "r", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "InvalidRequest", "Tags"),
    ({"ID": "r", "Prefix": "", "Status": "Enabled",
      "NoncurrentVersionExpiration": {"NoncurrentDays": 0}}, "InvalidArgument",
     "NoncurrentDays"),
    ({"ID": "r", "Filter": {"And": {"Tags": [{"Key": "k", "Value": "1"},
                                             {"Key": "k", "Value": "2"}]}},
      "Status": "Enabled", **EXPIRE}, "InvalidRequest", "Duplicate"),
    ({"ID": "r", "Filter": {"And": {"ObjectSizeGreaterThan": 100, "ObjectSizeLessThan": 10}},
      "Status": "Enabled", **EXPIRE}, "InvalidRequest", "ObjectSizeGreaterThan"),
    ({"ID": "r", "Prefix": "", "Status": "Enabled",
      "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}, "InvalidStorageClass",
     "one storage class"),
    ({"ID": "r", "Prefix": "", "Status": "Enabled",
      "NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "STANDARD_IA"}]},
     "InvalidStorageClass", "one storage class"),
], ids=["id-too-long", "status-case", "days-0", "date-not-midnight", "marker-with-days",
        "prefix-and-filter", "filter-two-predicates", "no-action", "abort-with-tag",
        "noncurrent-days-0", "duplicate-tag-keys", "sizes-inverted", "transition",
        "noncurrent-transition"])
def test_a_bad_rule_is_refused_as_s3_refuses_it(s3: Any, bucket: str, rule: dict[str, Any],
                                                code: str, words: str) -> None:
    status, got, message = _refused(s3, bucket, rule)
    assert (status, got) == (400, code)
    assert words in message
    with pytest.raises(ClientError):  # nothing was kept
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)


def test_rule_ids_must_be_unique(s3: Any, bucket: str) -> None:
    rule = {"ID": "same", "Prefix": "", "Status": "Enabled", **EXPIRE}
    assert _refused(s3, bucket, rule, {**rule, "Prefix": "x/"})[:2] == (400, "InvalidArgument")


def test_more_than_1000_rules_are_refused(s3: Any, bucket: str) -> None:
    rules = [{"ID": f"r{n}", "Prefix": f"p{n}/", "Status": "Enabled", **EXPIRE}
             for n in range(1001)]
    assert _refused(s3, bucket, *rules)[:2] == (400, "InvalidRequest")
    _put(s3, bucket, *rules[:1000])
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 1000


BODY = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
        b"<ID>r</ID><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status>"
        b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>")


def test_the_put_needs_content_md5_or_a_checksum(signed: Any, bucket: str) -> None:
    bare = signed("PUT", f"/{bucket}?lifecycle", BODY)
    assert bare.status_code == 400
    assert "<Code>InvalidRequest</Code>" in bare.text and "Content-MD5" in bare.text
    wrong = signed("PUT", f"/{bucket}?lifecycle", BODY,
                   {"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
    assert wrong.status_code == 400 and "<Code>BadDigest</Code>" in wrong.text
    right = signed("PUT", f"/{bucket}?lifecycle", BODY,
                   {"Content-MD5": base64.b64encode(hashlib.md5(BODY).digest()).decode()})
    assert right.status_code == 200, right.text


@pytest.mark.parametrize("body", [b"", b"<LifecycleConfiguration/>", b"<nope",
                                  (b"<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled"
                                   b"</Status><Prefix/><Expiration><Days>x</Days></Expiration>"
                                   b"</Rule></LifecycleConfiguration>")])
def test_a_document_outside_the_schema_is_malformed_xml(signed: Any, bucket: str,
                                                        body: bytes) -> None:
    answer = signed("PUT", f"/{bucket}?lifecycle", body,
                    {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    assert answer.status_code == 400
    assert "<Code>MalformedXML</Code>" in answer.text


def test_a_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        _put(s3, "no-such-bucket-here", {"ID": "r", "Prefix": "", "Status": "Enabled", **EXPIRE})
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


# -- x-amz-expiration ------------------------------------------------------------------

_HEADER = re.compile(r'expiry-date="(.+)", rule-id="(.+)"')


def _expiration(response: dict[str, Any]) -> tuple[datetime, str] | None:
    value = response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-expiration")
    if value is None:
        return None
    match = _HEADER.fullmatch(value)
    assert match is not None, value
    when = datetime.strptime(match[1], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    return when, match[2]


def test_objects_a_rule_expires_say_when_on_put_head_and_get(s3: Any, bucket: str) -> None:
    _put(s3, bucket, {"ID": "short", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                      "Expiration": {"Days": 1}},
         {"ID": "long", "Filter": {"Prefix": ""}, "Status": "Enabled",
          "Expiration": {"Days": 30}},
         {"ID": "off", "Filter": {"Prefix": "tmp/"}, "Status": "Disabled",
          "Expiration": {"Days": 0 + 1}})
    before = datetime.now(UTC)
    put = _expiration(s3.put_object(Bucket=bucket, Key="tmp/a", Body=b"x"))
    assert put is not None
    when, rule = put
    # S3's rounding: creation + 1 day, up to the next midnight UTC.
    midnight = (before + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert rule == "short" and when in (midnight + timedelta(days=1), midnight)
    assert (when.hour, when.minute, when.second) == (0, 0, 0)
    assert _expiration(s3.head_object(Bucket=bucket, Key="tmp/a")) == put
    assert _expiration(s3.get_object(Bucket=bucket, Key="tmp/a")) == put
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    assert _expiration(s3.head_object(Bucket=bucket, Key="other"))[1] == "long"  # type: ignore[index]


def test_the_header_follows_tags_and_a_changed_configuration(s3: Any, bucket: str) -> None:
    rule = {"ID": "tagged", "Filter": {"Tag": {"Key": "k1", "Value": "v1"}},
            "Status": "Enabled", "Expiration": {"Days": 1}}
    _put(s3, bucket, rule)
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    assert _expiration(s3.head_object(Bucket=bucket, Key="obj")) is None
    s3.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": [
        {"Key": "k1", "Value": "v1"}, {"Key": "k5", "Value": "v5"}]})
    assert _expiration(s3.head_object(Bucket=bucket, Key="obj"))[1] == "tagged"  # type: ignore[index]
    _put(s3, bucket, {**rule, "Filter": {"And": {"Tags": [
        {"Key": "k1", "Value": "v1"}, {"Key": "k5", "Value": "other"}]}}})
    assert _expiration(s3.head_object(Bucket=bucket, Key="obj")) is None
    s3.delete_bucket_lifecycle(Bucket=bucket)
    assert _expiration(s3.head_object(Bucket=bucket, Key="obj")) is None


def test_a_rule_id_that_is_not_header_text_is_encoded(s3: Any, bucket: str) -> None:
    _put(s3, bucket, {"ID": 'line\r\nx-evil: "1" é', "Filter": {}, "Status": "Enabled",
                      "Expiration": {"Days": 1}})
    headers = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ResponseMetadata"]["HTTPHeaders"]
    assert "x-evil" not in headers
    assert headers["x-amz-expiration"].endswith('rule-id="line%0D%0Ax-evil: %221%22 %C3%A9"')


# -- who may ---------------------------------------------------------------------------


def test_the_iam_actions_decide_who_may_configure_lifecycle(
        s3: Any, client_factory: Any, server: Any, bucket: str) -> None:
    import json
    import uuid

    import boto3
    from botocore.config import Config

    iam = client_factory("iam")
    name = f"lc-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))

    def allow(*actions: str) -> None:
        iam.put_user_policy(UserName=name, PolicyName="lc", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": list(actions),
                "Resource": f"arn:aws:s3:::{bucket}"}]}))

    def code(call: Any) -> str:
        with pytest.raises(ClientError) as caught:
            call()
        return str(caught.value.response["Error"]["Code"])

    rule = {"ID": "r", "Filter": {}, "Status": "Enabled", **EXPIRE}
    try:
        _put(s3, bucket, rule)
        allow("s3:GetLifecycleConfiguration")
        assert user.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["ID"] == "r"
        assert code(lambda: _put(user, bucket, rule)) == "AccessDenied"
        assert code(lambda: user.delete_bucket_lifecycle(Bucket=bucket)) == "AccessDenied"
        allow("s3:PutLifecycleConfiguration")  # deleting the rules needs this one too
        assert code(lambda: user.get_bucket_lifecycle_configuration(Bucket=bucket)) == (
            "AccessDenied")
        _put(user, bucket, {**rule, "ID": "mine"})
        user.delete_bucket_lifecycle(Bucket=bucket)
        assert code(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket)) == (
            "NoSuchLifecycleConfiguration")
    finally:
        iam.delete_user_policy(UserName=name, PolicyName="lc")
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=name)


def test_a_document_past_its_size_is_refused_unread(signed: Any, bucket: str) -> None:
    body = b"<LifecycleConfiguration>" + b" " * (1024 * 1024 + 16)
    answer = signed("PUT", f"/{bucket}?lifecycle", body,
                    {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
    assert answer.status_code == 400
    assert "<Code>MaxMessageLengthExceeded</Code>" in answer.text


def test_copies_and_completed_uploads_say_when_too(s3: Any, bucket: str) -> None:
    _put(s3, bucket, {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                      "Expiration": {"Days": 2}})
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    copied = s3.copy_object(Bucket=bucket, Key="tmp/copy", CopySource=f"{bucket}/src")
    assert copied["Expiration"].endswith('rule-id="tmp"')
    upload = s3.create_multipart_upload(Bucket=bucket, Key="tmp/big")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="tmp/big", UploadId=upload, PartNumber=1,
                          Body=b"y")["ETag"]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="tmp/big", UploadId=upload,
                                        MultipartUpload={"Parts": [
                                            {"PartNumber": 1, "ETag": etag}]})
    assert done["Expiration"].endswith('rule-id="tmp"')
    assert "Expiration" not in s3.copy_object(Bucket=bucket, Key="kept",
                                              CopySource=f"{bucket}/src")
