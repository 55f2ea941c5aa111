"""Activity: the audit trail, newest first, filtered by link, access key,
principal, bucket, key, status and time, page by page; a link's timeline is
the same page filtered by its id.

Read by the admin API as the principal (``GET /_sealbox/api/v1/audit``,
which needs ``sealbox:ReadAudit``), with its own checks of every filter.
"""

from __future__ import annotations

from sealbox.console import results
from sealbox.console.page import Page, url
from sealbox.server.responses import Response

AUDIT_PATH = "/_sealbox/api/v1/audit"
# The form's fields, as the admin API names its query parameters.
FILTERS = (("LinkId", "Link"), ("AccessKeyId", "Access key"), ("Principal", "Principal"),
           ("Bucket", "Bucket"), ("Key", "Key"), ("Status", "Status"), ("Since", "Since"),
           ("Until", "Until"))
PAGE_SIZE = 100


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
    return page.render("activity.html", filters=FILTERS, chosen=chosen,
                       events=found.get("Events", []), next_url=next_url, url=url)
