"""CopyObject: a new object from an existing one's bytes, with its metadata
copied or replaced (``x-amz-metadata-directive``) and its tags copied or
replaced (``x-amz-tagging-directive``)."""

from __future__ import annotations

from sealbox.api.common.context import Context
from sealbox.api.common.tags import tagging_header
from sealbox.api.s3.acl_writes import with_write_acl
from sealbox.api.s3.common import (
    require_bucket,
    storage_class,
    stored_headers,
    user_metadata,
)
from sealbox.api.s3.copy_source import copy_bytes, load_source, parse_copy_source
from sealbox.api.s3.encryption import customer_key, sealing_headers, write_ask
from sealbox.api.s3.lifecycle import expiration_headers
from sealbox.api.s3.object_lock import lock_for_write
from sealbox.api.s3.objects import check_put_preconditions, commit_object
from sealbox.api.s3.sealing import new_sealing, open_key
from sealbox.api.s3.versioning import bucket_state, version_for, version_headers
from sealbox.api.s3.xml import render
from sealbox.errors import S3Error
from sealbox.http.conditional import copy_source_conditions
from sealbox.http.dates import format_iso8601
from sealbox.server.responses import Response, xml_response
from sealbox.store.meta import NULL_VERSION, ObjectRecord, Segment

MAX_COPY_SOURCE_SIZE = 5 * 1024**3
_SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)


def _directive(ctx: Context, header: str) -> str:
    value = ctx.request.headers.get(header, "COPY").upper()
    if value not in ("COPY", "REPLACE"):
        name = "metadata" if "metadata" in header else "tagging"
        raise S3Error("InvalidArgument", f"Unknown {name} directive.", ArgumentName=header,
                      ArgumentValue=value[:64])
    return value


async def copy_object(ctx: Context) -> Response:
    headers = ctx.request.headers
    source = parse_copy_source(headers["x-amz-copy-source"])
    metadata_directive = _directive(ctx, "x-amz-metadata-directive")
    tagging_directive = _directive(ctx, "x-amz-tagging-directive")
    ask = write_ask(headers)
    await require_bucket(ctx)
    src = await load_source(ctx, source)
    # The source is read with its own key; the copy is sealed as the
    # request (or the target bucket's default) asks, whatever the source was.
    source_key = await open_key(ctx, src.sealing, customer_key(headers, source=True))
    now = ctx.services.clock.now()
    copy_source_conditions(headers, src.etag, src.last_modified, now=now)
    klass = storage_class(headers) if "x-amz-storage-class" in headers else src.storage_class
    if (source.bucket, source.key) == (ctx.bucket, ctx.key) and metadata_directive == "COPY" \
            and "x-amz-storage-class" not in headers and not ask.asks:
        raise S3Error("InvalidRequest", _SELF_COPY)
    if src.size > MAX_COPY_SOURCE_SIZE:
        raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum "
                      f"allowable size for a copy source: {MAX_COPY_SOURCE_SIZE}")
    if metadata_directive == "REPLACE":
        stored, meta = stored_headers(headers), user_metadata(headers)
    else:
        stored, meta = dict(src.headers), dict(src.user_metadata)
    tags = tagging_header(headers) if tagging_directive == "REPLACE" else src.tags
    stored = await with_write_acl(ctx, stored)
    condition = await check_put_preconditions(ctx)
    state = await bucket_state(ctx, ctx.bucket)
    # The copy's own lock (its headers, else the default): never the source's.
    lock = await lock_for_write(ctx, state, now)
    sealing, data_key = await new_sealing(ctx, ctx.bucket, ask)
    received = await copy_bytes(ctx, src, source_key=source_key, seal_key=data_key)
    record = ObjectRecord(
        bucket=ctx.bucket, key=ctx.key, size=received.size, etag=received.md5_hex,
        last_modified=now, segments=(Segment(received.blob_id, received.size, received.nonce),),
        headers=stored, user_metadata=meta, tags=tags, checksums=dict(src.checksums),
        storage_class=klass, owner=ctx.auth.principal.arn, version_id=version_for(state),
        lock_mode=lock.mode, lock_until=lock.until, legal_hold=lock.legal_hold,
        sealing=sealing,
    )
    await commit_object(ctx, record, [received.blob_id], condition=condition)
    body = render("CopyObjectResult", [("LastModified", format_iso8601(now)),
                                       ("ETag", f'"{record.etag}"')])
    out = [*version_headers(record.version_id), *await expiration_headers(ctx, record),
           *sealing_headers(sealing, ask.customer, written=True)]
    if src.version_id != NULL_VERSION or source.version_id is not None:
        out.append(("x-amz-copy-source-version-id", src.version_id))
    return xml_response(body, headers=out)


HANDLERS = {"CopyObject": copy_object}
