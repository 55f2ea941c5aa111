"""Turn a request line into an Endpoint: which S3 operation, on what.

Routing reads the method, the bucket and key (path-style, or virtual-host
style under a configured domain) and the subresource in the query string.
It does no work and decides no access: each operation names the s3 action
it needs in ``sealbox.access.actions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from sealbox.errors import S3Error

MAX_KEY_BYTES = 1024
# S3 Control's path prefix (API version); with x-amz-account-id, it is not a bucket.
ACCOUNT_CONFIG_BUCKET = "v20180820"

# Subresources S3 knows but sealbox does not serve yet: a request naming one
# gets 501 NotImplemented rather than being mistaken for a plain GET/PUT
# (a PutBucketLifecycle treated as CreateBucket would be a silent lie).
UNSUPPORTED_SUBRESOURCES = frozenset(
    ["accelerate", "analytics", "intelligent-tiering", "inventory", "metrics", "notification", "replication", "requestPayment", "restore", "select", "torrent", "website", "acl", "session"]
)


@dataclass(frozen=True)
class Endpoint:
    """One S3 operation and its target, as routing decided it."""

    operation: str
    bucket: str | None = None
    key: str | None = None


def virtual_host_bucket(host: str, domains: tuple[str, ...]) -> str | None:
    """The bucket a Host header ``<bucket>.<domain>[:port]`` names, if any."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    for domain in domains:
        if hostname.endswith("." + domain):
            return hostname[: -len(domain) - 1] or None
    return None


def split_target(raw_path: str, virtual_bucket: str | None) -> tuple[str | None, str | None]:
    """(bucket, key) from the virtual-host bucket (if any) and the raw path.

    With a virtual-host bucket the whole path is the key; otherwise the
    first path segment is the bucket. The key is percent-decoded once (S3
    keys are the decoded path; ``+`` stays a plus in a path) and must be
    UTF-8 of at most 1024 bytes.
    """
    path = raw_path.split("?", 1)[0]
    bucket = virtual_bucket
    if bucket is None:
        stripped = path.lstrip("/") if path.startswith("/") else path
        if not stripped:
            return None, None
        head, sep, rest = stripped.partition("/")
        bucket = _decode(head)
        raw_key = rest if sep else ""
    else:
        raw_key = path.removeprefix("/")
    key = _decode(raw_key) if raw_key else None
    if key is not None and "\x00" in key:
        # PostgreSQL text cannot hold U+0000 and XML 1.0 cannot carry it in a
        # listing; refuse it on every store so behaviour never depends on one.
        raise S3Error("InvalidArgument", "Object key names may not contain the NUL character",
                      ArgumentName="key", ArgumentValue=raw_key[:256])
    if key is not None and len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(len(key.encode("utf-8"))),
                      MaxSizeAllowed=str(MAX_KEY_BYTES))
    return bucket or None, key


def _decode(raw: str) -> str:
    try:
        return unquote_to_bytes(raw.encode("utf-8", "surrogateescape")).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI") from None


def route(method: str, bucket: str | None, key: str | None, query: Mapping[str, str],
          headers: Mapping[str, str]) -> Endpoint:
    """The Endpoint for a request; 405/501 for what S3 would not accept."""
    if signed_for_service(headers) == "cloudfront":
        # The CloudFront API's paths (/2020-05-31/…) look like bucket paths;
        # its SigV4 scope names the service (sealbox.api.cloudfront.api).
        return Endpoint("CloudFrontApi")
    if bucket == ACCOUNT_CONFIG_BUCKET and "x-amz-account-id" in headers:
        return _account_operation(method, key)
    if bucket is None:
        if method in ("GET", "HEAD"):
            return Endpoint("ListBuckets")
        if method == "POST":
            # No S3 operation POSTs to the service root: this is the IAM
            # Query API (``Action=…`` form), served on the same endpoint as
            # Ceph RGW serves it (sealbox.api.iam.query).
            return Endpoint("IamQuery")
        raise S3Error("MethodNotAllowed", Method=method, ResourceType="SERVICE")
    if method == "OPTIONS":
        # A browser's CORS preflight, whatever the subresource (sealbox.api.s3.cors).
        return Endpoint("CorsPreflight", bucket, key)
    if key is None:
        return Endpoint(_bucket_operation(method, query), bucket)
    return Endpoint(_object_operation(method, query, headers), bucket, key)


def _account_operation(method: str, key: str | None) -> Endpoint:
    """S3 Control's account-level Block Public Access (``/v20180820/…``)."""
    if key == "configuration/publicAccessBlock":
        operation = {"PUT": "PutAccountPublicAccessBlock", "GET": "GetAccountPublicAccessBlock",
                     "DELETE": "DeleteAccountPublicAccessBlock"}.get(method)
        if operation:
            return Endpoint(operation)
    raise S3Error("NotImplemented", "Only the account's public access block is served of S3 "
                  "Control")


