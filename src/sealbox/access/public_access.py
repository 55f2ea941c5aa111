"""Block Public Access: the four settings, as a bucket or the whole server
holds them, and what the two levels mean together.

S3 User Guide, "Blocking public access to your Amazon S3 storage": a
setting is in force when the bucket *or* the account turns it on. Buckets
created since April 2023 start with all four on; an account starts with
none. Stored as the JSON of ``PublicAccessBlockConfiguration``'s four
booleans, the same names as in the XML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(frozen=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    def to_json(self) -> str:
        return json.dumps(dict(zip(FIELDS, self.values(), strict=True)))

    def values(self) -> tuple[bool, bool, bool, bool]:
        return (self.block_public_acls, self.ignore_public_acls, self.block_public_policy,
                self.restrict_public_buckets)

    @classmethod
    def from_json(cls, document: str | None) -> PublicAccessBlock:
        """A stored document; None (no configuration) blocks nothing."""
        if document is None:
            return NONE
        data = json.loads(document)
        return cls(*(bool(data.get(name, False)) for name in FIELDS))

    def union(self, other: PublicAccessBlock) -> PublicAccessBlock:
        """In force when either level turns it on."""
        return PublicAccessBlock(*(a or b for a, b in zip(self.values(), other.values(),
                                                          strict=True)))


NONE = PublicAccessBlock()
ALL = PublicAccessBlock(True, True, True, True)
