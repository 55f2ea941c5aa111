"""The admin API's OpenAPI document: valid OpenAPI 3, and a faithful picture
of the route table (every route, its parameters, its body, its action)."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from sealbox.api.admin.openapi import OPENAPI_PATH, document, openapi_json
from sealbox.api.admin.routes import PREFIX, ROUTES


def test_the_document_is_valid_openapi_3() -> None:
    validate(document())
    assert json.loads(openapi_json()) == document()


def test_every_route_is_described_with_its_action() -> None:
    paths = document()["paths"]
    for route in ROUTES:
        operation = paths[PREFIX + route.pattern][route.method.lower()]
        assert operation["operationId"] == route.operation
        assert operation["x-sealbox-action"] == route.action
        assert str(route.status) in operation["responses"]
    described = sum(len(item) for path, item in paths.items() if path != OPENAPI_PATH)
    assert described == len(ROUTES)


def test_path_parameters_match_the_templates() -> None:
    for path, item in document()["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, operation["operationId"])


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for item in document()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_iam_bodies_name_their_members_and_refuse_others() -> None:
    create = document()["paths"][PREFIX + "users"]["post"]["requestBody"]
    schema = create["content"]["application/json"]["schema"]
    assert schema["required"] == ["UserName"]
    assert set(schema["properties"]) == {"UserName", "Path"}
    assert schema["additionalProperties"] is False


def test_edge_bodies_are_cloudfront_shapes_typed_as_json() -> None:
    doc = document()
    create = doc["paths"][PREFIX + "edge/distributions"]["post"]["requestBody"]
    assert create["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DistributionConfig"}
    schemas = doc["components"]["schemas"]
    assert schemas["DistributionConfig"]["properties"]["Enabled"] == {"type": "boolean"}
    assert schemas["DefaultCacheBehavior"]["properties"]["MinTTL"] == {"type": "integer"}
    assert schemas["AliasList"] == {"type": "array", "items": {"type": "string"}}
    assert schemas["StatusCodeList"]["items"] == {"type": "integer"}


def test_edge_changes_declare_if_match() -> None:
    update = document()["paths"][PREFIX + "edge/distributions/{Id}/config"]["put"]
    headers = [p for p in update["parameters"] if p["in"] == "header"]
    assert headers == [{"name": "If-Match", "in": "header", "required": True,
                        "description": "The resource's current ETag.",
                        "schema": {"type": "string"}}]


def test_the_document_itself_needs_no_signature() -> None:
    assert document()["paths"][OPENAPI_PATH]["get"]["security"] == []
    assert document()["security"] == [{"sigv4": []}]
