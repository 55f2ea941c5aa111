"""The ``sealbox`` command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
from pathlib import Path
from typing import Any

from sealbox import __version__
from sealbox.cli import admin, cf_sign, edge, links, rotate
from sealbox.cli import audit as audit_cli
from sealbox.cli import blobs as blobs_cli
from sealbox.cli import doctor as doctor_cli
from sealbox.config import DEFAULT_EDGE_DOMAIN, DEFAULT_REGION, Settings
from sealbox.server import log_redact
from sealbox.server.h1 import limits as h1_limits
from sealbox.server.h1.serve import usable_cores


def _serve(args: argparse.Namespace) -> int:
    from sealbox.server.forwarded import parse_networks
    from sealbox.server.main import bootstrap, export_settings
    from sealbox.server.main import run as run_server
    from sealbox.server.tls import check_pair

    # Checked before anything is created or printed: one line, non-zero exit.
    tls_cert = Path(args.tls_cert).resolve() if args.tls_cert else None
    tls_key = Path(args.tls_key).resolve() if args.tls_key else None
    check_pair(tls_cert, tls_key)
    trusted = parse_networks(args.trusted_proxy)
    networks = _check_networks(args.network)
    if args.edge_cache_mib < 0:
        raise SystemExit("sealbox: --edge-cache-mib must be 0 (no edge cache) or more")
    if not 0 <= args.shutdown_timeout <= 3600:
        raise SystemExit("sealbox: --shutdown-timeout must be 0 to 3600 seconds")
    if args.tls_port is not None:
        if tls_cert is None:
            raise SystemExit("sealbox: --tls-port needs --tls-cert and --tls-key")
        if not 0 < args.tls_port < 65536 or args.tls_port in (args.port, args.edge_port):
            raise SystemExit("sealbox: --tls-port must be a port (1-65535) other than --port "
                             "and --edge-port")
        if args.http_server != "sealbox":
            raise SystemExit("sealbox: --tls-port needs --http-server sealbox")
    if args.edge_port is not None:
        if not 0 < args.edge_port < 65536 or args.edge_port == args.port:
            raise SystemExit("sealbox: --edge-port must be a port (1-65535) other than --port")
        if args.http_server != "sealbox":
            raise SystemExit("sealbox: --edge-port needs --http-server sealbox")
    if args.console_port is not None:
        if not 0 < args.console_port < 65536 or args.console_port in (args.port, args.edge_port):
            raise SystemExit("sealbox: --console-port must be a port (1-65535) other than "
                             "--port and --edge-port")
        if args.http_server != "sealbox":
            raise SystemExit("sealbox: --console-port needs --http-server sealbox")
    location = blobs_cli.checked_location(args.blob_store, Path(args.data_dir))
    settings = Settings(
        data_dir=Path(args.data_dir),
        host=args.host,
        port=args.port,
        workers=_workers(args.workers),
        node_id=_node_id(args.node_id),
        region=os.environ.get("SEALBOX_REGION", DEFAULT_REGION),
        domains=tuple(d.lower().strip(".") for d in args.domain),
        meta_dsn=args.meta_dsn,
        blob_store=args.blob_store,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_port=args.tls_port,
        sse_c_allow_http=args.sse_c_allow_http,
        trusted_proxies=tuple(str(network) for network in trusted),
        networks=networks,
        edge_domain=args.edge_domain.lower().strip("."),
        edge_cache_bytes=args.edge_cache_mib * 1024 * 1024,
        edge_port=args.edge_port,
        console_port=args.console_port,
        default_object_ownership=args.default_object_ownership,
        new_bucket_block_public_access=args.new_bucket_block_public_access == "on",
        **_observability(args),
    )
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private files
    from sealbox.store.keyring import KeyringMismatch

    try:
        root = bootstrap(settings)
    except KeyringMismatch as error:
        raise SystemExit(f"sealbox: refusing to start: {error}") from None
    if root.generated:
        # Printed once, on the start that made them; afterwards they live only
        # in the data dir (mode 0600).
        print("sealbox: generated root credentials (shown once; stored in "
              f"{settings.data_dir / 'root-credentials.json'}):", flush=True)
        print(f"  AWS_ACCESS_KEY_ID={root.access_key}", flush=True)
        print(f"  AWS_SECRET_ACCESS_KEY={root.secret_key}", flush=True)
    export_settings(settings)
    where = "PostgreSQL" if settings.meta_dsn else "SQLite"
    scheme = "https" if settings.tls_cert and settings.tls_port is None else "http"
    print(f"sealbox: serving S3 on {scheme}://{settings.host}:{settings.port} "
          f"(region {settings.region}, data in {settings.data_dir}, metadata in {where}, "
          f"objects in {blobs_cli.describe(location)})", flush=True)
    if settings.tls_port is not None:
        print(f"sealbox: serving S3 on https://{settings.host}:{settings.tls_port}", flush=True)
    if settings.edge_port is not None:
        print(f"sealbox: serving the edge on {scheme}://{settings.host}:{settings.edge_port}",
              flush=True)
    if settings.console_port is not None:
        print(f"sealbox: serving the console on {scheme}://{settings.host}:"
              f"{settings.console_port}/", flush=True)
    for handler in logging.getLogger().handlers:
        if settings.log_format == "json":
            from sealbox.server.audit import JsonFormatter

            handler.setFormatter(JsonFormatter(settings.node_id))
        else:  # the node id is checked: no % or line break
            handler.setFormatter(logging.Formatter(
                f"%(asctime)s {settings.node_id} %(name)s %(levelname)s %(message)s"))
    return run_server(settings, http_server=args.http_server, access_log=args.access_log,
                      log_level=args.log_level, limits=_limits(args),
                      shutdown_timeout=args.shutdown_timeout)


def _workers(value: str) -> int:
    """``--workers``: a number, or ``auto``, the cores this process may run on."""
    if value == "auto":
        return usable_cores()
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if not 0 < workers <= 1024:
        raise SystemExit(f"sealbox: --workers {value!r}: want auto or 1 to 1024")
    return workers


_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def _node_id(value: str) -> str:
    """``--node-id``, default the host name's first label: letters, digits,
    ``.``, ``_``, ``-``, at most 63, as it appears in logs and metrics."""
    if not value:
        value = socket.gethostname().split(".", 1)[0] or "sealbox"
        value = re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63].lstrip("._-") or "sealbox"
    if not _NODE_ID.fullmatch(value):
        raise SystemExit(f"sealbox: --node-id {value!r}: want letters, digits, '.', '_' or "
                         "'-', at most 63, starting with a letter or digit")
    return value


def _observability(args: argparse.Namespace) -> dict[str, Any]:
    """The metrics, audit and log settings, checked: one clear line and exit
    2 on a bad one."""
    import ipaddress

    allow = args.metrics_allow or ["127.0.0.0/8", "::1/128"]
    for cidr in allow:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise SystemExit(f"sealbox: --metrics-allow {cidr!r} is not a CIDR") from None
    if args.audit_retention_days < 0:
        raise SystemExit("sealbox: --audit-retention-days must be 0 (keep for ever) or more")
    if not 0.1 <= args.log_delivery_seconds <= 86400:
        raise SystemExit("sealbox: --log-delivery-seconds must be between 0.1 and 86400")
    if not 0.1 <= args.lifecycle_interval_seconds <= 86400:
        raise SystemExit("sealbox: --lifecycle-interval-seconds must be between 0.1 and 86400")
    if not 1 <= args.lifecycle_day_seconds <= 86400:
        raise SystemExit("sealbox: --lifecycle-day-seconds must be between 1 and 86400")
    return {"metrics": args.metrics == "on", "metrics_allow": tuple(allow),
            "metrics_token": args.metrics_token or "", "audit": args.audit == "on",
            "audit_retention_days": args.audit_retention_days, "log_format": args.log_format,
            "log_delivery_seconds": args.log_delivery_seconds,
            "lifecycle_interval_seconds": args.lifecycle_interval_seconds,
            "lifecycle_day_seconds": args.lifecycle_day_seconds}


def _limits(args: argparse.Namespace) -> h1_limits.Limits:
    """The limits against slow and abusive clients, checked: one clear line
    and exit 2 on a bad one."""
    for flag in ("keep_alive_timeout", "header_timeout", "body_timeout", "min_body_rate",
                 "max_connections", "max_connections_per_ip"):
        value = getattr(args, flag)
        if value is not None and value < 0:
            raise SystemExit(f"sealbox: --{flag.replace('_', '-')} must be 0 (off) or more")
    return h1_limits.Limits(
        keep_alive_timeout=args.keep_alive_timeout, header_timeout=args.header_timeout,
        body_timeout=args.body_timeout, min_body_rate=args.min_body_rate,
        max_connections=args.max_connections,
        max_connections_per_ip=args.max_connections_per_ip)


def _check_networks(entries: list[str]) -> tuple[str, ...]:
    """``--network NAME=CIDR[,CIDR…]`` entries, checked: one clear line and
    exit 2 on a bad one."""
    from sealbox.access.networks import InvalidNetwork, Networks

    mapping: dict[str, list[str]] = {}
    for entry in entries:
        name, eq, cidrs = entry.partition("=")
        if not eq or name in mapping:
            raise SystemExit(f"sealbox: --network {entry!r}: want NAME=CIDR[,CIDR…], "
                             "each name once")
        mapping[name] = cidrs.split(",")
    try:
        Networks.from_mapping(mapping)
    except InvalidNetwork as error:
        raise SystemExit(f"sealbox: --network: {error}") from None
    return tuple(entries)


def _tls_self_signed(args: argparse.Namespace) -> int:
    from sealbox.server.tls import make_self_signed

    if args.days < 1:
        raise ValueError("--days must be at least 1")
    names = list(args.name)
    edge_domain = args.edge_domain.lower().strip(".")
    if edge_domain:
        # Distributions answer on <id>.EDGE_DOMAIN: one wildcard covers them all.
        names.append(f"*.{edge_domain}")
    pair = make_self_signed(Path(args.out_dir), names, key_type=args.key_type,
                            days=args.days, overwrite=args.force)
    if args.json:
        print(json.dumps({"cert": str(pair.cert_path), "key": str(pair.key_path),
                          "names": list(pair.names), "not_after": pair.not_after.isoformat()}))
    else:
        print(f"cert: {pair.cert_path}")
        print(f"key:  {pair.key_path}")
        print(f"serve: sealbox serve --tls-cert {pair.cert_path} --tls-key {pair.key_path}")
        print(f"trust: curl --cacert {pair.cert_path} …, or AWS_CA_BUNDLE={pair.cert_path}")
    return 0


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    limits = serve.add_argument_group(
        "limits against slow and abusive clients (per server process; 0 turns one off)",
        "All apply to sealbox's own HTTP server. Under --http-server uvicorn only "
        "--keep-alive-timeout (uvicorn's timeout_keep_alive) and --max-connections "
        "(uvicorn's limit_concurrency, a 503 beyond it) apply.")
    limits.add_argument("--keep-alive-timeout", type=float, metavar="SECONDS",
                        default=h1_limits.KEEP_ALIVE_TIMEOUT,
                        help="close a connection idle between requests this long "
                             f"(default {h1_limits.KEEP_ALIVE_TIMEOUT:g})")
    limits.add_argument("--header-timeout", type=float, metavar="SECONDS",
                        default=h1_limits.HEADER_TIMEOUT,
                        help="a request head (and a TLS handshake) must be complete this "
                             "long after it began, however its bytes trickle in; else "
                             f"400 RequestTimeout (default {h1_limits.HEADER_TIMEOUT:g})")
    limits.add_argument("--body-timeout", type=float, metavar="SECONDS",
                        default=h1_limits.BODY_TIMEOUT,
                        help="answer 400 RequestTimeout and close when a request body "
                             "brings no byte for this long (default "
                             f"{h1_limits.BODY_TIMEOUT:g})")
    limits.add_argument("--min-body-rate", type=int, metavar="BYTES",
                        default=h1_limits.MIN_BODY_RATE,
                        help="bytes per second a request body must average over each "
                             "--body-timeout window, else 400 RequestTimeout "
                             f"(default {h1_limits.MIN_BODY_RATE})")
    limits.add_argument("--max-connections", type=int, metavar="N", default=None,
                        help="open connections per server process; beyond, idle ones are "
                             "closed, else new ones wait in the listen backlog (default: "
                             "from the descriptor limit, raised to its hard limit, at "
                             f"{h1_limits.FDS_PER_CONNECTION} per connection, at most "
                             f"{h1_limits.MAX_DERIVED_CONNECTIONS})")
    limits.add_argument("--max-connections-per-ip", type=int, metavar="N",
                        default=h1_limits.MAX_CONNECTIONS_PER_IP,
                        help="open connections from one client address (an IPv6 /64), "
                             "loopback included; beyond, its idle ones are closed, else 503 "
                             f"(default {h1_limits.MAX_CONNECTIONS_PER_IP})")


def _add_new_bucket_flags(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group(
        "what a new bucket starts with",
        "The defaults are AWS's since April 2023; a store moved from RGW or from older "
        "AWS buckets may want ObjectWriter and off.")
    group.add_argument("--default-object-ownership", default="BucketOwnerEnforced",
                       choices=["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"],
                       help="Object Ownership of a bucket whose CreateBucket names none "
                            "(default BucketOwnerEnforced: ACLs disabled)")
    group.add_argument("--new-bucket-block-public-access", choices=["on", "off"], default="on",
                       help="on: a new bucket starts with all four Block Public Access "
                            "settings true; off: with none, so a public bucket policy or ACL "
                            "is accepted (default on)")


def _add_observability_flags(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("metrics, logs and the audit trail")
    # On by default: together they cost a presigned GET of 1 KiB a few per
    # cent of its rate (bench/observe.py, README's figures).
    group.add_argument("--metrics", choices=["on", "off"], default="on",
                       help="count requests for /_sealbox/metrics (default on)")
    group.add_argument("--no-metrics", dest="metrics", action="store_const", const="off",
                       help="the same as --metrics off")
    group.add_argument("--metrics-allow", metavar="CIDR", action="append", default=[],
                       help="who may read /_sealbox/metrics without the token (repeatable; "
                            "default loopback only)")
    group.add_argument("--metrics-token", metavar="TOKEN",
                       default=os.environ.get("SEALBOX_METRICS_TOKEN", ""),
                       help="also allow 'Authorization: Bearer TOKEN' from anywhere "
                            "(default $SEALBOX_METRICS_TOKEN)")
    group.add_argument("--audit", choices=["on", "off"], default="on",
                       help="record one audit event per request (default on)")
    group.add_argument("--no-audit", dest="audit", action="store_const", const="off",
                       help="the same as --audit off")
    group.add_argument("--audit-retention-days", type=float, default=30.0, metavar="DAYS",
                       help="remove audit events older than this, hourly (default 30; 0 "
                            "keeps them for ever)")
    group.add_argument("--log-delivery-seconds", type=float, default=60.0, metavar="SECONDS",
                       help="write buffered S3 server access logs and CloudFront standard "
                            "logs into their target buckets this often (default 60)")
    group.add_argument("--lifecycle-interval-seconds", type=float, default=3600.0,
                       metavar="SECONDS",
                       help="apply buckets' lifecycle rules this often (default 3600; one "
                            "process of a cluster at a time)")
    # For tests only (ceph/s3-tests' lifecycle tests run with 10): the
    # worker's "day"; documented in docs/lifecycle.md, not in --help.
    group.add_argument("--lifecycle-day-seconds", type=int, default=86400,
                       help=argparse.SUPPRESS)
    group.add_argument("--log-format", choices=["text", "json"], default="text",
                       help="json: one JSON object per log line, and one per request (the "
                            "audit event's fields; signatures only as fingerprints)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sealbox",
        description="A private S3-compatible object store: buckets nobody reads without a "
                    "signature, presigned links, IAM users and bucket policies, and a "
                    "CloudFront-compatible edge with signed URLs and cookies.",
        epilog="Start with `sealbox serve` (http://127.0.0.1:9000); the README's five-minute "
               "path and the guides in docs/ show the rest.")
    parser.add_argument("--version", action="version", version=f"sealbox {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the S3-compatible server (and the edge)",
        description="Run the S3-compatible server, the admin API and the edge. On first start "
                    "it generates root credentials, stores them in DATA_DIR/"
                    "root-credentials.json and prints them once (or set "
                    "SEALBOX_ROOT_ACCESS_KEY and SEALBOX_ROOT_SECRET_KEY). The README's "
                    "`sealbox serve` table lists every flag.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9000,
                       help="port for S3 and the service's own paths (default 9000)")
    serve.add_argument("--data-dir", default="./sealbox-data",
                       help="metadata, objects and generated credentials (created 0700; "
                            "default ./sealbox-data)")
    serve.add_argument("--workers", default=os.environ.get("SEALBOX_WORKERS", "auto"),
                       metavar="N|auto",
                       help="server processes sharing the port and the data dir (default "
                            "$SEALBOX_WORKERS, else auto: one per core this process may use)")
    serve.add_argument("--shutdown-timeout", type=float, default=25.0, metavar="SECONDS",
                       help="on SIGTERM or SIGINT: stop accepting, let requests in flight "
                            "finish for this long, then close what is left (default 25)")
    serve.add_argument("--node-id", default=os.environ.get("SEALBOX_NODE_ID", ""),
                       metavar="NAME",
                       help="this node's name in logs and metrics (default $SEALBOX_NODE_ID, "
                            "else the host name)")
    serve.add_argument("--domain", action="append", default=[],
                       help="also serve virtual-host style <bucket>.DOMAIN (repeatable)")
    serve.add_argument("--meta-dsn", default=os.environ.get("SEALBOX_META_DSN", ""),
                       help="keep metadata in PostgreSQL instead of SQLite (a libpq DSN; "
                            "default $SEALBOX_META_DSN, else SQLite in the data dir)")
    blobs_cli.add_blob_store_flag(serve)
    serve.add_argument("--tls-cert", metavar="FILE",
                       help="serve HTTPS with this PEM certificate (chain): on --port, or "
                            "on --tls-port when given")
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    serve.add_argument("--tls-port", type=int, default=None, metavar="PORT",
                       help="serve HTTPS (with --tls-cert/--tls-key) on this port, and plain "
                            "HTTP on --port beside it; without it a certificate makes --port "
                            "HTTPS")
    serve.add_argument("--sse-c-allow-http", action="store_true",
                       help="accept SSE-C customer keys over plain HTTP (for test suites on "
                            "loopback only: S3 requires HTTPS, as the key crosses the network)")
    serve.add_argument("--trusted-proxy", metavar="CIDR", action="append", default=[],
                       help="believe X-Forwarded-For / X-Forwarded-Proto from peers in CIDR "
                            "(repeatable; from no one else)")
    serve.add_argument("--network", metavar="NAME=CIDR[,CIDR…]", action="append", default=[],
                       help="name a network: requests from it have aws:SourceVpc and "
                            "aws:SourceVpce = NAME in policies (repeatable)")
    serve.add_argument("--edge-domain", default=DEFAULT_EDGE_DOMAIN, metavar="DOMAIN",
                       help="distributions answer on <id>.DOMAIN and their aliases (default "
                            f"{DEFAULT_EDGE_DOMAIN}: browsers and curl resolve *.localhost "
                            "without DNS, Python and Node do not)")
    serve.add_argument("--edge-port", type=int, default=None, metavar="PORT",
                       help="a second port serving only the edge: distributions by Host, or the "
                            "one distribution when there is one (so http://127.0.0.1:PORT/… "
                            "links need no DNS); no S3 API there; needs the built-in HTTP "
                            "server")
    serve.add_argument("--console-port", type=int, default=None, metavar="PORT",
                       help="a second port serving the web console at / (an origin apart from "
                            "S3's, so no object a browser opens shares it); the console stays "
                            "on --port too; needs the built-in HTTP server")
    serve.add_argument("--edge-cache-mib", type=int, default=1024, metavar="MIB",
                       help="disk the edge's cache may use per server process (default 1024)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"],
                       help="how much the server logs (default info)")
    serve.add_argument("--access-log", action="store_true", help="log every request line")
    serve.add_argument("--http-server", choices=["sealbox", "uvicorn"], default="sealbox",
                       help="the HTTP/1.1 server: sealbox's own (default), or uvicorn (no "
                            "--edge-port then)")
    _add_limit_flags(serve)
    _add_observability_flags(serve)
    _add_new_bucket_flags(serve)
    serve.epilog = ("environment: SEALBOX_ROOT_ACCESS_KEY, SEALBOX_ROOT_SECRET_KEY, "
                    "SEALBOX_SECRET_KEY (the keyring, comma-separated, the first encrypts), "
                    "SEALBOX_REGION (default us-east-1), SEALBOX_META_DSN, "
                    "SEALBOX_METRICS_TOKEN, SEALBOX_WORKERS, SEALBOX_NODE_ID, SEALBOX_BLOB_STORE, "
                    "SEALBOX_BLOB_S3_ENDPOINT, SEALBOX_BLOB_S3_REGION, "
                    "SEALBOX_BLOB_S3_ACCESS_KEY_ID, SEALBOX_BLOB_S3_SECRET_ACCESS_KEY")
    serve.set_defaults(func=_serve)

    tls = sub.add_parser("tls", help="make a self-signed certificate for --tls-cert/--tls-key")
    tls_sub = tls.add_subparsers(dest="tls_command", required=True)
    self_signed = tls_sub.add_parser(
        "self-signed", help="make a self-signed certificate and key for local use")
    self_signed.add_argument("--out-dir", required=True, metavar="DIR",
                             help="write cert.pem and key.pem here (mode 0600)")
    self_signed.add_argument("--name", action="append", default=[], metavar="HOST",
                             help="another DNS name or address to cover, besides localhost, "
                                  "127.0.0.1 and ::1 (repeatable)")
    self_signed.add_argument("--edge-domain", default=DEFAULT_EDGE_DOMAIN, metavar="DOMAIN",
                             help="also cover *.DOMAIN, where distributions answer (default "
                                  f"{DEFAULT_EDGE_DOMAIN}, as serve's; '' for none)")
    self_signed.add_argument("--key-type", choices=["ec", "rsa"], default="ec",
                             help="ECDSA P-256 (default) or RSA 2048")
    self_signed.add_argument("--days", type=int, default=365, help="validity (default 365)")
    self_signed.add_argument("--force", action="store_true", help="replace existing files")
    self_signed.add_argument("--json", action="store_true", help="print the result as JSON")
    self_signed.set_defaults(func=_tls_self_signed)
    cf_sign.add_parser(sub)
    admin.add_parser(sub)
    audit_cli.add_parser(sub)
    doctor_cli.add_parser(sub)
    blobs_cli.add_parser(sub)
    edge.add_parser(sub)
    links.add_parser(sub)
    rotate.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log_redact.install()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - one clear line, non-zero exit
        print(f"sealbox: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
