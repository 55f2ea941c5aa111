"""Every operation's handler, gathered from the operation-family modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sealbox.api.cloudfront import api as cloudfront_api
from sealbox.api.common.context import Context
from sealbox.api.iam import query as iam
from sealbox.api.s3 import (
    acl,
    attributes,
    bucket_encryption,
    bucket_logging,
    bucket_tagging,
    buckets,
    copy_object,
    cors,
    delete,
    lifecycle,
    list_versions,
    listing,
    multipart,
    object_lock,
    objects,
    policy,
    post_object,
    retention,
    tagging,
    versioning,
)
from sealbox.server.responses import Response

Handler = Callable[[Context], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    **buckets.HANDLERS,
    **objects.HANDLERS,
    **attributes.HANDLERS,
    **delete.HANDLERS,
    **copy_object.HANDLERS,
    **tagging.HANDLERS,
    **versioning.HANDLERS,
    **object_lock.HANDLERS,
    **retention.HANDLERS,
    **listing.HANDLERS,
    **list_versions.HANDLERS,
    **multipart.HANDLERS,
    **post_object.HANDLERS,
    **cors.HANDLERS,
    **iam.HANDLERS,
    **policy.HANDLERS,
    **acl.HANDLERS,
    **bucket_logging.HANDLERS,
    **lifecycle.HANDLERS,
    **bucket_encryption.HANDLERS,
    **bucket_tagging.HANDLERS,
    **cloudfront_api.HANDLERS,
}

# Operations whose authority is in the body, not the headers: the server
# skips its authenticate-and-evaluate step for them, and the handler does
# both itself once it has read what it needs (a POST form's policy and
# signature come before its file). A CORS preflight carries no authority at
# all: browsers send it without credentials, and S3 answers it from the
# bucket's CORS configuration alone.
# The IAM Query API and the CloudFront API sign their bodies without an
# x-amz-content-sha256 header, so they too authenticate once they have read
# the body.
SELF_AUTHENTICATING = frozenset({"PostObject", "CorsPreflight", "IamQuery", "CloudFrontApi"})
