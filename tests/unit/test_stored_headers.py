"""sealbox.api.s3.common: the headers and metadata a write keeps, checked where
they enter. sealbox's own HTTP server refuses control bytes in a header
before the app sees them; another ASGI server may not, and a POST form
always can send them, so the app checks too."""

from __future__ import annotations

import pytest

from sealbox.api.s3.common import (
    STORED_HEADERS,
    object_metadata_headers,
    stored_headers,
    user_metadata,
)
from sealbox.errors import S3Error

CONTROLS = [chr(c) for c in (*range(0x09), *range(0x0A, 0x20), 0x7F)]


def wire(text: str) -> str:
    """A value as ``Request`` holds it: one character per byte."""
    return text.encode().decode("latin-1")


@pytest.mark.parametrize("name", [*STORED_HEADERS, "x-amz-meta-a"])
@pytest.mark.parametrize("wire_values", [True, False])
def test_a_control_character_in_any_kept_header_is_invalid_argument(name: str,
                                                                    wire_values: bool) -> None:
    for char in CONTROLS:
        with pytest.raises(S3Error) as caught:
            headers = {name: f"a{char}b"}
            stored_headers(headers, wire=wire_values)
            user_metadata(headers, wire=wire_values)
        assert caught.value.code == "InvalidArgument"
        assert caught.value.fields["ArgumentName"] == name
        assert "\\x" in str(caught.value.fields["ArgumentValue"])  # shown, not sent raw


def test_request_bytes_are_kept_as_the_utf8_text_they_are() -> None:
    headers = {"content-disposition": wire('attachment; filename="résumé ✓.pdf"'),
               "x-amz-meta-jp": wire("日本語")}
    assert stored_headers(headers) == {"content-disposition": 'attachment; filename="résumé ✓.pdf"'}
    assert user_metadata(headers) == {"jp": "日本語"}


def test_form_fields_are_text_already() -> None:
    fields = {"content-type": "text/plain; name=Ã©", "x-amz-meta-a": "Ã©"}
    assert stored_headers(fields, wire=False) == {"content-type": "text/plain; name=Ã©"}
    assert user_metadata(fields, wire=False) == {"a": "Ã©"}


def test_metadata_is_kept_rfc2047_decoded_as_s3_keeps_it() -> None:
    assert user_metadata({"x-amz-meta-a": "=?UTF-8?B?5pel5pys?= ok"}) == {"a": "日本 ok"}


def test_metadata_that_decodes_to_a_control_character_is_refused() -> None:
    with pytest.raises(S3Error) as caught:
        user_metadata({"x-amz-meta-a": "=?UTF-8?Q?a=0Ab?="})
    assert caught.value.code == "InvalidArgument"


@pytest.mark.parametrize("name", ["x-amz-meta-a b", "x-amz-meta-é", 'x-amz-meta-"'])
def test_a_metadata_name_no_header_could_carry_is_refused(name: str) -> None:
    with pytest.raises(S3Error) as caught:
        user_metadata({name: "v"}, wire=False)
    assert caught.value.code == "InvalidArgument"


def test_metadata_size_counts_utf8_bytes() -> None:
    user_metadata({"x-amz-meta-a": "é" * 1023}, wire=False)  # 1 + 2046 bytes
    with pytest.raises(S3Error) as caught:
        user_metadata({"x-amz-meta-a": "é" * 1024}, wire=False)
    assert caught.value.code == "MetadataTooLarge"


def test_kept_headers_are_made_servable_on_the_way_out() -> None:
    out = object_metadata_headers({"content-type": "a\r\nb", "x-amz-acl": "private"},
                                  {"n": "日本", "bad name": "x"})
    assert out == [("content-type", "ab"), ("x-amz-meta-n", "=?UTF-8?B?5pel5pys?=")]
