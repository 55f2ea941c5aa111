"""The ``sealbox`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sealbox import __version__
from sealbox.config import DEFAULT_REGION, Settings, load_root_credentials


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sealbox.server.main import export_settings

    settings = Settings(
        data_dir=Path(args.data_dir),
        host=args.host,
        port=args.port,
        workers=args.workers,
        region=os.environ.get("SEALBOX_REGION", DEFAULT_REGION),
        domains=tuple(d.lower().strip(".") for d in args.domain),
        meta_dsn=args.meta_dsn,
    )
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private files
    root = load_root_credentials(settings.data_dir)
    if root.generated:
        # Printed once, on the start that made them; afterwards they live only
        # in the data dir (mode 0600).
        print("sealbox: generated root credentials (shown once; stored in "
              f"{settings.data_dir / 'root-credentials.json'}):", flush=True)
        print(f"  AWS_ACCESS_KEY_ID={root.access_key}", flush=True)
        print(f"  AWS_SECRET_ACCESS_KEY={root.secret_key}", flush=True)
    export_settings(settings)
    where = "PostgreSQL" if settings.meta_dsn else "SQLite"
    print(f"sealbox: serving S3 on http://{settings.host}:{settings.port} "
          f"(region {settings.region}, data in {settings.data_dir}, metadata in {where})",
          flush=True)
    uvicorn.run(
        "sealbox.server.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http="httptools",
        loop="uvloop",
        access_log=args.access_log,
        server_header=False,
        date_header=True,
        log_level=args.log_level,
        timeout_keep_alive=30,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sealbox", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sealbox {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the S3-compatible server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000)
    serve.add_argument("--data-dir", default="./sealbox-data")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--domain", action="append", default=[],
                       help="serve virtual-host style requests for <bucket>.DOMAIN (repeatable)")
    serve.add_argument("--meta-dsn", default=os.environ.get("SEALBOX_META_DSN", ""),
                       help="keep metadata in PostgreSQL (a libpq DSN; default: "
                            "$SEALBOX_META_DSN, else SQLite in the data dir)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--access-log", action="store_true", help="log every request line")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as error:  # one clear line, non-zero exit
        print(f"sealbox: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
