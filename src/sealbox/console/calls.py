"""The console's requests, made as the signed-in principal.

Nothing the console does bypasses sealbox's front door: each action is an
S3 or admin API request, signed with the principal's own key (SigV4,
``auth.sigv4.presign.sign_headers``), and sent in-process through the same
ASGI app that serves every client (``dispatch``). Authentication, the
access decision (identity and bucket policies, Block Public Access,
``aws:SourceIp``: the browser's address is the request's), the links gate,
the handlers, S3's errors and the audit trail are all the ones any client
meets; the console only renders what came back.

What the browser sends itself (downloads, upload parts) goes by presigned
URLs made here for the same principal; the secret never leaves the server.
When the console has its own port (``--console-port``), the inner requests,
links and downloads name S3's port, and only upload URLs the console's
(the page's script may send to its own origin only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sealbox.auth.principal import Credential
from sealbox.auth.sigv4 import canonical
from sealbox.auth.sigv4.presign import presign_url, sign_headers
from sealbox.clock import Clock
from sealbox.server.request import Request

Dispatch = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# Headers of the browser's request the inner request keeps: who the client
# is (believed only from trusted proxies, as for the browser's own request)
# and its user agent, so policies read the same facts.
_CARRIED = ("x-forwarded-for", "x-forwarded-proto", "forwarded", "user-agent")
_MAX_ANSWER = 8 * 1024 * 1024  # a listing of 1000 keys is ~350 KB; details far less


@dataclass(frozen=True)
class Answer:
    """One inner response."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}


def host_on_port(host: str, port: int) -> str:
    """``host`` (a Host header: name, IPv4 or [IPv6], maybe a port) on ``port``."""
    name = host
    if host.startswith("["):
        name = host[:host.find("]") + 1] if "]" in host else host
    elif ":" in host:
        name = host.rsplit(":", 1)[0]
    return f"{name or '127.0.0.1'}:{port}"


def encode_path(bucket: str | None = None, key: str | None = None) -> str:
    """``/bucket/key`` as S3 canonicalizes it (each byte of the key
    percent-encoded but ``/``), so the path sent is the path signed."""
    if bucket is None:
        return "/"
    path = "/" + canonical.uri_encode(bucket.encode(), encode_slash=True)
    if key is not None:
        path += "/" + canonical.uri_encode(key.encode("utf-8", "surrogateescape"),
                                           encode_slash=False)
    return path


def encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(
        canonical.uri_encode(n.encode(), encode_slash=True)
        + "=" + canonical.uri_encode(v.encode(), encode_slash=True)
        for n, v in pairs)


class Caller:
    """Requests as one principal, on behalf of one browser request."""

    def __init__(self, dispatch: Dispatch, outer: Request, credential: Credential,
                 region: str, clock: Clock, s3_port: int | None = None) -> None:
        self._dispatch = dispatch
        self._outer = outer
        self.credential = credential
        self._region = region
        self._clock = clock
        self.page_host = outer.headers.get("host") or "localhost"  # the browser's
        self.host = self.page_host if s3_port is None else host_on_port(self.page_host, s3_port)

    @property
    def origin(self) -> str:
        """S3's origin, as the browser reaches it."""
        return f"{self._outer.scheme}://{self.host}"

    @property
    def page_origin(self) -> str:
        return f"{self._outer.scheme}://{self.page_host}"

    async def s3(self, method: str, path: str, query: Iterable[tuple[str, str]] = (),
                 headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
        """An S3 request; the payload signed by its SHA-256."""
        return await self._send(method, path, encode_query(query), headers or {}, body)

    async def admin(self, method: str, path: str, query: Iterable[tuple[str, str]] = (),
                    payload: dict[str, Any] | None = None,
                    headers: dict[str, str] | None = None) -> Answer:
        """An admin API request (``/_sealbox/api/v1/…``) with a JSON body;
        ``headers``: the edge's ``If-Match``."""
        body = b"" if payload is None else json.dumps(payload).encode()
        sent = {"content-type": "application/json"} if body else {}
        return await self._send(method, path, encode_query(query), {**sent, **(headers or {})},
                                body)

    def presign(self, method: str, path: str, query: Iterable[tuple[str, str]] = (),
                expires: int = 300, *, for_page: bool = False) -> str:
        """A presigned URL on S3's origin, or (``for_page``: the page's script
        sends it) on the page's own."""
        raw_query = encode_query(query)
        origin = self.page_origin if for_page else self.origin
        url = f"{origin}{path}" + (f"?{raw_query}" if raw_query else "")
        return presign_url(method, url, self.credential, self._region, expires,
                           self._clock.now())

    async def _send(self, method: str, path: str, raw_query: str, headers: dict[str, str],
                    body: bytes) -> Answer:
        url = f"{self.origin}{path}" + (f"?{raw_query}" if raw_query else "")
        signed = sign_headers(method, url, {"host": self.host, **headers}, self.credential,
                              self._region, self._clock.now(),
                              payload_hash=hashlib.sha256(body).hexdigest())
        outer = self._outer
        wire = [(name.lower().encode(), value.encode("utf-8")) for name, value in signed.items()
                if name.lower() != "host"]
        wire.append((b"host", self.host.encode("latin-1", "replace")))
        wire.append((b"content-length", str(len(body)).encode()))
        for name in _CARRIED:
            if name in outer.headers:
                wire.append((name.encode(), outer.headers[name].encode("latin-1")))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": outer.scheme, "path": unquote(path),
            "raw_path": path.encode(), "query_string": raw_query.encode(),
            "headers": wire, "client": (outer.client, 0), "server": None,
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        answer_headers: dict[str, str] = {}
        chunks: list[bytes] = []
        size = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    answer_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                piece = message.get("body", b"")
                size += len(piece)
                if size <= _MAX_ANSWER:
                    chunks.append(piece)

        await self._dispatch(scope, receive, send)
        if size > _MAX_ANSWER:
            return Answer(502, {}, b"")
        return Answer(status, answer_headers, b"".join(chunks))
