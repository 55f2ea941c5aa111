"""HTTP dates, S3's ISO 8601 and amz dates: RFC 9110 §5.6.7 examples and S3's forms."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sealbox.http.dates import (
    format_amz_date,
    format_http_date,
    format_iso8601,
    parse_amz_date,
    parse_http_date,
    parse_iso8601,
)

RFC_EXAMPLE = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


# RFC 9110 §5.6.7: the same instant in the three forms a recipient must accept.
@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850 format
        "Sun Nov  6 08:49:37 1994",  # ANSI C's asctime() format
    ],
)
def test_parse_http_date_accepts_the_three_rfc9110_forms(text):
    assert parse_http_date(text) == RFC_EXAMPLE


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Wed, 12 Oct 2009 17:50:00 GMT", datetime(2009, 10, 12, 17, 50, tzinfo=UTC)),
        ("Sun Nov 16 08:49:37 1994", datetime(1994, 11, 16, 8, 49, 37, tzinfo=UTC)),
        ("sun, 06 nov 1994 08:49:37 GMT", RFC_EXAMPLE),  # case of names ignored
        ("  Sun, 06 Nov 1994 08:49:37 GMT ", RFC_EXAMPLE),  # surrounding space
        ("Mon, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE),  # weekday not cross-checked
        ("Tue, 29 Feb 2000 00:00:00 GMT", datetime(2000, 2, 29, tzinfo=UTC)),
    ],
)
def test_parse_http_date_reads_valid_dates(text, expected):
    assert parse_http_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2009-10-12T17:50:30.000Z",  # ISO 8601 is not an HTTP-date
        "Sun, 06 Nov 1994 08:49:37 CET",  # named zones other than GMT/UTC
        "Sun, 06 Nov 1994 08:49:37 +00",
        "Sun, 6 Nov 1994 08:49:37 GMT",  # IMF-fixdate has two-digit days
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",  # no such day
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sund, 06-Nov-94 08:49:37 GMT",  # RFC 850 needs the full day name
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
    ],
)
def test_parse_http_date_rejects_anything_else(text):
    with pytest.raises(ValueError):
        parse_http_date(text)


@pytest.mark.parametrize(
    "yy, now_year, expected",
    [
        ("94", 2025, 1994),  # 2094 would be more than 50 years ahead
        ("30", 2025, 2030),
        ("75", 2025, 2075),  # exactly 50 years ahead is allowed
        ("76", 2025, 1976),
        ("10", 2095, 2110),
    ],
)
def test_rfc850_two_digit_year_is_the_nearest_not_more_than_50_years_ahead(yy, now_year, expected):
    now = datetime(now_year, 6, 1, tzinfo=UTC)
    parsed = parse_http_date(f"Sunday, 06-Nov-{yy} 08:49:37 GMT", now=now)
    assert parsed.year == expected


def test_rfc850_two_digit_year_without_a_clock_pivots_at_70():
    assert parse_http_date("Sunday, 06-Nov-69 08:49:37 GMT").year == 2069
    assert parse_http_date("Sunday, 06-Nov-70 08:49:37 GMT").year == 1970


@pytest.mark.parametrize(
    "dt, expected",
    [
        (datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC), "Mon, 12 Oct 2009 17:50:30 GMT"),
        (RFC_EXAMPLE, "Sun, 06 Nov 1994 08:49:37 GMT"),
        # sub-seconds are truncated, not rounded, as in S3's Last-Modified
        (datetime(2009, 10, 12, 17, 50, 30, 999999, tzinfo=UTC), "Mon, 12 Oct 2009 17:50:30 GMT"),
        # other zones are converted; naive datetimes are taken as UTC
        (
            datetime(2009, 10, 12, 19, 50, 30, tzinfo=timezone(timedelta(hours=2))),
            "Mon, 12 Oct 2009 17:50:30 GMT",
        ),
        (datetime(2009, 10, 12, 17, 50, 30), "Mon, 12 Oct 2009 17:50:30 GMT"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "Wed, 02 Jan 0999 03:04:05 GMT"),
    ],
)
def test_format_http_date_writes_imf_fixdate(dt, expected):
    assert format_http_date(dt) == expected


@pytest.mark.parametrize("offset_days", [0, 1, 59, 365, 4000, 20000])
def test_format_http_date_agrees_with_email_utils_and_round_trips(offset_days):
    dt = datetime(1990, 3, 4, 5, 6, 7, tzinfo=UTC) + timedelta(
        days=offset_days, seconds=offset_days
    )
    text = format_http_date(dt)
    assert text == email.utils.format_datetime(dt, usegmt=True)
    assert parse_http_date(text) == dt


@pytest.mark.parametrize(
    "dt, expected",
    [
        (datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC), "2009-10-12T17:50:30.000Z"),
        (datetime(2009, 10, 12, 17, 50, 30, 123999, tzinfo=UTC), "2009-10-12T17:50:30.123Z"),
        (
            datetime(2009, 1, 2, 3, 4, 5, 7000, tzinfo=timezone(timedelta(hours=-5))),
            "2009-01-02T08:04:05.007Z",
        ),
    ],
)
def test_format_iso8601_writes_s3s_millisecond_z_form(dt, expected):
    assert format_iso8601(dt) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2009-10-12T17:50:30.000Z", datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
        ("2009-10-12T17:50:30Z", datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
        ("2009-10-12T17:50:30.5Z", datetime(2009, 10, 12, 17, 50, 30, 500000, tzinfo=UTC)),
        ("2009-10-12T17:50:30.123456789Z", datetime(2009, 10, 12, 17, 50, 30, 123456, tzinfo=UTC)),
        ("2009-10-12T19:50:30+02:00", datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
        ("2009-10-12T12:20:30-05:30", datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
    ],
)
def test_parse_iso8601_reads_zoned_timestamps(text, expected):
    parsed = parse_iso8601(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "2009-10-12T17:50:30",
        "2009-10-12 17:50:30Z",
        "2009-13-12T17:50:30Z",
        "20091012T175030Z",
        "2009-10-12T17:50:30+24:00",
        "",
    ],
)
def test_parse_iso8601_rejects_unzoned_or_invalid(text):
    with pytest.raises(ValueError):
        parse_iso8601(text)


def test_amz_date_round_trips_the_sigv4_example():
    dt = datetime(2013, 5, 24, tzinfo=UTC)
    assert format_amz_date(dt) == "20130524T000000Z"
    assert parse_amz_date("20130524T000000Z") == dt


@pytest.mark.parametrize(
    "text",
    [
        "20130524T000000",
        "20130524 000000Z",
        "2013-05-24T00:00:00Z",
        "20131324T000000Z",
        " 20130524T000000Z",
    ],
)
def test_parse_amz_date_is_strict(text):
    with pytest.raises(ValueError):
        parse_amz_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 1123 numeric and UTC zones: the S3 guide's SigV2 examples sign
        # "Tue, 27 Mar 2007 19:36:42 +0000", and legacy clients send them.
        ("Sun, 06 Nov 1994 08:49:37 +0000", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun, 06 Nov 1994 08:49:37 UTC", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun, 06 Nov 1994 09:49:37 +0100", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun, 06 Nov 1994 03:19:37 -0530", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
    ],
)
def test_parse_http_date_reads_rfc1123_zones(text, expected):
    assert parse_http_date(text) == expected
