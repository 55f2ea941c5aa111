"""``sealbox doctor``: why a signed URL (or a refused request) fails.

``sealbox doctor URL [--method M] [--header 'Name: value']… [--json]``
asks ``POST /_sealbox/api/v1/doctor`` about a presigned SigV4 or SigV2 URL
or a CloudFront signed URL, used with that method and those headers; an
argument that is not a URL is a request id (the ``x-amz-request-id`` of a
refused request). ``--json`` prints the API's answer (``Verdict``,
``Causes``); else plain words, one cause a paragraph. Exits 0 either way:
the diagnosis is the answer (an error reaching the server exits 1).
"""

from __future__ import annotations

import argparse
from typing import Any

from sealbox.cli.client import client_from, common_options, emit, path


def _lines(answer: dict[str, Any]) -> list[str]:
    causes = answer.get("Causes", [])
    if not causes:
        return [(f"valid: the signature is right and the request is admitted "
                f"({answer.get('Kind', 'signed request')}).")]
    lines = [f"invalid ({answer.get('Kind', 'signed request')}):"]
    for cause in causes:
        lines.append(f"  {cause['Code']}: {cause['Message']}")
        if cause.get("Expected") is not None:
            lines.append(f"    expected: {cause['Expected']}")
        if cause.get("Got") is not None:
            lines.append(f"    got:      {cause['Got']}")
    return lines


def doctor(args: argparse.Namespace) -> int:
    target = args.target
    body: dict[str, Any]
    if "://" in target:
        body = {"Url": target, "Method": args.method.upper()}
        if args.header:
            for header in args.header:
                if ":" not in header:
                    raise ValueError(f"--header {header[:64]!r}: write it as 'Name: value'")
            body["Headers"] = list(args.header)
        if args.source_ip:
            body["SourceIp"] = args.source_ip
    else:
        body = {"RequestId": target}
    answer = client_from(args).call("POST", path("doctor"), body=body).body
    return emit(args, answer, *_lines(answer))


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``doctor`` on the ``sealbox`` sub-command parser."""
    parser = sub.add_parser(
        "doctor", parents=[common_options()], help="why a signed URL or request fails",
        description="Say in plain words why a presigned URL (SigV4, SigV2), a CloudFront "
                    "signed URL or a refused request (its x-amz-request-id) fails, and what "
                    "to change. Needs sealbox:Doctor (root always has it).")
    parser.add_argument("target", metavar="URL|REQUEST_ID",
                        help="the signed URL, or the x-amz-request-id of a refused request")
    parser.add_argument("--method", default="GET", metavar="M",
                        help="the method the client uses with the URL (default GET)")
    parser.add_argument("--header", action="append", metavar="'Name: value'",
                        help="a header the client sends (repeat for more)")
    parser.add_argument("--source-ip", metavar="IP",
                        help="the client's address (default: yours), for bound links")
    parser.set_defaults(func=doctor)
