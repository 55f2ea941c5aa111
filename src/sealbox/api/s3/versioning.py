"""Bucket versioning: PutBucketVersioning, GetBucketVersioning, and what the
object operations ask of it (the bucket's state, a new version's id, the
``versionId`` a request names).

The state is the bucket setting ``versioning``: absent (never versioned),
``Enabled`` or ``Suspended``. S3 never lets a bucket go back to
unversioned, so there is no delete. What a write keeps follows from the
new version's id (``sealbox.store.sql.versions``): an id while Enabled,
``null`` otherwise.

Version ids are 32 URL-safe characters from the OS's random source (never
starting with ``-``, which a command line takes for an option): they say
nothing about the object, and a guessed one names nothing. A
``versionId`` that is neither ``null`` nor of that shape is refused as S3
refuses one it did not make (400 InvalidArgument "Invalid version id
specified"); one of that shape that names nothing is 404 NoSuchVersion.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from sealbox.api.common.context import Context
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.xml import find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NULL_VERSION, NoSuchBucket

SETTING = "versioning"
# A bucket with object lock (object_lock.py) stays Enabled.
LOCK_SETTING = "object-lock"
ENABLED, SUSPENDED = "Enabled", "Suspended"
MAX_BODY = 64 * 1024
_VERSION_ID = re.compile(r"[A-Za-z0-9_-]{32}")


def new_version_id() -> str:
    """32 random URL-safe characters, never starting with ``-``: a command
    line reads ``--version-id -Xy…`` as two options, and ``aws s3api
    delete-object --version-id "$V"`` fails ("expected one argument"). One
    id in 64 started so, and the README's object-lock example failed one
    run in 64 (upload ids start with ``U`` for the same reason)."""
    while True:
        vid = secrets.token_urlsafe(24)
        if vid[0] != "-":
            return vid


async def bucket_state(ctx: Context, bucket: str) -> str | None:
    """``Enabled``, ``Suspended``, or None for a bucket never versioned."""
    return await ctx.services.read(ctx.services.meta.get_bucket_setting, bucket, SETTING)


def version_for(state: str | None) -> str:
    """The id a new version gets in a bucket in ``state``."""
    return new_version_id() if state == ENABLED else NULL_VERSION


def requested_version(query: Mapping[str, str], name: str = "versionId") -> str | None:
    """The version a request names, checked; None when it names none."""
    value = query.get(name)
    if value is None:
        return None
    return checked_version(value, name)


def checked_version(value: str, name: str = "versionId") -> str:
    if value == "":
        raise S3Error("InvalidArgument", "Version id cannot be the empty string",
                      ArgumentName=name, ArgumentValue="")
    if value != NULL_VERSION and not _VERSION_ID.fullmatch(value):
        raise S3Error("InvalidArgument", "Invalid version id specified",
                      ArgumentName=name, ArgumentValue=value[:256])
    return value


def version_headers(version_id: str) -> list[tuple[str, str]]:
    """``x-amz-version-id`` on a write's answer, as S3 sends it: only for a
    version with an id (not the null version of a Suspended or never
    versioned bucket; ceph/s3-tests
    ``test_versioning_bucket_atomic_upload_return_version_id``)."""
    return [] if version_id == NULL_VERSION else [("x-amz-version-id", version_id)]


async def get_bucket_versioning(ctx: Context) -> Response:
    await require_bucket(ctx)
    state = await bucket_state(ctx, ctx.bucket)
    # A bucket never versioned: S3 answers an empty configuration.
    children = [] if state is None else [("Status", state)]
    return xml_response(render("VersioningConfiguration", children))


async def put_bucket_versioning(ctx: Context) -> Response:
    await require_bucket(ctx)
    root = parse_xml(await ctx.request.read(MAX_BODY), "VersioningConfiguration")
    status = find_text(root, "Status")
    mfa = find_text(root, "MfaDelete")
    if status is not None and status not in (ENABLED, SUSPENDED):
        raise S3Error("MalformedXML")
    if mfa is not None and mfa not in ("Enabled", "Disabled"):
        raise S3Error("MalformedXML")
    if mfa == "Enabled":
        # MFA delete needs an MFA device's code with each delete; sealbox has none.
        raise S3Error("NotImplemented", "MFA delete is not supported")
    if status == SUSPENDED and await ctx.services.read(
            ctx.services.meta.get_bucket_setting, ctx.bucket, LOCK_SETTING) is not None:
        raise S3Error("InvalidBucketState", "An Object Lock configuration is present on this "
                      "bucket, so the versioning state cannot be changed.")
    if status is not None:
        try:
            await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket, SETTING,
                                   status)
        except NoSuchBucket:
            raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(200)


HANDLERS = {
    "GetBucketVersioning": get_bucket_versioning,
    "PutBucketVersioning": put_bucket_versioning,
}
