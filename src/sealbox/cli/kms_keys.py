"""``sealbox admin kms-key``: the caller's account's KMS keys for SSE-KMS,
through the admin JSON API (``/_sealbox/api/v1/kms-keys``).

``create`` prints the key's ARN (what ``--sse-kms-key-id`` and a bucket's
``KMSMasterKeyID`` take; the id, the alias and the alias's ARN work too).
Keys are never deleted: ``disable`` stops every use of a key, and its
objects are readable again after ``enable``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sealbox.cli.client import AdminClient, emit, path

Handler = Callable[[AdminClient, argparse.Namespace], int]
Command = Callable[..., None]


def _line(key: dict[str, Any]) -> str:
    aliases = ",".join(key.get("Aliases", [])) or "-"
    return f"{key['Arn']}\t{key['KeyState']}\t{aliases}\t{key.get('Description', '')}"


def key_create(c: AdminClient, args: argparse.Namespace) -> int:
    body = {name: value for name, value in (("Alias", args.alias),
                                            ("Description", args.description)) if value}
    answer = c.call("POST", path("kms-keys"), body).body
    key = answer["KeyMetadata"]
    return emit(args, answer, key["Arn"])


def key_list(c: AdminClient, args: argparse.Namespace) -> int:
    keys = c.call("GET", path("kms-keys")).body["Keys"]
    return emit(args, keys, *(_line(key) for key in keys))


def key_show(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("GET", path("kms-keys", args.key)).body
    return emit(args, answer, _line(answer["KeyMetadata"]))


def _state(verb: str) -> Handler:
    def change(c: AdminClient, args: argparse.Namespace) -> int:
        answer = c.call("POST", path("kms-keys", args.key, verb)).body
        key = answer["KeyMetadata"]
        return emit(args, answer, f"{key['Arn']}\t{key['KeyState']}")
    return change


def add_commands(command: Command, family: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``kms-key`` commands, registered by cli/admin.py's ``command``."""
    key = ("key", {"metavar": "KEY", "help": "key id, key ARN, alias/NAME or alias ARN"})
    command(family, "create", key_create, "create a KMS key; prints its ARN",
            ("--alias", {"metavar": "NAME", "help": "an alias, alias/NAME (alias/ optional)"}),
            ("--description", {"metavar": "TEXT", "default": ""}))
    command(family, "list", key_list, "list the account's KMS keys")
    command(family, "show", key_show, "show a KMS key", key)
    command(family, "disable", _state("disable"),
            "disable a KMS key: its objects are unreadable until it is enabled", key)
    command(family, "enable", _state("enable"), "enable a disabled KMS key", key)
