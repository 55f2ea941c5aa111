"""The facts of an HTTP request that authentication reads, with no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestFacts:
    """A request as it arrived on the wire.

    ``raw_path`` and ``raw_query`` are exactly the bytes the client sent
    (decoded as latin-1 would be wrong for UTF-8 keys, so: decoded as
    UTF-8 with ``surrogateescape``), because S3 signs the path as sent and
    never normalises it. ``headers`` has lower-case names; repeated headers
    are joined with ``,`` as RFC 9110 allows.
    """

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
