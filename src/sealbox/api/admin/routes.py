"""The admin JSON API's routes: one table of (method, path pattern) → the
operation that answers it, and the matcher. Pure: a path in, a match (or a
404/405 refusal) out; no work is done here.

Paths are under ``/_sealbox/api/v1/``. A pattern segment in braces is a
parameter, named as the operation names it, so a match yields the
operation's parameters directly:

- IAM routes (``family="iam"``) run the IAM Query API's own operations
  (``sealbox.api.iam.ops``) with IAM's parameter names (``{UserName}``);
- the caller's account's Block Public Access (``family="pab"``) runs
  ``sealbox.api.admin.public_access``;
- edge routes (``family="edge"``, under ``edge/``) run the CloudFront API's
  operations (``sealbox.api.cloudfront.ops``) on the caller's account's
  configuration, with its path ids (``{Id}``,
  ``{DistributionId}``); their bodies are CloudFront's configs as boto3
  writes them (``body_shape``), read by ``sealbox.api.admin.edge_json``.

``{PolicyArn}`` is always last and takes the rest of the path: an ARN holds
``/`` (``arn:aws:iam::000000000000:policy/path/name``), sent as is or with
``%2F``; a bare name means the policy of that name at path ``/`` in the
caller's account (``policy_arn``, applied by the API, which knows the caller).

``kms`` routes (``family="kms"``, under ``kms-keys``) manage the caller's
account's KMS keys (api/admin/kms_keys.py), judged on KMS's own actions
(``kms:CreateKey``, ``kms:ListKeys``, ``kms:DescribeKey``,
``kms:EnableKey``, ``kms:DisableKey``) on the key's ARN, as in AWS.
``{KeyId}`` is a key id, key ARN, alias or alias ARN, its ``/`` sent as
``%2F``.

``accounts`` routes (``family="accounts"``) manage the server's accounts,
judged on ``sealbox:ManageAccounts``, which only the administrator (the
first account's root, and its users it allows) can have.

The table also feeds the OpenAPI document (``sealbox.api.admin.openapi``), so
every route is described there.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from sealbox.auth.principal import ACCOUNT_ID

PREFIX = "/_sealbox/api/v1/"
PAGING = ("Marker", "MaxItems")
LISTING = ("PathPrefix", *PAGING)
AUDIT_QUERY = ("LinkId", "AccessKeyId", "Principal", "Bucket", "Key", "VersionId", "Status",
               "Since", "Until", "MaxItems", "ContinuationToken")
READ_AUDIT = "sealbox:ReadAudit"
DOCTOR = "sealbox:Doctor"
DOCTOR_BODY = ("Url", "Method", "Headers", "RequestId", "SourceIp")
GREEDY = "PolicyArn"
MANAGE_ACCOUNTS = "sealbox:ManageAccounts"


@dataclass(frozen=True)
class Route:
    """One endpoint: the operation, what it takes, what it answers.

    ``body`` names the JSON members it accepts (``required`` of them must be
    there), ``query`` the query parameters; ``status`` is its success status
    (204 when the operation answers nothing).
    """

    method: str
    pattern: str  # e.g. "users/{UserName}/access-keys"
    operation: str  # an iam_ops action, a Block Public Access or a CloudFront operation
    summary: str
    status: int = 200
    body: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    family: str = "iam"  # "iam", "pab", "edge", "links", "audit", "doctor", "accounts", "kms"
    body_shape: str = ""  # edge: the CloudFront config the body is (boto3's JSON shape)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.split("/"))

    @property
    def parameters(self) -> tuple[str, ...]:
        """The path parameters' names, in order."""
        return tuple(s[1:-1] for s in self.segments if s.startswith("{"))

    @property
    def needs_if_match(self) -> bool:
        """CloudFront's optimistic locking: edge changes and deletes name the
        current ETag in ``If-Match``."""
        return self.family == "edge" and self.method in ("PUT", "DELETE")

    @property
    def action(self) -> str:
        """The action the access gate judges: IAM's, CloudFront's, or S3's for
        the server's Block Public Access (as S3 Control judges it)."""
        if self.family == "pab":
            verb = "Get" if self.method == "GET" else "Put"  # Delete is judged as Put
            return f"s3:{verb}AccountPublicAccessBlock"
        if self.family == "edge":
            return f"cloudfront:{self.operation}"
        if self.family == "links":
            return LINK_ACTIONS[self.operation]
        if self.family == "audit":
            return READ_AUDIT
        if self.family == "doctor":
            return DOCTOR
        if self.family == "accounts":
            return MANAGE_ACCOUNTS
        if self.family == "kms":
            return f"kms:{self.operation}"
        return f"iam:{self.operation}"


