"""The console's Activity page with its chart of bytes served per day:
server time of the first page for a filter matching N events, in process
through the ASGI app (no sockets, no browser). The chart reads up to 5 000
matching events in pages of 1 000 (the admin API has no sums), so this is
the price of the chart; the second line, a later page (no chart), is the
table alone, for scale.

    PYTHONPATH=src python bench/console_activity.py [EVENTS] [RUNS]

The events are real requests (GetObject of 1 KiB) made through the app
with the audit trail on, written by its batch writer before timing.
Prints the best and the median of RUNS pages, in milliseconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from console_list import KEY, SECRET, call  # bench/ is the script's own folder

from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4.presign import sign_headers
from sealbox.config import RootCredentials, Settings
from sealbox.server.asgi import build_app

_NEXT = re.compile(rb'rel="next" href="[^"]*token=([^"&]+)')


def signed(method: str, path: str, body: bytes = b"") -> list[tuple[bytes, bytes]]:
    """SigV4 headers for one request as root."""
    credential = Credential(KEY, SECRET, root_principal(KEY))
    headers = sign_headers(method, f"http://127.0.0.1:9000{path}", {"host": "127.0.0.1:9000"},
                           credential, "us-east-1", datetime.now(UTC),
                           payload_hash=hashlib.sha256(body).hexdigest())
    return [(k.lower().encode(), v.encode()) for k, v in headers.items() if k.lower() != "host"]


async def main(events: int, runs: int) -> None:
    app = build_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-activity-")),
                             audit=True), RootCredentials(KEY, SECRET))
    app.audit.start()
    status, _, _ = await call(app, "PUT", "/bench", headers=signed("PUT", "/bench"))
    assert status == 200, status
    body = b"x" * 1024
    status, _, _ = await call(app, "PUT", "/bench/one", body=body,
                              headers=signed("PUT", "/bench/one", body))
    assert status == 200, status
    made = time.perf_counter()
    for _ in range(events):
        status, _, _ = await call(app, "GET", "/bench/one", headers=signed("GET", "/bench/one"))
        assert status == 200, status
    app.audit.close()
    print(f"made {events} GETs in {time.perf_counter() - made:.1f} s")
    app.audit.start()
    form = f"access_key={KEY}&secret_key={SECRET}".encode()
    status, headers, _ = await call(app, "POST", "/_sealbox/console/signin", body=form,
                                    headers=[(b"content-type",
                                              b"application/x-www-form-urlencoded")])
    assert status == 303, status
    cookie = headers["set-cookie"].split(";")[0].encode()
    first: list[float] = []
    later: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        status, _, page = await call(app, "GET", "/_sealbox/console/activity", "Bucket=bench",
                                     headers=[(b"cookie", cookie)])
        first.append((time.perf_counter() - started) * 1000)
        assert status == 200 and b"data-bytes" in page, (status, page[:300])
        token = _NEXT.search(page)
        assert token is not None
        started = time.perf_counter()
        status, _, _ = await call(app, "GET", "/_sealbox/console/activity",
                                  "Bucket=bench&token=" + token.group(1).decode(),
                                  headers=[(b"cookie", cookie)])
        later.append((time.perf_counter() - started) * 1000)
        assert status == 200
    for label, took in (("first page, with the chart", first), ("a later page, no chart", later)):
        print(f"{label}: best {min(took):.1f} ms, median {statistics.median(took):.1f} ms "
              f"over {runs}")
    app.audit.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args or [6000, 10])))
