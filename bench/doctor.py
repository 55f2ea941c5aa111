"""What the signature doctor costs, in process (best of several batches):

- ``diagnose``: one diagnosis by ``sealbox.doctor.sigv4`` of a valid URL,
  of a URL whose host changed (found among the first variations), and of
  one signed with another secret (every variation tried: the worst case);
- ``refused``: a request with a bad signature through the ASGI app, with
  the failure recorded for the doctor (``server/auth_failures.py``: one
  tuple queued) and with the recorder's ``note`` a no-op. A request that
  passes never reaches the recorder.

    PYTHONPATH=src python bench/doctor.py [BATCHES SIZE]

Prints microseconds per diagnosis and per refused request.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from links_inprocess import ENDPOINT, KEY, ROOT, SECRET, call, signed  # beside this file

from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4.presign import presign_url
from sealbox.config import RootCredentials, Settings
from sealbox.doctor import sigv4
from sealbox.doctor.model import Server, from_url
from sealbox.server.asgi import build_app


def best_of(batches: int, size: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(batches):
        began = time.perf_counter()
        for _ in range(size):
            work()
        best = min(best, (time.perf_counter() - began) / size)
    return best * 1e6


def diagnoses(batches: int, size: int) -> None:
    now = datetime.now(UTC)
    server = Server({KEY: ROOT}.get, now, "us-east-1", ("127.0.0.1:9000",))
    good = signed("GET", "/bench/one-kib")
    other = Credential(KEY, "another-secret", root_principal(KEY))
    cases = {
        "valid": good,
        "host changed": good.replace("127.0.0.1", "localhost"),
        "wrong secret": presign_url("GET", ENDPOINT + "/bench/a b+c.txt?x=1", other,
                                    "us-east-1", 3600, now),
    }
    for name, url in cases.items():
        seen = from_url(url)
        code = [c.code for c in sigv4.diagnose(seen, server).causes]
        micros = best_of(batches, size, lambda seen=seen: sigv4.diagnose(seen, server))
        print(f"diagnose {name} {code}: {micros:.1f} us")


async def refused(batches: int, size: int) -> None:
    app = build_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-doctor-"))),
                    RootCredentials(KEY, SECRET))
    bad = signed("GET", "/bench/one-kib")[:-4] + "0000"
    assert (await call(app, "GET", bad))[0] == 403

    async def batch_of() -> float:
        best = float("inf")
        for _ in range(batches):
            began = time.perf_counter()
            for _ in range(size):
                await call(app, "GET", bad)
            best = min(best, (time.perf_counter() - began) / size)
            app.failures.queue.clear()  # no thread runs here: keep the queue small
        return best * 1e6

    # Alternated, three times each: the order alone moves such figures.
    note = app.failures.note
    recorded, skipped = float("inf"), float("inf")
    for _ in range(3):
        app.failures.note = note  # type: ignore[method-assign]
        recorded = min(recorded, await batch_of())
        app.failures.note = lambda *args: None  # type: ignore[method-assign]
        skipped = min(skipped, await batch_of())
    print(f"refused request: {recorded:.1f} us recorded, {skipped:.1f} us not recorded")


if __name__ == "__main__":
    batches, size = (int(a) for a in (sys.argv[1:3] or ("5", "300")))
    diagnoses(batches, size)
    asyncio.run(refused(batches, size))
