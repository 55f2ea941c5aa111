"""A read-only view of one ASGI HTTP request, and its capped body stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sealbox.auth.facts import RequestFacts
from sealbox.auth.sigv4.canonical import parse_query
from sealbox.errors import S3Error
from sealbox.server.forwarded import Network, client_facts, tls_version_name

Scope = dict[str, Any]


@lru_cache(maxsize=256)
def _first_values(raw_query: str) -> tuple[tuple[str, str], ...]:
    """Each name's first value, read the way signature checking reads the
    query ("+" is a space, as AWS reads it), so what is executed is what was
    signed. Cached per text: a link's query repeats with the link."""
    pairs = parse_query(raw_query)
    query = dict(pairs)
    if len(query) != len(pairs):  # a name repeated: its first value, not its last
        query = {}
        for name, value in pairs:
            query.setdefault(name, value)
    return tuple(query.items())


class ClientDisconnected(Exception):
    """The client went away before sending its whole body."""


class AuditNote:
    """What the request's handlers learned for its audit event
    (``sealbox.server.audit``) that the app cannot see from outside: who
    signed (the edge, the admin API, POST policies), the managed link that
    admitted it (``link_id``: set by the links code, else None), and why it
    was refused. ``signature`` is held only until the event is written, as
    its fingerprint; it is never stored or logged."""

    __slots__ = ("access_key", "auth", "batch_keys", "bucket", "cache", "error_code", "key",
                 "link_id", "operation", "principal", "reason", "signature")

    def __init__(self) -> None:
        self.operation: str | None = None
        self.bucket: str | None = None
        self.key: str | None = None
        self.principal: str | None = None
        self.access_key: str | None = None
        self.auth: str | None = None
        self.link_id: str | None = None
        self.signature: str | None = None
        self.error_code: str | None = None
        self.reason: str | None = None
        self.cache: str | None = None
        # The keys a DeleteObjects removed: the access log writes one
        # BATCH.DELETE.OBJECT record each, as S3 does (sealbox.logs).
        self.batch_keys: list[str] | None = None


@dataclass
class Request:
    """The parts of a request the API layer reads.

    ``query`` maps each decoded name to its first decoded value; S3 never
    repeats a parameter it cares about. ``raw_query`` keeps the original for
    signature checking.

    ``client`` is the direct peer's address. ``client_ip``, ``secure`` and
    ``tls_version`` are the client's as far as they can be believed (see
    ``sealbox.server.forwarded``): behind a trusted proxy, from its
    ``X-Forwarded-*`` headers; otherwise from the connection itself.
    ``scheme`` follows ``secure``, so links the API renders (``Location``)
    name the scheme the client used.
    """

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    client: str
    scheme: str
    receive: Any = field(repr=False)
    query: dict[str, str] = field(default_factory=dict)
    client_ip: str = ""
    secure: bool = False
    tls_version: str | None = None
    proxied: bool = False  # through a trusted proxy (sealbox.server.forwarded)
    # The audit event's notes (see AuditNote), and the body bytes read.
    audit: AuditNote = field(default_factory=AuditNote, repr=False)
    bytes_received: int = 0
    _body_consumed: bool = False  # a reader has started on the body
    _body_complete: bool = False  # the last body message has arrived

    @classmethod
    def from_scope(cls, scope: Scope, receive: Any, max_header_bytes: int = 8 * 1024,
                   trusted_proxies: tuple[Network, ...] = ()) -> Request:
        """The request view; ``RequestHeaderSectionTooLarge`` past S3's 8 KB of
        headers (the HTTP server has already buffered them; nothing reads on).
        ``X-Forwarded-*`` are believed only from ``trusted_proxies``."""
        headers: dict[str, str] = {}
        size = 0
        for raw_name, raw_value in scope["headers"]:
            size += len(raw_name) + len(raw_value) + 4
            # ASGI servers give names in lower case; lower() costs little and
            # guards against one that does not.
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        if size > max_header_bytes:
            raise S3Error("RequestHeaderSectionTooLarge", MaxSizeAllowed=str(max_header_bytes))
        raw_path = scope.get("raw_path") or scope["path"].encode()
        raw_query = scope.get("query_string", b"")
        client = scope.get("client") or ("", 0)
        tls = scope.get("extensions", {}).get("tls")  # the ASGI TLS extension, if served
        facts = client_facts(str(client[0]), scope.get("scheme", "http"), headers,
                             trusted_proxies, tls_version_name(tls and tls.get("tls_version")))
        req = cls(
            method=scope["method"],
            raw_path=raw_path.decode("utf-8", "surrogateescape"),
            raw_query=raw_query.decode("utf-8", "surrogateescape"),
            headers=headers,
            client=str(client[0]),
            scheme="https" if facts.secure else "http",
            receive=receive,
            client_ip=facts.client_ip,
            secure=facts.secure,
            tls_version=facts.tls_version,
            proxied=facts.proxied,
        )
        req.query = dict(_first_values(req.raw_query))  # a copy: the view is the request's
        return req

    def facts(self) -> RequestFacts:
        """The request as authentication reads it.

        ``headers`` holds each value as latin-1 text, one character per wire
        byte, which the API layer stores and echoes back unchanged. The
        signers, though, sign the header's UTF-8 bytes, and ``sealbox.auth``
        turns text back into bytes as UTF-8 (with ``surrogateescape``). So a
        non-ASCII value (``x-amz-meta-name: café``) is handed over decoded
        the same way as the path: UTF-8, undecodable bytes kept as
        surrogates. Otherwise its bytes would be encoded twice and the
        signature would never match.
        """
        headers = self.headers
        if not "".join(headers.values()).isascii():  # one check for the usual case
            headers = {
                name: value if value.isascii()
                else value.encode("latin-1").decode("utf-8", "surrogateescape")
                for name, value in headers.items()
            }
        return RequestFacts(self.method, self.raw_path, self.raw_query, headers)

    @property
    def body_left_unread(self) -> bool:
        """True when the client sent (or will send) a body nobody read.

        The connection must then close after the response: the unread bytes
        would otherwise be parsed as the next request on the connection.
        """
        if self._body_complete:
            return False
        length = self.headers.get("content-length", "0")
        return length != "0" or "transfer-encoding" in self.headers

    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        if not value.isdigit() or len(value) > 19:
            raise S3Error("InvalidArgument", "Content-Length is not a valid number",
                          ArgumentName="Content-Length", ArgumentValue=value[:64])
        return int(value)

    async def stream(self, limit: int) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive, refusing to read past ``limit``.

        Raises ``ClientDisconnected`` if the client goes away mid-body; the
        caller then discards whatever it wrote.
        """
        if self._body_consumed:
            return
        self._body_consumed = True
        seen = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            if chunk:
                seen += len(chunk)
                self.bytes_received = seen
                if seen > limit:
                    raise S3Error("MaxMessageLengthExceeded" if limit < 1024**3 else "EntityTooLarge")
                yield chunk
            if not message.get("more_body", False):
                self._body_complete = True
                return

    async def read(self, limit: int) -> bytes:
        """The whole body, for small XML documents; capped at ``limit``."""
        parts = [chunk async for chunk in self.stream(limit)]
        return b"".join(parts)
