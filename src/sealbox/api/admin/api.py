"""The admin JSON API: ``/_sealbox/api/v1/…``, with its OpenAPI document at
``/_sealbox/api/openapi.json``.

Per request: match the route (``admin_routes``: 404/405 otherwise), read
the body (capped at 1 MiB), authenticate it (``admin_auth``: SigV4 with the
caller's own keys), read it as one JSON object and check it against the
route (``admin_request``), judge it through the access gate, run the
operation in the thread pool and answer JSON:

- IAM routes run the IAM Query API's operations (``iam_ops``) and answer
  their results with IAM's member names (``admin_json``);
- the server-wide Block Public Access runs ``admin_pab``;
- edge routes run the CloudFront API's operations (``cloudfront_ops``) on
  bodies and answers in boto3's JSON shapes (``admin_edge_json``), with
  CloudFront's validation, errors, ETags and ``If-Match``, on the caller's
  account's configuration only;
- links routes (managed links, revocations) run ``admin_links``;
- kms-keys routes (the caller's account's KMS keys) run ``admin_kms_keys``.

Every refusal is ``{"error": {"code", "message", "requestId"}}`` with the
operation's own code (IAM's, CloudFront's) or the API's (``NotFound``,
``MethodNotAllowed``, ``MalformedJSON``, ``InvalidParameter``,
``RequestEntityTooLarge``); anything unexpected is ``InternalError`` with
no internal text, its traceback in the log.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sealbox.api.admin import accounts as admin_accounts
from sealbox.api.admin import doctor as admin_doctor
from sealbox.api.admin import kms_keys as admin_kms_keys
from sealbox.api.admin import links as admin_links
from sealbox.api.admin import public_access as admin_pab
from sealbox.api.admin.audit import read_audit
from sealbox.api.admin.auth import authenticate, authorize
from sealbox.api.admin.bodies import CONTENT_TYPE, dumps, render_error, render_result
from sealbox.api.admin.edge_json import result_json, to_tree, with_defaults
from sealbox.api.admin.openapi import openapi_json
from sealbox.api.admin.request import (
    AdminError,
    body_params,
    invalid,
    parse_json,
    query_params,
    read_body,
)
from sealbox.api.admin.routes import GREEDY, Route, RouteError, match, policy_arn
from sealbox.api.cloudfront import routes as cloudfront_routes
from sealbox.api.cloudfront.ops import Call
from sealbox.api.common.context import Services
from sealbox.api.iam.ops import OPERATIONS as IAM_OPERATIONS
from sealbox.api.iam.ops import caller_account
from sealbox.api.iam.params import SERVICE_FAILURE, IamError, Params
from sealbox.auth.principal import AuthResult
from sealbox.errors import CATALOGUE, S3Error
from sealbox.server.request import ClientDisconnected, Request
from sealbox.server.responses import Response
from sealbox.store.edge import EdgeError, EdgeStore
from sealbox.store.full import NOTICE, out_of_space
from sealbox.store.identity import IdentityError, IdentityStore

log = logging.getLogger("sealbox.admin")

PREFIX = "/_sealbox/api/"
OPENAPI_PATH = "/_sealbox/api/openapi.json"
INTERNAL = "We encountered an internal error. Please try again."
INSUFFICIENT_STORAGE = CATALOGUE["InsufficientStorage"].message
_EDGE_OPERATIONS = {op.name: op for op in cloudfront_routes.OPERATIONS}


async def admin_api(request: Request, services: Services, request_id: str) -> Response:
    """Answer one request under ``PREFIX``; never raises but for a client
    that went away."""
    try:
        return await _answer(request, services, request_id)
    except ClientDisconnected:
        raise
    except AdminError as error:
        return _refused(request, request_id, error.code, error.message, error.status, error.fields,
                      error.headers)
    except IamError as error:
        return _refused(request, request_id, error.code, error.message, error.status)
    except IdentityError as error:
        said = IamError.from_identity(error)
        return _refused(request, request_id, said.code, said.message, said.status)
    except EdgeError as error:
        return _refused(request, request_id, error.code, error.message, error.status)
    except S3Error as error:  # e.g. a stored policy that no longer parses: AccessDenied
        return _refused(request, request_id, error.code, error.message, error.status)
    except Exception as error:
        if out_of_space(error):  # noted, and logged now and then (store.full)
            NOTICE.report(error)
            return _refused(request, request_id, "InsufficientStorage", INSUFFICIENT_STORAGE, 507)
        log.exception("admin API request %s failed", request_id)
        return _refused(request, request_id, "InternalError", INTERNAL, 500)


async def _answer(request: Request, services: Services, request_id: str) -> Response:
    path = request.raw_path.split("?", 1)[0]
    if path == OPENAPI_PATH:
        if request.method != "GET":
            raise AdminError("MethodNotAllowed", f"{OPENAPI_PATH} answers GET only.", 405,
                             headers=[("allow", "GET")])
        return _json(200, openapi_json())
    try:
        route, params = match(request.method, path)
    except RouteError as error:
        if error.status == 405:
            allowed = ", ".join(error.allowed)
            raise AdminError("MethodNotAllowed", f"This path answers {allowed}.", 405,
                             headers=[("allow", allowed)]) from None
        raise AdminError("NotFound", "No admin API route has this path; see "
                         f"{OPENAPI_PATH}.", 404) from None
    request.audit.operation = route.operation
    body = await read_body(request)
    auth = await authenticate(request, services, body)
    if not auth.principal.is_anonymous:
        request.audit.principal = auth.principal.arn
    if auth.principal.is_anonymous:
        raise AdminError("MissingAuthenticationToken",
                         "The admin API needs a SigV4 signature (Authorization header).", 403)
    payload = parse_json(body)
    query = query_params(route, request.query)
    if route.family == "edge":
        return await _edge(request, services, auth, route, params, query, payload)
    if route.family == "pab":
        return await _public_access_block(request, services, auth, route, payload)
    if route.family == "links":
        status, result = await admin_links.answer(request, services, auth, route, params, query,
                                                  payload)
        return _json(status, dumps(result))
    if route.family == "accounts":
        status, result = await admin_accounts.answer(request, services, auth, route, params,
                                                     body_params(route, payload))
        return Response(204, _headers()) if status == 204 else _json(status, dumps(result))
    if route.family == "kms":
        status, result = await admin_kms_keys.answer(request, services, auth, route, params,
                                                     body_params(route, payload))
        return _json(status, dumps(result))
    if route.family == "audit":
        await authorize(request, services, auth, route.action, "*")
        return _json(200, dumps(await read_audit(services, query,
                                                 caller_account(auth.principal))))
    if route.family == "doctor":
        await authorize(request, services, auth, route.action, "*")
        return _json(200, dumps(await admin_doctor.answer(request, services, payload,
                                                          caller_account(auth.principal))))
    return await _iam(request, services, auth, route, {**query, **params}, payload)


async def _iam(request: Request, services: Services, auth: AuthResult, route: Route,
               params: dict[str, str], payload: dict[str, Any]) -> Response:
    principal = auth.principal
    account = caller_account(principal)  # IAM acts in the caller's account only
    merged = {**body_params(route, payload), **params}
    if GREEDY in merged:
        merged[GREEDY] = policy_arn(merged[GREEDY], account)
    values = Params(merged)
    spec = IAM_OPERATIONS[route.operation]
    meta = cast(IdentityStore, services.meta).in_account(account)
    resource = await services.run(spec.resource, meta, values, principal)
    await authorize(request, services, auth, route.action, resource)
    result = await services.run(spec.run, meta, values, principal, services.clock.now())
    if route.status == 204:
        return Response(204, _headers())
    return _json(route.status, render_result(route.operation, result))


async def _public_access_block(request: Request, services: Services, auth: AuthResult,
                               route: Route, payload: dict[str, Any]) -> Response:
    body = body_params(route, payload)
    await authorize(request, services, auth, route.action, "*")
    result = await services.run(admin_pab.OPERATIONS[route.operation], services.meta, body,
                                caller_account(auth.principal))
    if route.status == 204:
        return Response(204, _headers())
    return _json(route.status, dumps(result))


async def _edge(request: Request, services: Services, auth: AuthResult, route: Route,
                ids: dict[str, str], query: dict[str, str],
                payload: dict[str, Any]) -> Response:
    op = _EDGE_OPERATIONS[route.operation]
    account = caller_account(auth.principal)
    # The resource names only path ids: judged before the body is read on.
    await authorize(request, services, auth, route.action,
                    cloudfront_routes.resource_arn(op, ids, account))
    tree = None
    if route.body_shape:
        body = with_defaults(route.body_shape, payload, creating=route.method == "POST")
        tree = to_tree(body, route.body_shape)
    elif payload:
        raise invalid("This route takes no body.")
    if_match = request.headers.get("if-match")
    if route.needs_if_match and not if_match:
        raise EdgeError("InvalidIfMatchVersion",
                        "The If-Match header must name the resource's current ETag.")
    call = Call(
        ids=ids,
        query=query,
        body=tree,
        if_match=if_match,
        now=services.clock.now(),
        base_url=f"{request.scheme}://{request.headers.get('host', 'localhost')}",
        edge_domain=services.settings.edge_domain,
    )
    # The caller's account's configuration only (store.edge: accounts).
    store = cast(EdgeStore, services.meta).edge_in_account(account)
    result = await services.run(op.run, store, call)
    headers = [("etag", result.etag)] if result.etag else []
    if result.status == 204:
        return Response(204, _headers(headers))
    return _json(result.status, dumps(result_json(result.root, result.content, result.etag)),
                 headers)


def _headers(extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    # no-store: CreateAccessKey's answer holds a secret no cache may keep.
    return [("cache-control", "no-store"), *(extra or [])]


def _json(status: int, body: bytes, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("content-type", CONTENT_TYPE), *_headers(extra)], body)


def _refused(request: Request, request_id: str, code: str, message: str, status: int,
             fields: dict[str, str] | None = None,
             headers: list[tuple[str, str]] | None = None) -> Response:
    """``_error``, noted for the request's audit event."""
    request.audit.error_code, request.audit.reason = code, message
    return _error(request_id, code, message, status, fields, headers)


def _error(request_id: str, code: str, message: str, status: int,
           fields: dict[str, str] | None = None,
           headers: list[tuple[str, str]] | None = None) -> Response:
    if status >= 500 and code != "InternalError":
        message = SERVICE_FAILURE if code == "ServiceFailure" else INTERNAL
    return _json(status, render_error(code, message, request_id, fields), headers)
