"""Server-side encryption requests: refused, never ignored.

sealbox does not encrypt object bytes at rest yet (SSE-S3, SSE-KMS and
SSE-C are another issue's work). A client that asks for encryption and
gets a 200 believes its bytes are encrypted; one that sends a customer
key (SSE-C) believes a later GET without the key will fail. So every
request that asks for encryption is refused with S3's own answer for it,
and nothing is stored:

- a customer key over plain HTTP: 400 ``InvalidRequest``, as S3 answers
  (the key would have crossed the network in the clear);
- a customer key on a read (GET, HEAD, a copy's source): 400
  ``InvalidRequest``, "not applicable to this object", S3's answer for an
  object not encrypted with a customer key, which every object here is;
- a customer key or ``x-amz-server-side-encryption`` on a write:
  501 ``NotImplemented``;
- an ``x-amz-server-side-encryption`` value S3 does not know: 400
  ``InvalidArgument``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sealbox.errors import S3Error

SSE = "x-amz-server-side-encryption"
_KMS = ("x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-context",
        "x-amz-server-side-encryption-bucket-key-enabled")
_CUSTOMER = ("x-amz-server-side-encryption-customer-algorithm",
             "x-amz-server-side-encryption-customer-key",
             "x-amz-server-side-encryption-customer-key-md5")
_COPY_SOURCE_CUSTOMER = tuple(f"x-amz-copy-source-{name[6:]}" for name in _CUSTOMER)
_KNOWN = ("AES256", "aws:kms", "aws:kms:dsse")

_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart",
                     "UploadPartCopy", "PostObject"})
_READS = frozenset({"GetObject", "HeadObject"})
_COPIES = frozenset({"CopyObject", "UploadPartCopy"})

INSECURE = ("Requests specifying Server Side Encryption with Customer provided keys must be "
            "made over a secure connection.")
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."


def refuse_unhonoured(operation: str, headers: Mapping[str, str], secure: bool) -> None:
    """Raise S3's error when the request asks for encryption (see the
    module docstring); return when it asks for none. ``headers`` (or a POST
    form's fields) have lower-case names."""
    if operation not in _WRITES and operation not in _READS:
        return
    # Three lookups, not a loop: every GET passes here.
    customer = (_CUSTOMER[0] in headers or _CUSTOMER[1] in headers or _CUSTOMER[2] in headers)
    source_customer = operation in _COPIES and any(name in headers
                                                   for name in _COPY_SOURCE_CUSTOMER)
    if (customer or source_customer) and not secure:
        raise S3Error("InvalidRequest", INSECURE)
    if source_customer or (customer and operation in _READS):
        raise S3Error("InvalidRequest", NOT_APPLICABLE)
    if operation in _READS:
        return
    if customer:
        raise S3Error("NotImplemented", "sealbox does not yet encrypt objects with a "
                      "customer-provided key (SSE-C); nothing was stored.")
    asked = headers.get(SSE)
    if asked is not None and asked not in _KNOWN:
        raise S3Error("InvalidArgument", "The encryption method specified is not supported",
                      ArgumentName=SSE, ArgumentValue=asked[:64])
    if asked is not None or any(name in headers for name in _KMS):
        raise S3Error("NotImplemented", "sealbox does not yet encrypt objects at rest "
                      f"({SSE}: {(asked or 'aws:kms')[:64]}); nothing was stored.")
