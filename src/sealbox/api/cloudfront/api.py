"""The CloudFront API (REST-XML, 2020-05-31) on the same endpoint, chosen by
a SigV4 scope that names ``cloudfront`` (``router.signed_for_service``), so
``aws cloudfront --endpoint-url …`` and boto3's ``cloudfront`` client work
unchanged.

Per request: read the body (capped at 1 MiB), authenticate it (SigV4,
service ``cloudfront``; botocore signs CloudFront in ``us-east-1`` and
sends no ``x-amz-content-sha256``, so the payload line is the body's
SHA-256), route it (``cloudfront_routes``), parse its XML, judge
it (``cloudfront:<Operation>`` on the distribution's ARN, through the
access gate), run it in the thread pool on the caller's account's
configuration only (``EdgeStore.edge_in_account``: another account's ids
are answered as missing ones), write CloudFront's XML.

The server skips its own authentication for this operation
(``handlers.SELF_AUTHENTICATING``), so every answer, refusals included, is
CloudFront's ``<ErrorResponse>``, never S3's error and never a traceback.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import cast
from urllib.parse import unquote

from sealbox.api.cloudfront import ops, routes
from sealbox.api.cloudfront.xml import CONTENT_TYPE, MAX_BODY, document, error_body, parse_body
from sealbox.api.common.context import Context, decide
from sealbox.auth.authenticate import authenticate_signed_body
from sealbox.auth.principal import ACCOUNT_ID, AuthResult
from sealbox.auth.sigv4 import parse as sigv4_parse
from sealbox.config import DEFAULT_EDGE_DOMAIN  # noqa: F401  (re-exported; use settings.edge_domain)
from sealbox.errors import CATALOGUE, S3Error
from sealbox.server.request import ClientDisconnected
from sealbox.server.responses import Response
from sealbox.store.edge import EdgeError, EdgeStore
from sealbox.store.full import NOTICE, out_of_space

log = logging.getLogger("sealbox.cloudfront")

SERVICE = "cloudfront"
SIGNING_REGION = "us-east-1"  # CloudFront is global; botocore signs it in us-east-1
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


async def cloudfront_api(ctx: Context) -> Response:
    try:
        return await _answer(ctx)
    except ClientDisconnected:
        raise
    except EdgeError as error:
        return _error(ctx, error.code, error.message, error.status)
    except Exception as error:  # anything unexpected: no internal text
        if out_of_space(error):  # noted, and logged now and then (store.full)
            NOTICE.report(error)
            full = CATALOGUE["InsufficientStorage"]
            return _error(ctx, "InsufficientStorage", full.message, full.status, sender=False)
        log.exception("CloudFront API request %s failed", ctx.request_id)
        return _error(ctx, "InternalError", "We encountered an internal error. Please try again.",
                      500, sender=False)


async def _answer(ctx: Context) -> Response:
    request = ctx.request
    body = await _read_body(ctx)
    auth = await _authenticate(ctx, body)
    if auth.principal.is_anonymous:
        raise EdgeError("MissingAuthenticationToken", "Missing Authentication Token")
    path = unquote(request.raw_path, errors="strict") if request.raw_path.isascii() else ""
    found = routes.route(request.method, path)
    if found is None:
        raise EdgeError("InvalidArgument",
                        f"The CloudFront API has no operation {request.method} {path[:200]}")
    op, ids = found
    tree = parse_body(body, op.body_root) if op.body_root else None
    account = auth.principal.account or ACCOUNT_ID
    await authorize(ctx, auth, f"cloudfront:{op.name}", routes.resource_arn(op, ids, account))
    services = ctx.services
    settings = services.settings
    call = ops.Call(
        ids=ids,
        query=dict(request.query),
        body=tree,
        if_match=request.headers.get("if-match"),
        now=services.clock.now(),
        base_url=f"{request.scheme}://{request.headers.get('host', 'localhost')}",
        edge_domain=settings.edge_domain,
    )
    # The caller's account's configuration only (store.edge: accounts).
    store = cast(EdgeStore, services.meta).edge_in_account(account)
    result = await services.run(op.run, store, call)
    headers = [("x-amzn-requestid", ctx.request_id)]
    if result.etag:
        headers.append(("etag", result.etag))
    if result.location:
        headers.append(("location", result.location))
    if result.root is None:
        return Response(result.status, headers)
    return Response(result.status, [("content-type", CONTENT_TYPE), *headers],
                    document(result.root, result.content))


async def _read_body(ctx: Context) -> bytes:
    too_large = EdgeError("InvalidArgument", f"The request body is larger than {MAX_BODY} bytes.")
    try:
        declared = ctx.request.content_length()
        if declared is not None and declared > MAX_BODY:
            raise too_large
        return await ctx.request.read(MAX_BODY)
    except S3Error as error:  # a bad Content-Length, or more bytes than allowed
        if error.code in ("MaxMessageLengthExceeded", "EntityTooLarge"):
            raise too_large from None
        raise EdgeError("InvalidArgument", error.message) from None


def _scope_region(header: str | None, server_region: str) -> str:
    """The region to check the scope against: the one it names when that is
    CloudFront's (us-east-1) or this server's, else us-east-1 (refused)."""
    if header:
        start = header.find("Credential=")
        if start >= 0:
            parts = header[start + 11:].split(",", 1)[0].split("/")
            if len(parts) == 5 and parts[2] in (SIGNING_REGION, server_region):
                return parts[2]
    return SIGNING_REGION


async def _authenticate(ctx: Context, body: bytes) -> AuthResult:
    """SigV4 as botocore signs CloudFront requests; refusals in AWS's words.
    In the thread pool: IAM users' keys are read from the store."""
    services = ctx.services
    facts = ctx.request.facts()
    check = functools.partial(
        authenticate_signed_body,
        facts,
        services.lookup_credential,
        services.clock.now(),
        _scope_region(facts.headers.get("authorization"), services.settings.region),
        service=SERVICE,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    try:
        return await services.run(check)
    except S3Error as error:
        raise auth_error(error) from None


def auth_error(error: S3Error) -> EdgeError:
    """The answer AWS's front door gives where S3's checks refused."""
    code = error.code
    if code == "InvalidAccessKeyId":
        return _refusal("InvalidClientTokenId", "The security token included in the request is invalid.")
    if code == "SignatureDoesNotMatch":
        return _refusal("SignatureDoesNotMatch", BAD_SIGNATURE)
    if code == "RequestTimeTooSkewed":
        minutes = sigv4_parse.MAX_SKEW_SECONDS // 60
        return _refusal(
            "SignatureDoesNotMatch",
            f"Signature expired: {error.fields.get('RequestTime', '')} is now earlier than "
            f"{error.fields.get('ServerTime', '')} ({minutes} min.)")
    if "Region" in error.fields or "the region" in error.message:
        return _refusal("SignatureDoesNotMatch", "Credential should be scoped to a valid region.")
    if "incorrect service" in error.message:
        return _refusal("SignatureDoesNotMatch",
                        f"Credential should be scoped to correct service: '{SERVICE}'.")
    if code == "AccessDenied" and "expired" in error.message:
        return _refusal("ExpiredToken", "The security token included in the request is expired")
    return EdgeError("IncompleteSignature", error.message or code)


def _refusal(code: str, message: str) -> EdgeError:
    return EdgeError(code, message)  # 403: edge_errors.ERROR_STATUS


async def authorize(ctx: Context, auth: AuthResult, action: str, resource: str) -> None:
    """Judge ``action`` on ``resource`` for the caller through the access gate
    (root only where the app set no gate), or raise CloudFront's AccessDenied."""
    services = ctx.services
    if services.gate is None:
        allowed = auth.principal.kind == "root"
    else:
        allowed = (await decide(services, ctx.request, auth, action, resource)).allowed
    if not allowed:
        raise EdgeError(
            "AccessDenied",
            f"User: {auth.principal.arn} is not authorized to perform: {action} "
            f"on resource: {resource}",
        )


def _error(ctx: Context, code: str, message: str, status: int, *, sender: bool = True) -> Response:
    return Response(status, [("content-type", CONTENT_TYPE), ("x-amzn-requestid", ctx.request_id)],
                    error_body(code, message, ctx.request_id, sender=sender))


HANDLERS = {"CloudFrontApi": cloudfront_api}

__all__ = ["HANDLERS", "cloudfront_api", "document"]
