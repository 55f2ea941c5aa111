"""Bucket versioning through boto3 (and the AWS CLI) against a real server:
version ids on every write, reads and deletes by version, delete markers,
ListObjectVersions, and the errors S3 answers for bad input."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
from botocore.exceptions import ClientError


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def _enable(s3, bucket: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def test_a_bucket_never_versioned_has_an_empty_configuration(s3, bucket) -> None:
    got = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in got
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "VersionId" not in put  # no x-amz-version-id before versioning


def test_enabled_then_suspended_never_unversioned(s3, bucket) -> None:
    _enable(s3, bucket)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    _enable(s3, bucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_a_status_other_than_enabled_or_suspended_is_malformed_xml(signed, server, bucket) -> None:
    body = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Status>Disabled</Status></VersioningConfiguration>")
    r = signed("PUT", f"/{bucket}?versioning", body=body)
    assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content


def test_every_put_keeps_its_version_and_each_reads_back(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"from before")  # the null version
    _enable(s3, bucket)
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert first != second and len(first) == 32
    current = s3.get_object(Bucket=bucket, Key="k")
    assert current["Body"].read() == b"two" and current["VersionId"] == second
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=first)["Body"].read() == b"one"
    null = s3.get_object(Bucket=bucket, Key="k", VersionId="null")
    assert null["Body"].read() == b"from before" and null["VersionId"] == "null"
    head = s3.head_object(Bucket=bucket, Key="k", VersionId=first)
    assert head["ContentLength"] == 3 and head["VersionId"] == first
    ranged = s3.get_object(Bucket=bucket, Key="k", VersionId=first, Range="bytes=1-")
    assert ranged["Body"].read() == b"ne"


def test_copy_multipart_and_post_get_version_ids(s3, bucket) -> None:
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"new")
    copied = s3.copy_object(Bucket=bucket, Key="dst",
                            CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1 and copied["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"old"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                          Body=b"p")["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert done["VersionId"] == s3.head_object(Bucket=bucket, Key="mp")["VersionId"]
    form = s3.generate_presigned_post(bucket, "posted")
    r = requests.post(form["url"], data=form["fields"], files={"file": b"form"}, timeout=10)
    assert r.status_code == 204 and len(r.headers["x-amz-version-id"]) == 32


def test_delete_makes_a_marker_and_get_answers_as_s3_does(s3, bucket) -> None:
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="k")
    assert _error(missing) == ("NoSuchKey", 404)
    headers = missing.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as on_marker:
        s3.get_object(Bucket=bucket, Key="k", VersionId=marker)
    assert _error(on_marker) == ("MethodNotAllowed", 405)
    assert s3.list_objects_v2(Bucket=bucket).get("Contents") is None
    # The bytes are still there, and removing the marker brings the key back.
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"kept"
    removed = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"


def test_deleting_a_version_for_good_frees_it_and_promotes_the_previous(s3, bucket) -> None:
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)["VersionId"] == v2
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == v1
    with pytest.raises(ClientError) as gone:
        s3.get_object(Bucket=bucket, Key="k", VersionId=v2)
    assert _error(gone) == ("NoSuchVersion", 404)
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    assert s3.list_object_versions(Bucket=bucket).get("Versions") is None
    s3.delete_bucket(Bucket=bucket)  # empty for good: versions and all


def test_a_bucket_with_versions_or_markers_is_not_empty(s3, bucket) -> None:
    _enable(s3, bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k")
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket=bucket)
    assert _error(full) == ("BucketNotEmpty", 409)


def test_suspended_writes_null_versions_that_replace_each_other(s3, bucket) -> None:
    _enable(s3, bucket)
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    _enable(s3, bucket, "Suspended")
    # The null version: S3 sends no x-amz-version-id for it.
    assert "VersionId" not in s3.put_object(Bucket=bucket, Key="k", Body=b"n1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"n2")
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [("null", True), (kept, False)]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"n2"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [kept]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [("null", True)]


def test_list_object_versions_pages_in_s3_order(s3, bucket) -> None:
    _enable(s3, bucket)
    made: dict[str, list[str]] = {}
    for key in ("a", "b/1", "b/2", "c"):
        for body in (b"1", b"2"):
            made.setdefault(key, []).insert(
                0, s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"])
    marker_id = s3.delete_object(Bucket=bucket, Key="c")["VersionId"]
    seen: list[tuple[str, str, bool]] = []
    kwargs: dict[str, str] = {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=3, **kwargs)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        entries.sort(key=lambda e: (e["Key"], e["LastModified"]))  # boto3 splits the two kinds
        seen += [(e["Key"], e["VersionId"], e["IsLatest"]) for e in page.get("Versions", [])]
        seen += [(e["Key"], e["VersionId"], e["IsLatest"]) for e in page.get("DeleteMarkers", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    by_key = sorted(seen, key=lambda e: e[0])
    assert [e for e in by_key if e[0] == "a"] == [("a", made["a"][0], True),
                                                 ("a", made["a"][1], False)]
    assert ("c", marker_id, True) in seen and ("c", made["c"][0], False) in seen
    assert len(seen) == 9 and len(set(seen)) == 9
    grouped = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert grouped["CommonPrefixes"] == [{"Prefix": "b/"}]
    only_b = s3.list_object_versions(Bucket=bucket, Prefix="b/")["Versions"]
    assert [v["Key"] for v in only_b] == ["b/1", "b/1", "b/2", "b/2"]


def test_tags_are_per_version(s3, bucket) -> None:
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="a=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1,
                          Tagging={"TagSet": [{"Key": "b", "Value": "2"}]})
    got = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert got["TagSet"] == [{"Key": "b", "Value": "2"}] and got["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["VersionId"] == v2


def test_delete_objects_with_versions(s3, bucket) -> None:
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "k", "VersionId": v1}, {"Key": "k"}, {"Key": "k", "VersionId": "bad"}]})
    deleted = result["Deleted"]
    assert {"Key": "k", "VersionId": v1} in deleted
    assert any(d.get("DeleteMarker") and d.get("DeleteMarkerVersionId") for d in deleted)
    assert [(e["Code"], e["VersionId"]) for e in result["Errors"]] == [("InvalidArgument", "bad")]
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="k", VersionId=v1)


@pytest.mark.parametrize("version_id, code, status", [
    ("0" * 32, "NoSuchVersion", 404),
    ("not-a-version", "InvalidArgument", 400),
])
def test_bad_version_ids(s3, bucket, version_id, code, status) -> None:
    _enable(s3, bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as bad:
        s3.get_object(Bucket=bucket, Key="k", VersionId=version_id)
    assert _error(bad) == (code, status)


def test_presigned_get_of_a_version(s3, bucket) -> None:
    _enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"first")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "k", "VersionId": v1,
        "ResponseContentType": "text/plain"}, ExpiresIn=60)
    r = requests.get(url, timeout=10, headers={"If-None-Match": '"nope"'})
    assert r.status_code == 200 and r.content == b"first"
    assert r.headers["x-amz-version-id"] == v1 and r.headers["content-type"] == "text/plain"


def test_version_actions_need_their_own_permission(s3, client_factory, server, bucket) -> None:
    """A user allowed s3:GetObject and s3:DeleteObject, not their Version
    forms, reads and deletes the current object but no named version, and
    copies from nothing it may not read."""
    iam = client_factory("iam")
    name = f"ver-{bucket}"[:60]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    import boto3
    from botocore.config import Config

    user = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(s3={"addressing_style": "path"}))
    _enable(s3, bucket)
    v1 = user.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    assert user.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    for call in (lambda: user.get_object(Bucket=bucket, Key="k", VersionId=v1),
                 lambda: user.delete_object(Bucket=bucket, Key="k", VersionId=v1)):
        with pytest.raises(ClientError) as denied:
            call()
        assert _error(denied) == ("AccessDenied", 403)
    # A copy reads its source: the current object yes, a named version no.
    user.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"})
    with pytest.raises(ClientError) as denied:
        user.copy_object(Bucket=bucket, Key="copy",
                         CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1})
    assert _error(denied) == ("AccessDenied", 403)
    # Nor from a bucket the user may not read at all.
    other = f"{bucket}-other"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="secret", Body=b"s")
    with pytest.raises(ClientError) as denied:
        user.copy_object(Bucket=bucket, Key="stolen",
                         CopySource={"Bucket": other, "Key": "secret"})
    assert _error(denied) == ("AccessDenied", 403)
    user.delete_object(Bucket=bucket, Key="k")  # a marker: allowed
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"x"


def test_aws_cli_versioning_round_trip(aws_env, server, bucket, tmp_path) -> None:
    def aws(*args: str) -> str:
        done = subprocess.run(["aws", "--endpoint-url", server.endpoint, *args], env=aws_env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws("s3api", "put-bucket-versioning", "--bucket", bucket,
        "--versioning-configuration", "Status=Enabled")
    assert json.loads(aws("s3api", "get-bucket-versioning", "--bucket", bucket)) == {
        "Status": "Enabled"}
    source = tmp_path / "f.txt"
    source.write_text("one")
    first = json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", "f",
                           "--body", str(source)))["VersionId"]
    source.write_text("two")
    aws("s3api", "put-object", "--bucket", bucket, "--key", "f", "--body", str(source))
    listed = json.loads(aws("s3api", "list-object-versions", "--bucket", bucket))
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False]
    out = tmp_path / "out.txt"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "f", "--version-id", first, str(out))
    assert out.read_text() == "one"
