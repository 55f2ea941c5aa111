"""Who is asking: the principal a request authenticated as, and credentials.

Only the root user exists in the core; IAM users and groups slot in as
``kind="user"`` principals with their own ARNs without changing callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# "service": an AWS service acting for a resource, such as CloudFront reading
# an origin bucket through origin access control (sealbox.edge.origin).
PrincipalKind = Literal["root", "user", "anonymous", "service"]
AuthType = Literal["REST-HEADER", "REST-QUERY-STRING", "POST", "ANONYMOUS"]

ACCOUNT_ID = "000000000000"


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


ANONYMOUS = Principal(kind="anonymous", name="", arn="*")


def root_principal(access_key: str) -> Principal:
    return Principal(
        kind="root", name="root", arn=f"arn:aws:iam::{ACCOUNT_ID}:root", access_key=access_key
    )


@dataclass(frozen=True)
class Credential:
    """An access key pair. The secret never appears in a repr or a log."""

    access_key: str
    secret_key: str = field(repr=False)
    principal: Principal
    active: bool = True


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
