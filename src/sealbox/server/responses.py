"""Responses, and the one place an S3Error becomes S3's XML error body."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from sealbox.api.s3.xml import render_error
from sealbox.errors import S3Error

XML_CONTENT_TYPE = "application/xml"


@dataclass
class FileSpan:
    """A run of bytes of an open file: the server sends it and closes it."""

    file: BinaryIO
    offset: int
    length: int
    path: str | None = None  # set when the span is a whole local file (zero-copy)


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    spans: list[FileSpan] | None = None  # an object body, sent span after span
    head_only: bool = False  # HEAD: send the headers of the GET, no body

    def close(self) -> None:
        for span in self.spans or ():
            span.file.close()


def xml_response(body: bytes, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, [("content-type", XML_CONTENT_TYPE), *headers], body)


def empty_response(status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, list(headers))


def error_response(error: S3Error, request_id: str, host_id: str, resource: str | None,
                   method: str) -> Response:
    """S3's XML error body for ``error``; HEAD responses carry no body."""
    headers = list(error.headers.items())
    if error.status == 304 or method == "HEAD":
        # S3 answers a failed HEAD with the status alone (there is no body to
        # carry the code); 304 never has a body.
        return Response(error.status, headers, head_only=True)
    body = render_error(error.code, error.message, error.fields, request_id, host_id, resource)
    return Response(error.status, [("content-type", XML_CONTENT_TYPE), *headers], body)
