"""The cost of one access decision with cross-account evaluation (issue 17),
in process: ``evaluate_parts`` with the bench's policies (``peers.py``: a
20-statement bucket policy with conditions, ten managed identity policies),
for a user of the bucket's account and for a user of another account whose
identity policies and the bucket policy both allow the GET. Timed as the
best of several batches (a shared machine's other work only adds time).
Run once per source tree:

    PYTHONPATH=src python bench/accounts_decision.py [BATCHES SIZE]

Prints microseconds per decision for each case the tree can tell apart
("same account"; "other account" where the principal's ARN names another).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import bench_bucket_policy, bench_identity_policy  # noqa: E402

from sealbox.access.context import request_context  # noqa: E402
from sealbox.access.evaluate import evaluate_parts  # noqa: E402
from sealbox.access.model import parse_policy  # noqa: E402
from sealbox.auth.principal import ACCOUNT_ID, Principal  # noqa: E402

BUCKET = "bench"
OBJECT = f"arn:aws:s3:::{BUCKET}/site3/page.html"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def per_decision(account: str, batches: int, size: int) -> float:
    user = Principal("user", "reader", f"arn:aws:iam::{account}:user/reader", "AKBENCH")
    bucket = parse_policy(bench_bucket_policy(BUCKET, user.arn), kind="bucket", bucket=BUCKET)
    identity = tuple(parse_policy(bench_identity_policy(BUCKET, i), kind="identity")
                     for i in range(10))
    context = request_context(user, now=NOW, signed_at=NOW, source_ip="127.0.0.1",
                              secure_transport=True, referer="https://site3.example.com/a",
                              auth_type="REST-QUERY-STRING",
                              signature_version="AWS4-HMAC-SHA256",
                              extra={"s3:ResourceAccount": [ACCOUNT_ID]})
    decision = evaluate_parts(user, "s3:GetObject", OBJECT, identity, bucket, context,
                              ACCOUNT_ID)
    assert decision.allowed, decision.reason
    best = float("inf")
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(size):
            evaluate_parts(user, "s3:GetObject", OBJECT, identity, bucket, context, ACCOUNT_ID)
        best = min(best, (time.perf_counter() - started) / size)
    return best * 1e6


def main(argv: list[str]) -> None:
    batches, size = (int(argv[0]), int(argv[1])) if len(argv) == 2 else (300, 1_000)
    print(f"same account:  {per_decision(ACCOUNT_ID, batches, size):.2f} µs")
    print(f"other account: {per_decision('111122223333', batches, size):.2f} µs")


if __name__ == "__main__":
    main(sys.argv[1:])
