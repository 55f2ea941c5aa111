"""``sealbox link``: managed links and revocation, through the admin JSON API
(``/_sealbox/api/v1/links`` and ``/revocations``, ``sealbox.links``).

``create`` prints the URL (``--json``: ``LinkId``, ``Url``, ``Expires``,
``MaxUses``); ``list`` and ``show`` print one line a link; ``revoke`` takes
a link id or any signed URL made for the server (S3 SigV4/SigV2 presigned,
CloudFront signed; ``--cookie`` for signed cookies) and prints what was
revoked and until when.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from sealbox.cli.client import AdminClient, ApiError, client_from, common_options, emit, path
from sealbox.links.model import LinkError, is_link_id, parse_expires
from sealbox.links.rules import MAX_DOCUMENT

Handler = Callable[[AdminClient, argparse.Namespace], int]


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    return lambda args: handler(client_from(args), args)


def split_s3_url(text: str) -> tuple[str, str]:
    """``s3://BUCKET/KEY`` → (bucket, key); ``ApiError`` otherwise."""
    if not text.startswith("s3://"):
        raise ApiError(f"{text!r}: name the object as s3://BUCKET/KEY")
    bucket, _, key = text[5:].partition("/")
    if not bucket or not key:
        raise ApiError(f"{text!r}: name the object as s3://BUCKET/KEY")
    return bucket, key


def create(c: AdminClient, args: argparse.Namespace) -> int:
    bucket, key = split_s3_url(args.target)
    try:
        expires = parse_expires(args.expires)
    except LinkError as error:
        raise ApiError(f"--expires: {error.message}") from None
    body: dict[str, Any] = {"Bucket": bucket, "Key": key, "Method": args.method,
                            "Expires": expires}
    for member, value in (("MaxUses", args.uses), ("ContentType", args.content_type),
                          ("MaxSize", args.max_size), ("Note", args.note),
                          ("ResponseContentDisposition", args.content_disposition),
                          ("VersionId", args.version_id)):
        if value is not None:
            body[member] = value
    if args.bind_ip:
        body["BindIp"] = args.bind_ip
    answer = c.call("POST", path("links"), body).body
    shown = {k: answer.get(k) for k in ("LinkId", "Url", "Expires", "MaxUses")}
    if answer.get("VersionId") is not None:
        shown["VersionId"] = answer["VersionId"]
    return emit(args, shown, answer["Url"])


def _line(link: dict[str, Any]) -> str:
    uses = f"{link['Uses']}/{link['MaxUses']}" if link.get("MaxUses") else f"{link['Uses']}/-"
    state = "revoked" if link.get("Revoked") else "active"
    note = f"  {link['Note']}" if link.get("Note") else ""
    return (f"{link['LinkId']}  {link['Method']:<4} s3://{link['Bucket']}/{link['Key']}  "
            f"uses {uses}  until {link['Expires']}  {state}{note}")


def list_links(c: AdminClient, args: argparse.Namespace) -> int:
    query = {"Bucket": args.bucket} if args.bucket else None
    answer = c.call("GET", path("links"), query=query).body
    links = answer.get("Links", [])
    return emit(args, {"Links": links}, *(_line(link) for link in links))


def show(c: AdminClient, args: argparse.Namespace) -> int:
    link = c.call("GET", path("links", args.link_id)).body
    return emit(args, link, _line(link))


def revoke(c: AdminClient, args: argparse.Namespace) -> int:
    target = args.target
    if is_link_id(target):
        answer = c.call("DELETE", path("links", target)).body
    else:
        body: dict[str, Any] = {"Url": target}
        if args.cookie:
            body["Cookies"] = args.cookie
        answer = c.call("POST", path("revocations"), body).body
    return emit(args, answer, f"revoked {answer['Revoked']} until {answer['Until']}")


