"""The accounts routes of the admin JSON API (``/_sealbox/api/v1/accounts``):
create, list, get and delete the server's accounts.

Only the administrator manages accounts: the caller must be of the first
account (``ACCOUNT_ID``) — its root, or one of its IAM users whose policies
allow ``sealbox:ManageAccounts`` — and then pass the access gate as every
admin request does. Another account's root, which may do everything in its
own account, is refused here before the gate is asked.

JSON members are IAM's style (``AccountId``, ``AccountName``,
``CreateDate``); a new account's answer carries its root's access key
(``AccessKey``: ``AccessKeyId``, ``SecretAccessKey``), shown this once.
"""

from __future__ import annotations

from typing import Any

from sealbox.api.admin.auth import authorize
from sealbox.api.admin.bodies import iso_time
from sealbox.api.admin.request import AdminError
from sealbox.api.admin.routes import MANAGE_ACCOUNTS, Route
from sealbox.api.common.context import Services
from sealbox.auth.principal import ACCOUNT_ID, AuthResult
from sealbox.server.request import Request
from sealbox.store.accounts import Account


def account_json(account: Account) -> dict[str, Any]:
    out: dict[str, Any] = {"AccountId": account.account_id, "AccountName": account.name,
                           "Administrator": account.is_administrator}
    if account.created is not None:
        out["CreateDate"] = iso_time(account.created)
    return out


async def answer(request: Request, services: Services, auth: AuthResult, route: Route,
                 params: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and JSON of one accounts route; IdentityError and
    AdminError for the caller's to render."""
    principal = auth.principal
    if principal.account != ACCOUNT_ID:
        raise AdminError(
            "AccessDenied",
            f"User: {principal.arn} is not authorized to perform: {MANAGE_ACCOUNTS}: only the "
            "administrator's account manages accounts", 403)
    await authorize(request, services, auth, MANAGE_ACCOUNTS, "*")
    meta: Any = services.meta
    if route.operation == "ListAccounts":
        accounts = await services.read(meta.list_accounts)
        return 200, {"Accounts": [account_json(a) for a in accounts]}
    if route.operation == "GetAccount":
        return 200, {"Account": account_json(await services.read(meta.get_account,
                                                                 params["AccountName"]))}
    if route.operation == "DeleteAccount":
        await services.run(meta.delete_account, params["AccountName"])
        return 204, {}
    name = body["AccountName"]  # a string: body_params checked it
    made = await services.run(lambda: meta.create_account(name, now=services.clock.now()))
    key = made.root_key
    return 201, {"Account": account_json(made.account),
                 "AccessKey": {"AccessKeyId": key.access_key_id,
                               "SecretAccessKey": key.secret_key,
                               "Status": key.status, "CreateDate": iso_time(key.created)}}
