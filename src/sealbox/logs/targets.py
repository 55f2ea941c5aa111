"""Where a source's log records go, and the names of the log objects. Pure.

S3 names a server access log object (Server access log format / "Log
object key format", Amazon S3 User Guide)::

    SimplePrefix      [TargetPrefix][YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[UniqueString]
    PartitionedPrefix [TargetPrefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/
                      [YYYY]/[MM]/[DD]/[YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[UniqueString]

and CloudFront a standard log file (CloudFront Developer Guide, "File name
format")::

    [Prefix][distribution ID].[YYYY]-[MM]-[DD]-[HH].[unique ID].gz

The unique part is random per object, so several workers or nodes
delivering the same second never write the same name.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from sealbox.store.edge_config import CloudFrontLogging

LOGGING_SETTING = "logging"  # the bucket setting PutBucketLogging keeps
DATE_SOURCES = frozenset({"EventTime", "DeliveryTime"})
MAX_PREFIX_BYTES = 512  # the longest TargetPrefix kept; object keys are at most 1024 bytes


@dataclass(frozen=True)
class LoggingTarget:
    """A source bucket's ``LoggingEnabled``: where its records go."""

    bucket: str
    prefix: str
    partitioned: bool = False
    date_source: str | None = None  # PartitionedPrefix's PartitionDateSource
    grants: tuple[tuple[str, str, str], ...] = ()  # (grantee type, id/e-mail/URI, permission)

    def encode(self) -> str:
        """The stored form (the bucket setting ``logging``)."""
        return json.dumps({"bucket": self.bucket, "prefix": self.prefix,
                           "partitioned": self.partitioned, "date_source": self.date_source,
                           "grants": [list(g) for g in self.grants]},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, document: str) -> LoggingTarget:
        data = json.loads(document)
        return cls(data["bucket"], data["prefix"], bool(data.get("partitioned")),
                   data.get("date_source"), tuple(tuple(g) for g in data.get("grants", ())))

    def object_key(self, source_bucket: str, account: str, region: str, delivered: float,
                   earliest_event: float, unique: str | None = None) -> str:
        """The key of one log object, delivered at ``delivered`` (epoch
        seconds) with records from ``earliest_event`` on."""
        unique = unique or secrets.token_hex(8).upper()
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(delivered))
        if not self.partitioned:
            return f"{self.prefix}{stamp}-{unique}"
        dated = earliest_event if self.date_source == "EventTime" else delivered
        day = time.strftime("%Y/%m/%d", time.gmtime(dated))
        return f"{self.prefix}{account}/{region}/{source_bucket}/{day}/{stamp}-{unique}"


def cloudfront_object_key(target: CloudFrontLogging, distribution_id: str, hour: float,
                          unique: str | None = None) -> str:
    """The key of the log file holding a distribution's requests of the
    hour ``hour`` (epoch seconds)."""
    unique = unique or secrets.token_hex(4)
    stamp = time.strftime("%Y-%m-%d-%H", time.gmtime(hour))
    return f"{target.prefix}{distribution_id}.{stamp}.{unique}.gz"
