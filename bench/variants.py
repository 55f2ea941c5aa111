"""ASGI app variants for bench/run.py only (never used by `sealbox serve`).

``create_app_streaming`` is sealbox's own app with the server's
``http.response.pathsend`` extension hidden from it, so granian can be
measured both ways on a whole-object GET: with pathsend (granian reads the
file itself) and with the 1 MiB ``http.response.body`` chunks every server
supports.
"""

from __future__ import annotations

from typing import Any

from sealbox.server.main import create_app


def create_app_streaming() -> Any:
    app = create_app()

    async def without_pathsend(scope: dict[str, Any], receive: Any, send: Any) -> None:
        extensions = scope.get("extensions")
        if extensions and "http.response.pathsend" in extensions:
            scope = dict(scope, extensions={k: v for k, v in extensions.items()
                                            if k != "http.response.pathsend"})
        await app(scope, receive, send)

    return without_pathsend
