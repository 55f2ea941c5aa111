"""Multipart uploads against a real server, driven by boto3 and the AWS CLI.

Expected codes and fields are S3's, as its API reference documents them and
as ceph/s3-tests (``test_multipart_*``) checks them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

MiB = 1024 * 1024


# --- helpers ------------------------------------------------------------------------


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(chunks: list[bytes]) -> str:
    """S3's multipart ETag, computed here independently of the server."""
    joined = b"".join(hashlib.md5(c).digest() for c in chunks)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(chunks)}"'


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, dict[str, str]]:
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def upload_parts(s3, bucket: str, key: str, chunks: list[bytes], **create) -> tuple[str, list[dict]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts = []
    for number, chunk in enumerate(chunks, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                           Body=chunk)
        parts.append({"PartNumber": number, "ETag": r["ETag"]})
    return upload_id, parts


def body_of(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


# --- whole uploads through real clients ------------------------------------------------


def test_boto3_upload_file_download_file_17mib(s3, bucket: str, tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    data = os.urandom(17 * MiB + 123)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(src), bucket, "big.bin", Config=config)

    head = s3.head_object(Bucket=bucket, Key="big.bin")
    chunks = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    assert len(chunks) == 4
    assert head["ETag"] == multipart_etag(chunks)
    assert head["ContentLength"] == len(data)

    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "big.bin", str(dst), Config=config)
    assert dst.read_bytes() == data


def test_aws_cli_cp_large_file_up_and_down(server, bucket: str, aws_env: dict[str, str],
                                           tmp_path: Path, s3) -> None:
    data = os.urandom(17 * MiB + 5)
    src = tmp_path / "cli-src.bin"
    src.write_bytes(data)
    base = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "s3", "cp"]
    run = subprocess.run([*base, str(src), f"s3://{bucket}/cli.bin"], env=aws_env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    # The CLI's default part size is 8 MiB: 17 MiB goes up in three parts.
    chunks = [data[i:i + 8 * MiB] for i in range(0, len(data), 8 * MiB)]
    assert s3.head_object(Bucket=bucket, Key="cli.bin")["ETag"] == multipart_etag(chunks)

    dst = tmp_path / "cli-dst.bin"
    run = subprocess.run([*base, f"s3://{bucket}/cli.bin", str(dst)], env=aws_env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert dst.read_bytes() == data


def test_object_takes_headers_metadata_tags_and_class_given_at_create(s3, bucket: str) -> None:
    chunks = [os.urandom(5 * MiB), b"tail"]
    upload_id, parts = upload_parts(
        s3, bucket, "meta.bin", chunks, ContentType="text/bla", Metadata={"foo": "bar"},
        Tagging="a=1&b=two", StorageClass="STANDARD_IA", ContentDisposition="attachment",
        CacheControl="max-age=60",
    )
    done = s3.complete_multipart_upload(Bucket=bucket, Key="meta.bin", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    assert done["ETag"] == multipart_etag(chunks)
    assert done["Bucket"] == bucket and done["Key"] == "meta.bin"
    assert done["Location"].endswith(f"/{bucket}/meta.bin")

    head = s3.head_object(Bucket=bucket, Key="meta.bin")
    assert head["ContentType"] == "text/bla"
    assert head["Metadata"] == {"foo": "bar"}
    assert head["ContentDisposition"] == "attachment"
    assert head["CacheControl"] == "max-age=60"
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ContentLength"] == 5 * MiB + 4
    tags = s3.get_object_tagging(Bucket=bucket, Key="meta.bin")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two")]
    assert body_of(s3, bucket, "meta.bin") == b"".join(chunks)


def test_parts_count_is_recorded_for_part_number_reads(s3, bucket: str) -> None:
    chunks = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"end"]
    upload_id, parts = upload_parts(s3, bucket, "pc.bin", chunks)
    s3.complete_multipart_upload(Bucket=bucket, Key="pc.bin", UploadId=upload_id,
                                 MultipartUpload={"Parts": parts})
    head = s3.head_object(Bucket=bucket, Key="pc.bin", PartNumber=2)
    assert head["PartsCount"] == 3
    assert head["ContentLength"] == 5 * MiB
    got = s3.get_object(Bucket=bucket, Key="pc.bin", PartNumber=3)["Body"].read()
    assert got == b"end"


def test_create_multipart_upload_ids_are_unguessable_and_distinct(s3, bucket: str) -> None:
    ids = {s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"] for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) >= 32 for i in ids)
    for upload_id in ids:
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_create_multipart_upload_in_missing_bucket_is_no_such_bucket(s3) -> None:
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket="sealbox-no-such-bucket-mp", Key="k")
    assert error_of(e)[0] == 404
    assert error_of(e)[1]["Code"] == "NoSuchBucket"


# --- UploadPart ---------------------------------------------------------------------------


@pytest.mark.parametrize("number", [0, 10001, -1])
def test_upload_part_number_outside_1_to_10000_is_invalid_argument(
    client_factory, s3, bucket: str, number: int
) -> None:
    raw = client_factory(parameter_validation=False)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as e:
        raw.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number,
                        Body=b"x")
    status, error = error_of(e)
    assert (status, error["Code"]) == (400, "InvalidArgument")
    assert error["Message"] == "Part number must be an integer between 1 and 10000, inclusive"
    assert error["ArgumentName"] == "partNumber"
    assert error["ArgumentValue"] == str(number)


def test_upload_part_to_unknown_upload_is_no_such_upload(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1,
                       Body=b"x")
    assert error_of(e)[0] == 404
    assert error_of(e)[1]["Code"] == "NoSuchUpload"


def test_upload_id_only_works_for_its_own_key(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mine")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="other", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert error_of(e)[1]["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="other", UploadId=upload_id)
    assert error_of(e)[1]["Code"] == "NoSuchUpload"
    s3.abort_multipart_upload(Bucket=bucket, Key="mine", UploadId=upload_id)


def test_upload_part_etag_is_quoted_md5(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    r = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1,
                       Body=b"hello part")
    assert r["ETag"] == f'"{md5_hex(b"hello part")}"'
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_uploading_a_part_number_again_replaces_the_part(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"first")
    r = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1,
                       Body=b"second!")
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [(1, r["ETag"], 7)]
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": r["ETag"]}]})
    assert body_of(s3, bucket, "k") == b"second!"