def _user_and_group(kind: str) -> list[Route]:
    """The inline and attached policy routes, alike for users and groups."""
    owner = f"{kind}s/{{{kind.capitalize()}Name}}"
    title = kind.capitalize()
    return [
        Route("GET", f"{owner}/policies", f"List{title}Policies",
              f"List the {kind}'s inline policy names", query=PAGING),
        Route("PUT", f"{owner}/policies/{{PolicyName}}", f"Put{title}Policy",
              f"Add or replace an inline policy of the {kind}", 204,
              body=("PolicyDocument",), required=("PolicyDocument",)),
        Route("GET", f"{owner}/policies/{{PolicyName}}", f"Get{title}Policy",
              f"Get an inline policy of the {kind}"),
        Route("DELETE", f"{owner}/policies/{{PolicyName}}", f"Delete{title}Policy",
              f"Delete an inline policy of the {kind}", 204),
        Route("GET", f"{owner}/attached-policies", f"ListAttached{title}Policies",
              f"List the managed policies attached to the {kind}", query=LISTING),
        Route("POST", f"{owner}/attached-policies", f"Attach{title}Policy",
              f"Attach a managed policy (ARN or name) to the {kind}", 204,
              body=("PolicyArn",), required=("PolicyArn",)),
        Route("DELETE", f"{owner}/attached-policies/{{PolicyArn}}", f"Detach{title}Policy",
              f"Detach a managed policy (ARN or name) from the {kind}", 204),
    ]


def _edge(method: str, pattern: str, operation: str, summary: str, status: int = 200,
          body_shape: str = "") -> Route:
    """An edge route; lists page with CloudFront's Marker and MaxItems."""
    query = PAGING if operation.startswith("List") else ()
    return Route(method, f"edge/{pattern}", operation, summary, status, query=query,
                 family="edge", body_shape=body_shape)


def _edge_resource(plural: str, title: str, config: str, noun: str) -> list[Route]:
    """List, create, get, update and delete of one CloudFront resource."""
    article = "an" if noun[0] in "aeiou" else "a"
    return [
        _edge("GET", plural, f"List{title}s", f"List {noun}s"),
        _edge("POST", plural, f"Create{title}", f"Create {article} {noun} from a {config}",
              201, config),
        _edge("GET", f"{plural}/{{Id}}", f"Get{title}", f"Get {article} {noun}"),
        _edge("PUT", f"{plural}/{{Id}}", f"Update{title}",
              f"Replace the {config} of {article} {noun} (If-Match: its ETag)", 200, config),
        _edge("DELETE", f"{plural}/{{Id}}", f"Delete{title}",
              f"Delete {article} {noun} (If-Match: its ETag)", 204),
    ]


EDGE_ROUTES: tuple[Route, ...] = (
    # A public key's EncodedKey is PEM: RSA 2048+ or ECDSA P-256.
    *_edge_resource("public-keys", "PublicKey", "PublicKeyConfig", "public key"),
    *_edge_resource("key-groups", "KeyGroup", "KeyGroupConfig", "key group"),
    *_edge_resource("origin-access-controls", "OriginAccessControl",
                    "OriginAccessControlConfig", "origin access control"),
    _edge("GET", "distributions", "ListDistributions", "List distributions"),
    _edge("POST", "distributions", "CreateDistribution",
          "Create a distribution from a DistributionConfig (boto3's JSON shape)", 201,
          "DistributionConfig"),
    _edge("GET", "distributions/{Id}", "GetDistribution", "Get a distribution"),
    _edge("GET", "distributions/{Id}/config", "GetDistributionConfig",
          "Get a distribution's DistributionConfig and its ETag"),
    _edge("PUT", "distributions/{Id}/config", "UpdateDistribution",
          "Replace a distribution's DistributionConfig (If-Match: its ETag)", 200,
          "DistributionConfig"),
    _edge("DELETE", "distributions/{Id}", "DeleteDistribution",
          "Delete a disabled distribution (If-Match: its ETag)", 204),
    _edge("GET", "distributions/{DistributionId}/invalidations", "ListInvalidations",
          "List a distribution's invalidations"),
    _edge("POST", "distributions/{DistributionId}/invalidations", "CreateInvalidation",
          "Drop paths from a distribution's cache", 201, "InvalidationBatch"),
    _edge("GET", "distributions/{DistributionId}/invalidations/{Id}", "GetInvalidation",
          "Get an invalidation"),
)


