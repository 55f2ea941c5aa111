"""Who calls the admin JSON API, and may they.

Authentication is SigV4 in the ``Authorization`` header (or a presigned
query) with the caller's own access keys, root's or an IAM user's, signed
as AWS signs its JSON services: the payload line is the SHA-256 of the body
(no ``x-amz-content-sha256`` is needed, and none is believed) and the scope
names the server's region (``SEALBOX_REGION``, default ``us-east-1``).

Any service name in the scope is accepted; ``sealbox`` is the one the CLI
and the documentation use (``curl --aws-sigv4 "aws:amz:us-east-1:sealbox"``).
A service name only separates signatures, and a signature here already
covers the method, the ``/_sealbox/api/…`` path and the body, which no
S3, IAM or CloudFront request has.

Paths are read both ways AWS signers write them: once encoded, as S3 and
sealbox's own CLI sign (the canonical URI is the path decoded and encoded
again), and twice, as botocore's ``SigV4Auth`` and the other AWS SDKs sign
every service but S3 (the path as sent, encoded again). The second is tried
only when the first does not match and the two differ (a ``%2F`` in a
policy ARN, an ``@`` in a user name).

Authorization is the access gate's (``access_gate.decide``): the route's
action (``iam:<Action>``, ``cloudfront:<Operation>``,
``s3:Get/PutAccountPublicAccessBlock``) on the resource the operation
names, with the caller's identity policies, as every other request.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re

from sealbox.api.admin.request import AdminError
from sealbox.api.common.context import Services, decide
from sealbox.api.iam.query import auth_error
from sealbox.auth.authenticate import authenticate_signed_body
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import AuthResult
from sealbox.auth.sigv4 import canonical
from sealbox.errors import S3Error
from sealbox.server.request import Request

SERVICE = "sealbox"  # the service name sealbox's own clients sign with
_SERVICE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")
_QUERY_CREDENTIAL = "X-Amz-Credential"


def scope_service(facts: RequestFacts) -> str:
    """The service the request's credential scope names, when it is a
    plausible one; else ``SERVICE`` (the check then says what is wrong)."""
    credential = None
    found = _CREDENTIAL.search(facts.headers.get("authorization", ""))
    if found:
        credential = found.group(1)
    else:
        for name, value in canonical.parse_query(facts.raw_query):
            if name == _QUERY_CREDENTIAL:
                credential = value
                break
    parts = (credential or "").split("/")
    if len(parts) == 5 and _SERVICE_NAME.fullmatch(parts[3]):
        return parts[3]
    return SERVICE


def double_encoded(facts: RequestFacts) -> RequestFacts | None:
    """The request as a signer that encodes the path twice signed it, or
    None when that reads the same as once."""
    raw = facts.raw_path.encode("utf-8", "surrogateescape")
    path = canonical.uri_encode(raw, encode_slash=False)
    if canonical.canonical_uri(path) == canonical.canonical_uri(facts.raw_path):
        return None
    return dataclasses.replace(facts, raw_path=path)


async def authenticate(request: Request, services: Services, body: bytes) -> AuthResult:
    """Who signed the request (the anonymous principal when nobody did), or
    the refusal in IAM's words. In the thread pool: IAM users' keys are
    read from the store."""
    facts = request.facts()
    check = functools.partial(
        authenticate_signed_body,
        lookup=services.lookup_credential,
        now=services.clock.now(),
        region=services.settings.region,
        service=scope_service(facts),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    try:
        return await services.run(check, facts)
    except S3Error as error:
        first = error
    other = double_encoded(facts) if first.code == "SignatureDoesNotMatch" else None
    if other is not None:
        try:
            return await services.run(check, other)
        except S3Error:
            pass
    raise _refusal(first) from None


def _refusal(error: S3Error) -> AdminError:
    said = auth_error(error)
    fields: dict[str, str] = {}
    if said.code == "SignatureDoesNotMatch" and "CanonicalRequest" in error.fields:
        # What the server signed, to compare with the client's (S3 sends the
        # same); no secret is in either.
        fields = {"canonicalRequest": str(error.fields["CanonicalRequest"]),
                  "stringToSign": str(error.fields.get("StringToSign", ""))}
    return AdminError(said.code, said.message, said.status, fields)


async def authorize(request: Request, services: Services, auth: AuthResult, action: str,
                    resource: str) -> None:
    """Judge ``action`` on ``resource`` for the caller, or raise AccessDenied
    in IAM's words (which say whether a Deny decided)."""
    principal = auth.principal
    if services.gate is None:  # an app without a gate: the root user only
        if principal.kind == "root":
            return
        why = "because only the root user may"
    else:
        decision = await decide(services, request, auth, action, resource, operation="AdminApi")
        if decision.allowed:
            return
        why = ("with an explicit deny in an identity-based policy"
               if decision.statement is not None
               else f"because no identity-based policy allows the {action} action")
    raise AdminError(
        "AccessDenied",
        f"User: {principal.arn} is not authorized to perform: {action} on resource: "
        f"{resource} {why}",
        403,
    )
