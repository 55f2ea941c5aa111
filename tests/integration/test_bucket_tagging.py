"""Bucket tagging through boto3 against a real server: put, get, replace and
delete; S3's validation (InvalidTag), NoSuchTagSet, NoSuchBucket, and the
IAM actions each needs."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def _tags(pairs: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}


def test_tags_are_put_read_replaced_and_deleted(s3, bucket) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(info) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags([("team", "video"), ("cost", "€ 12")]))
    got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert got == [{"Key": "team", "Value": "video"}, {"Key": "cost", "Value": "€ 12"}]
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags([("team", "audio")]))
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "audio"}]
    deleted = s3.delete_bucket_tagging(Bucket=bucket)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as info:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(info) == ("NoSuchTagSet", 404)


def test_fifty_tags_are_taken_and_fifty_one_refused(s3, bucket) -> None:
    fifty = [(f"k{i}", "v" * 256) for i in range(50)]
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags(fifty))
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50
    with pytest.raises(ClientError) as info:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags([*fifty, ("one-more", "x")]))
    assert _error(info) == ("InvalidTag", 400)
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50  # nothing partial


@pytest.mark.parametrize("pairs", [
    [("k" * 129, "v")],
    [("k", "v" * 257)],
    [("same", "1"), ("same", "2")],
    [("aws:cloudformation:stack", "v")],
], ids=["long-key", "long-value", "duplicate-key", "reserved-prefix"])
def test_tags_s3_would_refuse_are_invalid_tag(s3, bucket, pairs) -> None:
    with pytest.raises(ClientError) as info:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags(pairs))
    assert _error(info) == ("InvalidTag", 400)


def test_bad_bodies_and_missing_buckets(s3, signed, bucket) -> None:
    r = signed("PUT", f"/{bucket}?tagging", b"<Tagging><TagSet><Tag><Key>k</Key></Tag>")
    assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content
    r = signed("PUT", f"/{bucket}?tagging", b"<Tagging><TagSet><Tag><Key>k</Key></Tag>"
               b"</TagSet></Tagging>")
    assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content
    r = signed("PUT", f"/{bucket}?tagging", b"<Tagging><TagSet/></Tagging>",
               headers={"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert r.status_code == 400 and b"<Code>BadDigest</Code>" in r.content
    r = signed("PUT", f"/{bucket}?tagging", b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value>"
               b"</Tag></TagSet></Tagging>")  # boto3 would not send an empty key
    assert r.status_code == 400 and b"<Code>InvalidTag</Code>" in r.content
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    for call in (lambda: s3.get_bucket_tagging(Bucket=missing),
                 lambda: s3.put_bucket_tagging(Bucket=missing, Tagging=_tags([("a", "b")]))):
        with pytest.raises(ClientError) as info:
            call()
        assert _error(info) == ("NoSuchBucket", 404)


def test_a_deleted_bucket_takes_its_tags_with_it(s3, bucket) -> None:
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags([("a", "b")]))
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(info) == ("NoSuchTagSet", 404)


def test_get_needs_get_bucket_tagging_and_delete_needs_put(s3, bucket, client_factory,
                                                          server) -> None:
    iam = client_factory("iam")
    name = f"tagger-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    try:
        client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                              aws_access_key_id=key["AccessKeyId"],
                              aws_secret_access_key=key["SecretAccessKey"],
                              config=Config(s3={"addressing_style": "path"},
                                            retries={"max_attempts": 1}))
        s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags([("a", "b")]))
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:GetBucketTagging",
                "Resource": f"arn:aws:s3:::{bucket}"}]}))
        assert client.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "a", "Value": "b"}]
        for call in (lambda: client.delete_bucket_tagging(Bucket=bucket),
                     lambda: client.put_bucket_tagging(Bucket=bucket, Tagging=_tags([]))):
            with pytest.raises(ClientError) as info:
                call()
            assert _error(info) == ("AccessDenied", 403)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:PutBucketTagging",
                "Resource": f"arn:aws:s3:::{bucket}"}]}))
        client.delete_bucket_tagging(Bucket=bucket)
        with pytest.raises(ClientError) as info:
            s3.get_bucket_tagging(Bucket=bucket)
        assert _error(info) == ("NoSuchTagSet", 404)
    finally:
        iam.delete_user_policy(UserName=name, PolicyName="p")
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=name)
