"""The KMS keys routes of the admin JSON API (``/_sealbox/api/v1/kms-keys``):
create, list, describe, disable and enable the caller's account's keys
for SSE-KMS (store/kms_keys.py says what a key is).

Each is judged by the access gate on KMS's own action (``kms:CreateKey``,
``kms:ListKeys``, ``kms:DescribeKey``, ``kms:DisableKey``,
``kms:EnableKey``) on the key's ARN (``*`` to create or list), so an
account's root may do all and its IAM users what their policies allow.
A key of another account is not found. Keys are never deleted (disable
one instead): a key that vanished would take its objects with it.

JSON members are KMS's ``KeyMetadata`` (``KeyId``, ``Arn``, ``KeyState``,
``Enabled``, ``Description``, ``CreationDate``, ``AWSAccountId``,
``KeyManager``), with the key's ``Aliases``.
"""

from __future__ import annotations

from typing import Any

from sealbox.api.admin.auth import authorize
from sealbox.api.admin.bodies import iso_time
from sealbox.api.admin.routes import Route
from sealbox.api.common.context import Services
from sealbox.api.iam.ops import caller_account
from sealbox.auth.principal import AuthResult
from sealbox.server.request import Request
from sealbox.store.kms_keys import DISABLED, ENABLED, KmsKey, KmsNotFound, parse_reference


def key_json(key: KmsKey) -> dict[str, Any]:
    return {"KeyId": key.key_id, "Arn": key.arn, "AWSAccountId": key.account_id,
            "Description": key.description, "KeyState": key.state, "Enabled": key.enabled,
            "CreationDate": iso_time(key.created),
            "KeyManager": "AWS" if key.managed else "CUSTOMER",
            "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
            "Aliases": list(key.aliases)}


async def answer(request: Request, services: Services, auth: AuthResult, route: Route,
                 params: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and JSON of one kms-keys route; KmsError (an
    IdentityError) and AdminError for the caller's to render."""
    account = caller_account(auth.principal)
    meta: Any = services.meta
    if route.operation == "ListKeys":
        await authorize(request, services, auth, route.action, "*")
        keys = await services.read(meta.list_kms_keys, account)
        return 200, {"Keys": [key_json(k) for k in keys]}
    if route.operation == "CreateKey":
        await authorize(request, services, auth, route.action, "*")
        alias = body.get("Alias")
        region = services.settings.region
        key = await services.run(lambda: meta.create_kms_key(
            account, region, description=body.get("Description", ""),
            aliases=(alias,) if alias else (), now=services.clock.now()))
        return 201, {"KeyMetadata": key_json(key)}
    key = await services.read(meta.find_kms_key, account, parse_reference(params["KeyId"]))
    if key.account_id != account:  # named by id or key ARN: another account's
        raise KmsNotFound(f"Key '{params['KeyId'][:256]}' does not exist")
    await authorize(request, services, auth, route.action, key.arn)
    if route.operation == "DescribeKey":
        return 200, {"KeyMetadata": key_json(key)}
    state = DISABLED if route.operation == "DisableKey" else ENABLED
    key = await services.run(meta.set_kms_key_state, account,
                             parse_reference(key.key_id), state)
    return 200, {"KeyMetadata": key_json(key)}
