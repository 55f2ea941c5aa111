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
from collections.abc import Callable, Mapping
from operator import itemgetter

from sealbox.api.common.context import Context
from sealbox.api.s3.common import owner_xml, require_bucket
from sealbox.api.s3.listing import (
    MAX_KEYS,
    Page,
    Position,
    checksum_fields,
    delimiter_param,
    encoder,
    int_param,
    prefix_entries,
    url_encode,
    walk,
)
from sealbox.api.s3.versioning import checked_version
from sealbox.api.s3.xml import escape, needs_escape, render_document, render_fragment
from sealbox.errors import S3Error
from sealbox.http.dates import format_iso8601
from sealbox.server.responses import Response, xml_response
from sealbox.store.meta import VersionEntry

# An entry's page position: (key, version id), as the walk needs it.
entry_position: Callable[[VersionEntry], Position] = itemgetter(0, 1)  # type: ignore[assignment]


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

    def list_fn(pos: Position, limit: int) -> list[VersionEntry]:
        return meta.list_version_entries(name, prefix=prefix, key_marker=pos[0],
                                         version_marker=pos[1], limit=limit)

    # One pool thread for the whole walk, as ListObjects does.
    page: Page[VersionEntry] = await ctx.services.run(functools.partial(
        walk, list_fn, prefix, delimiter, (key_marker, version_marker), max_keys,
        position=entry_position))
    next_key = next_version = None
    if page.truncated and page.last is not None:
        next_key = page.last[0]
        if not isinstance(page.entries[-1], str):
            next_version = page.last[1]
    head: list[tuple[str, object]] = [
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
    owner = render_fragment([("Owner", owner_xml(bucket.owner))])
    return xml_response(render_document("ListVersionsResult", [
        render_fragment(head),
        *entries_xml(page.items, enc, owner),
        render_fragment(prefix_entries(page, enc)),
    ]))


def entries_xml(entries: list[VersionEntry], enc: Callable[[str], str],
                owner: str) -> list[str]:
    """``<Version>`` and ``<DeleteMarker>`` elements, one string each, in
    the order and with the bytes ``xml.render`` would give them from
    ``(name, value)`` pairs, at a fraction of the cost: a page is a
    thousand, and building pairs for each made it the page's largest cost
    (bench/list_versions.py). ``owner`` is the rendered ``<Owner>``."""
    out = []
    for key, vid, latest, marker, modified, etag, size, sums, sclass in entries:
        key = enc(key)
        if needs_escape(f"{key}{vid}{etag}{sclass}"):  # one search, not four
            key, vid, etag, sclass = escape(key), escape(vid), escape(etag), escape(sclass)
        is_latest = "true" if latest else "false"
        if marker:
            out.append(f"<DeleteMarker><Key>{key}</Key><VersionId>{vid}</VersionId>"
                       f"<IsLatest>{is_latest}</IsLatest>"
                       f"<LastModified>{format_iso8601(modified)}</LastModified>"
                       f"{owner}</DeleteMarker>")
            continue
        out.append(f"<Version><Key>{key}</Key><VersionId>{vid}</VersionId>"
                   f"<IsLatest>{is_latest}</IsLatest>"
                   f"<LastModified>{format_iso8601(modified)}</LastModified>"
                   f"<ETag>&quot;{etag}&quot;</ETag>{_checksums_xml(sums) if sums else ''}"
                   f"<Size>{size}</Size>{owner}<StorageClass>{sclass}</StorageClass></Version>")
    return out


def _checksums_xml(checksums: Mapping[str, str]) -> str:
    composite = any("-" in value for value in checksums.values())
    return _checksum_elements(tuple(checksums), composite)


@functools.lru_cache(maxsize=64)
def _checksum_elements(names: tuple[str, ...], composite: bool) -> str:
    """What ``listing.checksum_fields`` renders for checksums of these
    algorithms; the same few combinations recur on every row."""
    return render_fragment(checksum_fields(
        {name: "-" if composite else "" for name in names}))


HANDLERS = {"ListObjectVersions": list_object_versions}
