"""The admin API's JSON: IAM results rendered with IAM's member names (from
the real operations on a SQLite store), the one error shape, and the
request side — bodies parsed, capped and checked against their route."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sealbox.api.admin.bodies import render_error, render_result
from sealbox.api.admin.request import (
    AdminError,
    body_params,
    check_text,
    parse_json,
    query_params,
)
from sealbox.api.admin.routes import PREFIX, match
from sealbox.api.iam.ops import OPERATIONS
from sealbox.api.iam.params import Params
from sealbox.auth.principal import root_principal
from sealbox.store.secrets import SecretCipher
from sealbox.store.sqlite import SqliteMetaStore

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
ROOT = root_principal("ROOTKEY")
DOC = {"Version": "2012-10-17",
       "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.fixture
def store(tmp_path):
    meta = SqliteMetaStore(str(tmp_path / "meta.db"), cipher=SecretCipher([b"\x02" * 32]))
    yield meta
    meta.close()


def run(store: Any, action: str, **params: str) -> dict[str, Any]:
    result = OPERATIONS[action].run(store, Params(params), ROOT, T0)
    return json.loads(render_result(action, result))  # type: ignore[no-any-return]


def route(method: str, path: str) -> Any:
    return match(method, PREFIX + path)[0]


# -- results -----------------------------------------------------------------------


def test_a_user_has_iams_members_and_an_iso_time(store: Any) -> None:
    body = run(store, "CreateUser", UserName="alice", Path="/team/")
    assert body == {"User": {"Path": "/team/", "UserName": "alice",
                             "UserId": body["User"]["UserId"],
                             "Arn": "arn:aws:iam::000000000000:user/team/alice",
                             "CreateDate": "2024-05-06T07:08:09Z"}}


def test_only_create_access_key_answers_the_secret(store: Any) -> None:
    run(store, "CreateUser", UserName="alice")
    made = run(store, "CreateAccessKey", UserName="alice")["AccessKey"]
    assert len(made["SecretAccessKey"]) == 40 and made["Status"] == "Active"
    listed = run(store, "ListAccessKeys", UserName="alice")
    assert listed["AccessKeyMetadata"][0]["AccessKeyId"] == made["AccessKeyId"]
    assert "SecretAccessKey" not in json.dumps(listed)


def test_get_policy_carries_its_document_as_json(store: Any) -> None:
    created = run(store, "CreatePolicy", PolicyName="read", PolicyDocument=json.dumps(DOC))
    arn = created["Policy"]["Arn"]
    assert "PolicyDocument" not in created["Policy"]
    got = run(store, "GetPolicy", PolicyArn=arn)["Policy"]
    assert got["PolicyDocument"] == DOC
    assert got["AttachmentCount"] == 0 and got["IsAttachable"] is True


def test_inline_policy_documents_are_json_objects(store: Any) -> None:
    run(store, "CreateUser", UserName="alice")
    run(store, "PutUserPolicy", UserName="alice", PolicyName="p", PolicyDocument=json.dumps(DOC))
    got = run(store, "GetUserPolicy", UserName="alice", PolicyName="p")
    assert got == {"UserName": "alice", "PolicyName": "p", "PolicyDocument": DOC}


def test_paging_members_are_iams(store: Any) -> None:
    for name in ("a", "b", "c"):
        run(store, "CreateUser", UserName=name)
    first = run(store, "ListUsers", MaxItems="2")
    assert [u["UserName"] for u in first["Users"]] == ["a", "b"]
    assert first["IsTruncated"] is True and first["Marker"] == "b"
    rest = run(store, "ListUsers", Marker=first["Marker"])
    assert [u["UserName"] for u in rest["Users"]] == ["c"] and rest["IsTruncated"] is False


def test_get_user_of_the_root_is_its_arn(store: Any) -> None:
    assert run(store, "GetUser") == {"User": {"UserId": "000000000000",
                                              "Arn": "arn:aws:iam::000000000000:root"}}


def test_an_error_is_one_object_with_code_message_and_request_id() -> None:
    body = json.loads(render_error("NoSuchEntity", "no such user", "REQ1"))
    assert body == {"error": {"code": "NoSuchEntity", "message": "no such user",
                              "requestId": "REQ1"}}
    extra = json.loads(render_error("SignatureDoesNotMatch", "m", "R", {"stringToSign": "s"}))
    assert extra["error"]["stringToSign"] == "s"


# -- bodies ------------------------------------------------------------------------


def test_an_empty_body_is_an_empty_object() -> None:
    assert parse_json(b"") == {} and parse_json(b" \n") == {}


@pytest.mark.parametrize("body", [
    b"{", b"[]", b'"text"', b"1", b"null", b"\xff\xfe{", b'{"a": NaN}', b'{"a": Infinity}',
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"UserName": "a\\u0000b"}', b'{"UserName": "\\ud800"}', b'{"\\u0001": "x"}',
    b'{"a": ["ok", {"b": "\\uffff"}]}',
])
def test_bodies_that_are_not_one_clean_json_object_are_malformed(body: bytes) -> None:
    with pytest.raises(AdminError) as info:
        parse_json(body)
    assert info.value.code == "MalformedJSON" and info.value.status == 400


def test_text_checks_walk_a_deep_document_without_recursion() -> None:
    deep: Any = "\x00"
    for _ in range(20_000):
        deep = [deep]
    with pytest.raises(AdminError):
        check_text(deep)


def test_unknown_and_missing_members_are_refused_by_name() -> None:
    create = route("POST", "users")
    with pytest.raises(AdminError, match="Unknown member 'Bogus'"):
        body_params(create, {"UserName": "a", "Bogus": 1})
    with pytest.raises(AdminError, match="'UserName' is required"):
        body_params(create, {"Path": "/x/"})
    with pytest.raises(AdminError, match="must be a string"):
        body_params(create, {"UserName": 7})
    with pytest.raises(AdminError, match="Unknown member"):
        body_params(route("DELETE", "users/alice"), {"Anything": "x"})


def test_a_policy_document_may_be_an_object_and_a_policy_arn_a_name() -> None:
    put = body_params(route("PUT", "users/a/policies/p"), {"PolicyDocument": DOC})
    assert json.loads(put["PolicyDocument"]) == DOC
    text = body_params(route("PUT", "users/a/policies/p"), {"PolicyDocument": json.dumps(DOC)})
    assert text["PolicyDocument"] == json.dumps(DOC)
    attach = body_params(route("POST", "users/a/attached-policies"), {"PolicyArn": "readers"})
    # A bare name stays a name: it is resolved in the caller's account when
    # the operation runs (accounts: each has its own policies).
    assert attach == {"PolicyArn": "readers"}


def test_query_parameters_are_the_routes_and_presigned_ones_pass() -> None:
    listing = route("GET", "users")
    assert query_params(listing, {"MaxItems": "5", "X-Amz-Signature": "abc"}) == {"MaxItems": "5"}
    with pytest.raises(AdminError, match="Unknown query parameter 'maxitems'"):
        query_params(listing, {"maxitems": "5"})
    with pytest.raises(AdminError, match="takes: none"):
        query_params(route("GET", "users/alice"), {"x": "1"})
