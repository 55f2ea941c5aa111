"""Canonical user ids: the one rule that names an account in ACLs and owners.

S3 names owners and ACL grantees by a 64-hex *canonical user id*, one per
account: every principal of an account (its root, its IAM users and roles)
owns buckets and objects as that account. sealbox makes the id from the
account's root ARN, ``sha256("arn:aws:iam::<account-id>:root")``, so it is
stable, needs no table, and is the same on every node. A principal's account
is the fifth field of its ARN (``arn:aws:iam::<account>:user/alice``).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache


def account_of(arn: str) -> str:
    """The account id of an ``arn:aws:iam::<account>:…`` ARN; "" for an ARN
    that names no account (the anonymous ``*``, a service)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam":
        return parts[4]
    return ""


@lru_cache(maxsize=4096)
def canonical_id(arn: str) -> str:
    """The canonical user id of the account ``arn`` belongs to. An ARN of no
    account keeps an id of its own (the hash of the ARN itself), so it never
    equals an account's."""
    account = account_of(arn)
    name = f"arn:aws:iam::{account}:root" if account else arn
    return hashlib.sha256(name.encode()).hexdigest()