def test_upload_part_with_wrong_content_md5_keeps_nothing(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"data",
                       ContentMD5=wrong)
    assert error_of(e)[1]["Code"] == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


# --- CompleteMultipartUpload ------------------------------------------------------------


def test_complete_with_no_parts_is_malformed_xml(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert error_of(e)[0] == 400
    assert error_of(e)[1]["Code"] == "MalformedXML"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": []})
    assert error_of(e)[1]["Code"] == "MalformedXML"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_complete_without_create_is_no_such_upload(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId="abc1234def",
            MultipartUpload={"Parts": [{"ETag": "1234", "PartNumber": 1}]})
    status, error = error_of(e)
    assert (status, error["Code"]) == (404, "NoSuchUpload")
    assert error["UploadId"] == "abc1234def"


def test_complete_with_parts_out_of_order_is_invalid_part_order(s3, bucket: str) -> None:
    upload_id, parts = upload_parts(s3, bucket, "k", [os.urandom(5 * MiB), b"b"])
    for bad in (list(reversed(parts)), [parts[0], parts[0]]):
        with pytest.raises(ClientError) as e:
            s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                         MultipartUpload={"Parts": bad})
        status, error = error_of(e)
        assert (status, error["Code"]) == (400, "InvalidPartOrder")
        assert error["UploadId"] == upload_id
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_complete_with_missing_part_is_invalid_part(s3, bucket: str) -> None:
    upload_id, parts = upload_parts(s3, bucket, "k", [b"\x00"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 9999, "ETag": parts[0]["ETag"]}]})
    status, error = error_of(e)
    assert (status, error["Code"]) == (400, "InvalidPart")
    assert error["PartNumber"] == "9999"
    assert error["UploadId"] == upload_id
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_complete_with_wrong_etag_is_invalid_part(s3, bucket: str) -> None:
    upload_id, _ = upload_parts(s3, bucket, "k", [b"\x00"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1,
                                        "ETag": "ffffffffffffffffffffffffffffffff"}]})
    status, error = error_of(e)
    assert (status, error["Code"]) == (400, "InvalidPart")
    assert error["ETag"] == "ffffffffffffffffffffffffffffffff"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_complete_with_small_non_last_part_is_entity_too_small(s3, bucket: str) -> None:
    chunks = [os.urandom(10 * 1024) for _ in range(3)]
    upload_id, parts = upload_parts(s3, bucket, "k", chunks)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts})
    status, error = error_of(e)
    assert (status, error["Code"]) == (400, "EntityTooSmall")
    assert error["ProposedSize"] == str(10 * 1024)
    assert error["MinSizeAllowed"] == str(5 * MiB)
    assert error["PartNumber"] == "1"
    assert error["ETag"] == md5_hex(chunks[0])
    # The upload is still there to fix.
    assert len(s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]) == 3
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_single_small_part_completes(s3, bucket: str) -> None:
    upload_id, parts = upload_parts(s3, bucket, "k", [b"x"])
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    assert done["ETag"] == multipart_etag([b"x"])
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == 1


