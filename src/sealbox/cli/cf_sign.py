"""``sealbox cf-sign``: a CloudFront signed URL or signed cookies, with the
options of ``aws cloudfront sign`` (plus ``--cookies``, ``--policy``,
``--hash-algorithm`` and ``--json``)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from sealbox.auth.cloudfront_sign import load_private_key, sign
from sealbox.cli.files import read_capped

MAX_KEY_FILE_BYTES = 64 * 1024


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``cf-sign`` on the ``sealbox`` sub-command parser."""
    parser = sub.add_parser(
        "cf-sign", help="make a CloudFront signed URL or signed cookies",
        description="Sign a URL (or print signed cookies) as CloudFront verifies them. A custom "
                    "policy is used when --date-greater-than, --ip-address or a --resource "
                    "other than --url (a wildcard) is given; otherwise a canned one.")
    parser.add_argument("--url", required=True, help="the URL to sign (https://host/path?query)")
    parser.add_argument("--key-pair-id", required=True, help="the public key's id in the key group")
    parser.add_argument("--private-key", required=True, metavar="FILE",
                        help="PEM private key (RSA 2048+ or ECDSA P-256); file:// allowed")
    parser.add_argument("--date-less-than", required=True, metavar="DATE",
                        help="expiry: YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[+hh:mm] (UTC when no "
                             "offset) or epoch seconds")
    parser.add_argument("--date-greater-than", metavar="DATE", help="start, same formats")
    parser.add_argument("--ip-address", metavar="CIDR", help="viewer address x.x.x.x or x.x.x.x/n")
    parser.add_argument("--resource", metavar="URL",
                        help="the policy's resource, e.g. https://host/videos/* (default --url)")
    parser.add_argument("--hash-algorithm", choices=["SHA1", "SHA256"], default="SHA1")
    parser.add_argument("--policy", choices=["canned", "custom"],
                        help="force the policy type (default: canned unless conditions need custom)")
    parser.add_argument("--cookies", action="store_true",
                        help="print the CloudFront-* cookies instead of a URL")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def parse_date(text: str, option: str) -> int:
    """Epoch seconds of an ISO date or date-time (UTC when no offset) or of
    epoch seconds, as ``aws cloudfront sign`` reads them."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {text!r}: use YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[+hh:mm] "
                         "or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def read_key_file(name: str) -> bytes:
    """The key file's bytes (``file://`` prefix accepted, size capped)."""
    return read_capped(name, "--private-key", MAX_KEY_FILE_BYTES, "larger than a PEM key can be")


def run(args: argparse.Namespace) -> int:
    """Sign and print: the URL, the cookies (one ``name=value`` a line), or JSON."""
    key = load_private_key(read_key_file(args.private_key))
    expires = parse_date(args.date_less_than, "--date-less-than")
    starts = (parse_date(args.date_greater_than, "--date-greater-than")
              if args.date_greater_than else None)
    if not args.url.startswith(("http://", "https://")):
        raise ValueError(f"--url {args.url!r}: use an absolute http:// or https:// URL")
    signed = sign(args.url, args.key_pair_id, key, date_less_than=expires,
                  date_greater_than=starts, ip_address=args.ip_address, resource=args.resource,
                  policy=args.policy, hash_algorithm=args.hash_algorithm)
    url = args.url + ("&" if "?" in args.url else "?") + signed.query()
    if args.json:
        result: dict[str, object] = {"policy": signed.policy, "expires": signed.expires,
                                     "key_pair_id": args.key_pair_id}
        if args.cookies:
            result["cookies"] = signed.cookies()
        else:
            result["url"] = url
        print(json.dumps(result))
    elif args.cookies:
        for name, value in signed.cookies().items():
            print(f"{name}={value}")
    else:
        print(url)
    return 0
