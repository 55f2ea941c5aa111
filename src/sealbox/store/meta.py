"""The MetaStore interface: what is kept about buckets, objects and uploads.

Implementations: ``sqlite.SqliteMetaStore`` (embedded default) and, later,
a PostgreSQL one. Methods are synchronous and thread-safe; the server calls
them from a thread pool. Every method that changes more than one row does
so in one transaction, so a crash leaves either the old or the new state.

Keys are compared as UTF-8 bytes (S3's listing order): SQLite's BINARY
collation does that for TEXT; PostgreSQL needs ``COLLATE "C"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from sealbox.store.retention import removal_protected


class MetaError(Exception):
    """A store-level refusal the API layer turns into an S3 error."""


class BucketExists(MetaError):
    pass


class BucketNotEmpty(MetaError):
    pass


class NoSuchBucket(MetaError):
    pass


class NoSuchUpload(MetaError):
    pass


class ObjectLocked(MetaError):
    """A version under object lock (retention in force, or a legal hold) was
    to be removed or its retention cut (``store/retention.py``); nothing
    was changed. The API answers 403 AccessDenied, as S3 does."""

    def __init__(self, bucket: str, key: str, version_id: str) -> None:
        super().__init__(f"{bucket}/{key} version {version_id} is locked")
        self.bucket, self.key, self.version_id = bucket, key, version_id


class ConditionFailed(MetaError):
    """A conditional write's check was false in the transaction that would
    have committed it; nothing was written. ``exists``: whether the key had
    a current object then (S3 answers 412 if so, 409 if it was deleted)."""

    def __init__(self, exists: bool) -> None:
        super().__init__("the write's condition does not hold")
        self.exists = exists


# A conditional write's check (If-Match / If-None-Match), made by the store
# under the key's write lock: given the current object's ETag (None when the
# key has none), whether the write may replace it.
WriteCheck = Callable[[str | None], bool]


def same_version(record: ObjectRecord, expected: ObjectRecord) -> bool:
    """Whether ``record`` is still the version ``expected`` was read as: a
    null version id is reused by every write, so the id alone does not say."""
    return (record.version_id == expected.version_id and record.etag == expected.etag
            and record.last_modified == expected.last_modified
            and record.delete_marker == expected.delete_marker)


def check_write(check: WriteCheck | None, etag: str | None) -> None:
    """Raise ``ConditionFailed`` unless ``check`` (if any) lets the write go."""
    if check is not None and not check(etag):
        raise ConditionFailed(etag is not None)


@dataclass(frozen=True)
class Bucket:
    name: str
    created: datetime
    region: str
    owner: str  # the owning principal's ARN


NULL_VERSION = "null"


@dataclass(frozen=True)
class Segment:
    """One blob holding a run of an object's bytes, in order. ``size`` is
    the plaintext's; ``nonce`` (hex) is set when the blob is sealed (its
    chunks' nonce prefix, store/sealed_chunks.py). A multipart object's segments
    are its parts; ``checksum`` is a part's own checksum in the object's
    algorithm (``ObjectRecord.checksums``), when the upload had one
    (GetObjectAttributes lists it)."""

    blob_id: str
    size: int
    nonce: str | None = None
    checksum: str | None = None


SSE_S3 = "AES256"  # Sealing.kind: the data key wrapped by the server's keyring
SSE_C = "SSE-C"  # … wrapped by the customer's key, which is never kept
SSE_KMS = "aws:kms"  # … wrapped by a KMS key of sealbox's own (store/kms_keys.py)


@dataclass(frozen=True)
class Sealing:
    """How an object version's (or a multipart upload's) bytes are
    encrypted: its data key, wrapped (base64; under the keyring, the
    ciphertext names its key id), and for SSE-C the check of the
    customer's key (base64 of a salt and an HMAC-SHA256 of the key under
    it). SSE-KMS adds the KMS key's ARN, the encryption context (its JSON,
    as given, bound to the wrapped key) and whether the request asked for
    a bucket key (echoed only). No key in the clear, ever (store/data_keys.py)."""

    kind: str
    wrapped: str = field(repr=False)
    check: str = field(default="", repr=False)
    kms_key: str = ""
    context: str = ""
    bucket_key: bool = False


@dataclass(frozen=True)
class ObjectRecord:
    """One stored object.

    ``etag`` is stored without quotes (``hex`` or ``hex-N``). ``headers``
    holds the stored representation headers (content-type,
    content-encoding, content-disposition, content-language,
    cache-control, expires) with lower-case names; ``user_metadata`` the
    ``x-amz-meta-*`` values by their lower-case suffix. ``segments`` are
    the blobs whose concatenation is the body (one for a plain PUT, one
    per part after a multipart upload).
    """

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    segments: tuple[Segment, ...]
    headers: dict[str, str] = field(default_factory=dict)
    user_metadata: dict[str, str] = field(default_factory=dict)
    tags: tuple[tuple[str, str], ...] = ()
    checksums: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    owner: str = ""
    parts_count: int | None = None
    # Versioning (store/sql/versions.py): "null" for the null version (every
    # object of a bucket never versioned, and those written while
    # Suspended); a delete marker is a version with no bytes.
    version_id: str = NULL_VERSION
    delete_marker: bool = False
    # Object lock (store/retention.py): the retention's mode (GOVERNANCE or
    # COMPLIANCE) and date, both or neither; the legal hold, None if never set.
    lock_mode: str | None = None
    lock_until: datetime | None = None
    legal_hold: bool | None = None
    # Encryption at rest: None for bytes kept as sent.
    sealing: Sealing | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "binary/octet-stream")

    def locked(self, now: datetime, *, bypass_governance: bool = False) -> bool:
        """Whether object lock forbids removing this version at ``now``."""
        return removal_protected(self.lock_mode, self.lock_until, self.legal_hold, now,
                                 bypass_governance=bypass_governance)


class VersionEntry(NamedTuple):
    """One line of ListObjectVersions: what a listing shows of a version or
    delete marker, and nothing more. A tuple rather than an ``ObjectRecord``:
    a page holds a thousand, and a record decodes the columns a listing
    never shows (segments, headers, metadata, tags, lock, sealing) into a
    dozen objects each (bench/list_versions.py)."""

    key: str
    version_id: str
    latest: bool
    delete_marker: bool
    last_modified: datetime
    etag: str
    size: int
    checksums: Mapping[str, str]  # algorithm → value, as ObjectRecord.checksums
    storage_class: str


@dataclass(frozen=True)
class Upload:
    """A multipart upload in progress, with the headers given at its start."""

    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    headers: dict[str, str] = field(default_factory=dict)
    user_metadata: dict[str, str] = field(default_factory=dict)
    tags: tuple[tuple[str, str], ...] = ()
    storage_class: str = "STANDARD"
    owner: str = ""
    checksum_algorithm: str | None = None
    # The object lock the completed object gets (ObjectRecord's fields);
    # without a mode, the bucket's default retention at completion.
    lock_mode: str | None = None
    lock_until: datetime | None = None
    legal_hold: bool | None = None
    sealing: Sealing | None = None  # every part is sealed under its data key


@dataclass(frozen=True)
class Part:
    upload_id: str
    part_number: int
    size: int
    etag: str  # without quotes
    last_modified: datetime
    blob_id: str
    checksums: dict[str, str] = field(default_factory=dict)
    nonce: str | None = None  # the sealed blob's nonce prefix (hex), as Segment.nonce


def check_completes(upload_id: str, upload: Upload, obj: ObjectRecord) -> None:
    """``complete_upload``'s guard: ``obj`` is at the key ``upload`` was for."""
    if (upload.bucket, upload.key) != (obj.bucket, obj.key):
        raise ValueError(
            f"upload {upload_id} is for {upload.bucket}/{upload.key}, not {obj.bucket}/{obj.key}"
        )


