"""Object tags as S3 takes them: the ``x-amz-tagging`` header (URL query
encoding) and S3's rules for a tag set. Shared by the S3 operations that
write tags and by the access gate, which judges ``s3:RequestObjectTag``."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from sealbox.errors import S3Error

MAX_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256


def validate_tags(pairs: list[tuple[str, str]], *, limit: int = MAX_TAGS,
                  of: str = "Object") -> tuple[tuple[str, str], ...]:
    """S3's tag rules: at most ``limit`` (10 on an object, 50 on a bucket),
    unique keys, key ≤128 and value ≤256 chars."""
    if len(pairs) > limit:
        raise S3Error("InvalidTag", f"{of} tags cannot be greater than {limit}")
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key",
                          TagKey=key)
        seen.add(key)
        if not key or len(key) > MAX_TAG_KEY:
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
        if len(value) > MAX_TAG_VALUE:
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid",
                          TagKey=key, TagValue=value)
    return tuple(pairs)


def tagging_header(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Tags from ``x-amz-tagging`` (URL query encoding, as PutObject sends them)."""
    raw = headers.get("x-amz-tagging")
    if not raw:
        return ()
    return validate_tags(parse_qsl(raw, keep_blank_values=True))
