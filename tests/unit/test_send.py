"""sealbox.server.send: a Response's headers as ASGI bytes."""

from __future__ import annotations

from sealbox.server.responses import Response
from sealbox.server.send import encode_headers


def test_headers_are_latin1_bytes_with_server_and_length_added() -> None:
    got = encode_headers(Response(200, [("etag", '"x"')], b"abc"), [(b"x-amz-id-2", b"h")])
    assert got == [(b"etag", b'"x"'), (b"x-amz-id-2", b"h"), (b"server", b"sealbox"),
                   (b"content-length", b"3")]


def test_a_value_outside_latin1_is_encoded_not_a_500() -> None:
    # The last guard: every kept value is made servable where it becomes a
    # header; one that was not must still not fail the response.
    response = Response(200, [("content-length", "1"), ("x-amz-meta-a", "日本"),
                              ("server", "s"), ("location", "/é✓")], b"a")
    assert encode_headers(response, []) == [
        (b"content-length", b"1"), (b"x-amz-meta-a", b"=?UTF-8?B?5pel5pys?="),
        (b"server", b"s"), (b"location", b"/%C3%A9%E2%9C%93")]
