"""sealbox.http.header_values: what may be kept to be sent as a header,
and how kept text goes on the wire."""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.errors import S3Error
from sealbox.http.header_values import (
    decode_words,
    encode_word,
    has_control,
    refuse_control,
    refuse_name,
    servable,
    servable_headers,
    wire_text,
)

# Every byte no header value may carry: C0 but HTAB, and DEL.
CONTROLS = [chr(c) for c in (*range(0x09), *range(0x0A, 0x20), 0x7F)]
ON_THE_WIRE = re.compile(r"[\t\x20-\x7e]*")
NAMES = ["x-amz-meta-name", "content-disposition", "content-type", "cache-control",
         "content-language", "content-encoding", "expires", "location"]


def rfc2047(value: str) -> str:
    return str(make_header(decode_header(value)))


@pytest.mark.parametrize("char", CONTROLS)
def test_every_control_character_is_refused_at_entry(char: str) -> None:
    with pytest.raises(S3Error) as caught:
        refuse_control("x-amz-meta-a", f"a{char}b")
    assert caught.value.code == "InvalidArgument"
    assert caught.value.status == 400
    assert caught.value.fields["ArgumentName"] == "x-amz-meta-a"


@pytest.mark.parametrize("value", ["plain", "tab\there", "résumé ✓.pdf", "日本語", "\x80\x9f"])
def test_tab_and_non_ascii_text_are_kept_at_entry(value: str) -> None:
    refuse_control("content-disposition", value)
    assert not has_control(value)


@pytest.mark.parametrize("name", ["x-amz-meta-a b", "x-amz-meta-é", "x-amz-meta-a:b",
                                  "x-amz-meta-a\x00"])
def test_a_metadata_name_that_is_no_header_name_is_refused(name: str) -> None:
    with pytest.raises(S3Error) as caught:
        refuse_name(name)
    assert caught.value.code == "InvalidArgument"


def test_wire_text_reads_request_bytes_as_utf8_else_latin1() -> None:
    assert wire_text("café".encode().decode("latin-1")) == "café"
    assert wire_text("caf\xe9") == "caf\xe9"  # one Latin-1 byte: not UTF-8, kept
    assert wire_text("plain") == "plain"
    assert wire_text("日本") == "日本"  # already text


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("char", CONTROLS)
def test_control_characters_are_dropped_on_the_way_out(name: str, char: str) -> None:
    assert servable(name, f"a{char}b") == "ab"


def test_ascii_without_controls_is_sent_as_is() -> None:
    value = 'attachment; filename="a b.txt"'
    assert servable("content-disposition", value) is value


def test_metadata_is_rfc2047_encoded_as_s3_documents() -> None:
    assert servable("x-amz-meta-name", "日本語") == "=?UTF-8?B?5pel5pys6Kqe?="
    assert servable("x-amz-meta-name", "Hello World\xe9") == "=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?="


def test_content_disposition_gets_rfc6266_filename_star_and_an_ascii_fallback() -> None:
    got = servable("content-disposition", 'attachment; filename="résumé ✓.pdf"')
    assert got == ('attachment; filename="resume _.pdf"; '
                   "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.pdf")


def test_content_disposition_keeps_ascii_parameters_and_a_given_filename_star() -> None:
    got = servable("content-disposition",
                   "inline; size=3; filename=\"日本.txt\"; filename*=UTF-8''%E6%97%A5")
    assert got == "inline; size=3; filename=\"__.txt\"; filename*=UTF-8''%E6%97%A5"


def test_content_disposition_with_quotes_in_the_name() -> None:
    got = servable("content-disposition", r'attachment; filename="a\"é\\.txt"')
    assert got == "attachment; filename=\"a_e_.txt\"; filename*=UTF-8''a%22%C3%A9%5C.txt"


def test_a_disposition_that_is_no_disposition_is_still_sent_intact() -> None:
    assert rfc2047(servable("content-disposition", "é")) == "é"


def test_location_is_percent_encoded() -> None:
    assert servable("location", "https://h/é?x=1") == "https://h/%C3%A9?x=1"


def test_a_lone_surrogate_does_not_raise() -> None:
    assert ON_THE_WIRE.fullmatch(servable("x-amz-meta-a", "a\udcffb"))
    assert ON_THE_WIRE.fullmatch(servable("content-disposition", 'attachment; filename="\udcff"'))


def test_servable_headers_reads_old_raw_bytes_and_drops_bad_names() -> None:
    raw_utf8 = "café".encode().decode("latin-1")  # what versions before kept from a PUT
    got = servable_headers([("x-amz-meta-a", raw_utf8), ("x-amz-meta-a b", "x"),
                            ("content-type", "text/plain\r\n")])
    assert got == [("x-amz-meta-a", "=?UTF-8?B?Y2Fmw6k=?="), ("content-type", "text/plain")]


@pytest.mark.parametrize(("value", "decoded"), [
    ("=?UTF-8?B?5pel5pys6Kqe?=", "日本語"),
    ("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"),
    ("=?ISO-8859-1?Q?caf=E9?=", "café"),
    ("a =?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?= b", "a éé b"),  # no space between adjacent words
    ("=?UTF-8?B?w6k?=", "é"),  # unpadded base64
    ("=?nosuch?B?w6k=?=", "=?nosuch?B?w6k=?="),  # kept when it does not decode
    ("=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?="),
    ("=?base64?B?w6k=?=", "=?base64?B?w6k=?="),  # a codec, but no charset
    ("plain =? text", "plain =? text"),
])
def test_decode_words(value: str, decoded: str) -> None:
    assert decode_words(value) == decoded


text_values = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), value=text_values)
def test_whatever_is_kept_goes_out_as_printable_ascii(name: str, value: str) -> None:
    assert ON_THE_WIRE.fullmatch(servable(name, value))


@settings(max_examples=300, deadline=None)
@given(value=text_values)
def test_metadata_round_trips_through_rfc2047(value: str) -> None:
    clean = re.sub("[\x00-\x08\x0a-\x1f\x7f]", "", value)
    out = servable("x-amz-meta-a", value)
    assert out == clean if clean.isascii() else decode_words(out) == clean
    assert decode_words(encode_word(clean)) == clean


@settings(max_examples=300, deadline=None)
@given(filename=st.text(st.characters(codec="utf-8", exclude_characters='"\\'), min_size=1,
                        max_size=30).filter(lambda s: not s.isascii()))
def test_a_non_ascii_filename_round_trips_through_filename_star(filename: str) -> None:
    clean = re.sub("[\x00-\x08\x0a-\x1f\x7f]", "", filename)
    out = servable("content-disposition", f'attachment; filename="{filename}"')
    star = re.search(r"filename\*=UTF-8''([^;]*)", out)
    assert star is not None, out
    assert unquote(star.group(1)) == clean


def test_servable_headers_drops_a_name_holding_a_line_break() -> None:
    assert servable_headers([("x-amz-meta-a\nb", "v"), ("etag", '"e"')]) == [("etag", '"e"')]
    assert servable_headers([]) == []
