"""Which data key an object's bytes are sealed under: a new one for a
write (as the request or the bucket's default asks), the stored one for a
read (unwrapped by the keyring, by a KMS key (api/s3/kms.py), or by the
SSE-C key the request gives).

The handlers ask here and hand the 32 bytes to the blob layer
(store/sealed_blobs.py); no key leaves this module in a log or an error.
"""

from __future__ import annotations

import logging

from sealbox.api.common.context import Context, Services
from sealbox.api.s3.bucket_encryption import default_encryption
from sealbox.api.s3.encryption import (
    KEY_NEEDED,
    NOT_APPLICABLE,
    UPLOAD_KEY_DIFFERS,
    UPLOAD_KEY_NEEDED,
    CustomerKey,
    KmsAsk,
    WriteAsk,
)
from sealbox.api.s3.kms import kms_data_key, kms_sealing
from sealbox.errors import S3Error
from sealbox.store.data_keys import (
    DataKeyError,
    WrongCustomerKey,
    new_data_key,
    unwrap,
    wrap_with_customer,
    wrap_with_keyring,
)
from sealbox.store.meta import SSE_C, SSE_KMS, SSE_S3, Sealing
from sealbox.store.secrets import SecretCipher

log = logging.getLogger("sealbox.encryption")


def _cipher(services: Services) -> SecretCipher:
    if services.cipher is None:
        raise RuntimeError("the app set no keyring for objects' data keys")
    return services.cipher


async def new_sealing(ctx: Context, bucket: str,
                      ask: WriteAsk) -> tuple[Sealing | None, bytes | None]:
    """The sealing and data key of a new object (or multipart upload) in
    ``bucket``: SSE-C when the request gives a key, SSE-KMS or SSE-S3 when
    it asks or the bucket's default says so, else none (bytes kept as sent)."""
    if ask.customer is not None:
        key = new_data_key()
        return wrap_with_customer(ask.customer.key, key), key
    if ask.kms is not None:
        return await kms_sealing(ctx, ask.kms)
    if not ask.sse_s3:
        default = await default_encryption(ctx, bucket)
        if default is None:
            return None, None
        algorithm, kms_key = default
        if algorithm == SSE_KMS:
            return await kms_sealing(ctx, KmsAsk(kms_key))
        if algorithm != SSE_S3:
            return None, None
    key = new_data_key()
    return wrap_with_keyring(_cipher(ctx.services), key), key


async def open_key(ctx: Context, sealing: Sealing | None, customer: CustomerKey | None, *,
                   head: bool = False) -> bytes | None:
    """``read_key`` for a request: an SSE-KMS object's key needs the
    requester's right to decrypt with its KMS key (api/s3/kms.py). A HEAD
    (``head``) reads no bytes and, as on AWS, needs no KMS permission."""
    if sealing is not None and sealing.kind == SSE_KMS:
        if customer is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        return None if head else await kms_data_key(ctx, sealing)
    return read_key(ctx.services, sealing, customer)


async def open_upload_key(ctx: Context, sealing: Sealing | None,
                          customer: CustomerKey | None) -> bytes | None:
    """``upload_key`` for a request, SSE-KMS uploads included."""
    if sealing is not None and sealing.kind == SSE_KMS:
        if customer is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        return await kms_data_key(ctx, sealing)
    return upload_key(ctx.services, sealing, customer)


def read_key(services: Services, sealing: Sealing | None,
             customer: CustomerKey | None) -> bytes | None:
    """The data key to read an object sealed as ``sealing`` (None: not
    sealed), with the SSE-C key a request gave (or None), or S3's refusal:
    a key for an object not sealed with one is 400 InvalidRequest, none for
    one that is, too; a wrong one is 403 AccessDenied."""
    if sealing is None or sealing.kind != SSE_C:
        if customer is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        if sealing is None:
            return None
    elif customer is None:
        raise S3Error("InvalidRequest", KEY_NEEDED)
    return _unwrap(services, sealing, customer)


def upload_key(services: Services, sealing: Sealing | None,
               customer: CustomerKey | None) -> bytes | None:
    """The data key a part of a multipart upload sealed as ``sealing`` is
    sealed under: an SSE-C upload needs its key on every part, as S3 says."""
    if sealing is None or sealing.kind != SSE_C:
        if customer is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        if sealing is None:
            return None
    elif customer is None:
        raise S3Error("InvalidRequest", UPLOAD_KEY_NEEDED)
    try:
        return _unwrap(services, sealing, customer)
    except S3Error as error:
        if error.code == "AccessDenied":
            raise S3Error("InvalidRequest", UPLOAD_KEY_DIFFERS) from None
        raise


def _unwrap(services: Services, sealing: Sealing, customer: CustomerKey | None) -> bytes:
    try:
        return unwrap(sealing, _cipher(services), customer.key if customer else None)
    except WrongCustomerKey:
        raise S3Error("AccessDenied") from None
    except DataKeyError as error:
        # The keyring lacks the key that wrapped it, or the record was
        # altered: the server's fault, said in its log, never to the client.
        log.error("cannot open an object's data key: %s", error)
        raise