# Managed links and revocation (sealbox.links; api/admin/links.py): judged as
# the sealbox:* actions, so a user may be allowed to make links and no more.
LINK_ACTIONS = {"CreateLink": "sealbox:CreateLink", "ListLinks": "sealbox:ListLinks",
                "GetLink": "sealbox:GetLink", "RevokeLink": "sealbox:RevokeLink",
                "RevokeUrl": "sealbox:RevokeLink", "GetLinkRules": "sealbox:GetLinkRules",
                "PutLinkRules": "sealbox:PutLinkRules"}
LINK_MEMBERS = ("Bucket", "Key", "Method", "Expires", "MaxUses", "BindIp", "ContentType",
                "MaxSize", "Note", "ResponseContentDisposition", "ResponseContentType", "VersionId")
LINK_ROUTES: tuple[Route, ...] = (
    Route("POST", "links", "CreateLink",
          "Make a managed link (a SigV4 presigned URL signed with the caller's own key) with "
          "a use limit, bound addresses, a PUT's content type and size, a note", 201,
          body=LINK_MEMBERS, required=("Bucket", "Key"), family="links"),
    Route("GET", "links", "ListLinks", "List managed links (newest first, at most 1000)",
          query=("Bucket",), family="links"),
    Route("GET", "links/{LinkId}", "GetLink", "Get a managed link and its use count",
          family="links"),
    Route("DELETE", "links/{LinkId}", "RevokeLink",
          "Revoke a managed link: refused from the next request on every node", family="links"),
    Route("POST", "revocations", "RevokeUrl",
          "Revoke one signed URL made for this server (S3 SigV4 or SigV2 presigned, "
          "CloudFront signed URL, or with Cookies its signed cookies) until its expiry",
          body=("Url", "Cookies"), required=("Url",), family="links"),
    Route("GET", "link-rules", "GetLinkRules",
          "Get the caller's account's signing endpoint rules (POST /_sealbox/sign/<account>; "
          "/_sealbox/sign is the first account's); secrets shown as (set)",
          family="links"),
    Route("PUT", "link-rules", "PutLinkRules",
          "Replace the caller's account's signing endpoint rules: token Issuers and the Rules "
          "of the links their holders may get (SignAs: a user of the account)",
          body=("Issuers", "Rules"), family="links"),
)