class MetaStore(Protocol):
    # True when a point read (get_object, get_bucket, get_bucket_setting) is a
    # local lookup of microseconds that never waits on a writer, so the server
    # may run it on the event loop instead of paying a thread-pool hop.
    inline_reads: bool

    # -- buckets -----------------------------------------------------------
    def create_bucket(self, bucket: Bucket, settings: Sequence[tuple[str, str]] = ()) -> None:
        """Add a bucket with its first settings (name, document), in one
        transaction; raises ``BucketExists`` if the name is taken."""

    def get_bucket(self, name: str) -> Bucket | None: ...

    def list_buckets(self) -> list[Bucket]:
        """All buckets, ordered by name."""

    def delete_bucket(self, name: str) -> list[str]:
        """Remove a bucket that holds no objects, with its settings and its
        multipart uploads in progress (S3 deletes a bucket whose only content
        is unfinished uploads). Returns the blob ids of the parts removed, for
        the caller to delete. Raises ``NoSuchBucket`` or ``BucketNotEmpty``."""

    # -- objects -----------------------------------------------------------
    def put_object(self, obj: ObjectRecord, check: WriteCheck | None = None) -> ObjectRecord | None:
        """Insert or replace the object at (bucket, key) in one transaction.

        Returns the record it replaced, whose blobs the caller deletes.
        Raises ``NoSuchBucket`` if the bucket is gone, ``ConditionFailed``
        if ``check`` refuses the current object as the write finds it.
        """

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None: ...

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        """Remove the object; returns the removed record (None if absent).
        Raises ``ObjectLocked`` (removing nothing) while object lock
        protects it; so do ``put_object``, ``complete_upload`` and
        ``add_delete_marker`` when they would replace a locked null version."""

    def list_objects(
        self, bucket: str, *, prefix: str = "", after: str = "", limit: int = 1000
    ) -> list[ObjectRecord]:
        """Up to ``limit`` objects whose key starts with ``prefix`` and sorts
        strictly after ``after`` (as UTF-8 bytes), in that order."""

    def set_object_tags(
        self, bucket: str, key: str, tags: tuple[tuple[str, str], ...]
    ) -> bool:
        """Replace the tag set; False if the object does not exist."""

    # -- versions (sql/versions.py) -----------------------------------------
    # ``put_object`` and ``complete_upload`` keep versions by the new
    # record's ``version_id``: one with an id pushes the current version
    # down; a null one replaces the null version (returned for freeing).
    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        """That version of the key (a delete marker has ``delete_marker``)."""

    def latest_marker(self, bucket: str, key: str) -> ObjectRecord | None:
        """The key's newest version when it is a delete marker, else None."""

    def add_delete_marker(self, marker: ObjectRecord, *,
                          unchanged: ObjectRecord | None = None) -> ObjectRecord | None:
        """Make ``marker`` the newest version; the version now gone (null
        replaced by a null marker), whose blobs the caller deletes. With
        ``unchanged``, only while the current version is still that one
        (``same_version``); else ``ConditionFailed``, nothing changed."""

    def delete_version(self, bucket: str, key: str, version_id: str, *,
                       bypass_governance: bool = False, now: datetime | None = None,
                       unchanged: ObjectRecord | None = None) -> ObjectRecord | None:
        """Remove one version; the record removed, or None. Raises
        ``ObjectLocked`` (removing nothing) while object lock protects it
        (``ObjectRecord.locked``); ``now`` defaults to the server's clock.
        With ``unchanged``, only while that version is still that record
        (``same_version``): else ``ConditionFailed``, nothing removed."""

    def set_object_lock(self, bucket: str, key: str, version_id: str, *,
                        retention: tuple[str | None, datetime | None] | None = None,
                        legal_hold: bool | None = None, bypass_governance: bool = False,
                        now: datetime | None = None) -> ObjectRecord | None:
        """Set one version's retention and/or legal hold; the record before,
        or None if there is no such version (or it is a delete marker).
        Raises ``ObjectLocked`` for a retention change object lock forbids."""

    def set_version_tags(self, bucket: str, key: str, version_id: str,
                         tags: tuple[tuple[str, str], ...]) -> bool:
        """Replace one version's tags; False if there is no such object version."""

    def set_version_headers(self, record: ObjectRecord, headers: dict[str, str]) -> bool:
        """Replace the stored headers of the version ``record`` is, if it is
        still that version (the same blobs); False otherwise."""

    def list_versions(
        self, bucket: str, *, prefix: str = "", key_marker: str = "",
        version_marker: str = "", limit: int = 1000,
    ) -> list[tuple[ObjectRecord, bool]]:
        """(version, is latest) in ListObjectVersions' order after the markers."""

    def list_version_entries(
        self, bucket: str, *, prefix: str = "", key_marker: str = "",
        version_marker: str = "", limit: int = 1000,
    ) -> list[VersionEntry]:
        """What ListObjectVersions shows of the versions ``list_versions``
        returns, in the same order: the listing's cheap form."""

    # -- multipart uploads -------------------------------------------------
    def create_upload(self, upload: Upload) -> None:
        """Raises ``NoSuchBucket`` if the bucket is gone."""

    def get_upload(self, upload_id: str) -> Upload | None: ...

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        limit: int = 1000,
    ) -> list[Upload]:
        """Uploads ordered by (key, initiated, upload_id) after the markers,
        as ListMultipartUploads pages them."""

    def put_part(self, part: Part) -> Part | None:
        """Insert or replace a part; returns the replaced part (its blob is the
        caller's to delete). Raises ``NoSuchUpload`` if the upload is gone."""

    def list_parts(
        self, upload_id: str, *, after: int = 0, limit: int = 10000
    ) -> list[Part]:
        """Parts with a number above ``after``, ordered by number."""

    def complete_upload(
        self, upload_id: str, obj: ObjectRecord, check: WriteCheck | None = None
    ) -> tuple[ObjectRecord | None, list[Part]]:
        """In one transaction: remove the upload and all its parts, and put
        ``obj``. Returns (the object it replaced, every part removed); the
        caller deletes the blobs of those not used by ``obj``. Raises
        ``NoSuchUpload`` if the upload is gone (completed or aborted
        meanwhile), ``ConditionFailed`` (the upload kept) as ``put_object``."""

    def abort_upload(self, upload_id: str) -> list[Part]:
        """Remove the upload and its parts; returns the parts removed.
        Raises ``NoSuchUpload``."""

    # -- bucket settings ---------------------------------------------------
    # One document per (bucket, name): "cors" now; bucket policies, Block
    # Public Access and the like later. The store keeps the text and does
    # not read it; the API layer owns its format. Settings are removed with
    # their bucket.
    def put_bucket_setting(self, bucket: str, name: str, document: str) -> None:
        """Insert or replace the setting; raises ``NoSuchBucket``."""

    def get_bucket_setting(self, bucket: str, name: str) -> str | None:
        """The setting's document, or None (also when the bucket is gone).
        One primary-key lookup: browsers ask for "cors" on every request."""

    def delete_bucket_setting(self, bucket: str, name: str) -> bool:
        """Remove the setting; False if there was none."""

    def bucket_settings_named(self, name: str) -> list[tuple[str, str]]:
        """(bucket, document) of every bucket holding the setting ``name``
        (the buckets with server access logging on, say)."""

    def access_version(self) -> int:
        """A counter every change to access rules (IAM, bucket and server
        settings) moves forward (sealbox.store.access_version)."""

    # -- server settings ---------------------------------------------------
    # One document per name for the whole server ("public-access-block").
    def put_server_setting(self, name: str, document: str) -> None:
        """Insert or replace the setting."""

    def add_server_setting(self, name: str, document: str) -> bool:
        """Insert the setting unless one of that name exists (then keep it:
        the first of several nodes starting together wins); True if added."""

    def list_server_settings(self) -> list[tuple[str, str]]:
        """Every (name, document), by name (few and small)."""

    def get_server_setting(self, name: str) -> str | None:
        """The setting's document, or None."""

    def delete_server_setting(self, name: str) -> bool:
        """Remove the setting; False if there was none."""

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Whether this process holds the background work ``name`` among all
        those sharing the store (tried, never waited for; released on exit):
        one of them at a time does it (the lifecycle worker's passes)."""

    def referenced_blob_ids(self) -> set[str]:
        """Every blob id an object, a noncurrent version or a part refers to
        (for the orphan sweep)."""

    def close(self) -> None: ...
