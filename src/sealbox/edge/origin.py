"""The edge's requests to its origin: a distribution reading an object from
its bucket, judged by the bucket's rules exactly as S3 judges CloudFront.

With origin access control (signing behaviour ``always`` or ``no-override``)
CloudFront signs its origin requests as the service principal
``cloudfront.amazonaws.com``, and S3 evaluates them with ``aws:SourceArn``
set to the distribution's ARN and ``aws:SourceAccount`` to its account
(CloudFront Developer Guide, "Restricting access to an Amazon S3 origin").
So the documented bucket policy::

    {"Effect": "Allow",
     "Principal": {"Service": "cloudfront.amazonaws.com"},
     "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::BUCKET/*",
     "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::…:distribution/ID"}}}

admits this distribution and nobody else. Without origin access control
(or with signing behaviour ``never``) the request is anonymous, and the
bucket must be public for it to succeed.

The origin request carries only what CloudFront would forward: the
viewer's ``Referer`` when the behaviour forwards it (so a bucket policy's
``aws:Referer`` rule works through the edge), CloudFront's own
``User-Agent``, and HTTPS (CloudFront reaches S3 origins over TLS). It
carries no viewer address: ``aws:SourceIp`` is CloudFront's, never the
viewer's.

A missing object is ``NoSuchKey`` (404) only when the distribution may
also list the bucket; otherwise S3 answers ``AccessDenied`` (403), which
is why a CloudFront distribution with OAC answers 403 for missing files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sealbox.access.actions import resource_arn
from sealbox.api.common.access_gate import AccessGate
from sealbox.auth.principal import ACCOUNT_ID, ANONYMOUS_AUTH, AuthResult, Principal, account_of_arn
from sealbox.errors import S3Error
from sealbox.server.request import Request
from sealbox.store.edge import Distribution, OriginAccessControl
from sealbox.store.edge_config import CacheBehavior, Origin
from sealbox.store.meta import MetaStore, ObjectRecord

CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
CLOUDFRONT_USER_AGENT = "Amazon CloudFront"
CLOUDFRONT = Principal(kind="service", name=CLOUDFRONT_SERVICE, arn=CLOUDFRONT_SERVICE)
SIGNING_BEHAVIOURS = frozenset({"always", "no-override"})


@dataclass(frozen=True)
class OriginTarget:
    """Where a viewer path is fetched from, and as whom."""

    bucket: str
    key: str
    auth: AuthResult
    source_arn: str | None  # the distribution's ARN, for signed (OAC) requests


def origin_target(distribution: Distribution, origin: Origin, key: str,
                  oac: OriginAccessControl | None, now: datetime) -> OriginTarget:
    """The origin object for ``key`` (the viewer path without its ``/``) and
    the identity the distribution reads it as."""
    prefix = origin.origin_path.lstrip("/")
    full_key = f"{prefix}/{key}" if prefix else key
    if oac is not None and oac.signing_behavior in SIGNING_BEHAVIOURS:
        auth = AuthResult(principal=CLOUDFRONT, auth_type="REST-HEADER",
                          signature_version="AWS4-HMAC-SHA256", signed_at=now)
        return OriginTarget(origin.bucket, full_key, auth, distribution.arn)
    return OriginTarget(origin.bucket, full_key, ANONYMOUS_AUTH, None)


def origin_request(viewer: Request, target: OriginTarget, behavior: CacheBehavior) -> Request:
    """The request the access gate judges: CloudFront's, not the viewer's."""
    headers = {"user-agent": CLOUDFRONT_USER_AGENT}
    referer = viewer.headers.get("referer")
    if behavior.forward_referer and referer is not None:
        headers["referer"] = referer
    path = "/" + quote(target.bucket) + "/" + quote(target.key, safe="/~")
    return Request(method="GET", raw_path=path, raw_query="", headers=headers, client="",
                   scheme="https", receive=None, client_ip="", secure=True, tls_version="1.3")


def fetch_record(gate: AccessGate, meta: MetaStore, request: Request, target: OriginTarget,
                 version: int) -> ObjectRecord:
    """The object's record if the bucket lets the distribution read it;
    S3's ``AccessDenied``, ``NoSuchKey`` or ``NoSuchBucket`` otherwise.
    Synchronous (store reads): run it where the gate's reads run."""
    extra = None
    if target.source_arn is not None:
        # The distribution's account is the one its ARN names.
        account = account_of_arn(target.source_arn) or ACCOUNT_ID
        extra = {"aws:sourcearn": (target.source_arn,), "aws:sourceaccount": (account,)}

    def allowed(operation: str, action: str, kind: str, key: str | None) -> bool:
        return gate.decide(request, target.auth, operation, action,
                           resource_arn(kind, target.bucket, key),  # type: ignore[arg-type]
                           bucket=target.bucket, key=key, extra_context=extra,
                           version=version).allowed

    if meta.get_bucket(target.bucket) is None:
        raise S3Error("NoSuchBucket", BucketName=target.bucket)
    if not allowed("GetObject", "s3:GetObject", "object", target.key):
        raise S3Error("AccessDenied")
    record = meta.get_object(target.bucket, target.key)
    if record is None:
        if allowed("ListObjects", "s3:ListBucket", "bucket", None):
            raise S3Error("NoSuchKey", Key=target.key)
        raise S3Error("AccessDenied")
    return record