def test_complete_accepts_etags_without_quotes(s3, bucket: str) -> None:
    chunks = [os.urandom(5 * MiB), b"last"]
    upload_id, parts = upload_parts(s3, bucket, "k", chunks)
    bare = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"].strip('"')} for p in parts]
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                 MultipartUpload={"Parts": bare})
    assert body_of(s3, bucket, "k") == b"".join(chunks)


def test_parts_not_listed_are_dropped(s3, bucket: str) -> None:
    chunks = [os.urandom(5 * MiB), os.urandom(1000), b"three"]
    upload_id, parts = upload_parts(s3, bucket, "k", chunks)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                        MultipartUpload={"Parts": [parts[0], parts[2]]})
    assert done["ETag"] == multipart_etag([chunks[0], chunks[2]])
    assert body_of(s3, bucket, "k") == chunks[0] + chunks[2]
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert error_of(e)[1]["Code"] == "NoSuchUpload"


def test_complete_replaces_existing_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    chunks = [b"12345" * MiB, b"12345" * MiB]
    upload_id, parts = upload_parts(s3, bucket, "k", chunks)
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                 MultipartUpload={"Parts": parts})
    assert body_of(s3, bucket, "k") == b"".join(chunks)


def test_completing_again_returns_the_same_result(s3, bucket: str) -> None:
    # AWS answers a repeated Complete with the result (adobe/S3Mock#2586,
    # minio/minio#13318; ceph s3-tests test_multipart_upload completes twice).
    upload_id, parts = upload_parts(s3, bucket, "k", [b"only part"])
    first = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    again = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    assert again["ETag"] == first["ETag"]
    assert body_of(s3, bucket, "k") == b"only part"
    # Once the object it made is gone, the upload id names nothing.
    s3.delete_object(Bucket=bucket, Key="k")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts})
    assert error_of(e)[1]["Code"] == "NoSuchUpload"


def test_composite_checksum_of_a_sha256_upload(s3, bucket: str) -> None:
    chunks = [os.urandom(5 * MiB), b"tail"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k",
                                           ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, chunk in enumerate(chunks, 1):
        r = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number,
                           Body=chunk, ChecksumAlgorithm="SHA256")
        assert r["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(chunk).digest()).decode()
        parts.append({"PartNumber": number, "ETag": r["ETag"],
                      "ChecksumSHA256": r["ChecksumSHA256"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    composite = hashlib.sha256(b"".join(hashlib.sha256(c).digest() for c in chunks)).digest()
    assert done["ChecksumSHA256"] == f"{base64.b64encode(composite).decode()}-2"


# --- AbortMultipartUpload -------------------------------------------------------------


def test_abort_then_everything_is_no_such_upload(s3, bucket: str) -> None:
    upload_id, parts = upload_parts(s3, bucket, "k", [os.urandom(1000)])
    r = s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    calls = [
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2,
                               Body=b"x"),
        lambda: s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                             MultipartUpload={"Parts": parts}),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        status, error = error_of(e)
        assert (status, error["Code"]) == (404, "NoSuchUpload")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_abort_unknown_upload_is_no_such_upload(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId="56788")
    assert error_of(e)[0] == 404
    assert error_of(e)[1]["Code"] == "NoSuchUpload"


# --- ListParts ------------------------------------------------------------------------


def test_list_parts_pages_with_marker_and_max_parts(s3, bucket: str) -> None:
    chunks = [f"part {i}".encode() * (i + 1) for i in range(7)]
    upload_id, parts = upload_parts(s3, bucket, "k", chunks, StorageClass="STANDARD_IA")
    seen = []
    marker = 0
    pages = 0
    while True:
        page = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=3,
                             PartNumberMarker=marker)
        pages += 1
        assert page["MaxParts"] == 3
        assert page["PartNumberMarker"] == marker
        assert page["StorageClass"] == "STANDARD_IA"
        assert page["Initiator"]["ID"] == page["Owner"]["ID"]
        seen += page["Parts"]
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
        assert marker == page["Parts"][-1]["PartNumber"]
    assert pages == 3
    assert [p["PartNumber"] for p in seen] == list(range(1, 8))
    assert [p["ETag"] for p in seen] == [p["ETag"] for p in parts]
    assert [p["Size"] for p in seen] == [len(c) for c in chunks]
    assert all(p["LastModified"] for p in seen)

    paged = s3.get_paginator("list_parts").paginate(
        Bucket=bucket, Key="k", UploadId=upload_id, PaginationConfig={"PageSize": 2})
    assert [p["PartNumber"] for page in paged for p in page["Parts"]] == list(range(1, 8))
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_list_parts_bad_max_parts_is_invalid_argument(client_factory, s3, bucket: str) -> None:
    raw = client_factory(parameter_validation=False)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as e:
        raw.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=-1)
    assert error_of(e)[1]["Code"] == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


# --- UploadPartCopy -------------------------------------------------------------------


def test_upload_part_copy_with_ranges_rebuilds_the_source(s3, bucket: str) -> None:
    source = os.urandom(12 * MiB + 7)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    parts = []
    step = 5 * MiB
    for number, start in enumerate(range(0, len(source), step), 1):
        end = min(start + step, len(source)) - 1
        r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id,
                                PartNumber=number, CopySource={"Bucket": bucket, "Key": "src"},
                                CopySourceRange=f"bytes={start}-{end}")
        assert r["CopyPartResult"]["ETag"] == f'"{md5_hex(source[start:end + 1])}"'
        assert r["CopyPartResult"]["LastModified"]
        parts.append({"PartNumber": number, "ETag": r["CopyPartResult"]["ETag"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    chunks = [source[i:i + step] for i in range(0, len(source), step)]
    assert done["ETag"] == multipart_etag(chunks)
    assert body_of(s3, bucket, "dst") == source


def test_upload_part_copy_without_range_copies_whole_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src key ?versionId+%", Body=b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src key ?versionId+%"})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert body_of(s3, bucket, "dst") == b"0123456789"


def test_upload_part_copy_range_past_the_end_is_invalid_argument(s3, bucket: str) -> None:
    # AWS: InvalidArgument "Range specified is not valid for source object of
    # size: N" (s3fs#321, versitygw#610); s3-tests also allows InvalidRange.
    s3.put_object(Bucket=bucket, Key="src", Body=b"12345")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    for value in ("bytes=0-21", "bytes=5-5", "bytes=3-2"):
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"},
                                CopySourceRange=value)
        status, error = error_of(e)
        assert (status, error["Code"]) == (400, "InvalidArgument")
        assert error["Message"] == "Range specified is not valid for source object of size: 5"
        assert error["ArgumentName"] == "x-amz-copy-source-range"
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id)


