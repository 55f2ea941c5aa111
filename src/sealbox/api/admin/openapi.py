"""The admin JSON API's OpenAPI 3.0 document, generated from the route table
(``admin_routes.ROUTES``) and, for the edge's bodies, from CloudFront's
shapes (``admin_edge_json``), so it cannot drift from what is served.
Pure; the document is built once per process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sealbox import __version__
from sealbox.api.admin.bodies import dumps
from sealbox.api.admin.edge_json import LIST_SHAPES, STRUCTURE_SHAPES
from sealbox.api.admin.edge_types import SCALAR_TYPES
from sealbox.api.admin.routes import PREFIX, ROUTES, Route

OPENAPI_VERSION = "3.0.3"
OPENAPI_PATH = "/_sealbox/api/openapi.json"
_JSON = "application/json"
_TAGS = {"iam": "IAM", "pab": "Block Public Access", "edge": "Edge", "links": "Links",
         "audit": "Audit", "doctor": "Doctor", "accounts": "Accounts",
         "kms": "KMS keys"}
# The signature doctor's body (sealbox.api.admin.doctor) and answer.
_DOCTOR_MEMBER_SCHEMAS: dict[str, Any] = {
    "Url": {"type": "string", "description": "A presigned SigV4 or SigV2 URL, or a "
            "CloudFront signed URL of one of this server's distributions."},
    "Method": {"type": "string", "enum": ["GET", "HEAD", "PUT", "POST", "DELETE"],
               "description": "The method the failing client uses (default GET)."},
    "Headers": {"oneOf": [{"type": "object", "additionalProperties": {"type": "string"}},
                          {"type": "array", "items": {"type": "string"}}],
                "description": "The headers the failing client sends: a map, or "
                               "'Name: value' strings."},
    "RequestId": {"type": "string", "description": "The x-amz-request-id of a refused "
                  "signed request (instead of Url)."},
    "SourceIp": {"type": "string", "description": "The failing client's address (default: "
                 "the caller's), for address-bound links and policies."},
}
DOCTOR_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["Verdict", "Causes"],
    "properties": {
        "Verdict": {"type": "string", "enum": ["valid", "invalid"]},
        "Kind": {"type": "string"},
        "Causes": {"type": "array", "items": {
            "type": "object",
            "required": ["Code", "Message"],
            "properties": {"Code": {"type": "string"}, "Message": {"type": "string"},
                           "Expected": {"type": "string", "nullable": True},
                           "Got": {"type": "string", "nullable": True}},
        }},
    },
}
_LINK_MEMBER_SCHEMAS: dict[str, Any] = {
    "Method": {"type": "string", "enum": ["GET", "HEAD", "PUT"]},
    "Expires": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 604800},
                          {"type": "string", "pattern": "^[0-9]+[smhd]?$"}],
                "description": "Seconds, or 15m, 12h, 7d; at most 7 days (default 3600)."},
    "MaxUses": {"type": "integer", "minimum": 1,
                "description": "Admitted requests at most (a Range GET and a HEAD count)."},
    "MaxSize": {"type": "integer", "minimum": 0, "description": "PUT: the body's most bytes."},
    "BindIp": {"type": "array", "items": {"type": "string"},
               "description": "CIDRs or addresses the link is valid from."},
    "Cookies": {"oneOf": [{"type": "string"}, {"type": "object"}],
                "description": "CloudFront signed cookies: a Cookie header's text or a map."},
    "Issuers": {"type": "array", "items": {"type": "object"},
                "description": "Token issuers: Name, Issuer, Audience and one of HS256Secret, "
                               "PublicKeyPem (RSA or P-256) or Jwks."},
    "Rules": {"type": "array", "items": {"type": "object"},
              "description": "Issuer, SignAs, Methods, Resource (bucket/key-pattern with "
                             "${jwt:CLAIM}), MaxExpires, MaxUses, BindClientIp, ContentTypes, "
                             "MaxSize, AllowedOrigins."},
}
_QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "MaxItems": {"type": "integer", "minimum": 1, "maximum": 1000},
    "OnlyAttached": {"type": "boolean"},
    "Scope": {"type": "string", "enum": ["All", "AWS", "Local"]},
    "Status": {"type": "integer", "minimum": 100, "maximum": 599},
    "Since": {"type": "string", "description": "ISO 8601 time (UTC when no offset), "
              "or epoch seconds; events at or after it"},
    "Until": {"type": "string", "description": "ISO 8601 time or epoch seconds; events "
              "before it"},
}
_BOOLEAN_MEMBERS = frozenset({"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                              "RestrictPublicBuckets"})
_PARAMETER_NOTES = {
    "PolicyArn": "A policy ARN (its '/' sent as is or as %2F), or the name of a policy at "
                 "path '/'.",
}
_AUTH = (
    "AWS Signature Version 4 with the caller's own access key (root or an IAM user): any "
    "service name in the scope (sealbox's clients use 'sealbox'), the server's region, the "
    "payload line the SHA-256 of the body. curl: --aws-sigv4 'aws:amz:us-east-1:sealbox' "
    "--user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\"."
)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "requestId": {"type": "string"},
        },
    }},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _scalar_schema(kind: str) -> dict[str, str]:
    return {"type": {"boolean": "boolean", "integer": "integer"}.get(kind, "string")}


def shape_schemas(roots: set[str]) -> dict[str, Any]:
    """A schema per CloudFront shape reachable from ``roots``, members typed
    as the admin API reads them (``admin_edge_json.to_tree``)."""
    schemas: dict[str, Any] = {}
    todo = sorted(roots)
    while todo:
        shape = todo.pop()
        if shape in schemas:
            continue
        if shape in LIST_SHAPES:
            _item, item_shape = LIST_SHAPES[shape]
            if item_shape:
                todo.append(item_shape)
                items: dict[str, Any] = _ref(item_shape)
            else:
                items = _scalar_schema(SCALAR_TYPES.get((shape, "*"), ""))
            schemas[shape] = {"type": "array", "items": items}
            continue
        properties: dict[str, Any] = {}
        for member, child in STRUCTURE_SHAPES[shape]:
            if child:
                todo.append(child)
                properties[member] = _ref(child)
            else:
                properties[member] = _scalar_schema(SCALAR_TYPES.get((shape, member), ""))
        schemas[shape] = {"type": "object", "properties": properties,
                          "additionalProperties": False}
    return schemas


def _body_schema(route: Route) -> dict[str, Any]:
    if route.body_shape:
        return _ref(route.body_shape)
    properties: dict[str, Any] = {}
    for member in route.body:
        if member == "PolicyDocument":
            properties[member] = {"oneOf": [{"type": "object"}, {"type": "string"}],
                                  "description": "An IAM policy document, or its text."}
        elif member in _BOOLEAN_MEMBERS:
            properties[member] = {"type": "boolean"}
        elif route.family == "doctor":
            properties[member] = _DOCTOR_MEMBER_SCHEMAS[member]
        elif route.family == "links" and member in _LINK_MEMBER_SCHEMAS:
            properties[member] = _LINK_MEMBER_SCHEMAS[member]
        else:
            properties[member] = {"type": "string"}
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": False}
    if route.required:
        schema["required"] = list(route.required)
    return schema


def _parameters(route: Route) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in route.parameters:
        parameter: dict[str, Any] = {"name": name, "in": "path", "required": True,
                                     "schema": {"type": "string"}}
        if name in _PARAMETER_NOTES:
            parameter["description"] = _PARAMETER_NOTES[name]
        out.append(parameter)
    for name in route.query:
        out.append({"name": name, "in": "query", "required": False,
                    "schema": _QUERY_SCHEMAS.get(name, {"type": "string"})})
    if route.needs_if_match:
        out.append({"name": "If-Match", "in": "header", "required": True,
                    "description": "The resource's current ETag.",
                    "schema": {"type": "string"}})
    return out


def _operation(route: Route) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Done."}
    if route.family == "doctor":
        success = {"description": "The diagnosis.",
                   "content": {_JSON: {"schema": DOCTOR_ANSWER}}}
    elif route.status != 204:
        success = {"description": "The result, with IAM's or boto3's member names.",
                   "content": {_JSON: {"schema": {"type": "object"}}}}
    operation: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "tags": [_TAGS[route.family]],
        "x-sealbox-action": route.action,
        "responses": {
            str(route.status): success,
            "default": {"description": "A refusal.",
                        "content": {_JSON: {"schema": _ref("Error")}}},
        },
    }
    parameters = _parameters(route)
    if parameters:
        operation["parameters"] = parameters
    if route.body or route.body_shape:
        operation["requestBody"] = {
            "required": bool(route.required or route.body_shape),
            "content": {_JSON: {"schema": _body_schema(route)}},
        }
    return operation


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(PREFIX + route.pattern, {})[route.method.lower()] = _operation(route)
    paths[OPENAPI_PATH] = {"get": {
        "operationId": "GetOpenApiDocument",
        "summary": "This document",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {_JSON: {"schema": {"type": "object"}}}}},
    }}
    schemas = {"Error": ERROR_SCHEMA,
               **shape_schemas({r.body_shape for r in ROUTES if r.body_shape})}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "sealbox admin API",
            "version": __version__,
            "description": "Users, access keys, groups and policies (IAM's operations and "
                           "member names), the server's Block Public Access, and the edge's "
                           "public keys, key groups, origin access controls, distributions "
                           "and invalidations (CloudFront's, in boto3's JSON shapes), and links "
                           "you control: managed links and revocations; the audit trail; the "
                           "signature doctor.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"sigv4": {"type": "apiKey", "in": "header",
                                          "name": "Authorization", "description": _AUTH}},
        },
        "security": [{"sigv4": []}],
    }


@lru_cache(maxsize=1)
def openapi_json() -> bytes:
    """The document as the response body."""
    return dumps(document())