def _read_rules(name: str) -> dict[str, Any]:
    """The rules file as the API takes it: each issuer's ``JwksFile`` (a
    path, relative to the rules file) read now and sent as ``Jwks``."""
    try:
        size = os.path.getsize(name)
        if size > MAX_DOCUMENT:
            raise ApiError(f"{name}: the rules document must be at most {MAX_DOCUMENT} bytes "
                           f"(it has {size})")
        with open(name, "rb") as f:
            document = json.loads(f.read())
    except OSError as error:
        raise ApiError(f"{name}: {error.strerror}") from None
    except ValueError:
        raise ApiError(f"{name}: not JSON") from None
    if not isinstance(document, dict):
        raise ApiError(f"{name}: the rules document must be a JSON object")
    issuers = document.get("Issuers")
    for i, issuer in enumerate(issuers if isinstance(issuers, list) else []):
        if isinstance(issuer, dict) and isinstance(issuer.get("JwksFile"), str):
            jwks_name = os.path.join(os.path.dirname(name), issuer.pop("JwksFile"))
            try:
                with open(jwks_name, "rb") as f:
                    issuer["Jwks"] = json.loads(f.read(MAX_DOCUMENT + 1))
            except (OSError, ValueError):
                raise ApiError(f"Issuers[{i}].JwksFile: {jwks_name} is not a readable JSON "
                               "file") from None
    return document


def rules_put(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("PUT", path("link-rules"), _read_rules(args.file)).body
    issuers, rules = len(answer.get("Issuers", [])), len(answer.get("Rules", []))
    return emit(args, answer, f"link rules stored: {issuers} issuers, {rules} rules")


def rules_get(c: AdminClient, args: argparse.Namespace) -> int:
    answer = c.call("GET", path("link-rules")).body
    return emit(args, answer, json.dumps(answer, indent=2, ensure_ascii=False))


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``link`` on the ``sealbox`` sub-command parser."""
    common = common_options()
    link = sub.add_parser(
        "link", help="links you control: managed links (uses, addresses) and revocation",
        description="Managed links (SigV4 presigned URLs with a use limit, bound addresses, "
                    "a PUT's content type and size) and revocation of any one signed link, "
                    "through the admin JSON API (/_sealbox/api/v1/links).")
    commands = link.add_subparsers(dest="link_command", required=True)

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, parents=[common], help=help_text,
                                     description=help_text)
        parser.set_defaults(func=_run(handler))
        return parser

    p = command("create", create, "make a managed link to an object; prints its URL")
    p.add_argument("target", metavar="s3://BUCKET/KEY")
    p.add_argument("--method", default="GET", choices=("GET", "HEAD", "PUT"))
    p.add_argument("--expires", default="3600",
                   help="seconds or 15m, 12h, 7d; at most 7 days (default 3600)")
    p.add_argument("--uses", type=int, help="admitted requests at most (a Range GET and a "
                                            "HEAD count)")
    p.add_argument("--bind-ip", action="append", default=[], metavar="CIDR",
                   help="only from this network or address (repeatable)")
    p.add_argument("--content-type", help="PUT: the Content-Type the upload must send")
    p.add_argument("--max-size", type=int, metavar="BYTES", help="PUT: the body's most bytes")
    p.add_argument("--content-disposition", help="GET: response-content-disposition")
    p.add_argument("--note", help="a note for the owner")
    p.add_argument("--version-id", metavar="V",
                   help="GET/HEAD: this version of the key, never another")
    p = command("list", list_links, "list managed links, newest first")
    p.add_argument("--bucket", help="only this bucket's")
    p = command("show", show, "show one managed link and its use count")
    p.add_argument("link_id", metavar="ID")
    p = command("revoke", revoke, "revoke a managed link (its id) or any signed URL made for "
                                  "this server, until its own expiry")
    p.add_argument("target", metavar="ID_OR_URL")
    p.add_argument("--cookie", metavar="TEXT",
                   help="CloudFront signed cookies (a Cookie header's text) with the URL")
    rules = commands.add_parser(
        "rules", help="the signing endpoint's rules (POST /_sealbox/sign)",
        description="Which application tokens (JWTs) the signing endpoint believes and "
                    "which links their holders may get.")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    p = rule_commands.add_parser("put", parents=[common], help="replace the rules with a file",
                                 description="Replace the rules with a JSON file (an issuer's "
                                             "JwksFile is read now and sent as its keys).")
    p.add_argument("--file", required=True, metavar="rules.json")
    p.set_defaults(func=_run(rules_put))
    p = rule_commands.add_parser("get", parents=[common], help="print the rules (secrets "
                                 "shown as (set))", description="Print the rules.")
    p.set_defaults(func=_run(rules_get))
