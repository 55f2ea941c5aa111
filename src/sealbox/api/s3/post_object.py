"""PostObject: a browser upload, ``multipart/form-data`` POSTed to the bucket.

The form's fields stand for PutObject's headers (``Content-Type``,
``x-amz-meta-*``, ``tagging`` …) and carry its authority: a policy signed
with SigV4 or SigV2 (``sealbox.auth.post_policy``), or none (anonymous).
The body is read as a stream (``sealbox.api.s3.form_data``): fields before
the file are kept (at most 20 KB, as S3 allows), and when the file part
starts the form is authenticated, its policy checked and access decided,
all before a byte of the file is written. The file then streams into a
new blob, hashed as it goes; fields after it are ignored, as S3 ignores
them ("the file field must be the last field in the form"). Only a form
that ended well, with exactly one file within the policy's sizes, is
committed; any failure drops the blob, so nothing partial is ever stored.

This operation authenticates itself (``handlers.SELF_AUTHENTICATING``):
the server's header-based authentication does not apply to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode, urlsplit

from sealbox.access.actions import ACTIONS, resource_arn
from sealbox.api.common.context import Context, decide
from sealbox.api.router import MAX_KEY_BYTES, Endpoint, virtual_host_bucket
from sealbox.api.s3.acl_writes import with_write_acl
from sealbox.api.s3.common import (
    quote_etag,
    require_bucket,
    storage_class,
    stored_headers,
    user_metadata,
)
from sealbox.api.s3.encryption import CustomerKey, check_request, sealing_headers, write_ask
from sealbox.api.s3.form_data import (
    FormEnd,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    parse_boundary,
)
from sealbox.api.s3.object_lock import VersionLock, lock_for_write
from sealbox.api.s3.objects import commit_object
from sealbox.api.s3.sealing import new_sealing
from sealbox.api.s3.tagging import parse_tagging
from sealbox.api.s3.versioning import bucket_state, version_for, version_headers
from sealbox.api.s3.xml import render
from sealbox.auth import post_policy
from sealbox.auth.principal import AuthResult
from sealbox.auth.sigv4.checksum import ALGORITHMS, Hasher, content_md5, declared_checksums, encode
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.blobs import BlobWriter
from sealbox.store.meta import ObjectRecord, Sealing, Segment
from sealbox.store.sealed_blobs import SealedWriter

# "The form data and boundaries (excluding the contents of the file) cannot
# exceed 20 KB" (Creating an HTML form). Each part is charged its name,
# value and a fixed share for its boundary and headers.
MAX_FORM_BYTES = 20 * 1024
PART_OVERHEAD = 128
# Past a policy's maximum, up to this much more of the file is read (not
# kept) so EntityTooLarge can name the real size; beyond it we stop reading.
DRAIN_LIMIT = 16 * 1024 * 1024
FILE_FIELD = "file"


@dataclass
class _Target:
    """What the form authorised: where the file goes and how it is kept."""

    ctx: Context
    form: post_policy.Form
    key: str
    sizes: post_policy.SizeRange
    record_headers: dict[str, str]
    metadata: dict[str, str]
    tags: tuple[tuple[str, str], ...]
    storage_class: str
    content_md5: bytes | None
    checksums: dict[str, bytes]  # x-amz-checksum-* fields: algorithm → claimed digest
    state: str | None  # the bucket's versioning
    lock: VersionLock  # x-amz-object-lock-* fields, else the bucket's default retention
    # Encryption at rest, as the fields or the bucket's default ask (api/s3/sealing.py).
    sealing: Sealing | None = None
    data_key: bytes | None = field(default=None, repr=False)
    customer: CustomerKey | None = None


@dataclass
class _Reader:
    """The state of one form as its events arrive."""

    ctx: Context
    boundary_length: int
    fields: list[tuple[str, str]] = field(default_factory=list)
    form_bytes: int = 0
    state: str = "fields"  # fields → file → after
    name: str = ""
    value: bytearray = field(default_factory=bytearray)
    files: int = 0
    target: _Target | None = None
    writer: BlobWriter | None = None
    md5: hashlib._Hash = field(default_factory=hashlib.md5)  # type: ignore[name-defined]
    hashers: dict[str, Hasher] = field(default_factory=dict)
    size: int = 0
    too_large: bool = False

    async def on_event(self, event: object) -> None:
        if isinstance(event, PartStart):
            await self._start(event)
        elif isinstance(event, PartData):
            self._data(event.data)
        elif isinstance(event, PartEnd):
            self._end()
        else:
            assert isinstance(event, FormEnd)

    async def _start(self, event: PartStart) -> None:
        is_file = event.name.lower() == FILE_FIELD
        if self.state == "after":
            if is_file:
                raise S3Error("IncorrectNumberOfFilesInPostRequest")
            return  # fields after the file are ignored
        if is_file:
            self.files += 1
            self.state = "file"
            self.target = await _authorize(self.ctx, post_policy.Form(tuple(self.fields)),
                                           event.filename)
            self.hashers = {name: ALGORITHMS[name].new() for name in self.target.checksums}
            writer: BlobWriter = self.ctx.services.blobs.writer()
            if self.target.data_key is not None:
                writer = SealedWriter(writer, self.target.data_key)
            self.writer = writer
            return
        self.name = event.name
        self.value = bytearray()
        self._charge(len(event.name.encode()) + PART_OVERHEAD + self.boundary_length)

    def _charge(self, count: int) -> None:
        self.form_bytes += count
        if self.form_bytes > MAX_FORM_BYTES:
            raise S3Error("MaxPostPreDataLengthExceededError")

    def _data(self, data: bytes) -> None:
        if self.state == "fields":
            self._charge(len(data))
            self.value += data
        elif self.state == "file":
            self._file_data(data)

    def _file_data(self, data: bytes) -> None:
        assert self.target is not None and self.writer is not None
        self.size += len(data)
        if not self.too_large:
            high = self.target.sizes.high
            cap = self.ctx.services.settings.max_put_size
            if self.size > cap:
                raise S3Error("EntityTooLarge", ProposedSize=str(self.size),
                              MaxSizeAllowed=str(cap))
            if high is not None and self.size > high:
                # Keep counting (not writing) to name the real size, a while.
                self.too_large = True
                self.writer.abort()
            else:
                self.md5.update(data)
                for hasher in self.hashers.values():
                    hasher.update(data)
                self.writer.write(data)
                return
        assert self.target.sizes.high is not None
        if self.size > self.target.sizes.high + DRAIN_LIMIT:
            self.target.sizes.check(self.size)

    def _end(self) -> None:
        if self.state == "fields":
            try:
                text = self.value.decode("utf-8")
            except UnicodeDecodeError:
                raise S3Error("MalformedPOSTRequest") from None
            self.fields.append((self.name, text))
        elif self.state == "file":
            self.state = "after"
            assert self.target is not None
            self.target.sizes.check(self.size)


def _filename(raw: str | None) -> str:
    """The file's name as ``${filename}`` uses it: browsers of old sent a
    whole path (``C:\\Users\\me\\photo.jpg``); S3 keeps the last part."""
    if not raw:
        return ""
    return raw.replace("\\", "/").rsplit("/", 1)[-1]


async def _authorize(ctx: Context, form: post_policy.Form, filename: str | None) -> _Target:
    """Everything decided before the file is read: the key, who signed,
    the policy, access, the bucket, and the object's headers."""
    raw_key = form.get("key")
    if not raw_key:
        raise S3Error("InvalidArgument", post_policy.MISSING_FIELD.format("key"),
                      ArgumentName="key", ArgumentValue="")
    key = raw_key.replace("${filename}", _filename(filename))
    if not key:
        raise S3Error("InvalidArgument", post_policy.MISSING_FIELD.format("key"),
                      ArgumentName="key", ArgumentValue="")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(len(key.encode("utf-8"))),
                      MaxSizeAllowed=str(MAX_KEY_BYTES))
    services = ctx.services
    note = ctx.request.audit
    note.key = key
    fields = {n.lower(): v for n, v in reversed(form.fields)}  # the first of a name wins
    if "x-amz-signature" in fields or "signature" in fields:
        # For the audit event: the form's own credential and signature.
        note.auth = "PostPolicy"
        note.access_key = (fields.get("x-amz-credential", "").split("/", 1)[0]
                           or fields.get("awsaccesskeyid"))
        note.signature = fields.get("x-amz-signature") or fields.get("signature")
    auth = await services.read(post_policy.authenticate_form, form, services.lookup_credential,
                               services.settings.region)
    if not auth.principal.is_anonymous:
        note.principal = auth.principal.arn
    sizes = post_policy.SizeRange()
    if auth.auth_type == "POST":
        policy = post_policy.decode_policy(form.get("policy") or "")
        # Conditions see the bucket posted to (whatever a "bucket" field
        # says) and the key with ${filename} replaced.
        checked = [(n, v) for n, v in form.fields if n.lower() not in ("bucket", "key")]
        checked = [("bucket", ctx.bucket), ("key", key), *checked]
        sizes = post_policy.evaluate_policy(policy, post_policy.Form(tuple(checked)),
                                            services.clock.now())
    await _check_access(ctx, auth, key)
    ctx = replace(ctx, auth=auth, endpoint=Endpoint("PostObject", ctx.bucket, key))
    await require_bucket(ctx)
    # Field names are case-insensitive; the first of a name wins.
    headers: dict[str, str] = {}
    for name, value in form.fields:
        headers.setdefault(name.lower(), value)
    check_request("PostObject", headers, secure=ctx.request.scheme == "https",
                  allow_http=services.settings.sse_c_allow_http)
    ask = write_ask(headers)
    sealing, data_key = await new_sealing(ctx, ctx.bucket, ask)
    tagging = headers.get("tagging")
    state = await bucket_state(ctx, ctx.bucket)
    lock = await lock_for_write(ctx, state, services.clock.now(), headers)
    # The form's ``acl`` field is PutObject's x-amz-acl (grants have no field).
    acl = headers.get("acl")
    record_headers = await with_write_acl(ctx, stored_headers(headers, wire=False),
                                          {} if acl is None else {"x-amz-acl": acl})
    return _Target(
        ctx=ctx, form=form, key=key, sizes=sizes,
        record_headers=record_headers,
        metadata=user_metadata(headers, wire=False),
        tags=parse_tagging(tagging.encode("utf-8")) if tagging else (),
        storage_class=storage_class(headers), content_md5=content_md5(headers.get("content-md5")),
        checksums=declared_checksums(headers), state=state, lock=lock, sealing=sealing,
        data_key=data_key, customer=ask.customer,
    )


