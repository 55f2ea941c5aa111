"""Activity: the audit trail, newest first, filtered by link, access key,
principal, bucket, key, status and time, page by page; a link's timeline is
the same page filtered by its id.

Read by the admin API as the principal (``GET /_sealbox/api/v1/audit``,
which needs ``sealbox:ReadAudit``), with its own checks of every filter.
Above the first page, bytes served per day for the same filters
(``chart``): the admin API has no sums, so the newest ``CHART_EVENTS``
matching events are read, page after page, and the chart says so when
there were more.
"""

from __future__ import annotations

from typing import Any

from sealbox.console import chart, results
from sealbox.console.page import Page, url
from sealbox.server.responses import Response

AUDIT_PATH = "/_sealbox/api/v1/audit"
# The form's fields, as the admin API names its query parameters.
FILTERS = (("LinkId", "Link"), ("AccessKeyId", "Access key"), ("Principal", "Principal"),
           ("Bucket", "Bucket"), ("Key", "Key"), ("Status", "Status"), ("Since", "Since"),
           ("Until", "Until"))
PAGE_SIZE = 100
CHART_PAGE = 1000  # the audit API's largest page
CHART_EVENTS = 5000


async def activity_page(page: Page) -> Response:
    chosen = {name: page.arg(name).strip() for name, _ in FILTERS if page.arg(name).strip()}
    query = [*chosen.items(), ("MaxItems", str(PAGE_SIZE))]
    token = page.arg("token")
    if token:
        query.append(("ContinuationToken", token))
    answer = results.checked(await page.caller.admin("GET", AUDIT_PATH, query))
    found = answer.json()
    next_url = (url("activity", **chosen, token=found["NextContinuationToken"])
                if found.get("IsTruncated") else None)
    drawn, partial = (None, False) if token else await _chart(page, chosen)
    return page.render("activity.html", filters=FILTERS, chosen=chosen,
                       events=found.get("Events", []), next_url=next_url, url=url,
                       chart=drawn, chart_partial=partial, chart_events=CHART_EVENTS)


async def _chart(page: Page, chosen: dict[str, str]) -> tuple[chart.Chart | None, bool]:
    """Bytes per day of the newest ``CHART_EVENTS`` events matching the
    filters; and whether more matched."""
    events: list[Any] = []
    token = ""
    while len(events) < CHART_EVENTS:
        query = [*chosen.items(), ("MaxItems", str(CHART_PAGE))]
        if token:
            query.append(("ContinuationToken", token))
        found = results.checked(await page.caller.admin("GET", AUDIT_PATH, query)).json()
        events.extend(found.get("Events", []))
        token = found.get("NextContinuationToken") or ""
        if not found.get("IsTruncated") or not token:
            return chart.chart(chart.bytes_per_day(events)), False
    return chart.chart(chart.bytes_per_day(events)), True
