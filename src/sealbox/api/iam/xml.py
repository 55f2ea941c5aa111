"""IAM's XML: an operation's result dict rendered as IAM writes it, and
IAM's error body. Pure: values in, bytes out.

Shapes and member order follow botocore's ``iam/2010-05-08/service-2.json``:

    <CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
      <CreateUserResult><User>…</User></CreateUserResult>
      <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
    </CreateUserResponse>

Lists are ``<member>`` elements; times are ISO 8601 in UTC with a ``Z``;
booleans ``true``/``false``. Policy documents go out percent-encoded, as
IAM sends them (botocore's IAM customisation unquotes them and decodes
the JSON: ``botocore.handlers.json_decode_policies``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sealbox.api.iam.ops import PolicyVersion, RootUser
from sealbox.api.iam.params import IamError
from sealbox.store.identity import AccessKey, AttachedPolicy, Group, ManagedPolicy, User

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
CONTENT_TYPE = "text/xml"
# Members holding a policy document, sent percent-encoded.
_DOCUMENT_MEMBERS = frozenset({"PolicyDocument", "Document"})
# Characters XML 1.0 cannot carry, even escaped (C0 controls but tab, LF,
# CR; lone surrogates; U+FFFE/FFFF). They can only come from a caller's own
# bad value quoted back in a message.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    text = _NOT_XML.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def iso_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_document(document: str) -> str:
    """A policy document as IAM returns it: RFC 3986 percent-encoding."""
    return quote(document, safe="")


def _user(user: User | RootUser) -> dict[str, Any]:
    if isinstance(user, RootUser):
        return {"UserId": user.user_id, "Arn": user.arn}
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created,
    }


def _group(group: Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.created,
    }


def _access_key(key: AccessKey) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if key.user_name is not None:
        out["UserName"] = key.user_name
    out["AccessKeyId"] = key.access_key_id
    out["Status"] = key.status
    if key.secret_key is not None:
        out["SecretAccessKey"] = key.secret_key
    out["CreateDate"] = key.created
    return out


def _policy(policy: ManagedPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": policy.attachment_count,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
    }
    if policy.description:
        out["Description"] = policy.description
    out["CreateDate"] = policy.created
    out["UpdateDate"] = policy.updated
    return out


def _attached(policy: AttachedPolicy) -> dict[str, Any]:
    return {"PolicyName": policy.policy_name, "PolicyArn": policy.policy_arn}


def _version(version: PolicyVersion) -> dict[str, Any]:
    return {
        "Document": version.document,
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "CreateDate": version.created,
    }


_SHAPES: dict[type, Any] = {
    User: _user,
    RootUser: _user,
    Group: _group,
    AccessKey: _access_key,
    ManagedPolicy: _policy,
    AttachedPolicy: _attached,
    PolicyVersion: _version,
}


def _members(name: str, value: Any) -> Iterator[str]:
    shape = _SHAPES.get(type(value))
    if shape is not None:
        value = shape(value)
    if isinstance(value, Mapping):
        yield f"<{name}>"
        for member, inner in value.items():
            yield from _members(member, inner)
        yield f"</{name}>"
    elif isinstance(value, list):
        yield f"<{name}>"
        for item in value:
            yield from _members("member", item)
        yield f"</{name}>"
    else:
        yield f"<{name}>{escape(_scalar(name, value))}</{name}>"


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_time(value)
    if name in _DOCUMENT_MEMBERS:
        return encode_document(str(value))
    return str(value)


def render_result(action: str, result: Mapping[str, Any], request_id: str) -> bytes:
    """``<{Action}Response>`` with ``<{Action}Result>`` when there is a result."""
    parts = [f'<{action}Response xmlns="{NAMESPACE}">']
    if result:
        parts.extend(_members(f"{action}Result", result))
    parts.append(
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
    )
    parts.append(f"</{action}Response>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(parts)).encode("utf-8")


def render_error(error: IamError, request_id: str) -> bytes:
    """IAM's ``<ErrorResponse>``: Type, Code, Message, then the request id."""
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{escape(error.type)}</Type>'
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
