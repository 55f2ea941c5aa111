"""``sealbox audit``: who did what, from the audit trail
(``GET /_sealbox/api/v1/audit``), newest first.

Filters map to the API's query (``--link`` → ``LinkId``, ``--access-key`` →
``AccessKeyId``, …); ``--limit`` (default 100, at most 100 000) pages
through the API's continuation tokens. ``--json`` prints
``{"Events": [...]}``; else one tab-separated line per event.
"""

from __future__ import annotations

import argparse
from typing import Any

from sealbox.cli.client import AdminClient, client_from, common_options, emit, path

MAX_LIMIT = 100_000
PAGE = 1000
_FILTERS = (("link", "LinkId"), ("access_key", "AccessKeyId"), ("principal", "Principal"),
            ("bucket", "Bucket"), ("key", "Key"), ("version_id", "VersionId"),
            ("status", "Status"), ("since", "Since"),
            ("until", "Until"))


def fetch(client: AdminClient, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Up to ``args.limit`` events matching the filters."""
    if not 1 <= args.limit <= MAX_LIMIT:
        raise ValueError(f"--limit must be from 1 to {MAX_LIMIT}")
    query = {name: str(getattr(args, attr)) for attr, name in _FILTERS
             if getattr(args, attr) is not None}
    events: list[dict[str, Any]] = []
    while len(events) < args.limit:
        query["MaxItems"] = str(min(PAGE, args.limit - len(events)))
        page = client.call("GET", path("audit"), query=query).body
        events.extend(page.get("Events", []))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            break
        query["ContinuationToken"] = token
    return events


def _line(e: dict[str, Any]) -> str:
    fields = (e["Time"], e["RequestId"], e.get("Operation"), e.get("Status"),
              f"{e.get('Bucket') or '-'}/{e.get('Key') or ''}", e.get("Principal"),
              e.get("AccessKeyId"), e.get("Auth"), e.get("LinkId"), e.get("SourceIp"),
              e.get("BytesSent"), e.get("ErrorCode"), e.get("Reason"))
    return "\t".join("-" if v is None or v == "" else str(v) for v in fields)


def audit(args: argparse.Namespace) -> int:
    events = fetch(client_from(args), args)
    return emit(args, {"Events": events}, *(_line(e) for e in events))


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``audit`` on the ``sealbox`` sub-command parser."""
    parser = sub.add_parser(
        "audit", parents=[common_options()], help="who fetched what, when, how (audit trail)",
        description="List audit events, newest first: one per request (S3, edge, admin), "
                    "with who signed it, how, from where, the status and the bytes. Needs "
                    "sealbox:ReadAudit (root always has it).")
    parser.add_argument("--link", metavar="ID", help="only requests admitted by this link")
    parser.add_argument("--access-key", metavar="AK",
                        help="only requests signed with this access key (or CloudFront key "
                             "pair id)")
    parser.add_argument("--principal", metavar="ARN", help="only this principal's requests")
    parser.add_argument("--bucket", metavar="B", help="only requests for this bucket")
    parser.add_argument("--key", metavar="K", help="only requests for this key")
    parser.add_argument("--version-id", metavar="V",
                        help="only requests for this object version")
    parser.add_argument("--status", type=int, metavar="N", help="only this HTTP status")
    parser.add_argument("--since", metavar="T",
                        help="at or after T (ISO 8601, e.g. 2026-01-31T12:00:00Z, or epoch "
                             "seconds)")
    parser.add_argument("--until", metavar="T", help="before T (as --since)")
    parser.add_argument("--limit", type=int, default=100, metavar="N",
                        help=f"at most N events (default 100, at most {MAX_LIMIT})")
    parser.set_defaults(func=audit)
