"""Where object bytes are kept: the ``--blob-store`` value, parsed.

- none: local files under the data directory (``DATA_DIR/objects``);
- ``file:///path``: local files under another directory;
- ``s3://BUCKET[/PREFIX]``: a bucket of an S3-compatible cluster (Ceph RGW,
  MinIO, Garage, SeaweedFS, AWS S3), reached as the environment says:
  ``SEALBOX_BLOB_S3_ENDPOINT`` (default: AWS's own for the region),
  ``SEALBOX_BLOB_S3_REGION`` (default us-east-1),
  ``SEALBOX_BLOB_S3_ACCESS_KEY_ID`` and ``SEALBOX_BLOB_S3_SECRET_ACCESS_KEY``
  (both or neither; neither: the AWS SDKs' usual chain, e.g. an instance
  role).

Credentials come only from the environment, never from the flag, so they
stay out of process listings and of the settings passed to workers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ENV_ENDPOINT = "SEALBOX_BLOB_S3_ENDPOINT"
ENV_REGION = "SEALBOX_BLOB_S3_REGION"
ENV_ACCESS_KEY_ID = "SEALBOX_BLOB_S3_ACCESS_KEY_ID"
ENV_SECRET_ACCESS_KEY = "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY"

# S3's bucket naming rules (the User Guide's "General purpose bucket naming
# rules"), less the dotted forms: they break TLS on virtual-host endpoints.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_PREFIX_PART = re.compile(r"[A-Za-z0-9!_.*'()-]+")


class BadBlobStore(ValueError):
    """A ``--blob-store`` value or its environment that cannot work; the text
    says what to change."""


@dataclass(frozen=True)
class LocalLocation:
    root: Path


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "a/b" (no slash at either end)
    endpoint: str  # "" for AWS's own
    region: str
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_blob_store(value: str, data_dir: Path,
                     env: dict[str, str] | None = None) -> LocalLocation | S3Location:
    """The location ``value`` names (empty: files under ``data_dir``), or
    ``BadBlobStore`` saying what is wrong."""
    env = dict(os.environ) if env is None else env
    if not value:
        return LocalLocation(data_dir / "objects")
    scheme, _, rest = value.partition("://")
    if scheme == "file":
        if not rest.startswith("/"):
            raise BadBlobStore(f"--blob-store {value!r}: a file:// URL needs an absolute path "
                               "(file:///var/lib/sealbox/objects)")
        return LocalLocation(Path(rest))
    if scheme != "s3":
        raise BadBlobStore(f"--blob-store {value!r}: give s3://BUCKET[/PREFIX] or file:///PATH")
    bucket, _, prefix = rest.partition("/")
    if _BUCKET.fullmatch(bucket) is None or "--" in bucket[:4]:
        raise BadBlobStore(f"--blob-store {value!r}: {bucket!r} is not an S3 bucket name "
                           "(3-63 lower-case letters, digits and hyphens)")
    prefix = prefix.strip("/")
    if prefix and not all(_PREFIX_PART.fullmatch(p) and p not in (".", "..")
                          for p in prefix.split("/")):
        raise BadBlobStore(f"--blob-store {value!r}: the prefix may hold letters, digits and "
                           "!_.*'()- between slashes, and no empty, . or .. part")
    endpoint = env.get(ENV_ENDPOINT, "").strip().rstrip("/")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise BadBlobStore(f"{ENV_ENDPOINT}={endpoint!r}: give the cluster's URL, "
                               "http(s)://HOST[:PORT]")
    access, secret = env.get(ENV_ACCESS_KEY_ID, ""), env.get(ENV_SECRET_ACCESS_KEY, "")
    if bool(access) != bool(secret):
        raise BadBlobStore(f"set both {ENV_ACCESS_KEY_ID} and {ENV_SECRET_ACCESS_KEY}, or "
                           "neither")
    return S3Location(bucket, prefix, endpoint, env.get(ENV_REGION, "").strip() or "us-east-1",
                      access, secret)
