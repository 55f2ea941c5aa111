"""``GET /_sealbox/api/v1/audit``: the audit trail, newest first.

The query names what to select (``LinkId``, ``AccessKeyId``, ``Principal``,
``Bucket``, ``Key``, ``VersionId``, ``Status``, ``Since``, ``Until``), ``MaxItems``
(1..1000, default 100) and ``ContinuationToken`` (the previous page's
``NextContinuationToken``). Bad values are ``InvalidParameter`` (400):
dates that do not parse, statuses that are not one, limits out of range,
tokens this server did not make. The caller must be allowed
``sealbox:ReadAudit`` (the route's action; root always is).

Accounts: the first account (the administrator's, the operator's) reads the
whole trail; any other reads only events of its own principals or of its
own buckets. Those are picked from the store's pages as they come, at most
``_SCANNED_PAGES`` pages of ``MAX_LIMIT`` per answer: a page may then hold
fewer than ``MaxItems`` events and still carry a ``NextContinuationToken``
(as S3 listings may).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from sealbox.api.admin.request import invalid
from sealbox.api.common.context import Services
from sealbox.auth.principal import ACCOUNT_ID, account_of_arn
from sealbox.store.audit_batches import widened
from sealbox.store.sql.audit import MAX_LIMIT, AuditQuery

DEFAULT_LIMIT = 100
_SCANNED_PAGES = 10  # store pages read for one answer to another account
_BUCKET, _PRINCIPAL = 3, 5  # indices in a stored event (FIELDS)
FIELDS = ("Time", "RequestId", "Operation", "Bucket", "Key", "Principal", "AccessKeyId",
          "Auth", "LinkId", "SignatureFingerprint", "SourceIp", "UserAgent", "Referer",
          "Status", "ErrorCode", "Reason", "BytesSent", "BytesReceived", "DurationMs",
          "EdgeCache", "VersionId")
_TEXT_FILTERS = {"LinkId": "link_id", "AccessKeyId": "access_key", "Principal": "principal",
                 "Bucket": "bucket", "Key": "key", "VersionId": "version_id"}


def parse_time(name: str, value: str) -> int:
    """Epoch milliseconds of an ISO 8601 time (UTC when it names no offset;
    ``Z`` accepted) or of epoch seconds."""
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            seconds = parsed.timestamp()
        if not 0 <= seconds < 253402300800:  # year 10000
            raise ValueError(value)
    except (ValueError, OverflowError):
        raise invalid(f"{name} must be an ISO 8601 time (2026-01-31T12:00:00Z) or epoch "
                      "seconds.") from None
    return int(seconds * 1000)


def _integer(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or len(value) > 9 or not low <= int(value) <= high:
        raise invalid(f"{name} must be a whole number from {low} to {high}.")
    return int(value)


def encode_token(time_ms: int, request_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([time_ms, request_id]).encode()).decode()


def _decode_token(token: str) -> tuple[int, str]:
    try:
        time_ms, request_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(time_ms, int) and isinstance(request_id, str):
            return time_ms, request_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise invalid("ContinuationToken is not one this API gave.")


def parse_query(query: dict[str, str]) -> AuditQuery:
    """The store's query from the route's query parameters (already limited
    to ``AUDIT_QUERY`` by the admin API)."""
    values: dict[str, Any] = {field: query[name] for name, field in _TEXT_FILTERS.items()
                              if name in query}
    if "Status" in query:
        values["status"] = _integer("Status", query["Status"], 100, 599)
    if "Since" in query:
        values["since_ms"] = parse_time("Since", query["Since"])
    if "Until" in query:
        values["until_ms"] = parse_time("Until", query["Until"])
    values["limit"] = (_integer("MaxItems", query["MaxItems"], 1, MAX_LIMIT)
                       if "MaxItems" in query else DEFAULT_LIMIT)
    if query.get("ContinuationToken"):
        values["after"] = _decode_token(query["ContinuationToken"])
    return AuditQuery(**values)


async def read_audit(services: Services, query: dict[str, str],
                     account: str = ACCOUNT_ID) -> dict[str, Any]:
    """One page: ``{"Events": [...], "IsTruncated", "NextContinuationToken"?}``,
    of the events ``account`` may read (see the module docstring)."""
    wanted = parse_query(query)
    store: Any = services.audit_store or services.meta  # with store.sql.audit's methods
    if account != ACCOUNT_ID:
        return await services.run(_account_page, services, store, wanted, account)
    probe = AuditQuery(**{**wanted.__dict__, "limit": wanted.limit + 1})
    rows = await services.run(store.query_audit_events, probe)
    page = rows[:wanted.limit]
    answer: dict[str, Any] = {"Events": [event_json(row) for row in page],
                              "IsTruncated": len(rows) > wanted.limit}
    if answer["IsTruncated"]:
        last = page[-1]
        answer["NextContinuationToken"] = encode_token(int(last[0]), last[1])
    return answer


def _account_page(services: Services, store: Any, wanted: AuditQuery,
                  account: str) -> dict[str, Any]:
    """A page of another account's events: its principals' and its buckets'."""
    owners: dict[str, str | None] = {}

    def owner(bucket: str) -> str | None:
        if bucket not in owners:
            gate = services.gate
            owners[bucket] = gate.bucket_account(bucket) if gate is not None else None
        return owners[bucket]

    def ours(row: tuple[Any, ...]) -> bool:
        principal, bucket = row[_PRINCIPAL], row[_BUCKET]
        return ((bool(principal) and account_of_arn(str(principal)) == account)
                or (bool(bucket) and owner(str(bucket)) == account))

    page: list[tuple[Any, ...]] = []
    after = wanted.after
    more = False
    for _ in range(_SCANNED_PAGES):
        rows = store.query_audit_events(
            AuditQuery(**{**wanted.__dict__, "limit": MAX_LIMIT, "after": after}))
        for row in rows:
            after = (int(row[0]), str(row[1]))
            if ours(row):
                page.append(row)
                if len(page) == wanted.limit:
                    break
        more = len(rows) == MAX_LIMIT or len(page) == wanted.limit
        if len(page) == wanted.limit or len(rows) < MAX_LIMIT:
            break
    answer: dict[str, Any] = {"Events": [event_json(row) for row in page], "IsTruncated": more}
    if more and after is not None:
        answer["NextContinuationToken"] = encode_token(*after)
    return answer


def event_json(row: tuple[Any, ...]) -> dict[str, Any]:
    """A stored event as the API and ``sealbox audit --json`` show it."""
    out = dict(zip(FIELDS, widened(row), strict=True))
    millis = int(row[0])
    when = datetime.fromtimestamp(millis // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    out["Time"] = f"{when}.{millis % 1000:03d}Z"
    out["DurationMs"] = round(float(row[18]), 3)
    return out
