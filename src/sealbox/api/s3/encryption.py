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
- ``aws:kms`` / ``aws:kms:dsse`` and the KMS headers: 501 NotImplemented
  (sealbox has no key management service); any other value: 400.

The errors and their words are S3's (the "Protecting data with
server-side encryption" pages of the S3 User Guide, and what AWS answers:
minio/minio#5202 for the wrong key's 403).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from sealbox.errors import S3Error
from sealbox.store.meta import SSE_C, SSE_S3, Sealing

SSE = "x-amz-server-side-encryption"
_KMS = ("x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-context",
        "x-amz-server-side-encryption-bucket-key-enabled")
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
        if asked is not None or kms:
            raise S3Error("InvalidArgument", f"{SSE} header is not supported for this "
                          "operation.", ArgumentName=SSE, ArgumentValue=(asked or "")[:64])
        return
    if asked is not None and asked != SSE_S3 or kms:
        raise S3Error("NotImplemented", "sealbox does not encrypt with a key management "
                      f"service ({SSE}: {(asked or 'aws:kms')[:64]}); SSE-S3 (AES256) and SSE-C "
                      "are served. Nothing was stored.")
    if asked is not None and customer:
        raise S3Error("InvalidArgument", "Server Side Encryption with Customer provided key is "
                      "incompatible with the encryption method specified",
                      ArgumentName=SSE, ArgumentValue=asked[:64])


@dataclass(frozen=True)
class WriteAsk:
    """What a write asks for: SSE-S3, an SSE-C key, or nothing (then the
    bucket's default decides)."""

    sse_s3: bool = False
    customer: CustomerKey | None = None


def write_ask(headers: Mapping[str, str]) -> WriteAsk:
    """The encryption a write asks for (``check_request`` refused the rest)."""
    return WriteAsk(headers.get(SSE) == SSE_S3, customer_key(headers))


def sealing_headers(sealing: Sealing | None,
                    customer: CustomerKey | None = None) -> list[tuple[str, str]]:
    """What S3 answers about an object's encryption: SSE-S3's algorithm, or
    SSE-C's algorithm and the MD5 of the key that was given."""
    if sealing is None:
        return []
    if sealing.kind == SSE_S3:
        return [(SSE, SSE_S3)]
    if sealing.kind == SSE_C and customer is not None:
        return [(CUSTOMER + "algorithm", "AES256"), (CUSTOMER + "key-md5", customer.md5)]
    return []
