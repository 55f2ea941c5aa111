"""The admin JSON API's bodies: an IAM operation's result dict as JSON, and
the one error body. Pure: values in, bytes out.

Member names are IAM's own (``UserName``, ``AccessKeyId``, ``IsTruncated``…),
the names of the IAM Query API's XML and of boto3's ``iam`` client, so a
script can move between the two. Times are ISO 8601 in UTC with a ``Z``.
Policy documents are JSON objects (the stored text, parsed), not IAM's
percent-encoded strings. A secret access key appears only in the answer of
CreateAccessKey (the store sets it on that value alone).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sealbox.api.iam.ops import PolicyVersion, RootUser
from sealbox.store.identity import AccessKey, AttachedPolicy, Group, ManagedPolicy, User

CONTENT_TYPE = "application/json"
_DOCUMENT_MEMBERS = frozenset({"PolicyDocument", "Document"})


def iso_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(text: str) -> Any:
    """A stored policy document as a JSON value (its text if it is not JSON)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _user(user: User | RootUser) -> dict[str, Any]:
    if isinstance(user, RootUser):
        return {"UserId": user.user_id, "Arn": user.arn}
    return {"Path": user.path, "UserName": user.name, "UserId": user.user_id,
            "Arn": user.arn, "CreateDate": user.created}


def _group(group: Group) -> dict[str, Any]:
    return {"Path": group.path, "GroupName": group.name, "GroupId": group.group_id,
            "Arn": group.arn, "CreateDate": group.created}


def _access_key(key: AccessKey) -> dict[str, Any]:
    out: dict[str, Any] = {"UserName": key.user_name, "AccessKeyId": key.access_key_id,
                           "Status": key.status}
    if key.secret_key is not None:
        out["SecretAccessKey"] = key.secret_key
    out["CreateDate"] = key.created
    return out


def _policy(policy: ManagedPolicy) -> dict[str, Any]:
    return {"PolicyName": policy.name, "PolicyId": policy.policy_id, "Arn": policy.arn,
            "Path": policy.path, "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": policy.attachment_count, "IsAttachable": True,
            "Description": policy.description, "CreateDate": policy.created,
            "UpdateDate": policy.updated}


def _attached(policy: AttachedPolicy) -> dict[str, Any]:
    return {"PolicyName": policy.policy_name, "PolicyArn": policy.policy_arn}


def _version(version: PolicyVersion) -> dict[str, Any]:
    return {"Document": version.document, "VersionId": version.version_id,
            "IsDefaultVersion": version.is_default, "CreateDate": version.created}


_SHAPES: dict[type, Any] = {
    User: _user, RootUser: _user, Group: _group, AccessKey: _access_key,
    ManagedPolicy: _policy, AttachedPolicy: _attached, PolicyVersion: _version,
}


def to_json(value: Any, name: str = "") -> Any:
    """A result value as plain JSON types."""
    shape = _SHAPES.get(type(value))
    if shape is not None:
        value = shape(value)
    if isinstance(value, Mapping):
        return {member: to_json(inner, member) for member, inner in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, datetime):
        return iso_time(value)
    if name in _DOCUMENT_MEMBERS and isinstance(value, str):
        return document(value)
    return value


def render_result(operation: str, result: Mapping[str, Any]) -> bytes:
    """The body of a successful answer. GetPolicy carries the policy's
    document too (IAM needs a second call, GetPolicyVersion, for it)."""
    body = to_json(result)
    if operation == "GetPolicy" and isinstance(result.get("Policy"), ManagedPolicy):
        body["Policy"]["PolicyDocument"] = document(result["Policy"].document)
    return dumps(body)


def render_error(code: str, message: str, request_id: str,
                 fields: Mapping[str, str] | None = None) -> bytes:
    """``{"error": {"code", "message", "requestId"}}``: the architecture's
    one shape of an admin API error; ``fields`` adds members (a refused
    signature's ``canonicalRequest`` and ``stringToSign``)."""
    error = {"code": code, "message": message, "requestId": request_id, **(fields or {})}
    return dumps({"error": error})


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
