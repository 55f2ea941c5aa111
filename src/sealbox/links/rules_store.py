"""The signing endpoint's rules as stored: one document per account, the
server setting ``link-rules`` for the first account (the name it had before
accounts) and ``link-rules/<account>`` for any other; its ``HS256Secret``
values sealed with the keyring that encrypts access-key
secrets (store/keyring), so a database dump or backup holds no issuer's
secret. Read back, they are opened before the document is parsed; a
document stored before sealing (plaintext secrets) still reads.
A secret is sealed bound to its setting's name, so a sealed value copied
into another account's document does not open there.
"""

from __future__ import annotations

import json
from typing import Any

from sealbox.auth.principal import ACCOUNT_ID
from sealbox.links.rules import EMPTY, SETTING, LinkRules, RulesError, parse_rules
from sealbox.store.keyring import is_sealed, seal, unseal
from sealbox.store.secrets import SecretError


def setting_name(account: str) -> str:
    """The server setting holding ``account``'s rules."""
    return SETTING if account == ACCOUNT_ID else f"{SETTING}/{account}"


def store_rules(meta: Any, rules: LinkRules, account: str = ACCOUNT_ID) -> None:
    """Keep ``rules`` (already checked) as ``account``'s, each ``HS256Secret`` sealed."""
    name = setting_name(account)
    cipher = meta.secret_cipher
    issuers = []
    for item in rules.document.get("Issuers", []):
        item = dict(item)
        if "HS256Secret" in item:
            item["HS256Secret"] = seal(cipher, item["HS256Secret"], name)
        issuers.append(item)
    document = {"Issuers": issuers, "Rules": rules.document.get("Rules", [])}
    meta.put_server_setting(name, json.dumps(document, separators=(",", ":")))


def load_rules(meta: Any, account: str = ACCOUNT_ID) -> LinkRules:
    """``account``'s stored rules, secrets opened (``EMPTY`` when none were
    put); ``RulesError`` when they no longer parse or open."""
    name = setting_name(account)
    text = meta.get_server_setting(name)
    if text is None:
        return EMPTY
    try:
        document = json.loads(text)
    except ValueError:
        raise RulesError("document", "is not JSON") from None
    if isinstance(document, dict):
        for i, item in enumerate(document.get("Issuers") or []):
            if isinstance(item, dict) and is_sealed(item.get("HS256Secret")):
                try:
                    item["HS256Secret"] = unseal(meta.secret_cipher, item["HS256Secret"],
                                                 name)
                except SecretError as error:
                    raise RulesError(f"Issuers[{i}].HS256Secret", str(error)) from None
    return parse_rules(document)
