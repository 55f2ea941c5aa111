"""Server-side encryption as a request asks for it: honoured or refused,
never ignored.

- ``x-amz-server-side-encryption: AES256`` (SSE-S3) on a write: the
  object's bytes are sealed under a fresh data key wrapped by the keyring
  (store/data_keys.py, store/sealed_blobs.py). Without it, the bucket's
  default encryption decides (api/s3/bucket_encryption.py).
- SSE-C (``x-amz-server-side-encryption-customer-{algorithm,key,key-MD5}``):
  the customer's key wraps the data key and is never kept; it must come
  again on every read (GET, HEAD, a copy's source with the
  ``x-amz-copy-source-`` forms, each UploadPart). Only over HTTPS, as S3
  requires, unless ``--sse-c-allow-http`` (for test suites only).
- SSE-KMS (``aws:kms``, with ``x-amz-server-side-encryption-aws-kms-key-id``
  naming a key of sealbox's own, or none for the account's ``aws/s3`` key,
  ``-context`` (base64 of a JSON object) and ``-bucket-key-enabled``,
  echoed): api/s3/kms.py. The KMS headers without ``aws:kms`` are 400, as
  with SSE-C. UploadPart may repeat the upload's KMS headers (the
  ceph/s3-tests do): ignored, every part takes the upload's key.
- ``aws:kms:dsse`` (two layers of encryption): 501 NotImplemented; any
  other value: 400.

The errors and their words are S3's (the "Protecting data with
server-side encryption" pages of the S3 User Guide, and what AWS answers:
minio/minio#5202 for the wrong key's 403).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sealbox.errors import S3Error
from sealbox.store.meta import SSE_C, SSE_KMS, SSE_S3, Sealing

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
KMS_CONTEXT = "x-amz-server-side-encryption-context"
BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
_KMS = (KMS_KEY_ID, KMS_CONTEXT, BUCKET_KEY)
_KMS_NAMED = (KMS_KEY_ID, KMS_CONTEXT)  # meaningless without aws:kms
MAX_CONTEXT = 8192  # base64 characters; KMS's own limit on a context is 8 KiB
DSSE = "aws:kms:dsse"
CUSTOMER = "x-amz-server-side-encryption-customer-"
SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
_CUSTOMER = tuple(CUSTOMER + part for part in ("algorithm", "key", "key-md5"))
_SOURCE_CUSTOMER = tuple(SOURCE_CUSTOMER + part for part in ("algorithm", "key", "key-md5"))
_KNOWN = ("AES256", "aws:kms", "aws:kms:dsse")

# Operations that write an object's bytes, may set its encryption.
_SETS = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})
# Operations that take the SSE-C key of the object (or upload) they touch.
_TAKES_KEY = frozenset({"GetObject", "HeadObject", "UploadPart", "UploadPartCopy",
                        "PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})
_COPIES = frozenset({"CopyObject", "UploadPartCopy"})

INSECURE = ("Requests specifying Server Side Encryption with Customer provided keys must be "
            "made over a secure connection.")
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
KEY_NEEDED = ("The object was stored using a form of Server Side Encryption. The correct "
              "parameters must be provided to retrieve the object.")
UPLOAD_KEY_NEEDED = ("The multipart upload initiate requested encryption. Subsequent part "
                     "requests must include the appropriate encryption parameters.")
UPLOAD_KEY_DIFFERS = ("The provided encryption parameters did not match the ones used "
                      "originally.")


@dataclass(frozen=True)
class CustomerKey:
    """An SSE-C key as a request gave it: 32 bytes, and its MD5 (base64)."""

    key: bytes = field(repr=False)
    md5: str


def _customer_headers(headers: Mapping[str, str], names: tuple[str, ...]) -> bool:
    return names[0] in headers or names[1] in headers or names[2] in headers


def customer_key(headers: Mapping[str, str], *, source: bool = False) -> CustomerKey | None:
    """The SSE-C key a request gives (a copy's source key with ``source``),
    checked as S3 checks it, or None when it gives none."""
    names = _SOURCE_CUSTOMER if source else _CUSTOMER
    if not _customer_headers(headers, names):
        return None
    algorithm, encoded, md5 = (headers.get(name) for name in names)
    if algorithm is None:
        raise S3Error("InvalidArgument", "Requests specifying Server Side Encryption with "
                      "Customer provided keys must provide a valid encryption algorithm.",
                      ArgumentName=names[0], ArgumentValue="null")
    if algorithm != "AES256":
        raise S3Error("InvalidEncryptionAlgorithmError", ArgumentName=names[0],
                      ArgumentValue=algorithm[:64])
    if encoded is None:
        raise S3Error("InvalidArgument", "Requests specifying Server Side Encryption with "
                      "Customer provided keys must provide an appropriate secret key.",
                      ArgumentName=names[1], ArgumentValue="null")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        # Never echo the key, not even a wrong one.
        raise S3Error("InvalidArgument", "The secret key was invalid for the specified "
                      "algorithm.", ArgumentName=names[1], ArgumentValue="[redacted]")
    if md5 is None:
        raise S3Error("InvalidArgument", "Requests specifying Server Side Encryption with "
                      "Customer provided keys must provide the client calculated MD5 of the "
                      "secret key.", ArgumentName=names[2], ArgumentValue="null")
    if not hmac.compare_digest(base64.b64encode(hashlib.md5(key).digest()).decode(),
                               md5.strip()):
        raise S3Error("InvalidArgument", "The calculated MD5 hash of the key did not match the "
                      "hash that was provided.", ArgumentName=names[2],
                      ArgumentValue=md5[:64])
    return CustomerKey(key, md5.strip())


def check_request(operation: str, headers: Mapping[str, str], *, secure: bool,
                  allow_http: bool = False) -> None:
    """Before any byte of the body is read: refuse what sealbox does not
    honour (see the module docstring). ``headers`` (or a POST form's
    fields) have lower-case names; ``allow_http`` is ``--sse-c-allow-http``."""
    if operation not in _TAKES_KEY:
        return
    # Three lookups, not a loop: every GET passes here.
    customer = _customer_headers(headers, _CUSTOMER)
    source = operation in _COPIES and _customer_headers(headers, _SOURCE_CUSTOMER)
    if (customer or source) and not secure and not allow_http:
        raise S3Error("InvalidRequest", INSECURE)
    if customer:
        customer_key(headers)
    if source:
        customer_key(headers, source=True)
    asked = headers.get(SSE)
    if asked is not None and asked not in _KNOWN:
        raise S3Error("InvalidArgument", "The encryption method specified is not supported",
                      ArgumentName=SSE, ArgumentValue=asked[:64])
    kms = any(name in headers for name in _KMS)
    if operation not in _SETS:
        if operation in ("UploadPart", "UploadPartCopy") and asked == SSE_KMS:
            return  # the upload's own headers again: every part takes its key
        if asked is not None or kms:
            raise S3Error("InvalidArgument", f"{SSE} header is not supported for this "
                          "operation.", ArgumentName=SSE, ArgumentValue=(asked or "")[:64])
        return
    if asked == DSSE:
        raise S3Error("NotImplemented", f"sealbox does not do dual-layer encryption ({SSE}: "
                      f"{DSSE}); aws:kms, AES256 and SSE-C are served. Nothing was stored.")
    if asked != SSE_KMS and any(name in headers for name in _KMS_NAMED):
        # S3's answer to a KMS key (or context) with another algorithm, or none.
        raise S3Error("InvalidArgument", "Server Side Encryption with AWS KMS managed key "
                      "requires HTTP header x-amz-server-side-encryption : aws:kms",
                      ArgumentName=SSE, ArgumentValue=(asked or "null")[:64])
    if asked == SSE_KMS:
        encryption_context(headers)
    if asked is not None and customer:
        raise S3Error("InvalidArgument", "Server Side Encryption with Customer provided key is "
                      "incompatible with the encryption method specified",
                      ArgumentName=SSE, ArgumentValue=asked[:64])


def encryption_context(headers: Mapping[str, str]) -> str:
    """The SSE-KMS encryption context a request gives, as its JSON text
    (kept as given: it is bound to the data key and sent back), or "";
    400 InvalidArgument unless it is base64 of a JSON object of strings."""
    encoded = headers.get(KMS_CONTEXT)
    if encoded is None:
        return ""
    try:
        if len(encoded) > MAX_CONTEXT:
            raise ValueError("too long")
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
        context = json.loads(text)
        if not isinstance(context, dict) or not all(
                isinstance(v, str) for v in context.values()):
            raise ValueError("not an object of strings")
    except (binascii.Error, ValueError):
        raise S3Error("InvalidArgument", "The header 'x-amz-server-side-encryption-context' "
                      "shall be Base64-encoded UTF-8 string holding JSON which represents a "
                      "string-string map", ArgumentName=KMS_CONTEXT) from None
    return text


@dataclass(frozen=True)
class KmsAsk:
    """SSE-KMS as a write asks for it: the key as named (None: the
    account's ``aws/s3`` key), the context's JSON, the bucket key flag."""

    key: str | None = None
    context: str = ""
    bucket_key: bool = False


@dataclass(frozen=True)
class WriteAsk:
    """What a write asks for: SSE-S3, SSE-KMS, an SSE-C key, or nothing
    (then the bucket's default decides)."""

    sse_s3: bool = False
    customer: CustomerKey | None = None
    kms: KmsAsk | None = None

    @property
    def asks(self) -> bool:
        return self.sse_s3 or self.customer is not None or self.kms is not None


def write_ask(headers: Mapping[str, str]) -> WriteAsk:
    """The encryption a write asks for (``check_request`` refused the rest)."""
    kms = None
    if headers.get(SSE) == SSE_KMS:
        kms = KmsAsk(headers.get(KMS_KEY_ID), encryption_context(headers),
                     headers.get(BUCKET_KEY, "").strip().lower() == "true")
    return WriteAsk(headers.get(SSE) == SSE_S3, customer_key(headers), kms)


def sealing_headers(sealing: Sealing | None, customer: CustomerKey | None = None, *,
                    written: bool = False) -> list[tuple[str, str]]:
    """What S3 answers about an object's encryption: SSE-S3's algorithm,
    SSE-KMS's and its key's ARN (and, for a write, the context), or SSE-C's
    algorithm and the MD5 of the key that was given."""
    if sealing is None:
        return []
    if sealing.kind == SSE_S3:
        return [(SSE, SSE_S3)]
    if sealing.kind == SSE_KMS:
        out = [(SSE, SSE_KMS), (KMS_KEY_ID, sealing.kms_key)]
        if written and sealing.context:
            out.append((KMS_CONTEXT, base64.b64encode(sealing.context.encode()).decode()))
        if sealing.bucket_key:
            out.append((BUCKET_KEY, "true"))
        return out
    if sealing.kind == SSE_C and customer is not None:
        return [(CUSTOMER + "algorithm", "AES256"), (CUSTOMER + "key-md5", customer.md5)]
    return []
