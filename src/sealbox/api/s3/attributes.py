"""GetObjectAttributes: what an object is, without its bytes.

``x-amz-object-attributes`` names what to return, comma-separated, from
``ETag``, ``Checksum``, ``ObjectParts``, ``StorageClass`` and
``ObjectSize``; a name outside those is 400 ``InvalidArgument`` (as S3
answers it), and so is a missing or empty header. ``ObjectParts`` pages a
multipart object's parts by ``x-amz-max-parts`` (at most 1,000) and
``x-amz-part-number-marker``; a single-PUT object has no parts, and S3
leaves the element out. Parts carry their number, size and, when the
upload had a checksum algorithm, their own checksum (kept with the
object's segments since issue 16; objects completed before list none).

An SSE-C object's attributes are answered only to the request that
gives its key (``x-amz-server-side-encryption-customer-*``), as HeadObject
is; the key is checked, nothing is decrypted.

S3 does not evaluate conditional headers here ("GetObjectAttributes"
reference: they are for GetObject), so none is read. A delete marker is
answered as GetObject answers it (``objects.find_object``): 404 with
``x-amz-delete-marker`` for the key, 405 when its version id is named.
"""

from __future__ import annotations

from sealbox.api.common.context import Context
from sealbox.api.s3.encryption import customer_key
from sealbox.api.s3.objects import find_object
from sealbox.api.s3.sealing import read_key
from sealbox.api.s3.versioning import requested_version, version_headers
from sealbox.api.s3.xml import render
from sealbox.auth.sigv4.checksum import checksum_type
from sealbox.errors import S3Error
from sealbox.http.dates import format_http_date
from sealbox.server.responses import Response, xml_response
from sealbox.store.meta import NULL_VERSION, SSE_C, ObjectRecord

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS = 1000
MAX_HEADER = 256  # five names and their commas fit many times over
_BY_LOWER = {name.lower(): name for name in ATTRIBUTES}


def requested_attributes(value: str | None) -> frozenset[str]:
    """The attributes ``x-amz-object-attributes`` names (case as S3 spells
    them; S3 reads the names without regard to case)."""
    if value is None or not value.strip():
        raise S3Error("InvalidArgument", "The x-amz-object-attributes header specifying the "
                      "attributes to be retrieved is either missing or empty",
                      ArgumentName="x-amz-object-attributes", ArgumentValue="")
    if len(value) > MAX_HEADER:
        raise S3Error("InvalidArgument", "Invalid attribute name specified.",
                      ArgumentName="x-amz-object-attributes", ArgumentValue=value[:MAX_HEADER])
    names = set()
    for item in value.split(","):
        name = _BY_LOWER.get(item.strip().lower())
        if name is None:
            raise S3Error("InvalidArgument", "Invalid attribute name specified.",
                          ArgumentName="x-amz-object-attributes",
                          ArgumentValue=item.strip()[:MAX_HEADER])
        names.add(name)
    return frozenset(names)


def _integer_header(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or int(value) > 2**31 - 1:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer "
                      "range", ArgumentName=name, ArgumentValue=value[:64])
    return int(value)


def object_parts(record: ObjectRecord, max_parts: int, marker: int) -> list[tuple[str, object]]:
    """``<ObjectParts>`` of a multipart object: the parts after ``marker``,
    at most ``max_parts`` of them (sizes from the object's segments, which
    are its parts in order)."""
    segments = record.segments
    page = list(enumerate(segments, start=1))[marker:marker + max_parts]
    truncated = marker + len(page) < len(segments)
    # A part's checksum is in the object's algorithm (the upload's one).
    algorithm = next(iter(record.checksums), None)
    children: list[tuple[str, object]] = [
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page[-1][0] if page else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
        ("PartsCount", len(segments)),
    ]
    for number, segment in page:
        part: list[tuple[str, object]] = []
        if algorithm is not None and segment.checksum is not None:
            part.append((f"Checksum{algorithm.upper()}", segment.checksum))
        part += [("PartNumber", number), ("Size", segment.size)]
        children.append(("Part", part))
    return children


def attributes_document(record: ObjectRecord, wanted: frozenset[str], *, max_parts: int,
                        marker: int) -> bytes:
    """The ``GetObjectAttributesResponse`` body for ``wanted`` of ``record``."""
    children: list[tuple[str, object]] = []
    if "ETag" in wanted:
        children.append(("ETag", record.etag))  # unquoted, as S3 writes it here
    if "Checksum" in wanted and record.checksums:
        sums: list[tuple[str, object]] = [(f"Checksum{name.upper()}", value)
                                          for name, value in record.checksums.items()]
        sums.append(("ChecksumType", checksum_type(next(iter(record.checksums.values())))))
        children.append(("Checksum", sums))
    if "ObjectParts" in wanted and record.parts_count is not None:
        children.append(("ObjectParts", object_parts(record, max_parts, marker)))
    if "StorageClass" in wanted:
        children.append(("StorageClass", record.storage_class))
    if "ObjectSize" in wanted:
        children.append(("ObjectSize", record.size))
    return render("GetObjectAttributesResponse", children)


async def get_object_attributes(ctx: Context) -> Response:
    headers = ctx.request.headers
    wanted = requested_attributes(headers.get("x-amz-object-attributes"))
    max_parts = min(_integer_header(headers.get("x-amz-max-parts"), "x-amz-max-parts",
                                    MAX_PARTS), MAX_PARTS)
    marker = _integer_header(headers.get("x-amz-part-number-marker"),
                             "x-amz-part-number-marker", 0)
    version_id = requested_version(ctx.request.query)
    record = await find_object(ctx, ctx.bucket, ctx.key, version_id)
    customer = customer_key(headers)
    if customer is not None or (record.sealing is not None and record.sealing.kind == SSE_C):
        # An SSE-C object's attributes need its key, as its HEAD does (the
        # GetObjectAttributes reference: "you must use the following
        # headers"): none is 400, a wrong one 403; the key is only checked.
        read_key(ctx.services, record.sealing, customer)
    body = attributes_document(record, wanted, max_parts=max_parts, marker=marker)
    out = [("last-modified", format_http_date(record.last_modified)),
           *version_headers(record.version_id)]
    if version_id == NULL_VERSION:
        out.append(("x-amz-version-id", NULL_VERSION))  # named, so S3 echoes it
    return xml_response(body, headers=out)


HANDLERS = {"GetObjectAttributes": get_object_attributes}
