"""Process entry for the HTTP server: settings travel in one env variable so
that every worker process builds the same app (uvicorn imports a factory),
and ``run`` starts the server ``sealbox serve --http-server`` names."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from pathlib import Path

from sealbox.config import RootCredentials, Settings
from sealbox.server import log_redact
from sealbox.server.asgi import SealboxApp, build_app, open_meta
from sealbox.server.h1.limits import Limits, raise_fd_limit

SETTINGS_ENV = "SEALBOX_SERVE_SETTINGS"
# sealbox's own HTTP/1.1 server (sealbox.server.h1), and uvicorn (httptools,
# uvloop), kept selectable to compare and to fall back on.
HTTP_SERVERS = ("sealbox", "uvicorn")


def export_settings(settings: Settings) -> None:
    values = dataclasses.asdict(settings)
    values["data_dir"] = str(settings.data_dir)
    values["domains"] = list(settings.domains)
    values["trusted_proxies"] = list(settings.trusted_proxies)
    values["networks"] = list(settings.networks)
    values["metrics_allow"] = list(settings.metrics_allow)
    for name in ("tls_cert", "tls_key"):
        values[name] = None if values[name] is None else str(values[name])
    values.pop("root_secret_key", None)
    values.pop("root_access_key", None)
    os.environ[SETTINGS_ENV] = json.dumps(values)


def create_app() -> SealboxApp:
    values = json.loads(os.environ[SETTINGS_ENV])
    values["data_dir"] = Path(values["data_dir"])
    values["domains"] = tuple(values["domains"])
    values["trusted_proxies"] = tuple(values.get("trusted_proxies", ()))
    values["networks"] = tuple(values.get("networks", ()))
    values["metrics_allow"] = tuple(values.get("metrics_allow", ()))
    for name in ("tls_cert", "tls_key"):
        values[name] = None if values.get(name) is None else Path(values[name])
    settings = Settings(**values)
    # In every worker, after uvicorn has configured its loggers: no access
    # line or traceback carries a signature.
    log_redact.install()
    if settings.log_format == "json":
        from sealbox.server.audit import JsonFormatter

        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
            for handler in logging.getLogger(name).handlers:
                handler.setFormatter(JsonFormatter(settings.node_id))
    return build_app(settings)  # the root credentials: the environment's, or the store's


def bootstrap(settings: Settings) -> RootCredentials:
    """Once, before the workers start: this node's keyring must open the
    metadata store's secrets (else ``KeyringMismatch``, whose message says
    what to set), and the root credentials are agreed through the store
    (``generated`` on the node that made them). See store/keyring.py."""
    from sealbox.store.keyring import agree, root_credentials
    from sealbox.store.secrets import cipher_source, load_cipher

    cipher = load_cipher(settings.data_dir)
    meta = open_meta(settings, cipher)
    try:
        agree(meta, cipher, cipher_source(settings.data_dir))
        return root_credentials(meta, cipher, settings.data_dir)
    finally:
        meta.close()


def run(settings: Settings, *, http_server: str = "sealbox", access_log: bool = False,
        log_level: str = "info", limits: Limits | None = None,
        shutdown_timeout: float = 25.0) -> int:
    """Serve ``settings`` (already exported with ``export_settings``) until
    stopped; the exit status. ``limits``: against slow and abusive clients;
    ``shutdown_timeout``: on SIGTERM, how long requests in flight may take."""
    limits = limits or Limits()
    if settings.metrics and settings.workers > 1:
        from sealbox.server.metrics_http import reset_dir

        reset_dir(settings.metrics_dir)  # the workers' snapshots of an earlier run go
    if http_server == "uvicorn":
        return _run_uvicorn(settings, access_log=access_log, log_level=log_level,
                            limits=limits, shutdown_timeout=shutdown_timeout)
    if http_server != "sealbox":
        raise ValueError(f"unknown HTTP server {http_server!r}")
    from sealbox.server.h1.serve import Options
    from sealbox.server.h1.serve import run as run_h1

    logging.getLogger("sealbox.http").setLevel(log_level.upper())
    return run_h1(Options(host=settings.host, port=settings.port, edge_port=settings.edge_port,
                          console_port=settings.console_port,
                          tls_port=settings.tls_port, workers=settings.workers,
                          tls_cert=settings.tls_cert, tls_key=settings.tls_key,
                          access_log=access_log, limits=limits,
                          shutdown_timeout=shutdown_timeout), create_app)


def _run_uvicorn(settings: Settings, *, access_log: bool, log_level: str,
                 limits: Limits, shutdown_timeout: float) -> int:
    import uvicorn

    # What maps onto uvicorn: its keep-alive timeout, and its concurrency cap
    # (a 503 beyond it). It has no head or body timeouts, no minimum rate and
    # no per-client cap: those are sealbox's own server's.
    fd_limit = raise_fd_limit()
    if limits.max_connections is None:
        limits = limits.with_derived_cap(fd_limit)

    uvicorn.run(
        "sealbox.server.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http="httptools",
        loop="uvloop",
        access_log=access_log,
        server_header=False,
        date_header=True,
        log_level=log_level,
        # Whole seconds (uvicorn's type); ours has 0 for "none", uvicorn none.
        timeout_keep_alive=math.ceil(limits.keep_alive_timeout) or 365 * 86400,
        limit_concurrency=limits.max_connections or None,
        timeout_graceful_shutdown=math.ceil(shutdown_timeout),
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        # X-Forwarded-* are believed only from --trusted-proxy, in
        # sealbox.server.forwarded; uvicorn's own middleware would believe
        # them from any local process.
        proxy_headers=False,
    )
    return 0
