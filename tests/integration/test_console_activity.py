"""The console's Activity page draws the bytes served per day for the
events its filters choose (an SVG in the page), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

from tests.integration.console_client import Console


def test_the_chart_sums_the_bytes_served_today_for_the_filtered_bucket(server, s3) -> None:
    bucket = f"chart-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for key, size in (("a", 1000), ("b", 2500)):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size)
        assert len(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == size
    console = Console(server, server.access_key, server.secret_key)
    today = datetime.now(UTC).date().isoformat()
    bar = re.compile(r'data-day="' + today + r'" data-bytes="(\d+)"')
    deadline = time.monotonic() + 15
    while True:  # the audit trail is written in batches
        page = console.get("activity", Bucket=bucket)
        found = bar.search(page.text)
        if (found and found.group(1) == "3500") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert page.status_code == 200
    assert found is not None and found.group(1) == "3500"
    assert '<svg viewBox="0 0 640 200" role="img"' in page.text
    assert "Bytes served per day" in page.text
    # Another bucket's filter: none of these bytes.
    other = console.get("activity", Bucket=f"none-{uuid.uuid4().hex[:8]}")
    assert other.status_code == 200 and "data-bytes" not in other.text