@pytest.mark.parametrize("value", ["0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar",
                                   "bytes=hello-", "bytes=0-2,3-5"])
def test_upload_part_copy_improper_range_is_invalid_argument(s3, bucket: str, value: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"12345")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=value)
    assert error_of(e)[0] == 400
    assert error_of(e)[1]["Code"] == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id)


def test_upload_part_copy_of_missing_source_is_no_such_key(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    # A percent sign in the key is decoded once: "anyfilename%25.txt" exists,
    # "anyfilename%.txt" does not (s3-tests test_upload_part_copy_percent_encoded_key).
    s3.put_object(Bucket=bucket, Key="anyfilename%25.txt", Body=b"foo")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "anyfilename%.txt"})
    assert error_of(e)[0] == 404
    assert error_of(e)[1]["Code"] == "NoSuchKey"
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id)


def test_upload_part_copy_source_conditions(s3, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"abc")["ETag"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    src = {"Bucket": bucket, "Key": "src"}
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                            CopySource=src, CopySourceIfMatch='"0123"')
    status, error = error_of(e)
    assert (status, error["Code"]) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                            CopySource=src, CopySourceIfNoneMatch=etag)
    assert error_of(e)[0] == 412
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                            CopySource=src, CopySourceIfMatch=etag)
    assert r["CopyPartResult"]["ETag"] == etag
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id)


def test_complete_if_none_match_star_refuses_to_overwrite(s3, bucket: str) -> None:
    # Conditional writes (2024): If-None-Match: * on Complete is 412 when the
    # key exists, and the upload is left to retry or abort.
    s3.put_object(Bucket=bucket, Key="k", Body=b"there")
    upload_id, parts = upload_parts(s3, bucket, "k", [b"new"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts}, IfNoneMatch="*")
    assert error_of(e)[0] == 412
    assert error_of(e)[1]["Code"] == "PreconditionFailed"
    assert body_of(s3, bucket, "k") == b"there"
    s3.delete_object(Bucket=bucket, Key="k")
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                 MultipartUpload={"Parts": parts}, IfNoneMatch="*")
    assert body_of(s3, bucket, "k") == b"new"


def test_full_object_crc32_upload_and_checksum_claim_on_complete(s3, bucket: str) -> None:
    from awscrt import checksums as crt

    chunks = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32",
                                           ChecksumType="FULL_OBJECT")["UploadId"]
    parts = []
    for number, chunk in enumerate(chunks, 1):
        r = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number,
                           Body=chunk, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    whole = base64.b64encode(crt.crc32(b"".join(chunks)).to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts}, ChecksumCRC32="AAAAAA==")
    assert error_of(e)[1]["Code"] == "BadDigest"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts}, ChecksumCRC32=whole)
    assert done["ChecksumCRC32"] == whole
    assert done["ChecksumType"] == "FULL_OBJECT"
