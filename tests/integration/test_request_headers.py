"""How header bytes reach signature checking and come back out
(``sealbox.server.request``)."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest


def _with_header(s3, operation: str, name: str, value: str):
    """A copy of ``s3`` that adds one raw header, after parameter validation
    and before signing, as s3-tests does (boto3 refuses non-ASCII metadata)."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1",
        aws_access_key_id=s3._request_signer._credentials.access_key,
        aws_secret_access_key=s3._request_signer._credentials.secret_key,
        config=s3.meta.config,
    )

    def add(params: dict, **_: object) -> None:
        params["headers"][name] = value

    client.meta.events.register(f"before-call.s3.{operation}", add)
    return client


@pytest.mark.parametrize("value", ["Hello World\xe9", "日本語 ✓", "mixed ascii and ümlaut"])
def test_non_ascii_metadata_is_signed_as_utf8_and_returned_rfc2047_encoded(
    s3, bucket, value: str
) -> None:
    # s3-tests test_object_set_get_unicode_metadata: the SDKs sign the UTF-8
    # bytes of the value; sealbox answered SignatureDoesNotMatch. The value
    # comes back as S3 documents it: RFC 2047 (sealbox.http.header_values).
    writer = _with_header(s3, "PutObject", "x-amz-meta-meta1", value)
    writer.put_object(Bucket=bucket, Key="unicode-meta", Body=b"bar")

    got = s3.head_object(Bucket=bucket, Key="unicode-meta")["Metadata"]["meta1"]
    assert got.startswith("=?UTF-8?B?")
    assert str(make_header(decode_header(got))) == value


def test_non_ascii_content_disposition_comes_back_as_rfc6266(s3, bucket) -> None:
    value = 'attachment; filename="résumé.pdf"'
    writer = _with_header(s3, "PutObject", "Content-Disposition", value)
    writer.put_object(Bucket=bucket, Key="disposition", Body=b"x")
    got = s3.get_object(Bucket=bucket, Key="disposition")["ContentDisposition"]
    assert got == "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
