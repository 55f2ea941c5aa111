"""The IAM operations, one plain function each, and the table that names
them with the ``iam:`` action and resource each is judged on.

An operation is ``fn(store, params, caller, now) -> Result``: synchronous
(the caller runs it in the thread pool), no HTTP, no XML. ``Result`` is a
dict keyed by IAM's output member names in IAM's order, holding the
store's values (``User``, ``Group``, ``AccessKey``, ``ManagedPolicy``,
``AttachedPolicy``), ``RootUser``, ``PolicyVersion``, strings, bools and
lists of them; ``{}`` for operations that answer nothing. The IAM Query API
renders it with ``iam_xml``; the admin JSON API can render the same dict.

Errors: the store's ``IdentityError`` as is (IAM's codes and messages),
``IamError`` for what is checked here (parameters, policy grammar).

Paging: IAM's ``Marker`` is opaque. Here it is the last item's sort key
(a name, an access key id or a policy ARN), and a page holds the items
after it; lists read whole from the store are sorted by that key first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sealbox.access.model import MalformedPolicy, parse_policy
from sealbox.api.iam.params import IamError, Params, validation_error
from sealbox.auth.principal import ACCOUNT_ID, Principal, root_arn
from sealbox.store.identity import (
    ACCESS_KEY_ID,
    IdentityError,
    IdentityStore,
    ManagedPolicy,
    NoSuchEntity,
    arn,
    check_document,
    check_name,
    check_path,
)

Result = dict[str, Any]
Operation = Callable[[IdentityStore, Params, Principal, datetime], Result]
T = TypeVar("T")

ACCESS_KEY_STATUSES = ("Active", "Inactive")
POLICY_SCOPES = ("All", "AWS", "Local")
_ARN_MIN, _ARN_MAX = 20, 2048


@dataclass(frozen=True)
class RootUser:
    """GetUser asked by the root user: IAM answers with the account's id and
    the root ARN, and no user name or path (the root user is no IAM user)."""

    user_id: str = ACCOUNT_ID
    arn: str = root_arn(ACCOUNT_ID)

    @classmethod
    def of(cls, account: str) -> RootUser:
        return cls(account, root_arn(account))


def caller_account(caller: Principal) -> str:
    """The account an IAM request acts in: the caller's own (IAM never
    reaches into another account)."""
    return caller.account or ACCOUNT_ID


@dataclass(frozen=True)
class PolicyVersion:
    document: str
    version_id: str
    is_default: bool
    created: datetime


# -- helpers -----------------------------------------------------------------


def caller_user(params: Params, caller: Principal) -> str | None:
    """``UserName``, or when absent the caller's own (None: the root user) —
    IAM's rule for GetUser and the access key operations."""
    name = params.get("UserName")
    if name is not None:
        return name
    return caller.name if caller.kind == "user" else None


def page(items: Sequence[T], key: Callable[[T], str], params: Params) -> tuple[list[T], Result]:
    """One page of ``items`` (sorted by ``key`` here) after ``Marker``, and
    the ``IsTruncated``/``Marker`` members to answer with."""
    marker, limit = params.marker(), params.max_items()
    rest = sorted((item for item in items if not marker or key(item) > marker), key=key)
    return _paged(rest, key, limit)


def _paged(rest: Sequence[T], key: Callable[[T], str], limit: int) -> tuple[list[T], Result]:
    shown = list(rest[:limit])
    if len(rest) > limit:
        return shown, {"IsTruncated": True, "Marker": key(shown[-1])}
    return shown, {"IsTruncated": False}


def checked_document(params: Params, name: str = "PolicyDocument") -> str:
    """A policy document IAM would take: its characters, then its grammar
    (the policy engine's, as an identity policy)."""
    document = params.required(name)
    check_document(document, "policyDocument")
    try:
        parse_policy(document, kind="identity")
    except MalformedPolicy as error:
        raise IamError("MalformedPolicyDocument", error.reason) from None
    return document


def policy_arn(params: Params) -> str:
    value = params.required("PolicyArn")
    if not _ARN_MIN <= len(value) <= _ARN_MAX:
        raise validation_error(
            "policyArn", value, f"Member must have length between {_ARN_MIN} and {_ARN_MAX}"
        )
    if not value.startswith("arn:"):
        raise IamError("InvalidInput", f"ARN {value} is not valid.")
    return value


