"""Deletes: DeleteObject and DeleteObjects, versions and delete markers.

What a delete does depends on the bucket's versioning state
(``versioning.py``) and on whether it names a version, as S3 documents:

- naming a version removes that version for good (its bytes are freed;
  when it was the current one, the previous version becomes current) and
  needs ``s3:DeleteObjectVersion``; a version that is not there is still
  204, as S3 answers;
- without one, a bucket never versioned loses the object; an Enabled one
  gets a delete marker with a new id, a Suspended one a ``null`` marker
  that replaces the null version.

Object lock is the store's to enforce (``sealbox.store.retention``): a
version it protects is not removed, and the answer is 403 AccessDenied (in
DeleteObjects, that key's error); ``x-amz-bypass-governance-retention``
lifts a GOVERNANCE retention for a principal allowed
``s3:BypassGovernanceRetention``. A delete marker is always allowed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from sealbox.access.actions import resource_arn
from sealbox.api.common.context import Context, decide
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.ingest import discard_blobs
from sealbox.api.s3.object_lock import LOCKED, may_bypass
from sealbox.api.s3.versioning import bucket_state, checked_version, requested_version, version_for
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.http.conditional import DeleteCondition, delete_preconditions
from sealbox.http.dates import parse_http_date, parse_iso8601
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NoSuchBucket, ObjectLocked, ObjectRecord

MAX_DELETE_BODY = 4 * 1024 * 1024
MAX_DELETE_KEYS = 1000


def _parse_time(text: str) -> datetime:
    """An HTTP-date or an ISO 8601 timestamp. The S3 model marks
    ``LastModifiedTime`` as rfc822 even inside DeleteObjects' XML, which is
    what botocore sends; other SDKs may send XML's usual ISO 8601."""
    try:
        return parse_http_date(text)
    except ValueError:
        return parse_iso8601(text)


def _delete_condition(
    name: str, if_match: str | None, modified: str | None, size: str | None
) -> DeleteCondition:
    """A conditional delete's conditions, from DeleteObject's headers or one
    DeleteObjects ``<Object>``."""
    when = None
    if modified is not None:
        try:
            when = _parse_time(modified)
        except ValueError:
            raise S3Error("InvalidArgument", f"Invalid {name}-last-modified-time",
                          ArgumentName=f"{name}-last-modified-time",
                          ArgumentValue=modified[:64]) from None
    count = None
    if size is not None:
        if not size.strip().isdigit():
            raise S3Error("InvalidArgument", f"Invalid {name}-size",
                          ArgumentName=f"{name}-size", ArgumentValue=size[:64])
        count = int(size)
    return DeleteCondition(if_match=if_match, last_modified=when, size=count)


async def _check_delete(ctx: Context, key: str, condition: DeleteCondition,
                        version_id: str | None = None) -> S3Error | None:
    """A conditional delete's verdict, weighed against the version it names
    (else the current one)."""
    if not condition:
        return None
    # Checked, then deleted: two store calls, so a write landing in between
    # can still be deleted. MetaStore has no compare-and-delete yet.
    meta = ctx.services.meta
    if version_id is None:
        record = await ctx.services.read(meta.get_object, ctx.bucket, key)
    else:
        record = await ctx.services.read(meta.get_version, ctx.bucket, key, version_id)
    if record is not None and record.delete_marker:
        record = None
    current = None if record is None else (record.etag, record.last_modified, record.size)
    return delete_preconditions(condition, current, key=key)


def _check_content_md5(ctx: Context, body: bytes) -> None:
    value = ctx.request.headers.get("content-md5")
    if value is None:
        return
    try:
        expected = base64.b64decode(value, validate=True)
    except ValueError:
        raise S3Error("InvalidDigest", ContentMD5=value[:64]) from None
    if len(expected) != 16:
        raise S3Error("InvalidDigest", ContentMD5=value[:64])
    if not hmac.compare_digest(hashlib.md5(body).digest(), expected):
        raise S3Error("BadDigest")



def _marker(ctx: Context, key: str, version_id: str) -> ObjectRecord:
    return ObjectRecord(bucket=ctx.bucket, key=key, size=0, etag="",
                        last_modified=ctx.services.clock.now(), segments=(),
                        owner=ctx.auth.principal.arn, version_id=version_id, delete_marker=True)


async def _delete(ctx: Context, key: str, version_id: str | None, state: str | None,
                  garbage: list[str] | None = None) -> list[tuple[str, str]]:
    """Delete ``key`` (or its version ``version_id``) as the module
    docstring says; what S3 answers about it: (``VersionId``,
    ``DeleteMarker``, ``DeleteMarkerVersionId``) values, by name. The freed
    blobs go now, or into ``garbage`` for the caller to discard at once
    (one DeleteObjects per thousand on an S3 backend)."""
    meta = ctx.services.meta

    async def free(record: ObjectRecord | None) -> None:
        if record is None:
            return
        ids = [s.blob_id for s in record.segments]
        if garbage is None:
            await discard_blobs(ctx, ids)
        else:
            garbage.extend(ids)

    if version_id is not None:
        removed = await _delete_version(ctx, key, version_id)
        await free(removed)
        said = [("VersionId", version_id)]
        if removed is not None and removed.delete_marker:
            said += [("DeleteMarker", "true"), ("DeleteMarkerVersionId", version_id)]
        return said
    if state is None:
        try:
            await free(await ctx.services.run(meta.delete_object, ctx.bucket, key))
        except ObjectLocked:
            raise S3Error("AccessDenied", LOCKED) from None
        return []
    marker = _marker(ctx, key, version_for(state))
    try:
        gone = await ctx.services.run(meta.add_delete_marker, marker)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    except ObjectLocked:  # a null marker would replace a locked null version
        raise S3Error("AccessDenied", LOCKED) from None
    await free(gone)
    return [("DeleteMarker", "true"), ("DeleteMarkerVersionId", marker.version_id)]


