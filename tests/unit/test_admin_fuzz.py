"""Any signed request to any admin route — any path values, query and JSON
body — is answered with a result or a JSON refusal below 500, never an
internal error (hypothesis, in process, on a real SQLite store)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbox.api.admin.api import admin_api
from sealbox.api.admin.routes import PREFIX, ROUTES, Route
from sealbox.cli.client import sign
from sealbox.config import RootCredentials, Settings
from sealbox.server.asgi import SealboxApp, build_app
from sealbox.server.request import Request

ROOT = RootCredentials("SBFUZZROOTACCESSKEY0", "fuzz/root/secret/0123456789abcdefghijklm")
MEMBERS = sorted({m for r in ROUTES for m in r.body} | {
    "Name", "EncodedKey", "Items", "Quantity", "Origins", "DefaultCacheBehavior", "Enabled",
    "Comment", "Paths", "CallerReference", "Bogus"})
POLICY_ARN = "arn:aws:iam::000000000000:policy/p"
SCALARS = st.none() | st.booleans() | st.integers(-2, 2**64) | st.floats(allow_nan=False) | (
    st.sampled_from(["alice", "/", "/team/", "Active", "Inactive", POLICY_ARN, "true", "",
                     "x" * 300, "{}", '{"Version":"2012-10-17"}']))
JSON: Any = st.recursive(
    SCALARS | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(MEMBERS) | st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
SEGMENT = st.sampled_from(["alice", "ops", "p", "AKIAXXXXXXXXXXXXXXXX", "E1", "K1", "..", "%",
                           "a b", "arn:aws:iam::000000000000:policy/x"]) | st.text(
    min_size=1, max_size=12)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealboxApp]:
    data: Path = tmp_path_factory.mktemp("admin-fuzz")
    built = build_app(Settings(data_dir=data), ROOT)
    yield built
    built.services.executor.shutdown()


def request_for(route: Route, values: list[str], query: dict[str, str], body: bytes) -> Request:
    parts = iter(values)
    path = PREFIX + "/".join(
        quote(next(parts), safe="") if s.startswith("{") else s for s in route.segments)
    raw_query = urlencode(query, quote_via=quote)
    url = "http://127.0.0.1:9000" + path + ("?" + raw_query if raw_query else "")
    headers = sign(route.method, url, body, {"Content-Type": "application/json"},
                   ROOT.access_key, ROOT.secret_key, "us-east-1", datetime.now(UTC))
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered["content-length"] = str(len(body))
    sent = [False]

    async def receive() -> dict[str, Any]:
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(route.method, path, raw_query, lowered, "127.0.0.1", "http", receive)
    request.query = dict(query)
    return request


def body_for(route: Route) -> Any:
    """Mostly bodies of the route's own members (strings, documents, CloudFront
    shapes), sometimes anything at all."""
    own = st.sampled_from(route.body or ("Name", "Items", "Comment", "Enabled", "Bogus"))
    values = st.sampled_from(["alice", "/team/", "Active", "readers", "o", "K1"]) | JSON
    document = st.just({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    shaped = st.dictionaries(own, values | document, max_size=4)
    return st.one_of(shaped, shaped, shaped, JSON)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), values=st.lists(SEGMENT, min_size=3, max_size=3),
       query=st.dictionaries(st.sampled_from(["MaxItems", "Marker", "PathPrefix", "Scope",
                                              "OnlyAttached", "Other"]),
                             st.sampled_from(["0", "1", "1001", "x", "/", "-1", ""]),
                             max_size=2))
def test_any_request_is_answered_below_500(app: SealboxApp, data: st.DataObject,
                                           values: list[str], query: dict[str, str]) -> None:
    route = data.draw(st.sampled_from(ROUTES))
    raw = json.dumps(data.draw(body_for(route))).encode()
    response = asyncio.run(admin_api(request_for(route, values, query, raw), app.services,
                                     "FUZZ"))
    assert response.status < 500, response.body
    if response.status >= 400:
        error = json.loads(response.body)["error"]
        assert error["code"] and error["message"] and error["requestId"] == "FUZZ"
