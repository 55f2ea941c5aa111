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

from functools import lru_cache

from sealbox.auth.principal import account_of_arn, canonical_user_id


def account_of(arn: str) -> str:
    """The account id of an ``arn:aws:<service>::<account>:…`` ARN; "" for an
    ARN that names no account (the anonymous ``*``, a bucket's ARN)."""
    return account_of_arn(arn) or ""


# The rule itself lives with the principals (``auth.principal``); kept here,
# cached, for the access layer's callers (ACLs, owners).
canonical_id = lru_cache(maxsize=4096)(canonical_user_id)