def signed_for_service(headers: Mapping[str, str]) -> str | None:
    """The service a SigV4 ``Authorization`` header's credential scope names
    (``Credential=AKID/20260101/us-east-1/<service>/aws4_request``)."""
    header = headers.get("authorization")
    if header is None or not header.startswith("AWS4-HMAC-SHA256 "):
        return None
    start = header.find("Credential=")
    if start < 0:
        return None
    scope = header[start + 11:].split(",", 1)[0].split("/")
    return scope[3] if len(scope) == 5 else None


def _unsupported(query: Mapping[str, str]) -> None:
    for name in query:
        if name in UNSUPPORTED_SUBRESOURCES:
            raise S3Error("NotImplemented", f"The {name} subresource is not implemented by sealbox")


_BUCKET_GETS = {"policy": "GetBucketPolicy", "policyStatus": "GetBucketPolicyStatus",
                "publicAccessBlock": "GetPublicAccessBlock",
                "ownershipControls": "GetBucketOwnershipControls", "acl": "GetBucketAcl",
                "logging": "GetBucketLogging", "lifecycle": "GetBucketLifecycleConfiguration",
                "object-lock": "GetObjectLockConfiguration",
                "encryption": "GetBucketEncryption", "tagging": "GetBucketTagging"}
_BUCKET_PUTS = {"policy": "PutBucketPolicy", "publicAccessBlock": "PutPublicAccessBlock",
                "ownershipControls": "PutBucketOwnershipControls", "acl": "PutBucketAcl",
                "logging": "PutBucketLogging", "lifecycle": "PutBucketLifecycleConfiguration",
                "object-lock": "PutObjectLockConfiguration",
                "encryption": "PutBucketEncryption", "tagging": "PutBucketTagging"}
_BUCKET_DELETES = {"policy": "DeleteBucketPolicy", "publicAccessBlock": "DeletePublicAccessBlock",
                   "ownershipControls": "DeleteBucketOwnershipControls",
                   "lifecycle": "DeleteBucketLifecycle",
                   "encryption": "DeleteBucketEncryption",
                   "tagging": "DeleteBucketTagging"}


def _first(query: Mapping[str, str], table: Mapping[str, str]) -> str | None:
    for name in query:
        if name in table:
            return name
    return None


def _bucket_operation(method: str, query: Mapping[str, str]) -> str:
    if method == "GET":
        if "location" in query:
            return "GetBucketLocation"
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        if "versioning" in query:
            return "GetBucketVersioning"
        if "cors" in query:
            return "GetBucketCors"
        if name := _first(query, _BUCKET_GETS):
            return _BUCKET_GETS[name]
        _unsupported(query)
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    if method == "HEAD":
        return "HeadBucket"
    if method == "PUT":
        if "cors" in query:
            return "PutBucketCors"
        if name := _first(query, _BUCKET_PUTS):
            return _BUCKET_PUTS[name]
        if "versioning" in query:
            return "PutBucketVersioning"
        _unsupported(query)
        return "CreateBucket"
    if method == "DELETE":
        if "cors" in query:
            return "DeleteBucketCors"
        if name := _first(query, _BUCKET_DELETES):
            return _BUCKET_DELETES[name]
        _unsupported(query)
        return "DeleteBucket"
    if method == "POST":
        if "delete" in query:
            return "DeleteObjects"
        _unsupported(query)
        return "PostObject"  # a browser upload: multipart/form-data to the bucket
    raise S3Error("MethodNotAllowed", Method=method, ResourceType="BUCKET")


def _object_operation(method: str, query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        if "tagging" in query:
            return "GetObjectTagging"
        if "acl" in query:
            return "GetObjectAcl"
        if "retention" in query:
            return "GetObjectRetention"
        if "legal-hold" in query:
            return "GetObjectLegalHold"
        if "attributes" in query:
            return "GetObjectAttributes"
        _unsupported(query)
        return "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        if "partNumber" in query or "uploadId" in query:
            return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
        if "tagging" in query:
            return "PutObjectTagging"
        if "acl" in query:
            return "PutObjectAcl"
        if "retention" in query:
            return "PutObjectRetention"
        if "legal-hold" in query:
            return "PutObjectLegalHold"
        _unsupported(query)
        return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        if "tagging" in query:
            return "DeleteObjectTagging"
        _unsupported(query)
        return "DeleteObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        _unsupported(query)
        raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
    raise S3Error("MethodNotAllowed", Method=method, ResourceType="OBJECT")
