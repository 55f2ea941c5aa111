"""The IAM Query API (``POST /`` with ``Action=…``), as Ceph RGW serves it
on its S3 endpoint, so ``aws iam --endpoint-url …`` and boto3's ``iam``
client work unchanged.

Per request: read the form (capped), authenticate it (SigV4, service
``iam``, the payload line the body's SHA-256: botocore's ``SigV4Auth``
sends no ``x-amz-content-sha256``), find the action, judge it
(``iam:<Action>`` on the entity's ARN), run it in the thread pool, render
IAM's XML. The operations are in ``iam_ops``, the XML in ``iam_xml``.

The server skips its own authentication for this operation
(``handlers.SELF_AUTHENTICATING``), so every answer, refusals included, is
IAM's ``<ErrorResponse>``, never S3's error and never a traceback.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import Any, cast

from sealbox.api.common import context
from sealbox.api.common.context import Context
from sealbox.api.iam.ops import OPERATIONS, caller_account
from sealbox.api.iam.params import (
    API_VERSION,
    MAX_BODY,
    SERVICE_FAILURE,
    IamError,
    Params,
    parse_form,
)
from sealbox.api.iam.xml import CONTENT_TYPE, render_error, render_result
from sealbox.auth.authenticate import authenticate_signed_body
from sealbox.auth.principal import AuthResult
from sealbox.auth.sigv4 import parse as sigv4_parse
from sealbox.errors import CATALOGUE, S3Error
from sealbox.server.request import ClientDisconnected
from sealbox.server.responses import Response
from sealbox.store.full import NOTICE, out_of_space
from sealbox.store.identity import IdentityError, IdentityStore

log = logging.getLogger("sealbox.iam")

SERVICE = "iam"
MISSING_TOKEN = "Request is missing Authentication Token"
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
TOO_LARGE = f"Request body must be at most {MAX_BODY} bytes."


async def iam_query(ctx: Context) -> Response:
    try:
        action, result = await _answer(ctx)
    except ClientDisconnected:
        raise
    except IamError as error:
        return _error_response(error, ctx.request_id)
    except IdentityError as error:
        return _error_response(IamError.from_identity(error), ctx.request_id)
    except Exception as error:  # anything unexpected: IAM's ServiceFailure, no internal text
        if out_of_space(error):  # noted, and logged now and then (store.full)
            NOTICE.report(error)
            full = CATALOGUE["InsufficientStorage"]
            return _error_response(
                IamError("InsufficientStorage", full.message, full.status, "Receiver"),
                ctx.request_id)
        log.exception("IAM request %s failed", ctx.request_id)
        return _error_response(
            IamError("ServiceFailure", SERVICE_FAILURE, 500, "Receiver"), ctx.request_id
        )
    body = render_result(action, result, ctx.request_id)
    return Response(200, _headers(ctx.request_id), body)


async def _answer(ctx: Context) -> tuple[str, dict[str, Any]]:
    request = ctx.request
    body = await _read_body(ctx)
    params = Params(parse_form(body, request.raw_query, request.headers.get("content-type")))
    auth = await _authenticate(ctx, body)
    if auth.principal.is_anonymous:
        raise IamError("MissingAuthenticationToken", MISSING_TOKEN, 403)
    action = params.get("Action")
    if not action:
        raise IamError("MissingAction", "Missing Action")
    version = params.optional("Version", API_VERSION)
    spec = OPERATIONS.get(action)
    if spec is None or version != API_VERSION:
        raise IamError("InvalidAction", f"Could not find operation {action} for version {version}")
    services = ctx.services
    # IAM acts in the caller's account only.
    meta = cast(IdentityStore, services.meta).in_account(caller_account(auth.principal))
    resource = await services.run(spec.resource, meta, params, auth.principal)
    await authorize(ctx, auth, spec.action(action), resource)
    result = await services.run(spec.run, meta, params, auth.principal, services.clock.now())
    return action, result


async def _read_body(ctx: Context) -> bytes:
    try:
        declared = ctx.request.content_length()
        if declared is not None and declared > MAX_BODY:
            raise IamError("RequestEntityTooLarge", TOO_LARGE, 413)
        return await ctx.request.read(MAX_BODY)
    except S3Error as error:  # a bad Content-Length, or more bytes than declared
        if error.code in ("MaxMessageLengthExceeded", "EntityTooLarge"):
            raise IamError("RequestEntityTooLarge", TOO_LARGE, 413) from None
        raise IamError("InvalidParameterValue", error.message) from None


async def _authenticate(ctx: Context, body: bytes) -> AuthResult:
    """SigV4 as botocore signs IAM requests; S3's refusals reworded as IAM's.

    Run in the thread pool: ``lookup_credential`` reads IAM users' keys
    from the store (I/O on PostgreSQL).
    """
    services = ctx.services
    check = functools.partial(
        authenticate_signed_body,
        ctx.request.facts(),
        services.lookup_credential,
        services.clock.now(),
        services.settings.region,
        service=SERVICE,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    try:
        return await services.run(check)
    except S3Error as error:
        raise auth_error(error) from None


def auth_error(error: S3Error) -> IamError:
    """The IAM answer to a request S3's checks refused (AWS's STS/IAM words)."""
    code = error.code
    if code == "InvalidAccessKeyId":
        return IamError("InvalidClientTokenId", INVALID_TOKEN, 403)
    if code == "SignatureDoesNotMatch":
        return IamError("SignatureDoesNotMatch", BAD_SIGNATURE, 403)
    if code == "RequestTimeTooSkewed":
        request_time = error.fields.get("RequestTime", "")
        server_time = error.fields.get("ServerTime", "")
        minutes = sigv4_parse.MAX_SKEW_SECONDS // 60
        return IamError(
            "SignatureDoesNotMatch",
            f"Signature expired: {request_time} is now earlier than the server's time "
            f"{server_time} - {minutes} min.",
            403,
        )
    if "Region" in error.fields or "the region" in error.message:
        return IamError(
            "SignatureDoesNotMatch", "Credential should be scoped to a valid region.", 403
        )
    if "incorrect service" in error.message:
        return IamError(
            "SignatureDoesNotMatch",
            f"Credential should be scoped to correct service: '{SERVICE}'.",
            403,
        )
    if code == "AccessDenied" and "expired" in error.message:
        return IamError(
            "ExpiredToken", "The security token included in the request is expired", 403
        )
    return IamError("IncompleteSignature", error.message or code, 400)


async def authorize(ctx: Context, auth: AuthResult, action: str, resource: str) -> None:
    """Judge ``action`` on ``resource`` with the caller's identity policies
    (the access gate, as every S3 request is judged), or raise IAM's
    AccessDenied in IAM's words, which say whether a Deny decided."""
    decision = await context.decide(
        ctx.services, ctx.request, auth, action, resource, operation="IamQuery"
    )
    if decision.allowed:
        return
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.statement is not None
        else f"because no identity-based policy allows the {action} action"
    )
    raise IamError(
        "AccessDenied",
        f"User: {auth.principal.arn} is not authorized to perform: {action} "
        f"on resource: {resource} {why}",
        403,
    )


def _headers(request_id: str) -> list[tuple[str, str]]:
    return [("content-type", CONTENT_TYPE), ("x-amzn-requestid", request_id)]


def _error_response(error: IamError, request_id: str) -> Response:
    return Response(error.status, _headers(request_id), render_error(error, request_id))


HANDLERS = {"IamQuery": iam_query}