async def _check_access(ctx: Context, auth: AuthResult, key: str) -> None:
    action, kind = ACTIONS["PostObject"]
    decision = await decide(ctx.services, ctx.request, auth, action,
                            resource_arn(kind, ctx.bucket, key), bucket=ctx.bucket, key=key,
                            operation="PostObject")
    if not decision.allowed:
        raise S3Error("AccessDenied")


async def post_object(ctx: Context) -> Response:
    request = ctx.request
    boundary = parse_boundary(request.headers.get("content-type"))
    parser = MultipartParser(boundary)
    reader = _Reader(ctx, len(boundary))
    limit = ctx.services.settings.max_put_size + DRAIN_LIMIT
    try:
        async for chunk in request.stream(limit=limit):
            for event in parser.feed(chunk):
                await reader.on_event(event)
        parser.finish()
        target = reader.target
        if target is None:
            if not post_policy.Form(tuple(reader.fields)).get("key"):
                raise S3Error("InvalidArgument", post_policy.MISSING_FIELD.format("key"),
                              ArgumentName="key", ArgumentValue="")
            raise S3Error("IncorrectNumberOfFilesInPostRequest")
        assert reader.writer is not None
        if target.content_md5 is not None and not hmac.compare_digest(
                reader.md5.digest(), target.content_md5):
            raise S3Error("BadDigest", ExpectedDigest=target.content_md5.hex(),
                          CalculatedDigest=base64.b64encode(reader.md5.digest()).decode())
        computed = {name: h.digest() for name, h in reader.hashers.items()}
        for name, claimed in target.checksums.items():
            if not hmac.compare_digest(computed[name], claimed):
                raise S3Error("BadDigest", f"The {name.upper()} you specified did not match the "
                              "calculated checksum.")
        blob_id = await ctx.services.run(reader.writer.finish)
    except BaseException:
        if reader.writer is not None:
            reader.writer.abort()
        raise
    tctx = target.ctx
    lock = target.lock
    record = ObjectRecord(
        bucket=tctx.bucket, key=target.key, size=reader.size, etag=reader.md5.hexdigest(),
        last_modified=ctx.services.clock.now(),
        segments=(Segment(blob_id, reader.size, getattr(reader.writer, "nonce", None)),),
        headers=target.record_headers, user_metadata=target.metadata, tags=target.tags,
        storage_class=target.storage_class, owner=tctx.auth.principal.arn,
        checksums={name: encode(digest) for name, digest in computed.items()},
        version_id=version_for(target.state),
        lock_mode=lock.mode, lock_until=lock.until, legal_hold=lock.legal_hold,
        sealing=target.sealing,
    )
    await commit_object(tctx, record, [blob_id])
    return _answer(tctx, target.form, record, [*version_headers(record.version_id),
                                               *sealing_headers(target.sealing, target.customer,
                                                               written=True)])


