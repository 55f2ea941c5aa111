"""SSE-KMS on S3 requests: which KMS key a write seals under, and whether
the requester may use it; the data key of an SSE-KMS object for a read.

The keys are sealbox's own (store/kms_keys.py). As AWS evaluates a KMS
request without key policies: a key is used only by principals of its own
account, and one of its IAM users needs ``kms:GenerateDataKey`` (to write)
or ``kms:Decrypt`` (to read) on the key's ARN from its identity policies;
the account's root may always. Another account's principal is refused
whatever its policies say (AWS would ask the key's policy, which sealbox
keys do not have). A write naming no key uses the account's ``aws/s3``
key, made on first use, as AWS does.

Refusals are S3's relays of KMS's: ``KMS.NotFoundException`` (400) for a
key that does not exist, or is another account's and named by an alias,
``KMS.DisabledException`` (400) for a disabled key, ``AccessDenied`` (403)
without the permission.
"""

from __future__ import annotations

import logging
from typing import Any

from sealbox.api.common.context import Context, decide
from sealbox.api.s3.encryption import KmsAsk
from sealbox.errors import S3Error
from sealbox.store.data_keys import DataKeyError, new_data_key, unwrap_with_kms, wrap_with_kms
from sealbox.store.kms_keys import KmsError, KmsKey, KmsNotFound, parse_reference
from sealbox.store.meta import Sealing
from sealbox.store.secrets import SecretError

log = logging.getLogger("sealbox.encryption")

GENERATE_DATA_KEY = "kms:GenerateDataKey"
DECRYPT = "kms:Decrypt"


def _account(ctx: Context) -> str:
    return ctx.auth.principal.account or ""


async def _find(ctx: Context, named: str | None) -> KmsKey:
    meta: Any = ctx.services.meta
    account = _account(ctx)
    if named is None:
        if not account:
            raise S3Error("AccessDenied", "Anonymous requests cannot use SSE-KMS")
        region = ctx.services.settings.region
        return await ctx.services.run(
            lambda: meta.managed_kms_key(account, region, now=ctx.services.clock.now()))
    try:
        return await ctx.services.read(meta.find_kms_key, account, parse_reference(named))
    except KmsNotFound:
        raise S3Error("KMS.NotFoundException", f"Invalid keyId {named[:256]}") from None


async def _allowed(ctx: Context, key: KmsKey, action: str) -> None:
    """The requester may ``action`` the key, or 403 AccessDenied."""
    principal = ctx.auth.principal
    denied = S3Error("AccessDenied", f"User: {principal.arn} is not authorized to perform: "
                     f"{action} on resource: {key.arn}")
    if principal.is_anonymous or principal.account != key.account_id:
        raise denied  # no key policies: a key serves its own account only
    if principal.kind == "root":
        return
    decision = await decide(ctx.services, ctx.request, ctx.auth, action, key.arn)
    if not decision.allowed:
        raise denied


def _enabled(key: KmsKey) -> None:
    if not key.enabled:
        raise S3Error("KMS.DisabledException", f"{key.arn} is disabled.")


async def _material(ctx: Context, key: KmsKey) -> bytes:
    meta: Any = ctx.services.meta
    try:
        return bytes(await ctx.services.read(meta.kms_key_material, key))
    except SecretError as error:  # the keyring lacks its key: the server's fault
        log.error("cannot open KMS key %s: %s", key.key_id, error)
        raise


async def kms_sealing(ctx: Context, ask: KmsAsk) -> tuple[Sealing, bytes]:
    """A new data key for a write asking for SSE-KMS, and its sealing."""
    key = await _find(ctx, ask.key)
    _enabled(key)
    await _allowed(ctx, key, GENERATE_DATA_KEY)
    material = await _material(ctx, key)
    data_key = new_data_key()
    return wrap_with_kms(material, key.arn, ask.context, ask.bucket_key, data_key), data_key


async def kms_data_key(ctx: Context, sealing: Sealing) -> bytes:
    """The data key of an SSE-KMS object (or upload), if the requester may
    decrypt with its key and the key is enabled."""
    meta: Any = ctx.services.meta
    try:
        key = await ctx.services.read(meta.find_kms_key, _account(ctx),
                                      parse_reference(sealing.kms_key))
    except KmsError:
        raise S3Error("KMS.NotFoundException", f"Invalid keyId {sealing.kms_key}") from None
    await _allowed(ctx, key, DECRYPT)
    _enabled(key)
    try:
        return unwrap_with_kms(sealing, await _material(ctx, key))
    except DataKeyError as error:
        log.error("cannot open an object's data key: %s", error)
        raise
