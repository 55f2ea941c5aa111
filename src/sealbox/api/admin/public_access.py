"""The caller's account's Block Public Access settings through the admin
JSON API: the same server setting S3 Control's ``PutPublicAccessBlock``
writes for the account (``access_gate.account_setting``, the JSON of
``PublicAccessBlockConfiguration``'s four booleans), so either API sees the
other's change at once.

Operations are synchronous (run in the thread pool) and shaped like the IAM
ones: a result dict keyed by member name, ``IamError`` on bad input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sealbox.access.public_access import FIELDS, PublicAccessBlock
from sealbox.api.common.access_gate import PUBLIC_ACCESS_BLOCK_SETTING, account_setting
from sealbox.api.iam.params import IamError
from sealbox.store.meta import MetaStore

MEMBER = "PublicAccessBlockConfiguration"
NOT_FOUND = "The public access block configuration was not found"


def _result(pab: PublicAccessBlock) -> dict[str, Any]:
    return {MEMBER: dict(zip(FIELDS, pab.values(), strict=True))}


def get_public_access_block(meta: MetaStore, body: Mapping[str, Any],
                            account: str) -> dict[str, Any]:
    document = meta.get_server_setting(account_setting(PUBLIC_ACCESS_BLOCK_SETTING, account))
    if document is None:  # S3 Control's answer when none was ever put
        raise IamError("NoSuchPublicAccessBlockConfiguration", NOT_FOUND, 404)
    return _result(PublicAccessBlock.from_json(document))


def parse(body: Mapping[str, Any]) -> PublicAccessBlock:
    """The four settings from a JSON object; an absent one is false (as in
    S3's XML), anything but a JSON boolean is refused."""
    values = []
    for name in FIELDS:
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise IamError("ValidationError", f"{name} must be true or false")
        values.append(value)
    return PublicAccessBlock(*values)


def put_public_access_block(meta: MetaStore, body: Mapping[str, Any],
                            account: str) -> dict[str, Any]:
    pab = parse(body)
    meta.put_server_setting(account_setting(PUBLIC_ACCESS_BLOCK_SETTING, account), pab.to_json())
    return _result(pab)


def delete_public_access_block(meta: MetaStore, body: Mapping[str, Any],
                               account: str) -> dict[str, Any]:
    meta.delete_server_setting(account_setting(PUBLIC_ACCESS_BLOCK_SETTING, account))
    return {}


OPERATIONS = {
    "GetPublicAccessBlock": get_public_access_block,
    "PutPublicAccessBlock": put_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
}
