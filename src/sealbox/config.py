"""Settings from flags and the environment, and root credentials on first start."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_REGION = "us-east-1"
# Distributions answer on <id>.<edge domain>; browsers and curl resolve any
# *.localhost name to the loopback address, so this works with no DNS.
DEFAULT_EDGE_DOMAIN = "cloudfront.localhost"
ROOT_CREDENTIALS_FILE = "root-credentials.json"

# AWS access key ids are 20 upper-case alphanumerics; secrets 40 base64-ish
# characters. Same shapes, so tools that validate them accept ours.
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./sealbox-data")
    host: str = "127.0.0.1"
    port: int = 9000
    workers: int = 1
    region: str = DEFAULT_REGION
    domains: tuple[str, ...] = ()
    root_access_key: str = ""
    root_secret_key: str = field(default="", repr=False)
    meta_dsn: str = field(default="", repr=False)  # PostgreSQL; may hold a password
    # Where object bytes go (store.blob_location): "" (files under the data
    # dir), file:///path, or s3://BUCKET[/PREFIX] (its client settings and
    # credentials come from the environment).
    blob_store: str = ""
    max_put_size: int = 5 * 1024**3
    max_header_bytes: int = 8 * 1024
    tls_cert: Path | None = None  # PEM certificate chain; with tls_key, serve HTTPS
    tls_key: Path | None = None
    # HTTPS on this port beside plain HTTP on ``port``; without it, a
    # certificate makes ``port`` HTTPS.
    tls_port: int | None = None
    # SSE-C over plain HTTP (S3 refuses it: the key would cross the network
    # in the clear). For conformance suites on loopback only; default off.
    sse_c_allow_http: bool = False
    # CIDRs whose X-Forwarded-For / X-Forwarded-Proto are believed (and no others').
    trusted_proxies: tuple[str, ...] = ()
    # Named networks, "name=cidr[,cidr…]": a request from one of them has
    # that name as its aws:SourceVpc / aws:SourceVpce.
    networks: tuple[str, ...] = ()
    # The edge (CloudFront-compatible distributions): the domain their names
    # are made under, and the bytes this process's disk cache may keep.
    edge_domain: str = DEFAULT_EDGE_DOMAIN
    edge_cache_bytes: int = 1024**3
    # A second port (same host) on which only distributions answer: by the
    # Host header, or the one distribution when there is only one.
    edge_port: int | None = None
    # A second port (same host) for the web console, an origin apart from
    # S3's: objects served by S3 (HTML among them) never share the console's
    # origin. There: the console, and the presigned uploads it makes.
    console_port: int | None = None
    # Metrics (GET /_sealbox/metrics), on unless --metrics off; readable
    # from these networks, or with the bearer token.
    metrics: bool = True
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    metrics_token: str = field(default="", repr=False)
    # The audit trail (one event per request) and its retention in days
    # (0: kept for ever); request logs as text or one JSON object a line.
    audit: bool = True
    audit_retention_days: float = 30.0
    log_format: str = "text"
    # This node's name in logs and metrics (--node-id; default the host name).
    node_id: str = ""
    # S3 server access logs and CloudFront standard logs: how often each
    # process writes its buffered records as objects (sealbox.logs.delivery).
    log_delivery_seconds: float = 60.0
    # Lifecycle rules (sealbox.lifecycle.worker): how often a pass runs, and
    # how long a "day" of the rules is for the worker (86400; shortened only
    # for tests, as RGW's rgw_lc_debug_interval).
    lifecycle_interval_seconds: float = 3600.0
    lifecycle_day_seconds: int = 86400
    # What a new bucket starts with, as on AWS since April 2023: Object
    # Ownership BucketOwnerEnforced (ACLs disabled) unless CreateBucket asks,
    # and all four Block Public Access settings on. Stores moved from RGW or
    # from older AWS buckets may want ObjectWriter and none.
    default_object_ownership: str = "BucketOwnerEnforced"
    new_bucket_block_public_access: bool = True

    def network_map(self) -> dict[str, list[str]]:
        return {name: cidrs.split(",") for name, _, cidrs in
                (entry.partition("=") for entry in self.networks)}

    @property
    def meta_path(self) -> Path:
        return self.data_dir / "meta.sqlite3"

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "objects"

    @property
    def metrics_dir(self) -> Path:
        """Where ``--workers`` share their counts (one directory per server)."""
        return self.data_dir / f"metrics-{self.port}"

    @property
    def edge_cache_root(self) -> Path:
        return self.data_dir / "edge-cache"


@dataclass(frozen=True)
class RootCredentials:
    access_key: str
    secret_key: str = field(repr=False)
    generated: bool = False


def generate_key_pair() -> tuple[str, str]:
    access = "SB" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(18))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return access, secret


def load_root_credentials(data_dir: Path, env: dict[str, str] | None = None) -> RootCredentials:
    """Root keys from the environment, else from the data dir, else new ones.

    New keys are written to the data dir with mode 0600 (created with that
    mode, so there is no moment where another user could read them), and
    ``generated`` tells the caller to print them once.
    """
    env = dict(os.environ) if env is None else env
    access, secret = env.get("SEALBOX_ROOT_ACCESS_KEY"), env.get("SEALBOX_ROOT_SECRET_KEY")
    if access and secret:
        return RootCredentials(access, secret)
    if access or secret:
        raise SystemExit(
            "sealbox: set both SEALBOX_ROOT_ACCESS_KEY and SEALBOX_ROOT_SECRET_KEY, or neither"
        )
    path = data_dir / ROOT_CREDENTIALS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        return RootCredentials(stored["access_key"], stored["secret_key"])
    access, secret = generate_key_pair()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"access_key": access, "secret_key": secret}, f)
        f.flush()
        os.fsync(f.fileno())
    return RootCredentials(access, secret, generated=True)