def _key_id(params: Params) -> str:
    key_id = params.required("AccessKeyId")
    check_name("accessKeyId", key_id, ACCESS_KEY_ID)
    return key_id


def _path_prefix(params: Params) -> str:
    prefix = params.optional("PathPrefix", "/")
    if not prefix.startswith("/") or len(prefix) > 512 or not prefix.isascii():
        raise validation_error(
            "pathPrefix",
            prefix,
            r"Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*",
        )
    return prefix


def _store_page(
    fetch: Callable[..., Sequence[T]], key: Callable[[T], str], params: Params, **filters: Any
) -> tuple[list[T], Result]:
    """A page the store cuts itself (``after``/``limit``), one extra item read
    to learn whether there are more."""
    limit = params.max_items()
    rows = fetch(after=params.marker(), limit=limit + 1, **filters)
    return _paged(rows, key, limit)


def _name(item: Any) -> str:
    return str(item.name).lower()


# -- users ---------------------------------------------------------------------


def create_user(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    # Tags and PermissionsBoundary are accepted and not kept (sealbox has neither).
    user = store.create_user(
        params.required("UserName"), path=params.optional("Path", "/"), now=now
    )
    return {"User": user}


def get_user(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    name = caller_user(params, caller)
    return {"User": RootUser.of(caller_account(caller)) if name is None
            else store.get_user(name)}


def list_users(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    users, more = _store_page(store.list_users, _name, params, path_prefix=_path_prefix(params))
    return {"Users": users, **more}


def delete_user(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    store.delete_user(params.required("UserName"))
    return {}


# -- access keys -----------------------------------------------------------------


def create_access_key(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    return {"AccessKey": store.create_access_key(caller_user(params, caller), now=now)}


def list_access_keys(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    user = caller_user(params, caller)
    if user is not None:
        store.get_user(user)  # NoSuchEntity for a user that does not exist
    keys, more = page(store.list_access_keys(user), lambda k: k.access_key_id, params)
    return {"AccessKeyMetadata": keys, **more}


def update_access_key(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    key_id = _key_id(params)
    status = params.choice("Status", ACCESS_KEY_STATUSES)
    store.update_access_key(caller_user(params, caller), key_id, status)  # type: ignore[arg-type]
    return {}


def delete_access_key(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    store.delete_access_key(caller_user(params, caller), _key_id(params))
    return {}


# -- inline policies (users and groups alike) ---------------------------------------


def _inline_ops(kind: str) -> dict[str, Operation]:
    """Put/Get/List/Delete{User,Group}Policy: the same four on either owner."""
    owner_param = f"{kind.capitalize()}Name"
    put = f"put_{kind}_policy"
    get = f"get_{kind}_policy"
    lst = f"list_{kind}_policies"
    delete = f"delete_{kind}_policy"

    def put_policy(
        store: IdentityStore, params: Params, caller: Principal, now: datetime
    ) -> Result:
        owner, name = params.required(owner_param), params.required("PolicyName")
        getattr(store, put)(owner, name, checked_document(params))
        return {}

    def get_policy(
        store: IdentityStore, params: Params, caller: Principal, now: datetime
    ) -> Result:
        owner, name = params.required(owner_param), params.required("PolicyName")
        document = getattr(store, get)(owner, name)
        return {owner_param: owner, "PolicyName": name, "PolicyDocument": document}

    def list_policies(
        store: IdentityStore, params: Params, caller: Principal, now: datetime
    ) -> Result:
        names, more = page(getattr(store, lst)(params.required(owner_param)), str, params)
        return {"PolicyNames": names, **more}

    def delete_policy(
        store: IdentityStore, params: Params, caller: Principal, now: datetime
    ) -> Result:
        getattr(store, delete)(params.required(owner_param), params.required("PolicyName"))
        return {}

    return {
        f"Put{kind.capitalize()}Policy": put_policy,
        f"Get{kind.capitalize()}Policy": get_policy,
        f"List{kind.capitalize()}Policies": list_policies,
        f"Delete{kind.capitalize()}Policy": delete_policy,
    }


# -- managed policies and attachments ------------------------------------------------


def create_policy(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    name = params.required("PolicyName")
    document = checked_document(params)
    policy = store.create_policy(
        name,
        document,
        path=params.optional("Path", "/"),
        description=params.optional("Description", ""),
        now=now,
    )
    return {"Policy": policy}


def get_policy(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    return {"Policy": store.get_policy(policy_arn(params))}


def list_policies(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    scope = params.choice("Scope", POLICY_SCOPES, "All")
    only_attached = params.boolean("OnlyAttached")
    prefix = _path_prefix(params)
    if scope == "AWS":  # sealbox has no AWS managed policies
        return {"Policies": [], "IsTruncated": False}
    policies, more = _store_page(
        store.list_policies, _name, params, path_prefix=prefix, only_attached=only_attached
    )
    # IAM leaves Description out of ListPolicies (GetPolicy carries it).
    return {"Policies": [_without_description(p) for p in policies], **more}


def _without_description(policy: ManagedPolicy) -> ManagedPolicy:
    return dataclasses.replace(policy, description="")


def delete_policy(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    store.delete_policy(policy_arn(params))
    return {}


def get_policy_version(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    the_arn = policy_arn(params)
    version = params.required("VersionId")
    policy = store.get_policy(the_arn)
    if version != policy.default_version_id:
        raise NoSuchEntity(
            "policy version",
            version,
            f"Policy {the_arn} version {version} does not exist or is not attachable.",
        )
    return {"PolicyVersion": PolicyVersion(policy.document, version, True, policy.created)}


def _attachment_ops(kind: str) -> dict[str, Operation]:
    """Attach/Detach/ListAttached{User,Group}Policies."""
    owner_param = f"{kind.capitalize()}Name"

    def attach(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
        getattr(store, f"attach_{kind}_policy")(params.required(owner_param), policy_arn(params))
        return {}

    def detach(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
        getattr(store, f"detach_{kind}_policy")(params.required(owner_param), policy_arn(params))
        return {}

    def list_attached(
        store: IdentityStore, params: Params, caller: Principal, now: datetime
    ) -> Result:
        owner = params.required(owner_param)
        prefix = _path_prefix(params)
        attached = getattr(store, f"list_attached_{kind}_policies")(owner)
        wanted = [p for p in attached if _policy_path(p.policy_arn).startswith(prefix)]
        shown, more = page(wanted, lambda p: p.policy_arn, params)
        return {"AttachedPolicies": shown, **more}

    title = kind.capitalize()
    return {
        f"Attach{title}Policy": attach,
        f"Detach{title}Policy": detach,
        f"ListAttached{title}Policies": list_attached,
    }


def _policy_path(policy_arn: str) -> str:
    resource = policy_arn.split(":", 5)[-1]  # policy/path/name
    return resource[len("policy") : resource.rfind("/") + 1] or "/"


# -- groups ----------------------------------------------------------------------


def create_group(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    group = store.create_group(
        params.required("GroupName"), path=params.optional("Path", "/"), now=now
    )
    return {"Group": group}


def get_group(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    name = params.required("GroupName")
    group = store.get_group(name)
    users, more = page(store.list_group_users(name), _name, params)
    return {"Group": group, "Users": users, **more}


def list_groups(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    groups, more = _store_page(store.list_groups, _name, params, path_prefix=_path_prefix(params))
    return {"Groups": groups, **more}


def delete_group(store: IdentityStore, params: Params, caller: Principal, now: datetime) -> Result:
    store.delete_group(params.required("GroupName"))
    return {}


def add_user_to_group(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    store.add_user_to_group(params.required("GroupName"), params.required("UserName"))
    return {}


def remove_user_from_group(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    store.remove_user_from_group(params.required("GroupName"), params.required("UserName"))
    return {}


def list_groups_for_user(
    store: IdentityStore, params: Params, caller: Principal, now: datetime
) -> Result:
    groups, more = page(store.list_groups_for_user(params.required("UserName")), _name, params)
    return {"Groups": groups, **more}


# -- resources: what each action is judged on -------------------------------------------


def _entity_arn(store: IdentityStore, kind: str, name: str) -> str:
    """An existing user's or group's ARN, with its path; ``/`` when it does
    not exist (the operation then answers NoSuchEntity, if allowed at all)."""
    try:
        entity = store.get_user(name) if kind == "user" else store.get_group(name)
    except IdentityError:
        return arn(kind, "/", name, store.account)
    return entity.arn


def own_user_resource(store: IdentityStore, params: Params, caller: Principal) -> str:
    """The user named, or when none is the caller (GetUser, access keys)."""
    name = caller_user(params, caller)
    if name is None:
        return root_arn(caller_account(caller))
    return _entity_arn(store, "user", name)


def user_resource(store: IdentityStore, params: Params, caller: Principal) -> str:
    return _entity_arn(store, "user", params.required("UserName"))


def group_resource(store: IdentityStore, params: Params, caller: Principal) -> str:
    return _entity_arn(store, "group", params.required("GroupName"))


def new_resource(kind: str, param: str) -> Callable[[IdentityStore, Params, Principal], str]:
    """The ARN an entity being created will have (its path and name)."""

    def resource(store: IdentityStore, params: Params, caller: Principal) -> str:
        path = params.optional("Path", "/")
        check_path(path)
        return arn(kind, path, params.required(param), caller_account(caller))

    return resource


def listing_resource(kind: str) -> Callable[[IdentityStore, Params, Principal], str]:
    def resource(store: IdentityStore, params: Params, caller: Principal) -> str:
        return arn(kind, _path_prefix(params), "*", caller_account(caller))

    return resource


def policy_resource(store: IdentityStore, params: Params, caller: Principal) -> str:
    return policy_arn(params)


def any_resource(store: IdentityStore, params: Params, caller: Principal) -> str:
    return "*"


Resource = Callable[[IdentityStore, Params, Principal], str]


@dataclass(frozen=True)
class Spec:
    """One IAM action: its function and the ``iam:`` resource it is judged on."""

    run: Operation
    resource: Resource

    def action(self, name: str) -> str:
        return f"iam:{name}"


def _specs() -> dict[str, Spec]:
    user_inline, group_inline = _inline_ops("user"), _inline_ops("group")
    user_attached, group_attached = _attachment_ops("user"), _attachment_ops("group")
    table: dict[str, Spec] = {
        "CreateUser": Spec(create_user, new_resource("user", "UserName")),
        "GetUser": Spec(get_user, own_user_resource),
        "ListUsers": Spec(list_users, listing_resource("user")),
        "DeleteUser": Spec(delete_user, user_resource),
        "CreateAccessKey": Spec(create_access_key, own_user_resource),
        "ListAccessKeys": Spec(list_access_keys, own_user_resource),
        "UpdateAccessKey": Spec(update_access_key, own_user_resource),
        "DeleteAccessKey": Spec(delete_access_key, own_user_resource),
        "CreatePolicy": Spec(create_policy, new_resource("policy", "PolicyName")),
        "GetPolicy": Spec(get_policy, policy_resource),
        "ListPolicies": Spec(list_policies, any_resource),
        "DeletePolicy": Spec(delete_policy, policy_resource),
        "GetPolicyVersion": Spec(get_policy_version, policy_resource),
        "CreateGroup": Spec(create_group, new_resource("group", "GroupName")),
        "GetGroup": Spec(get_group, group_resource),
        "ListGroups": Spec(list_groups, listing_resource("group")),
        "DeleteGroup": Spec(delete_group, group_resource),
        "AddUserToGroup": Spec(add_user_to_group, group_resource),
        "RemoveUserFromGroup": Spec(remove_user_from_group, group_resource),
        "ListGroupsForUser": Spec(list_groups_for_user, user_resource),
    }
    for name, fn in {**user_inline, **user_attached}.items():
        table[name] = Spec(fn, user_resource)
    for name, fn in {**group_inline, **group_attached}.items():
        table[name] = Spec(fn, group_resource)
    return table


OPERATIONS: dict[str, Spec] = _specs()
"""Every IAM action sealbox answers, by its ``Action`` name."""