async def _delete_version(ctx: Context, key: str, version_id: str) -> ObjectRecord | None:
    """Remove one version, as the store allows under object lock: a locked
    one is 403 AccessDenied, unless its retention is GOVERNANCE and the
    request may bypass it (``object_lock.may_bypass``, asked only then)."""
    meta, now = ctx.services.meta, ctx.services.clock.now()
    try:
        try:
            return await ctx.services.run(lambda: meta.delete_version(
                ctx.bucket, key, version_id, now=now))
        except ObjectLocked:
            if not await may_bypass(ctx, key, ctx.request.audit.operation or "DeleteObject"):
                raise
            return await ctx.services.run(lambda: meta.delete_version(
                ctx.bucket, key, version_id, bypass_governance=True, now=now))
    except ObjectLocked:
        raise S3Error("AccessDenied", LOCKED) from None


async def delete_object(ctx: Context) -> Response:
    await require_bucket(ctx)
    headers = ctx.request.headers
    version_id = requested_version(ctx.request.query)
    condition = _delete_condition(
        "x-amz-if-match", headers.get("if-match"),
        headers.get("x-amz-if-match-last-modified-time"), headers.get("x-amz-if-match-size"),
    )
    failed = await _check_delete(ctx, ctx.key, condition, version_id)
    if failed is not None:
        raise failed
    state = None if version_id is not None else await bucket_state(ctx, ctx.bucket)
    said = dict(await _delete(ctx, ctx.key, version_id, state))
    out = []
    if "DeleteMarker" in said:
        out.append(("x-amz-delete-marker", "true"))
    version = said.get("VersionId", said.get("DeleteMarkerVersionId"))
    if version is not None:
        out.append(("x-amz-version-id", version))
    return empty_response(204, out)


async def _may_delete_version(ctx: Context, key: str) -> bool:
    """DeleteObjects is authorised on the bucket; an entry naming a version
    also needs ``s3:DeleteObjectVersion`` on its object, as IAM requires."""
    decision = await decide(ctx.services, ctx.request, ctx.auth, "s3:DeleteObjectVersion",
                            resource_arn("object", ctx.bucket, key), bucket=ctx.bucket, key=key,
                            operation="DeleteObjects")
    return decision.allowed


async def delete_objects(ctx: Context) -> Response:
    await require_bucket(ctx)
    body = await ctx.request.read(MAX_DELETE_BODY)
    _check_content_md5(ctx, body)
    root = parse_xml(body, "Delete")
    quiet = (find_text(root, "Quiet") or "").strip().lower() == "true"
    entries = find_all(root, "Object")
    if not entries or len(entries) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    keys = []
    for entry in entries:
        key = find_text(entry, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        try:
            condition = _delete_condition(
                "x-amz-if-match", find_text(entry, "ETag"), find_text(entry, "LastModifiedTime"),
                find_text(entry, "Size"),
            )
        except S3Error:
            raise S3Error("MalformedXML") from None
        keys.append((key, find_text(entry, "VersionId"), condition))
    state = await bucket_state(ctx, ctx.bucket)
    results: list[tuple[str, object]] = []
    garbage: list[str] = []
    note = ctx.request.audit
    for key, version, condition in keys:

        def error(code: str, message: str, key: str = key,
                  version: str | None = version) -> tuple[str, object]:
            # Errors are listed even in quiet mode, as S3 does.
            return ("Error", [("Key", key), ("VersionId", version), ("Code", code),
                              ("Message", message)])

        if not key or len(key.encode()) > 1024:
            results.append(error("KeyTooLongError" if key else "InvalidArgument", "Invalid key"))
            continue
        if version is not None:
            try:
                checked_version(version, "VersionId")
            except S3Error as bad:
                results.append(error(bad.code, bad.message))
                continue
            if not await _may_delete_version(ctx, key):
                results.append(error("AccessDenied", "Access Denied"))
                continue
        failed = await _check_delete(ctx, key, condition, version)
        if failed is not None:
            results.append(error(failed.code, failed.message))
            continue
        try:
            said = await _delete(ctx, key, version, state, garbage)
        except S3Error as refused:
            if refused.code != "AccessDenied":
                raise
            results.append(error(refused.code, refused.message))  # object lock: that key's alone
            continue
        if note.batch_keys is None:  # each key its own access log record
            note.batch_keys = []
        note.batch_keys.append(key)
        if not quiet:
            results.append(("Deleted", [("Key", key), *said]))
    await discard_blobs(ctx, garbage)
    return xml_response(render("DeleteResult", results))


HANDLERS = {
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
}
