"""How header bytes reach signature checking and come back out
(``sealbox.server.request``)."""

from __future__ import annotations

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
def test_non_ascii_metadata_is_signed_as_utf8_and_returned_byte_for_byte(
    s3, bucket, value: str
) -> None:
    # s3-tests test_object_set_get_unicode_metadata: the SDKs sign the UTF-8
    # bytes of the value; sealbox answered SignatureDoesNotMatch.
    writer = _with_header(s3, "PutObject", "x-amz-meta-meta1", value)
    writer.put_object(Bucket=bucket, Key="unicode-meta", Body=b"bar")

    got = s3.head_object(Bucket=bucket, Key="unicode-meta")["Metadata"]["meta1"]
    # http.client reads header bytes as latin-1: undo that to see the wire bytes.
    assert got.encode("latin-1") == value.encode("utf-8")


def test_non_ascii_content_disposition_round_trips(s3, bucket) -> None:
    value = 'attachment; filename="résumé.pdf"'
    writer = _with_header(s3, "PutObject", "Content-Disposition", value)
    writer.put_object(Bucket=bucket, Key="disposition", Body=b"x")
    got = s3.get_object(Bucket=bucket, Key="disposition")["ContentDisposition"]
    assert got.encode("latin-1") == value.encode("utf-8")