ROUTES: tuple[Route, ...] = (
    Route("GET", "users", "ListUsers", "List users", query=LISTING),
    Route("POST", "users", "CreateUser", "Create a user", 201,
          body=("UserName", "Path"), required=("UserName",)),
    Route("GET", "users/{UserName}", "GetUser", "Get a user"),
    Route("DELETE", "users/{UserName}", "DeleteUser",
          "Delete a user (its keys, policies and memberships must be gone)", 204),
    Route("GET", "users/{UserName}/groups", "ListGroupsForUser",
          "List the groups a user is in", query=PAGING),
    Route("GET", "users/{UserName}/access-keys", "ListAccessKeys",
          "List a user's access keys (never their secrets)", query=PAGING),
    Route("POST", "users/{UserName}/access-keys", "CreateAccessKey",
          "Create an access key; the only answer that holds its secret", 201),
    Route("PATCH", "users/{UserName}/access-keys/{AccessKeyId}", "UpdateAccessKey",
          "Enable or disable an access key", 204, body=("Status",), required=("Status",)),
    Route("DELETE", "users/{UserName}/access-keys/{AccessKeyId}", "DeleteAccessKey",
          "Delete an access key", 204),
    *_user_and_group("user"),
    Route("GET", "policies", "ListPolicies", "List managed policies",
          query=("Scope", "OnlyAttached", *LISTING)),
    Route("POST", "policies", "CreatePolicy", "Create a managed policy", 201,
          body=("PolicyName", "PolicyDocument", "Path", "Description"),
          required=("PolicyName", "PolicyDocument")),
    Route("GET", "policies/{PolicyArn}", "GetPolicy",
          "Get a managed policy (ARN or name), with its document"),
    Route("DELETE", "policies/{PolicyArn}", "DeletePolicy",
          "Delete a managed policy (ARN or name; it must be detached)", 204),
    Route("GET", "groups", "ListGroups", "List groups", query=LISTING),
    Route("POST", "groups", "CreateGroup", "Create a group", 201,
          body=("GroupName", "Path"), required=("GroupName",)),
    Route("GET", "groups/{GroupName}", "GetGroup", "Get a group and its users", query=PAGING),
    Route("DELETE", "groups/{GroupName}", "DeleteGroup",
          "Delete a group (its members and policies must be gone)", 204),
    Route("PUT", "groups/{GroupName}/users/{UserName}", "AddUserToGroup",
          "Add a user to a group", 204),
    Route("DELETE", "groups/{GroupName}/users/{UserName}", "RemoveUserFromGroup",
          "Remove a user from a group", 204),
    *_user_and_group("group"),
    Route("GET", "public-access-block", "GetPublicAccessBlock",
          "Get the caller's account's Block Public Access settings", family="pab"),
    Route("PUT", "public-access-block", "PutPublicAccessBlock",
          "Set the caller's account's Block Public Access settings (absent members are false)",
          body=("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                "RestrictPublicBuckets"), family="pab"),
    Route("DELETE", "public-access-block", "DeletePublicAccessBlock",
          "Remove the caller's account's Block Public Access settings", 204, family="pab"),
    *EDGE_ROUTES,
    *LINK_ROUTES,
    Route("GET", "audit", "ListAuditEvents",
          "Audit events, newest first, filtered by the query; paged with ContinuationToken "
          "(needs sealbox:ReadAudit)", query=AUDIT_QUERY, family="audit"),
    Route("GET", "accounts", "ListAccounts",
          "List the server's accounts (the administrator only)", family="accounts"),
    Route("POST", "accounts", "CreateAccount",
          "Create an account; the answer holds its root's access key, shown this once "
          "(the administrator only)", 201, body=("AccountName",), required=("AccountName",),
          family="accounts"),
    Route("GET", "accounts/{AccountName}", "GetAccount", "Get an account (the administrator only)",
          family="accounts"),
    Route("DELETE", "accounts/{AccountName}", "DeleteAccount",
          "Delete an account and its IAM users, groups, policies, keys and link rules; refused "
          "while it owns buckets or edge configuration (the administrator only)", 204,
          family="accounts"),
    Route("GET", "kms-keys", "ListKeys", "List the caller's account's KMS keys (SSE-KMS)",
          family="kms"),
    Route("POST", "kms-keys", "CreateKey",
          "Create a KMS key of the caller's account, with an optional alias and description",
          201, body=("Alias", "Description"), family="kms"),
    Route("GET", "kms-keys/{KeyId}", "DescribeKey",
          "Describe a KMS key (by id, ARN, alias or alias ARN)", family="kms"),
    Route("POST", "kms-keys/{KeyId}/disable", "DisableKey",
          "Disable a KMS key: its objects cannot be read or written until it is enabled",
          family="kms"),
    Route("POST", "kms-keys/{KeyId}/enable", "EnableKey", "Enable a disabled KMS key",
          family="kms"),
    Route("POST", "doctor", "Doctor",
          "Why a signed URL or a refused request (by request id) fails, in plain words "
          "(needs sealbox:Doctor; an account diagnoses its own keys, the first account all)",
          body=DOCTOR_BODY, family="doctor"),
)


class RouteError(Exception):
    """No route: 404 (no such path) or 405 (``allowed`` names the methods)."""

    def __init__(self, status: int, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.allowed = allowed


def policy_arn(value: str, account: str = ACCOUNT_ID) -> str:
    """A policy ARN as given, or the ARN of a policy name at path ``/`` in ``account``."""
    return value if value.startswith("arn:") else f"arn:aws:iam::{account}:policy/{value}"


def split_path(raw_path: str) -> tuple[str, ...] | None:
    """The decoded segments after ``PREFIX`` (a trailing ``/`` dropped), or
    None when the path is not under it or does not decode as UTF-8."""
    if not raw_path.startswith(PREFIX):
        return None
    rest = raw_path[len(PREFIX):]
    rest = rest.removesuffix("/")
    try:
        return tuple(
            unquote_to_bytes(part.encode("utf-8", "surrogateescape")).decode("utf-8")
            for part in rest.split("/")
        )
    except UnicodeError:
        return None


def _bind(pattern: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    """The parameters of ``parts`` under ``pattern``, or None if it does not fit."""
    params: dict[str, str] = {}
    for index, segment in enumerate(pattern):
        if index >= len(parts):
            return None
        if segment.startswith("{"):
            name = segment[1:-1]
            if name == GREEDY:  # always last: the rest of the path
                value = "/".join(parts[index:])
                if not value:
                    return None
                params[name] = value  # an ARN or a name: policy_arn, with the caller's account
                return params
            if not parts[index]:
                return None
            params[name] = parts[index]
        elif segment != parts[index]:
            return None
    return params if len(parts) == len(pattern) else None


def match(method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
    """The route of ``method raw_path`` and its path parameters; ``RouteError``
    404 when no pattern fits the path, 405 when one fits but not the method."""
    parts = split_path(raw_path)
    if parts is None:
        raise RouteError(404)
    allowed: list[str] = []
    for route in ROUTES:
        params = _bind(route.segments, parts)
        if params is None:
            continue
        if route.method == method:
            return route, params
        allowed.append(route.method)
    if allowed:
        raise RouteError(405, tuple(dict.fromkeys(allowed)))
    raise RouteError(404)
