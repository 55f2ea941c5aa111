"""``sealbox edge``: the edge's public keys, key groups, origin access
controls, distributions and invalidations, through the admin JSON API
(``/_sealbox/api/v1/edge``), with CloudFront's validation and errors.

``key-pair create`` makes the signing key pair too (``cli/key_pair``): the
private key in both PEM forms the signers want, and registers its public
half. Every ``create`` takes ``--id-only`` to print just the new id, for
``ID=$(sealbox edge … --id-only)`` in scripts and the guides.

``distribution create`` takes either a full ``DistributionConfig`` (the
JSON ``aws cloudfront create-distribution --distribution-config`` reads,
``--config FILE``) or a short form that builds one: one bucket origin,
optionally reached through an origin access control, one default
behaviour trusting the key groups given. Changes and deletes read the
resource's ETag first and send it as ``If-Match``, as CloudFront requires.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sealbox.cli.client import (
    AdminClient,
    ApiError,
    client_from,
    common_options,
    emit,
    path,
    read_input_file,
    read_json_file,
)
from sealbox.cli.key_pair import write_key_pair

Handler = Callable[[AdminClient, argparse.Namespace], int]
VIEWER_PROTOCOL_POLICIES = ("allow-all", "redirect-to-https", "https-only")
DEFAULT_TTLS = (0, 86400, 31536000)  # CloudFront's MinTTL, DefaultTTL, MaxTTL defaults
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    return lambda args: handler(client_from(args), args)


def edge_path(*segments: str) -> str:
    return path("edge", *segments)


def parse_ttl(text: str) -> tuple[int, int, int]:
    """``--ttl``: ``DEFAULT`` seconds (MinTTL 0, MaxTTL at least one year) or
    ``MIN,DEFAULT,MAX``."""
    parts = text.split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ApiError(f"--ttl {text!r}: use SECONDS or MIN,DEFAULT,MAX") from None
    if len(numbers) == 1:
        return 0, numbers[0], max(numbers[0], DEFAULT_TTLS[2])
    if len(numbers) == 3:
        return numbers[0], numbers[1], numbers[2]
    raise ApiError(f"--ttl {text!r}: use SECONDS or MIN,DEFAULT,MAX")


def short_config(bucket: str, *, key_groups: list[str], oac: str | None, aliases: list[str],
                 viewer_protocol_policy: str, ttls: tuple[int, int, int], comment: str,
                 forward_referer: bool, enabled: bool, origin_path: str = "",
                 default_root_object: str = "") -> dict[str, Any]:
    """A whole DistributionConfig (boto3's JSON shape) from the short form."""
    origin_id = f"{bucket}-origin"
    origin: dict[str, Any] = {"Id": origin_id, "DomainName": f"{bucket}.s3.amazonaws.com",
                              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    if origin_path:
        origin["OriginPath"] = origin_path
    if oac:
        origin["OriginAccessControlId"] = oac
    headers = ["Referer"] if forward_referer else []
    behaviour: dict[str, Any] = {
        "TargetOriginId": origin_id,
        "TrustedKeyGroups": _list(key_groups, Enabled=bool(key_groups)),
        "ViewerProtocolPolicy": viewer_protocol_policy,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"},
                            "Headers": _list(headers)},
        "MinTTL": ttls[0], "DefaultTTL": ttls[1], "MaxTTL": ttls[2],
    }
    config: dict[str, Any] = {
        "CallerReference": str(uuid.uuid4()),
        "Aliases": _list(aliases),
        "Origins": _list([origin]),
        "DefaultCacheBehavior": behaviour,
        "Comment": comment,
        "Enabled": enabled,
    }
    if default_root_object:
        config["DefaultRootObject"] = default_root_object
    return config


def _list(items: list[Any], **extra: Any) -> dict[str, Any]:
    """A CloudFront list: ``Quantity`` and, when there are any, ``Items``."""
    return {**extra, "Quantity": len(items), **({"Items": items} if items else {})}


def created(args: argparse.Namespace, answer: Any, new_id: str, *lines: str) -> int:
    """Print a create's answer: the new id alone under ``--id-only``, else as
    ``emit`` does."""
    if getattr(args, "id_only", False):
        print(new_id)
        return 0
    return emit(args, answer, *lines)


# -- public keys, key groups, origin access controls -----------------------------------


def _register_public_key(c: AdminClient, pem: str, name: str, comment: str) -> dict[str, Any]:
    body = {"Name": name, "EncodedKey": pem, "Comment": comment}
    return c.call("POST", edge_path("public-keys"), body).body


def public_key_create(c: AdminClient, args: argparse.Namespace) -> int:
    pem = read_input_file(args.pem, "--pem")
    name = args.name or _NAME_CHARS.sub("-", Path(args.pem).stem)[:128] or "public-key"
    answer = _register_public_key(c, pem, name, args.comment)
    key_id = answer["PublicKey"]["Id"]
    return created(args, answer, key_id, f"created public key {key_id} ({name})")


def key_pair_create(c: AdminClient, args: argparse.Namespace) -> int:
    """Write a new key pair's files, then register its public key. The files
    come first: a registered key without its private half would sign nothing."""
    out_dir = Path(args.out_dir).expanduser()
    files = write_key_pair(out_dir, overwrite=args.force)
    # CloudFront wants names unique: the directory's name and the key's own
    # fingerprint, so a --force replacement gets a new one.
    fingerprint = hashlib.sha256(files.public_pem.encode()).hexdigest()[:8]
    stem = _NAME_CHARS.sub("-", out_dir.resolve().name)[:119] or "key-pair"
    name = args.name or f"{stem}-{fingerprint}"
    try:
        answer = _register_public_key(c, files.public_pem, name, args.comment)
    except ApiError as error:
        raise ApiError(f"{error} (the key pair is in {out_dir}; register it later with: "
                       f"sealbox edge public-key create --pem {files.public})",
                       error.code, error.status) from None
    key_id = answer["PublicKey"]["Id"]
    answer["Files"] = {"PrivateKeyPkcs1": str(files.private_pkcs1),
                       "PrivateKeyPkcs8": str(files.private_pkcs8),
                       "PublicKey": str(files.public)}
    return created(
        args, answer, key_id,
        f"created public key {key_id} ({name})",
        f"  {files.private_pkcs1}: private key, PKCS#1 (aws cloudfront sign, sealbox cf-sign)",
        f"  {files.private_pkcs8}: private key, PKCS#8 (Node, most libraries)",
        f"  {files.public}: public key (registered)")


def key_group_create(c: AdminClient, args: argparse.Namespace) -> int:
    body = {"Name": args.name, "Items": args.public_key, "Comment": args.comment}
    answer = c.call("POST", edge_path("key-groups"), body).body
    group_id = answer["KeyGroup"]["Id"]
    return created(args, answer, group_id, f"created key group {group_id} ({args.name})")


def oac_create(c: AdminClient, args: argparse.Namespace) -> int:
    body = {"Name": args.name, "Description": args.description, "SigningProtocol": "sigv4",
            "SigningBehavior": args.signing_behavior, "OriginAccessControlOriginType": "s3"}
    answer = c.call("POST", edge_path("origin-access-controls"), body).body
    oac = answer["OriginAccessControl"]
    return created(args, answer, oac["Id"], f"created origin access control {oac['Id']} "
                                            f"({args.name})")


def _resource(plural: str, list_member: str, root: str,
              line: Callable[[dict[str, Any]], str]) -> dict[str, Handler]:
    """list, get and delete of one kind of resource."""

    def do_list(c: AdminClient, args: argparse.Namespace) -> int:
        items = list(c.pages(edge_path(plural), "Items", cloudfront_list=list_member))
        return emit(args, items, *(line(item) for item in items))

    def do_get(c: AdminClient, args: argparse.Namespace) -> int:
        args.json = True  # a configuration: always shown whole
        return emit(args, c.call("GET", edge_path(plural, args.id)).body)

    def do_delete(c: AdminClient, args: argparse.Namespace) -> int:
        etag = c.call("GET", edge_path(plural, args.id)).body.get("ETag", "")
        try:
            c.call("DELETE", edge_path(plural, args.id), headers={"If-Match": etag})
        except ApiError as error:
            if error.code == "DistributionNotDisabled":
                raise ApiError(f"{error} (first: sealbox edge distribution disable "
                               f"{args.id})", error.code, error.status) from None
            raise
        return emit(args, {}, f"deleted {root} {args.id}")

    return {"list": do_list, "get": do_get, "delete": do_delete}


PUBLIC_KEYS = _resource("public-keys", "PublicKeyList", "public key",
                        lambda k: f"{k['Id']}\t{k['Name']}")
KEY_GROUPS = _resource("key-groups", "KeyGroupList", "key group",
                       lambda g: f"{g['KeyGroup']['Id']}\t{g['KeyGroup']['KeyGroupConfig']['Name']}")
OACS = _resource("origin-access-controls", "OriginAccessControlList", "origin access control",
                 lambda o: f"{o['Id']}\t{o['Name']}")
DISTRIBUTIONS = _resource("distributions", "DistributionList", "distribution",
                          lambda d: f"{d['Id']}\t{d['DomainName']}\t"
                                    f"{'enabled' if d.get('Enabled') else 'disabled'}")


# -- distributions ---------------------------------------------------------------------


def distribution_create(c: AdminClient, args: argparse.Namespace) -> int:
    if args.config:
        if args.bucket:
            raise ApiError("give --config FILE or --bucket BUCKET, not both")
        config = read_json_file(args.config, "--config")
    elif args.bucket:
        config = short_config(
            args.bucket, key_groups=args.key_group, oac=args.oac, aliases=args.alias,
            viewer_protocol_policy=args.viewer_protocol_policy,
            ttls=parse_ttl(args.ttl) if args.ttl else DEFAULT_TTLS, comment=args.comment,
            forward_referer=args.forward_referer, enabled=not args.disabled,
            origin_path=args.origin_path, default_root_object=args.default_root_object)
    else:
        raise ApiError("give --bucket BUCKET (the short form) or --config FILE")
    answer = c.call("POST", edge_path("distributions"), config).body
    d = answer["Distribution"]
    return created(args, answer, d["Id"], f"created distribution {d['Id']} on {d['DomainName']}")


def _set_enabled(enabled: bool) -> Handler:
    def update(c: AdminClient, args: argparse.Namespace) -> int:
        current = c.call("GET", edge_path("distributions", args.id, "config")).body
        config = current["DistributionConfig"]
        config["Enabled"] = enabled
        answer = c.call("PUT", edge_path("distributions", args.id, "config"), config,
                        headers={"If-Match": current.get("ETag", "")}).body
        word = "enabled" if enabled else "disabled"
        return emit(args, answer, f"{word} distribution {args.id}")

    return update


def invalidate(c: AdminClient, args: argparse.Namespace) -> int:
    body = {"Paths": {"Quantity": len(args.paths), "Items": args.paths}}
    answer = c.call("POST", edge_path("distributions", args.distribution, "invalidations"),
                    body).body
    inv = answer["Invalidation"]
    return emit(args, answer, f"invalidation {inv['Id']} of {args.distribution}: "
                f"{inv['Status']} ({len(args.paths)} paths)")


# -- the parser ----------------------------------------------------------------------


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``edge`` on the ``sealbox`` sub-command parser."""
    common = common_options()
    edge = sub.add_parser(
        "edge", help="key pairs, public keys, key groups, origin access controls, "
                     "distributions, invalidations",
        description="The CloudFront-compatible edge, through the admin JSON API "
                    "(/_sealbox/api/v1/edge): a key pair signs links, its public key goes in a "
                    "key group, a distribution trusts the group and reads its bucket through an "
                    "origin access control. docs/edge.md walks through it.")
    kinds = edge.add_subparsers(dest="edge_kind", required=True)

    def command(parent: argparse._SubParsersAction, name: str,  # type: ignore[type-arg]
                handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = parent.add_parser(name, parents=[common], help=help_text,
                                   description=help_text)
        parser.set_defaults(func=_run(handler))
        if name == "create":
            parser.add_argument("--id-only", action="store_true",
                                help="print only the new id (for ID=$(sealbox edge …))")
        return parser

    def kind(name: str, help_text: str, handlers: dict[str, Handler],
             noun: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        commands = kinds.add_parser(name, help=help_text).add_subparsers(
            dest=f"{name}_command", required=True)
        command(commands, "list", handlers["list"], f"list {noun}s")
        command(commands, "get", handlers["get"], f"show a {noun}").add_argument("id")
        command(commands, "delete", handlers["delete"], f"delete a {noun}").add_argument("id")
        return commands

    keys = kind("public-key", "public keys viewers' signatures are checked with", PUBLIC_KEYS,
                "public key")
    p = command(keys, "create", public_key_create, "add a public key (PEM: RSA 2048+ or "
                "ECDSA P-256)")
    p.add_argument("--pem", required=True, metavar="FILE", help="the public key, PEM")
    p.add_argument("--name", help="letters, digits, - and _ (default: the file's name)")
    p.add_argument("--comment", default="")

    pairs = kinds.add_parser("key-pair", help="make a signing key pair and register its "
                                              "public key").add_subparsers(
        dest="key_pair_command", required=True)
    p = command(pairs, "create", key_pair_create,
                "make an RSA 2048 key pair in --out-dir (private_key.pem: PKCS#1, which aws "
                "cloudfront sign needs; private_key_pkcs8.pem: PKCS#8; public_key.pem) and "
                "register the public key; prints its id, the Key-Pair-Id links are signed with")
    p.add_argument("--out-dir", required=True, metavar="DIR",
                   help="write the three PEM files here (private keys mode 0600)")
    p.add_argument("--name", help="the public key's name, unique: letters, digits, - and _ "
                                  "(default: the directory's name and the key's fingerprint)")
    p.add_argument("--comment", default="")
    p.add_argument("--force", action="store_true", help="replace existing key files")

    groups = kind("key-group", "sets of public keys a behaviour trusts", KEY_GROUPS,
                  "key group")
    p = command(groups, "create", key_group_create, "create a key group")
    p.add_argument("--name", required=True)
    p.add_argument("--public-key", action="append", required=True, metavar="ID",
                   help="a public key id (repeatable, up to 5)")
    p.add_argument("--comment", default="")

    oacs = kind("oac", "origin access controls: how a distribution signs to its bucket", OACS,
                "origin access control")
    p = command(oacs, "create", oac_create, "create an origin access control (sigv4 to s3)")
    p.add_argument("--name", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--signing-behavior", choices=["always", "never", "no-override"],
                   default="always")

    dists = kind("distribution", "distributions: a bucket served on its own host name, "
                 "cached, with signed URLs and cookies", DISTRIBUTIONS, "distribution")
    p = command(dists, "create", distribution_create,
                "create a distribution: --bucket and options, or --config FILE")
    p.add_argument("--config", metavar="FILE",
                   help="a whole DistributionConfig, JSON as aws cloudfront takes it")
    p.add_argument("--bucket", help="the origin bucket (short form)")
    p.add_argument("--key-group", action="append", default=[], metavar="ID",
                   help="trust this key group: viewers need signed URLs or cookies "
                        "(repeatable)")
    p.add_argument("--oac", metavar="ID", help="reach the bucket through this origin access "
                                              "control")
    p.add_argument("--alias", action="append", default=[], metavar="HOST",
                   help="another host name the distribution answers on (repeatable)")
    p.add_argument("--viewer-protocol-policy", choices=VIEWER_PROTOCOL_POLICIES,
                   default="redirect-to-https")
    p.add_argument("--ttl", metavar="SECONDS|MIN,DEFAULT,MAX",
                   help="cache TTLs (default 0,86400,31536000)")
    p.add_argument("--forward-referer", action="store_true",
                   help="let the bucket's policy see the viewer's Referer (aws:Referer); "
                        "Referer is then part of the cache key, so a copy cached for one "
                        "Referer is never served to another")
    p.add_argument("--origin-path", default="", metavar="/PREFIX")
    p.add_argument("--default-root-object", default="", metavar="KEY")
    p.add_argument("--comment", default="")
    p.add_argument("--disabled", action="store_true", help="create it disabled")
    command(dists, "disable", _set_enabled(False), "disable a distribution").add_argument("id")
    command(dists, "enable", _set_enabled(True), "enable a distribution").add_argument("id")

    p = command(kinds, "invalidate", invalidate, "drop paths from a distribution's cache")
    p.add_argument("distribution", metavar="DISTRIBUTION_ID")
    p.add_argument("paths", nargs="+", metavar="PATH", help="e.g. /index.html or /images/*")
