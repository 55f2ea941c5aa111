"""How long the edge keeps a response: CloudFront's expiration rules, one
row per case of the Developer Guide's table ("Manage how long content stays
in the cache (expiration)")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sealbox.http.dates import format_http_date
from sealbox.http.freshness import TtlSettings, cache_control_directives, cache_ttl

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
LEGACY = TtlSettings(min_ttl=0, default_ttl=86400, max_ttl=31536000)
FLOOR = TtlSettings(min_ttl=60, default_ttl=3600, max_ttl=7200)


def expires_in(seconds: int) -> str:
    return format_http_date(NOW + timedelta(seconds=seconds))


@pytest.mark.parametrize(("headers", "settings", "ttl"), [
    # No Cache-Control max-age and no Expires: the Default TTL.
    ({}, LEGACY, 86400),
    ({"cache-control": "public"}, FLOOR, 3600),
    # max-age between Minimum and Maximum TTL: max-age.
    ({"cache-control": "max-age=300"}, FLOOR, 300),
    # below the Minimum: the Minimum; above the Maximum: the Maximum.
    ({"cache-control": "max-age=10"}, FLOOR, 60),
    ({"cache-control": "max-age=99999"}, FLOOR, 7200),
    # s-maxage wins over max-age for CloudFront (a shared cache).
    ({"cache-control": "max-age=10, s-maxage=600"}, FLOOR, 600),
    ({"cache-control": "s-maxage=0, max-age=600"}, LEGACY, 0),
    # Expires without max-age: until then, clamped the same way.
    ({"expires": expires_in(1000)}, FLOOR, 1000),
    ({"expires": expires_in(10)}, FLOOR, 60),
    ({"expires": expires_in(10**6)}, FLOOR, 7200),
    ({"expires": expires_in(-100)}, LEGACY, 0),
    ({"expires": "not a date"}, LEGACY, 0),
    # max-age wins over Expires.
    ({"cache-control": "max-age=120", "expires": expires_in(1000)}, FLOOR, 120),
    # no-cache, no-store, private: not kept when the Minimum TTL is 0,
    # else kept for the Minimum TTL.
    ({"cache-control": "no-store"}, LEGACY, 0),
    ({"cache-control": "private, max-age=600"}, LEGACY, 0),
    ({"cache-control": "No-Cache"}, FLOOR, 60),
    # A max-age that is not a number is no max-age.
    ({"cache-control": "max-age=soon"}, FLOOR, 3600),
    ({"cache-control": 'max-age="90"'}, FLOOR, 90),
])
def test_cache_ttl_follows_cloudfronts_table(headers: dict[str, str], settings: TtlSettings,
                                             ttl: int) -> None:
    assert cache_ttl(headers, settings, NOW) == ttl


def test_cache_control_directives_are_case_insensitive_and_first_wins() -> None:
    assert cache_control_directives(" Max-Age=5 , max-age=9,no-transform") == {
        "max-age": "5", "no-transform": ""}
    assert cache_control_directives(None) == {}
    assert cache_control_directives(",,") == {}
