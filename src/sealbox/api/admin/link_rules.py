"""The admin API's ``GET/PUT /_sealbox/api/v1/link-rules``: the signing
endpoint's rules (``sealbox.links.rules``) of the caller's account, one
document per account (the server setting ``link-rules``, or
``link-rules/<account>``: links/rules_store). A server setting moves the
access version, so every node's endpoint reads the new rules on its next
request. ``POST /_sealbox/sign/<account>`` uses an account's rules
(``/_sealbox/sign``, the first account's).

``PUT`` checks the whole document first (each refusal is 400 and names the
field, nothing is stored), including that each rule's ``SignAs`` user
exists in the caller's account (a user of another account is as unknown); ``GET`` never shows an ``HS256Secret``, only ``(set)``, and a
``PUT`` of ``(set)`` keeps the stored one. The secrets are stored sealed
with the keyring (links/rules_store).
"""

from __future__ import annotations

from typing import Any

from sealbox.api.admin.request import AdminError
from sealbox.api.common.context import Services
from sealbox.links.rules import SECRET_SHOWN, RulesError, parse_rules
from sealbox.links.rules_store import load_rules, store_rules


def _refused(message: str) -> AdminError:
    return AdminError("InvalidParameter", message, 400)


def _get(services: Services, account: str) -> dict[str, Any]:
    return load_rules(services.meta, account).shown()


def _keep_secrets(services: Services, payload: dict[str, Any], account: str) -> None:
    """An ``HS256Secret`` of ``(set)`` (as GET shows it) keeps the stored
    secret of the issuer of the same ``Name``: a document got, edited and
    put back loses nothing."""
    issuers = payload.get("Issuers")
    if not isinstance(issuers, list):
        return
    stored = {i.name: i.key for i in load_rules(services.meta, account).issuers
              if i.algorithm == "HS256" and i.key is not None}
    for index, issuer in enumerate(issuers):
        if isinstance(issuer, dict) and issuer.get("HS256Secret") == SECRET_SHOWN:
            secret = stored.get(issuer.get("Name"))  # type: ignore[arg-type]
            if secret is None:
                raise _refused(f"Issuers[{index}].HS256Secret: {SECRET_SHOWN} stands for the "
                               "stored secret, and no stored issuer of this Name has one")
            issuer["HS256Secret"] = secret


def _put(services: Services, payload: dict[str, Any], account: str) -> dict[str, Any]:
    _keep_secrets(services, payload, account)
    try:
        rules = parse_rules(payload)
    except RulesError as error:
        raise _refused(error.message) from None
    meta: Any = services.meta
    users = meta.in_account(account)  # SignAs names a user of the rules' own account
    for i, rule in enumerate(rules.rules):
        try:
            users.get_user(rule.sign_as)
        except Exception:  # noqa: BLE001 - NoSuchEntity, or a name IAM refuses
            raise _refused(f"Rules[{i}].SignAs: no IAM user is named "
                           f"{rule.sign_as!r} in account {account}") from None
    store_rules(meta, rules, account)
    return rules.shown()


async def answer(services: Services, operation: str, payload: dict[str, Any],
                 account: str) -> dict[str, Any]:
    """Run ``GetLinkRules`` or ``PutLinkRules`` (already authorized) on
    ``account``'s rules."""
    if operation == "GetLinkRules":
        return await services.run(_get, services, account)
    return await services.run(_put, services, payload, account)
