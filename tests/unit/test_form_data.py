"""The streaming multipart/form-data parser: bytes in, events out, however
the bytes are split; every malformed shape is MalformedPOSTRequest."""

from __future__ import annotations

import pytest

from sealbox.api.s3.form_data import (
    MAX_PART_HEADER_BYTES,
    FormEnd,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    parse_boundary,
)
from sealbox.errors import S3Error

B = b"XyZ-b0undary"


def part(name: str, value: bytes, filename: str | None = None,
         content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return b"--" + B + b"\r\n" + head.encode() + b"\r\n" + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + B + b"--\r\n"


def collect(events: list) -> list:
    """Merge adjacent PartData, so results do not depend on chunking."""
    out: list = []
    for event in events:
        if isinstance(event, PartData) and out and isinstance(out[-1], PartData):
            out[-1] = PartData(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def parse(data: bytes, chunk: int | None = None) -> list:
    parser = MultipartParser(B)
    events: list = []
    step = chunk or max(1, len(data))
    for i in range(0, len(data), step):
        events.extend(parser.feed(data[i:i + step]))
    events.extend(parser.finish())
    return collect(events)


SIMPLE = body(part("key", b"a/b.txt"), part("file", b"hello\r\n--not-a-boundary", "h.txt",
                                             "text/plain"))
SIMPLE_EVENTS = [
    PartStart("key", None, None), PartData(b"a/b.txt"), PartEnd(),
    PartStart("file", "h.txt", "text/plain"), PartData(b"hello\r\n--not-a-boundary"), PartEnd(),
    FormEnd(),
]


@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 7, len(B) + 3, 64])
def test_form_parses_the_same_however_the_body_is_split(chunk: int | None) -> None:
    assert parse(SIMPLE, chunk) == SIMPLE_EVENTS


def test_empty_value_and_empty_file_are_parts_with_no_data() -> None:
    assert parse(body(part("x-amz-meta-tag", b""), part("file", b"", "e"))) == [
        PartStart("x-amz-meta-tag", None, None), PartEnd(),
        PartStart("file", "e", None), PartEnd(), FormEnd(),
    ]


def test_preamble_and_epilogue_are_ignored() -> None:
    data = b"this is a preamble\r\n" + SIMPLE + b"epilogue bytes"
    assert parse(data) == SIMPLE_EVENTS


def test_file_data_is_emitted_before_the_part_ends() -> None:
    parser = MultipartParser(B)
    events = parser.feed(part("file", b"x" * 100_000, "big")[:50_000])
    data = sum(len(e.data) for e in events if isinstance(e, PartData))
    assert data > 40_000 and not any(isinstance(e, PartEnd) for e in events)


def test_quoted_names_keep_semicolons_and_windows_paths() -> None:
    raw = (b"--" + B + b'\r\nContent-Disposition: form-data; name="a;b"; '
           b'filename="C:\\Users\\me\\p.jpg"\r\n\r\nv\r\n--' + B + b"--")
    assert parse(raw)[0] == PartStart("a;b", "C:\\Users\\me\\p.jpg", None)


def test_utf8_filename_is_decoded() -> None:
    raw = body(part("file", b"x", "caf\u00e9.txt"))
    assert parse(raw)[0] == PartStart("file", "caf\u00e9.txt", None)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty body"),
        pytest.param(b"no boundary anywhere", id="no boundary"),
        pytest.param(SIMPLE[:-10], id="truncated in the closing boundary"),
        pytest.param(part("file", b"abc", "f")[:-2], id="truncated in a part"),
        pytest.param(b"--" + B + b"\r\nContent-Disposition: form-data; name=\"k\"\r\n",
                     id="truncated in headers"),
        pytest.param(b"--" + B + b"\r\n\r\nvalue\r\n--" + B + b"--", id="part without headers"),
        pytest.param(b"--" + B + b"\r\nContent-Type: text/plain\r\n\r\nv\r\n--" + B + b"--",
                     id="part without content-disposition"),
        pytest.param(b"--" + B + b"\r\nContent-Disposition: form-data\r\n\r\nv\r\n--" + B + b"--",
                     id="part without a name"),
        pytest.param(b"--" + B + b"\r\nContent-Disposition: attachment; name=\"k\"\r\n\r\nv\r\n--"
                     + B + b"--", id="not form-data"),
        pytest.param(b"--" + B + b"\r\nContent-Disposition: form-data; name=\"k\r\n\r\nv\r\n--"
                     + B + b"--", id="unterminated quote"),
        pytest.param(b"--" + B + b"garbage\r\n", id="garbage after boundary"),
        pytest.param(b"--" + B + b"\r\nX: " + b"a" * (MAX_PART_HEADER_BYTES + 10),
                     id="headers too long"),
    ],
)
def test_malformed_forms_are_malformed_post_request(data: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        parse(data)
    assert caught.value.code == "MalformedPOSTRequest"
    assert caught.value.status == 400
    assert caught.value.message == (
        "The body of your POST request is not well-formed multipart/form-data.")


def test_endless_preamble_is_refused_without_reading_it_all() -> None:
    parser = MultipartParser(B)
    with pytest.raises(S3Error):
        for _ in range(100):
            parser.feed(b"x" * 1024)


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ('Multipart/Form-Data; charset=utf-8; boundary="a b:c"', b"a b:c"),
        ("multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
         b"----WebKitFormBoundary7MA4YWxkTrZu0gW"),
    ],
)
def test_boundary_is_read_from_content_type(header: str, boundary: bytes) -> None:
    assert parse_boundary(header) == boundary


@pytest.mark.parametrize("header", ["multipart/form-data", "multipart/form-data; boundary=",
                                    "multipart/form-data; boundary=" + "a" * 71,
                                    "multipart/form-data; boundary=a{b}"])
def test_missing_or_bad_boundary_is_malformed(header: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_boundary(header)
    assert caught.value.code == "MalformedPOSTRequest"


@pytest.mark.parametrize("header", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_other_media_types_are_precondition_failed(header: str | None) -> None:
    with pytest.raises(S3Error) as caught:
        parse_boundary(header)
    assert (caught.value.code, caught.value.status) == ("PreconditionFailed", 412)
    assert caught.value.fields == {
        "Condition": "Bucket POST must be of the enclosure-type multipart/form-data"}
