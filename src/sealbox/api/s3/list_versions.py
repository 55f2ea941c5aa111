"""ListObjectVersions: every version and delete marker, keys ascending and
each key's versions newest first, paged by ``key-marker`` and
``version-id-marker``, grouped by ``delimiter`` (the walk of
``listing.py``).

A page position is (key, version id): the next page starts after that
version of that key, or after every version of a key (a common prefix, or
a ``key-marker`` alone). ``version-id-marker`` needs ``key-marker``, as S3
requires; a marker version that is gone resumes after its whole key.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sealbox.api.common.context import Context
from sealbox.api.s3.common import owner_xml, require_bucket
from sealbox.api.s3.listing import (
    MAX_KEYS,
    Page,
    Position,
    delimiter_param,
    encoder,
    int_param,
    object_fields,
    prefix_entries,
    url_encode,
    walk,
)
from sealbox.api.s3.versioning import checked_version
from sealbox.api.s3.xml import render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, xml_response
from sealbox.store.meta import ObjectRecord


@dataclass(frozen=True, slots=True)
class Listed:
    """One version as listed: the record and whether it is the key's newest."""

    record: ObjectRecord
    latest: bool

    @property
    def key(self) -> str:
        return self.record.key


def _position(item: Listed) -> Position:
    return (item.record.key, item.record.version_id)


async def list_object_versions(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    query = ctx.request.query
    enc = encoder(query)
    max_keys = int_param(query, "max-keys", MAX_KEYS)
    prefix = query.get("prefix", "")
    delimiter = delimiter_param(query)
    key_marker = query.get("key-marker", "")
    version_marker = query.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise S3Error("InvalidArgument",
                      "A version-id marker cannot be specified without a key marker.",
                      ArgumentName="version-id-marker", ArgumentValue=version_marker[:256])
    if version_marker:
        checked_version(version_marker, "version-id-marker")
    meta = ctx.services.meta
    name = bucket.name

    def list_fn(pos: Position, limit: int) -> list[Listed]:
        rows = meta.list_versions(name, prefix=prefix, key_marker=pos[0],
                                  version_marker=pos[1], limit=limit)
        return [Listed(record, latest) for record, latest in rows]

    # One pool thread for the whole walk, as ListObjects does.
    page: Page[Listed] = await ctx.services.run(functools.partial(
        walk, list_fn, prefix, delimiter, (key_marker, version_marker), max_keys,
        position=_position))
    owner = owner_xml(bucket.owner)
    next_key = next_version = None
    if page.truncated and page.last is not None:
        next_key = page.last[0]
        if not isinstance(page.entries[-1], str):
            next_version = page.last[1]
    children: list[tuple[str, object]] = [
        ("Name", bucket.name),
        ("Prefix", enc(prefix)),
        ("KeyMarker", enc(key_marker)),
        ("VersionIdMarker", version_marker),
        ("NextKeyMarker", enc(next_key) if next_key is not None else None),
        ("NextVersionIdMarker", next_version),
        ("MaxKeys", max_keys),
        ("Delimiter", enc(delimiter) if delimiter else None),
        ("EncodingType", "url" if enc is url_encode else None),
        ("IsTruncated", page.truncated),
    ]
    for item in page.items:
        record = item.record
        if record.delete_marker:
            children.append(("DeleteMarker", [
                ("Key", enc(record.key)), ("VersionId", record.version_id),
                ("IsLatest", item.latest), ("LastModified", record.last_modified),
                ("Owner", owner)]))
            continue
        fields = object_fields(record, enc, owner)
        children.append(("Version", [fields[0], ("VersionId", record.version_id),
                                     ("IsLatest", item.latest), *fields[1:]]))
    children += prefix_entries(page, enc)
    return xml_response(render("ListVersionsResult", children))


HANDLERS = {"ListObjectVersions": list_object_versions}
