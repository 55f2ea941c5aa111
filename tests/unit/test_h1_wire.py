"""sealbox.server.h1.wire: response heads and framing, as bytes."""

from __future__ import annotations

import re

import pytest

from sealbox.server.h1 import wire

DATE = b"date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"


def head(status: int = 200, headers: tuple[tuple[bytes, bytes], ...] = (), *,
         keep_alive: bool = True, bodiless: bool = False, http_10: bool = False) -> wire.Head:
    return wire.encode_head(status, list(headers), DATE, keep_alive=keep_alive,
                            bodiless=bodiless, http_10=http_10)


# (what, arguments, the app's lines as written, the server's own lines after
# the date, content length to send, chunked, close after)
CASES = [
    ("length given", {"headers": ((b"content-length", b"5"),)},
     b"content-length: 5\r\n", b"", 5, False, False),
    ("no length: chunked on 1.1", {}, b"", b"transfer-encoding: chunked\r\n", None, True, False),
    ("no length on 1.0: ends with the close", {"http_10": True},
     b"", b"connection: close\r\n", None, False, True),
    ("keep-alive on 1.0 is said", {"http_10": True, "headers": ((b"content-length", b"0"),)},
     b"content-length: 0\r\n", b"connection: keep-alive\r\n", 0, False, False),
    ("not kept alive", {"keep_alive": False, "headers": ((b"content-length", b"1"),)},
     b"content-length: 1\r\n", b"connection: close\r\n", 1, False, True),
    ("app says close", {"headers": ((b"content-length", b"1"), (b"connection", b"Close"))},
     b"content-length: 1\r\n", b"connection: close\r\n", 1, False, True),
    ("HEAD keeps the length, sends nothing", {"bodiless": True,
                                                  "headers": ((b"content-length", b"99"),)},
     b"content-length: 99\r\n", b"", 0, False, False),
    ("304 without length: no framing", {"status": 304, "bodiless": True}, b"", b"", 0, False,
     False),
    ("app's chunked", {"headers": ((b"transfer-encoding", b"chunked"),)},
     b"transfer-encoding: chunked\r\n", b"", None, True, False),
]


@pytest.mark.parametrize(("what", "kwargs", "app_lines", "own_lines", "length", "chunked",
                          "close"), CASES, ids=[c[0] for c in CASES])
def test_head_framing(what: str, kwargs: dict, app_lines: bytes, own_lines: bytes,
                      length: int | None, chunked: bool, close: bool) -> None:
    h = head(**kwargs)
    status = kwargs.get("status", 200)
    assert h.data == wire.STATUS_LINES[status] + app_lines + DATE + own_lines + b"\r\n"
    assert (h.content_length, h.chunked, h.close) == (length, chunked, close)


@pytest.mark.parametrize("headers", [
    ((b"x-bad", b"a\r\nset-cookie: x"),),
    ((b"x-bad", b"a\nb"),),
    ((b"x-bad", b"nul\x00"),),
    ((b"bad name", b"v"),),
    ((b"bad:name", b"v"),),
    ((b"", b"v"),),
    ((b"content-length", b"-1"),),
    ((b"content-length", b"1"), (b"content-length", b"1")),
    ((b"content-length", b"1"), (b"transfer-encoding", b"chunked")),
    ((b"transfer-encoding", b"gzip"),),
], ids=lambda h: repr(h)[:40])
def test_a_header_that_would_split_or_confuse_the_response_is_refused(headers) -> None:
    with pytest.raises(wire.InvalidResponse):
        head(headers=headers)


def test_values_keep_tabs_and_latin1_bytes() -> None:
    h = head(headers=((b"x-amz-meta-name", b"caf\xe9\tok"), (b"content-length", b"0")))
    assert b"x-amz-meta-name: caf\xe9\tok\r\n" in h.data


def test_unknown_status_is_refused_and_odd_ones_have_no_phrase() -> None:
    with pytest.raises(wire.InvalidResponse):
        head(status=99)
    assert head(status=299, headers=((b"content-length", b"0"),)).data.startswith(
        b"HTTP/1.1 299 \r\n")


def test_chunk_framing() -> None:
    assert wire.chunk(b"hello") == b"5\r\nhello\r\n"
    assert wire.chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert wire.LAST_CHUNK == b"0\r\n\r\n"


def test_plain_answer_is_complete_and_closes() -> None:
    answer = wire.plain_answer(431, "Request header fields too large", DATE)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"content-length: 31\r\n" in answer and b"connection: close\r\n" in answer
    assert answer.endswith(b"\r\n\r\nRequest header fields too large")


def test_date_header_is_an_imf_fixdate_line() -> None:
    line = wire.DateHeader().line()
    assert re.fullmatch(rb"date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n", line)
