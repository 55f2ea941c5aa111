"""May they: the access decision for one request. Pure: facts in, decision out.

The core has one identity, root, which may do everything in its account,
and anonymous requests, which nothing allows yet. Identity and bucket
policies (a later issue) add statements to this evaluation without
changing its callers: they pass the same ``AccessRequest`` and read the
same ``Decision``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sealbox.auth.principal import Principal


@dataclass(frozen=True)
class AccessRequest:
    principal: Principal
    action: str
    resource: str


@dataclass(frozen=True)
class Decision:
    """The outcome and what decided it (for the audit trail and the doctor)."""

    allowed: bool
    reason: str


def evaluate(request: AccessRequest) -> Decision:
    if request.principal.kind == "root":
        return Decision(True, "the account root may do everything in its account")
    if request.principal.is_anonymous:
        return Decision(False, "no policy allows anonymous access")
    return Decision(False, "no policy allows this action")