def _location(ctx: Context, key: str) -> str:
    """The object's URL, as S3 sends it in ``Location``: on the host the
    form was posted to, path-style unless the host names the bucket."""
    request = ctx.request
    host = request.headers.get("host", "")
    encoded = quote(key, safe="")
    if virtual_host_bucket(host, ctx.services.settings.domains) is not None:
        return f"{request.scheme}://{host}/{encoded}"
    return f"{request.scheme}://{host}/{quote(ctx.bucket, safe='')}/{encoded}"


def _redirect(url: str | None, bucket: str, key: str, etag: str) -> str | None:
    """``success_action_redirect`` with bucket, key and ETag appended, or
    None for a URL S3 would ignore ("If Amazon S3 cannot interpret the URL,
    it acts as if the field is not present")."""
    if not url or not url.isascii() or any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    base, hash_mark, fragment = url.partition("#")
    query = urlencode([("bucket", bucket), ("key", key), ("etag", quote_etag(etag))])
    return base + ("&" if "?" in base else "?") + query + hash_mark + fragment


def _answer(ctx: Context, form: post_policy.Form, record: ObjectRecord,
            versions: list[tuple[str, str]]) -> Response:
    redirect = _redirect(form.get("success_action_redirect") or form.get("redirect"),
                         record.bucket, record.key, record.etag)
    if redirect is not None:
        return empty_response(303, [("location", redirect)])
    location = _location(ctx, record.key)
    headers = [("etag", quote_etag(record.etag)), ("location", location), *versions]
    headers.extend((f"x-amz-checksum-{name}", value) for name, value in record.checksums.items())
    status = form.get("success_action_status")
    if status == "201":
        body = render("PostResponse", [("Location", location), ("Bucket", record.bucket),
                                       ("Key", record.key), ("ETag", quote_etag(record.etag))],
                      namespace=False)
        return xml_response(body, 201, headers)
    # "If the value is set to 200 or 204, Amazon S3 returns an empty document
    # with a 200 or 204 status code"; any other value is 204.
    return empty_response(200 if status == "200" else 204, headers)


HANDLERS = {"PostObject": post_object}
