"""Process entry for the ASGI server: settings travel in one env variable so
that every worker process builds the same app (uvicorn imports a factory)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from sealbox.config import Settings, load_root_credentials
from sealbox.server.asgi import SealboxApp, build_app

SETTINGS_ENV = "SEALBOX_SERVE_SETTINGS"


def export_settings(settings: Settings) -> None:
    values = dataclasses.asdict(settings)
    values["data_dir"] = str(settings.data_dir)
    values["domains"] = list(settings.domains)
    values["trusted_proxies"] = list(settings.trusted_proxies)
    values["networks"] = list(settings.networks)
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
    for name in ("tls_cert", "tls_key"):
        values[name] = None if values.get(name) is None else Path(values[name])
    settings = Settings(**values)
    root = load_root_credentials(settings.data_dir)
    return build_app(settings, root)
