"""``sealbox admin``: accounts, users, access keys, groups, policies, KMS
keys (cli/kms_keys.py) and the account's Block Public Access, through the admin JSON API
(``/_sealbox/api/v1``). Users, keys, groups, policies and Block Public
Access are those of the caller's account; accounts are the administrator's
(the first account's root) to manage.

Every command takes ``--endpoint-url``, ``--data-dir``, ``--region`` and
``--json`` (``client.common_options``); with ``--json`` it prints the API's
answer (IAM's member names), else one line per fact. ``key create`` prints
the new secret once: it is the only time anyone can read it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sealbox.cli.client import AdminClient, client_from, common_options, emit, path
from sealbox.cli.client import read_json_file as read_policy
from sealbox.cli.kms_keys import add_commands as add_kms_key_commands

Handler = Callable[[AdminClient, argparse.Namespace], int]
PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    return lambda args: handler(client_from(args), args)


def _listing(args: argparse.Namespace, items: list[Any], line: Callable[[Any], str]) -> int:
    return emit(args, items, *(line(item) for item in items))


def _prefix(args: argparse.Namespace) -> dict[str, str]:
    return {"PathPrefix": args.path_prefix} if args.path_prefix else {}


# -- accounts --------------------------------------------------------------------


def account_create(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("POST", path("accounts"), {"AccountName": args.name}).body
    account, key = answer["Account"], answer["AccessKey"]
    return emit(args, answer, f"created account {account['AccountName']} "
                f"({account['AccountId']}); its root's access key is shown this once",
                f"ACCOUNT_ID={account['AccountId']}",
                f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}",
                f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}")


def account_list(c: AdminClient, args: argparse.Namespace) -> int:
    accounts = c.call("GET", path("accounts")).body["Accounts"]
    return _listing(args, accounts, lambda a: f"{a['AccountId']}\t{a['AccountName']}"
                    + ("\tadministrator" if a.get("Administrator") else ""))


def account_delete(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("accounts", args.name))
    return emit(args, {}, f"deleted account {args.name}")


# -- users -----------------------------------------------------------------------


def user_create(c: AdminClient, args: argparse.Namespace) -> int:
    body = {"UserName": args.name, **({"Path": args.path} if args.path else {})}
    user = c.call("POST", path("users"), body).body
    return emit(args, user, f"created user {args.name} ({user['User']['Arn']})")


def user_list(c: AdminClient, args: argparse.Namespace) -> int:
    users = list(c.pages(path("users"), "Users", _prefix(args)))
    return _listing(args, users, lambda u: f"{u['UserName']}\t{u['Arn']}")


def user_get(c: AdminClient, args: argparse.Namespace) -> int:
    user = c.call("GET", path("users", args.name)).body
    u = user["User"]
    return emit(args, user, f"{u.get('UserName', 'root')}\t{u['Arn']}\t{u.get('CreateDate', '')}")


def user_delete(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("users", args.name))
    return emit(args, {}, f"deleted user {args.name}")


# -- access keys -------------------------------------------------------------------


def key_create(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("POST", path("users", args.user, "access-keys")).body
    key = answer["AccessKey"]
    return emit(args, answer, f"created access key {key['AccessKeyId']} for {args.user} "
                "(the secret is shown this once)",
                f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}",
                f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}")


def key_list(c: AdminClient, args: argparse.Namespace) -> int:
    keys = list(c.pages(path("users", args.user, "access-keys"), "AccessKeyMetadata"))
    return _listing(args, keys, lambda k: f"{k['AccessKeyId']}\t{k['Status']}\t{k['CreateDate']}")


def _key_status(status: str) -> Handler:
    def update(c: AdminClient, args: argparse.Namespace) -> int:
        c.call("PATCH", path("users", args.user, "access-keys", args.key_id), {"Status": status})
        word = "enabled" if status == "Active" else "disabled"
        return emit(args, {}, f"{word} access key {args.key_id} of {args.user}")

    return update


def key_delete(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("users", args.user, "access-keys", args.key_id))
    return emit(args, {}, f"deleted access key {args.key_id} of {args.user}")


# -- groups ----------------------------------------------------------------------


def group_create(c: AdminClient, args: argparse.Namespace) -> int:
    body = {"GroupName": args.name, **({"Path": args.path} if args.path else {})}
    group = c.call("POST", path("groups"), body).body
    return emit(args, group, f"created group {args.name} ({group['Group']['Arn']})")


def group_list(c: AdminClient, args: argparse.Namespace) -> int:
    groups = list(c.pages(path("groups"), "Groups", _prefix(args)))
    return _listing(args, groups, lambda g: f"{g['GroupName']}\t{g['Arn']}")


def group_get(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("GET", path("groups", args.name)).body
    members = ", ".join(u["UserName"] for u in answer.get("Users", [])) or "no members"
    return emit(args, answer, f"{args.name}\t{answer['Group']['Arn']}\t{members}")


def group_delete(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("groups", args.name))
    return emit(args, {}, f"deleted group {args.name}")


def group_add_user(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("PUT", path("groups", args.group, "users", args.user))
    return emit(args, {}, f"added {args.user} to group {args.group}")


def group_remove_user(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("groups", args.group, "users", args.user))
    return emit(args, {}, f"removed {args.user} from group {args.group}")


# -- policies ----------------------------------------------------------------------


def _owner(args: argparse.Namespace) -> tuple[str, str]:
    """(``users`` or ``groups``, name) from ``--user`` / ``--group``."""
    return ("users", args.user) if args.user else ("groups", args.group)


def policy_create(c: AdminClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"PolicyName": args.name,
                            "PolicyDocument": read_policy(args.file, "--file")}
    if args.path:
        body["Path"] = args.path
    if args.description:
        body["Description"] = args.description
    policy = c.call("POST", path("policies"), body).body
    return emit(args, policy, f"created policy {policy['Policy']['Arn']}")


def policy_list(c: AdminClient, args: argparse.Namespace) -> int:
    policies = list(c.pages(path("policies"), "Policies", {"Scope": "Local", **_prefix(args)}))
    return _listing(args, policies, lambda p: f"{p['Arn']}\tattached {p['AttachmentCount']}")


def policy_get(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("GET", path("policies", args.policy)).body
    args.json = True  # a policy is its document: always shown whole
    return emit(args, answer)


def policy_delete(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("policies", args.policy))
    return emit(args, {}, f"deleted policy {args.policy}")


def policy_attach(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    c.call("POST", path(kind, owner, "attached-policies"), {"PolicyArn": args.policy})
    return emit(args, {}, f"attached {args.policy} to {kind[:-1]} {owner}")


def policy_detach(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    c.call("DELETE", path(kind, owner, "attached-policies", args.policy))
    return emit(args, {}, f"detached {args.policy} from {kind[:-1]} {owner}")


def policy_attached(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    attached = list(c.pages(path(kind, owner, "attached-policies"), "AttachedPolicies"))
    return _listing(args, attached, lambda p: p["PolicyArn"])


def inline_put(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    document = read_policy(args.file, "--file")
    c.call("PUT", path(kind, owner, "policies", args.name), {"PolicyDocument": document})
    return emit(args, {}, f"put inline policy {args.name} of {kind[:-1]} {owner}")


def inline_get(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    answer = c.call("GET", path(kind, owner, "policies", args.name)).body
    args.json = True
    return emit(args, answer)


def inline_delete(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    c.call("DELETE", path(kind, owner, "policies", args.name))
    return emit(args, {}, f"deleted inline policy {args.name} of {kind[:-1]} {owner}")


def inline_list(c: AdminClient, args: argparse.Namespace) -> int:
    kind, owner = _owner(args)
    names = list(c.pages(path(kind, owner, "policies"), "PolicyNames"))
    return _listing(args, names, str)


# -- Block Public Access ------------------------------------------------------------


def _pab_lines(answer: dict[str, Any]) -> list[str]:
    settings = answer.get("PublicAccessBlockConfiguration", {})
    return [f"{name}\t{str(settings.get(name, False)).lower()}" for name in PAB_FLAGS]


def pab_get(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("GET", path("public-access-block")).body
    return emit(args, answer, *_pab_lines(answer))


def pab_put(c: AdminClient, args: argparse.Namespace) -> int:
    body = {name: bool(args.all or getattr(args, name)) for name in PAB_FLAGS}
    answer = c.call("PUT", path("public-access-block"), body).body
    return emit(args, answer, *_pab_lines(answer))


def pab_delete(c: AdminClient, args: argparse.Namespace) -> int:
    c.call("DELETE", path("public-access-block"))
    return emit(args, {}, "deleted the server-wide Block Public Access settings")


# -- the parser ----------------------------------------------------------------------


def _flag(name: str) -> str:
    return "--" + "".join("-" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("-")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``admin`` on the ``sealbox`` sub-command parser."""
    common = common_options()
    admin = sub.add_parser("admin", help="accounts, users, keys, groups, policies, "
                                         "Block Public Access",
                           description="Accounts, and the caller's account's users, access "
                                       "keys, groups, policies and Block Public Access, "
                                       "through the admin JSON API (/_sealbox/api/v1).")
    families = admin.add_subparsers(dest="admin_family", required=True)

    def command(family: argparse._SubParsersAction, name: str,  # type: ignore[type-arg]
                handler: Handler, help_text: str, *arguments: tuple[str, dict[str, Any]],
                owner: bool = False) -> None:
        parser = family.add_parser(name, parents=[common], help=help_text,
                                   description=help_text)
        for flags, options in arguments:
            parser.add_argument(*flags.split(), **options)
        if owner:
            whose = parser.add_mutually_exclusive_group(required=True)
            whose.add_argument("--user", help="the user's")
            whose.add_argument("--group", help="the group's")
        parser.set_defaults(func=_run(handler))

    def family(name: str, help_text: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        parser = families.add_parser(name, help=help_text)
        return parser.add_subparsers(dest=f"{name}_command", required=True)

    Argument = tuple[str, dict[str, Any]]
    name: Argument = ("name", {})
    path_option = ("--path", {"help": "IAM path, e.g. /team/ (default /)"})
    prefix = ("--path-prefix", {"help": "only those whose path starts so"})
    accounts = family("account", "accounts (the administrator only)")
    command(accounts, "create", account_create,
            "create an account; prints its id and its root's access key once", name)
    command(accounts, "list", account_list, "list accounts")
    command(accounts, "delete", account_delete,
            "delete an account and its IAM users, groups, policies and keys (refused while "
            "it owns buckets)", name)

    users = family("user", "IAM users")
    command(users, "create", user_create, "create a user", name, path_option)
    command(users, "list", user_list, "list users", prefix)
    command(users, "get", user_get, "show a user", name)
    command(users, "delete", user_delete, "delete a user (no keys, policies or groups left)",
            name)

    keys = family("key", "access keys of a user")
    user: Argument = ("user", {})
    key_id: Argument = ("key_id", {"metavar": "ACCESS_KEY_ID"})
    command(keys, "create", key_create, "create an access key; prints its secret once", user)
    command(keys, "list", key_list, "list a user's access keys", user)
    command(keys, "disable", _key_status("Inactive"), "disable an access key", user, key_id)
    command(keys, "enable", _key_status("Active"), "enable an access key", user, key_id)
    command(keys, "delete", key_delete, "delete an access key", user, key_id)

    groups = family("group", "IAM groups")
    group: Argument = ("group", {})
    member: Argument = ("user", {})
    command(groups, "create", group_create, "create a group", name, path_option)
    command(groups, "list", group_list, "list groups", prefix)
    command(groups, "get", group_get, "show a group and its members", name)
    command(groups, "delete", group_delete, "delete a group (no members or policies left)",
            name)
    command(groups, "add-user", group_add_user, "add a user to a group", group, member)
    command(groups, "remove-user", group_remove_user, "remove a user from a group", group,
            member)

    policies = family("policy", "managed and inline policies")
    policy = ("policy", {"metavar": "POLICY", "help": "a policy ARN, or a name at path /"})
    document = ("--file", {"required": True, "metavar": "FILE",
                           "help": "the policy document (JSON; file:// accepted)"})
    command(policies, "create", policy_create, "create a managed policy from a file", name,
            document, path_option, ("--description", {}))
    command(policies, "list", policy_list, "list managed policies", prefix)
    command(policies, "get", policy_get, "show a managed policy and its document", policy)
    command(policies, "delete", policy_delete, "delete a managed policy (detached)", policy)
    command(policies, "attach", policy_attach, "attach a managed policy", policy, owner=True)
    command(policies, "detach", policy_detach, "detach a managed policy", policy, owner=True)
    command(policies, "attached", policy_attached, "list the attached managed policies",
            owner=True)
    command(policies, "put-inline", inline_put, "add or replace an inline policy from a file",
            name, document, owner=True)
    command(policies, "get-inline", inline_get, "show an inline policy", name, owner=True)
    command(policies, "delete-inline", inline_delete, "delete an inline policy", name,
            owner=True)
    command(policies, "list-inline", inline_list, "list inline policy names", owner=True)

    add_kms_key_commands(command, family("kms-key", "KMS keys for SSE-KMS (never deleted: "
                                                    "disable one instead)"))

    pab = family("public-access-block", "the server-wide Block Public Access settings")
    switches = [(_flag(n), {"dest": n, "action": "store_true"}) for n in PAB_FLAGS]
    command(pab, "get", pab_get, "show the settings")
    command(pab, "put", pab_put, "set the settings (those not given are off)",
            ("--all", {"action": "store_true", "help": "all four on"}), *switches)
    command(pab, "delete", pab_delete, "remove the settings")
