"""ListObjectVersions' own cost, in process: the CPU time of a page's store
walk and of its rows' XML, and the garbage collections a whole walk sets
off (bench/list_versions.py times the same pages over HTTP).

    python bench/list_versions_cpu.py [--keys 1000] [--versions 100] [--rounds 2]

The store is filled as bench/list_versions.py fills it (KEYS × VERSIONS
versions under ``videos/``); each round walks every page of 1 000 with the
handler's own parts (``listing.walk`` over ``list_version_entries``, then
``list_versions.entries_xml``). Times are the thread's CPU time
(``time.thread_time``), so other processes on a shared machine count far
less than in wall-clock figures; collections are counted by generation
with ``gc.callbacks``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, bench/ is on the path: the HTTP bench's own filling.
from list_versions import BUCKET, fill

from sealbox.api.s3.common import owner_xml
from sealbox.api.s3.list_versions import entries_xml, entry_position
from sealbox.api.s3.listing import walk
from sealbox.api.s3.xml import render_fragment
from sealbox.store.meta import Bucket, VersionEntry
from sealbox.store.sqlite import SqliteMetaStore

_OWNER = "arn:aws:iam::000000000000:root"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        meta = SqliteMetaStore(str(Path(tmp) / "meta.sqlite3"))
        meta.create_bucket(Bucket(BUCKET, datetime.now(UTC), "us-east-1", _OWNER))
        meta.close()
        fill(Path(tmp), args.keys, args.versions)
        meta = SqliteMetaStore(str(Path(tmp) / "meta.sqlite3"))
        owner = render_fragment([("Owner", owner_xml(_OWNER))])

        def list_fn(pos: tuple[str, str], limit: int) -> list[VersionEntry]:
            return meta.list_version_entries(BUCKET, prefix="videos/", key_marker=pos[0],
                                             version_marker=pos[1], limit=limit)

        collections = [0, 0, 0]

        def count(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                collections[info["generation"]] += 1

        store_ms: list[float] = []
        xml_ms: list[float] = []
        for round_ in range(args.rounds + 1):  # the first warms the page cache
            collections[:] = [0, 0, 0]
            gc.callbacks.append(count)
            pos, store_t, xml_t = ("", ""), [], []
            while True:
                started = time.thread_time()
                page = walk(list_fn, "videos/", "", pos, 1000, position=entry_position)
                walked = time.thread_time()
                entries_xml(page.items, lambda s: s, owner)
                store_t.append((walked - started) * 1000)
                xml_t.append((time.thread_time() - walked) * 1000)
                if not page.truncated or page.last is None:
                    break
                pos = page.last
            gc.callbacks.remove(count)
            if round_:
                store_ms += store_t
                xml_ms += xml_t
        meta.close()
    print(f"ListObjectVersions in process, {args.keys * args.versions} versions, "
          f"pages of 1000 ({len(store_ms) // args.rounds} pages × {args.rounds} rounds):")
    print(f"  store walk  median {statistics.median(store_ms):6.2f} ms CPU   max {max(store_ms):6.2f}")
    print(f"  rows' XML   median {statistics.median(xml_ms):6.2f} ms CPU   max {max(xml_ms):6.2f}")
    print(f"  collections in the last walk: gen0 {collections[0]}, gen1 {collections[1]}, "
          f"gen2 {collections[2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
