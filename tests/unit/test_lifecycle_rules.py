"""sealbox.lifecycle.rules: S3's day rounding, filters, the header, the
stored form. Pure: times are arguments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sealbox.lifecycle.rules import (
    DAY,
    Configuration,
    Filter,
    Rule,
    after_days,
    decode,
    encode,
    expiration_header,
    first_expiry,
)


def _at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(("created", "days", "expires"), [
    # The S3 User Guide's example: 2014-01-15 10:30 + 3 days -> 2014-01-19 00:00.
    (_at(2014, 1, 15, 10, 30), 3, _at(2014, 1, 19)),
    (_at(2014, 1, 15, 0, 0), 3, _at(2014, 1, 18)),  # at a midnight: that midnight
    (_at(2014, 1, 15, 0, 0, 1), 1, _at(2014, 1, 17)),
    (_at(2014, 12, 31, 23, 59, 59), 1, _at(2015, 1, 2)),
])
def test_days_round_up_to_the_next_midnight_utc(created: float, days: int,
                                                expires: float) -> None:
    assert after_days(created, days) == expires


def test_a_shortened_day_is_not_rounded() -> None:
    assert after_days(1000.5, 3, day_seconds=10) == 1030.5


@pytest.mark.parametrize(("flt", "key", "tags", "size", "taken"), [
    (Filter(), "any", (), 0, True),
    (Filter(prefix="logs/"), "logs/a", (), 0, True),
    (Filter(prefix="logs/"), "log/a", (), 0, False),
    (Filter(tags=(("a", "1"),)), "k", (("a", "1"), ("b", "2")), 0, True),
    (Filter(tags=(("a", "1"),)), "k", (("a", "2"),), 0, False),
    (Filter(tags=(("a", "1"), ("b", "2"))), "k", (("a", "1"),), 0, False),
    (Filter(greater_than=100), "k", (), 100, False),
    (Filter(greater_than=100), "k", (), 101, True),
    (Filter(less_than=100), "k", (), 100, False),
    (Filter(less_than=100), "k", (), 99, True),
    (Filter(prefix="a", greater_than=1, less_than=10), "ab", (), 5, True),
])
def test_a_filter_takes_what_all_its_predicates_take(flt: Filter, key: str,
                                                     tags: tuple[tuple[str, str], ...],
                                                     size: int, taken: bool) -> None:
    assert flt.matches(key, tags, size) is taken


def test_the_earliest_enabled_expiry_wins() -> None:
    config = Configuration((
        Rule("late", True, expiration_days=30),
        Rule("soon", True, Filter(prefix="tmp/"), expiration_days=1),
        Rule("off", False, expiration_days=0 + 1),
        Rule("date", True, Filter(prefix="tmp/old"),
             expiration_date=datetime(2014, 1, 16, tzinfo=UTC)),
        Rule("versions", True, noncurrent_days=1),
    ))
    created = _at(2014, 1, 15, 10, 30)
    assert first_expiry(config, "tmp/a", (), 1, created) == (_at(2014, 1, 17), config.rules[1])
    assert first_expiry(config, "tmp/old", (), 1, created)[1].id == "date"  # type: ignore[index]
    assert first_expiry(config, "x", (), 1, created)[1].id == "late"  # type: ignore[index]
    assert first_expiry(Configuration((config.rules[2], config.rules[4])), "x", (), 1,
                        created) is None


def test_the_header_is_s3s_text() -> None:
    config = Configuration((Rule("picture-deletion-rule", True, expiration_days=1),))
    value = expiration_header(config, "k", (), 1, datetime(2012, 12, 21, 10, tzinfo=UTC))
    assert value == 'expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"'


def test_the_stored_form_keeps_everything() -> None:
    config = Configuration((
        Rule("a", True, Filter("And", "p/", (("k", "v"),), 1, 10), expiration_days=3,
             noncurrent_days=4, newer_noncurrent_versions=2, abort_days=5),
        Rule("b", False, Filter("LegacyPrefix", "x"),
             expiration_date=datetime(2030, 1, 1, tzinfo=UTC)),
        Rule("c", True, Filter("Empty"), expired_object_delete_marker=True),
    ))
    assert decode(encode(config)) == config
    assert DAY == 86400
