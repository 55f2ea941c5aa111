"""The per-request cost of the links' check, in process: a presigned GET of
1 KiB through the ASGI app (``SealboxApp``), no sockets, timed as the best
of several batches (best-of filters other work on a shared machine, which
makes wrk's figures swing by 2x there). Run once per source tree and mode:

    PYTHONPATH=src python bench/links_inprocess.py plain
    PYTHONPATH=src python bench/links_inprocess.py plain|revoked|link|one-time [BATCHES SIZE]

``revoked``: one other signature is revoked, so every request hashes its
signature and looks it up; ``link``: an unlimited managed link;
``one-time``: a fresh one-time link per request (its use committed).
Prints microseconds per request.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4.presign import presign_url
from sealbox.config import RootCredentials, Settings
from sealbox.server.asgi import build_app

KEY, SECRET = "BENCHLINKSACCESSKEY0", "bench-links-secret-key-0000000000000000000"
ENDPOINT = "http://127.0.0.1:9000"
ROOT = Credential(KEY, SECRET, root_principal(KEY))


def request_target(url: str) -> tuple[str, str]:
    """The path and query of an absolute URL (no fragment), as a client
    sends them. Not ``urlsplit``: the client's parsing is no cost of the
    server's, and ``urlsplit`` of a URL never seen before (it caches the
    ones it has) is ~12 k instructions, which ``links_instructions``
    counted against every one-time link and new presigned URL."""
    after_scheme = url.partition("://")[2]
    slash = after_scheme.find("/")
    path, _, query = (after_scheme[slash:] if slash >= 0 else "/").partition("?")
    return path, query


async def call(app: Any, method: str, url: str, body: bytes = b"",
               extra: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes]:
    """One request through the ASGI app (``extra``: headers besides Host);
    its status and body."""
    path, query = request_target(url)
    headers = [(b"host", b"127.0.0.1:9000"), *extra]
    if body or method == "PUT":
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": query.encode(),
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 9000),
             "scheme": "http", "http_version": "1.1"}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def signed(method: str, path: str, expires: int = 3600) -> str:
    return presign_url(method, ENDPOINT + path, ROOT, "us-east-1", expires, datetime.now(UTC))


async def main(mode: str, batches: int = 7, batch: int = 2000) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-inproc-"))
    app = build_app(Settings(data_dir=data), RootCredentials(KEY, SECRET))
    assert (await call(app, "PUT", signed("PUT", "/bench")))[0] == 200
    assert (await call(app, "PUT", signed("PUT", "/bench/one-kib"), b"x" * 1024))[0] == 200
    urls = [signed("GET", "/bench/one-kib")]
    if mode == "revoked":
        from sealbox.links.model import Revocation, fingerprint

        other = signed("GET", "/bench/one-kib", 3599)
        app.services.meta.revoke(Revocation(fingerprint(other.rsplit("=", 1)[1]),  # type: ignore[attr-defined]
                                            2**40, "sigv4"))
        assert (await call(app, "GET", other))[0] == 403
    if mode in ("link", "one-time"):
        from sealbox.links.create import create_link
        from sealbox.links.model import LinkSpec

        uses = 1 if mode == "one-time" else None
        count = batches * batch + 1 if mode == "one-time" else 1
        spec = LinkSpec("bench", "one-kib", max_uses=uses)
        now = datetime.now(UTC)
        urls = [create_link(app.services.meta, ROOT, spec, now, endpoint=ENDPOINT,
                            region="us-east-1").url for _ in range(count)]
    status, body = await call(app, "GET", urls[-1] if mode == "one-time" else urls[0])
    assert status == 200 and len(body) == 1024, (status, body[:200])
    best = float("inf")
    index = 0
    for _ in range(batches):
        began = time.perf_counter()
        for _ in range(batch):
            url = urls[index] if mode == "one-time" else urls[0]
            index += 1
            await call(app, "GET", url)
        best = min(best, (time.perf_counter() - began) / batch)
    last = await call(app, "GET", urls[0])
    assert last[0] == (403 if mode == "one-time" else 200), last
    print(f"{mode}: {best * 1e6:.1f} us per request")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "plain"
    asyncio.run(main(mode, *(int(a) for a in sys.argv[2:4])))
