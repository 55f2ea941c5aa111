"""Who is asking: the principal a request authenticated as, and credentials.

Every principal but the anonymous one and services belongs to one account,
named in its ARN (``arn:aws:iam::<account>:root`` or ``:user/<name>``): the
account's root user, or one of its IAM users. ``ACCOUNT_ID`` is the
server's first account, whose root administers the others.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# "service": an AWS service acting for a resource, such as CloudFront reading
# an origin bucket through origin access control (sealbox.edge.origin).
PrincipalKind = Literal["root", "user", "anonymous", "service"]
AuthType = Literal["REST-HEADER", "REST-QUERY-STRING", "POST", "ANONYMOUS"]

# The first account: every install has it, and data from before accounts
# existed belongs to it.
ACCOUNT_ID = "000000000000"


def account_of_arn(arn: str) -> str | None:
    """The account id in an ``arn:aws:<service>::<account>:…`` ARN, or None."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return None


def root_arn(account: str) -> str:
    """The ARN of an account's root user (what names the account in policies)."""
    return f"arn:aws:iam::{account}:root"


def canonical_user_id(arn: str) -> str:
    """S3's canonical user id of the account a principal's ARN names: the
    SHA-256 hex of the account's root ARN, so every principal of an account
    has the account's id, as on AWS (ACL grants name these ids). An ARN
    without an account is hashed as it is."""
    account = account_of_arn(arn)
    return hashlib.sha256((root_arn(account) if account else arn).encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """An identity that requests are made as."""

    kind: PrincipalKind
    name: str
    arn: str
    access_key: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def account(self) -> str | None:
        """The account of a root or IAM user (None: anonymous, a service)."""
        if self.kind not in ("root", "user"):
            return None
        return account_of_arn(self.arn)


ANONYMOUS = Principal(kind="anonymous", name="", arn="*")


def root_principal(access_key: str, account: str = ACCOUNT_ID) -> Principal:
    return Principal(kind="root", name="root", arn=root_arn(account), access_key=access_key)


@dataclass(frozen=True)
class Credential:
    """An access key pair. The secret never appears in a repr or a log.

    ``signing_keys`` holds the SigV4 keys derived from this secret
    (``auth.sigv4.keys.credential_signing_key``): a credential is kept per
    access version (``api/common/access_gate``), so a new URL's signature
    finds its key with one dict lookup, not a hash of the secret."""

    access_key: str
    secret_key: str = field(repr=False)
    principal: Principal
    active: bool = True
    signing_keys: dict[tuple[str, str, str], bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False)


@dataclass(frozen=True)
class AuthResult:
    """What authentication established about one request.

    ``payload_hash`` is the signed claim about the body (a hex SHA-256,
    ``UNSIGNED-PAYLOAD`` or a ``STREAMING-…`` marker); the server checks the
    body against it while it reads. ``signing_key``, ``scope`` and
    ``signature`` seed the chunk-signature chain of aws-chunked bodies.
    """

    principal: Principal
    auth_type: AuthType
    signature_version: str | None = None
    payload_hash: str | None = None
    signed_at: datetime | None = None
    scope: str | None = None
    signature: str | None = field(default=None, repr=False)
    signing_key: bytes | None = field(default=None, repr=False)


ANONYMOUS_AUTH = AuthResult(principal=ANONYMOUS, auth_type="ANONYMOUS")
