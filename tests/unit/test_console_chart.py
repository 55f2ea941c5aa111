"""Bytes served per day (sealbox.console.chart): days summed in UTC, gaps
drawn as zero, a quarter at most, bars scaled to the largest day."""

from __future__ import annotations

from datetime import date

from sealbox.console.chart import BOTTOM, HEIGHT, MAX_DAYS, TOP, bytes_per_day, chart


def test_events_are_summed_by_utc_day_and_unreadable_ones_left_out() -> None:
    events = [{"Time": "2026-01-30T23:59:59.999Z", "BytesSent": 10},
              {"Time": "2026-01-31T00:00:00.000Z", "BytesSent": 5},
              {"Time": "2026-01-31T12:00:00.000Z", "BytesSent": 7},
              {"Time": "not a time", "BytesSent": 100},
              {"Time": "2026-01-31T12:00:00.000Z", "BytesSent": None},
              {"BytesSent": 3}]
    assert bytes_per_day(events) == {date(2026, 1, 30): 10, date(2026, 1, 31): 12}


def test_a_day_without_events_is_a_bar_of_zero_and_the_largest_fills_the_height() -> None:
    drawn = chart({date(2026, 1, 1): 100, date(2026, 1, 4): 50})
    assert drawn is not None
    assert [(b.day, b.sent) for b in drawn.bars] == [
        ("2026-01-01", 100), ("2026-01-02", 0), ("2026-01-03", 0), ("2026-01-04", 50)]
    plot = HEIGHT - BOTTOM - TOP
    assert drawn.bars[0].height == plot and drawn.bars[0].y == TOP
    assert drawn.bars[3].height == plot / 2
    assert drawn.bars[1].height == 0
    assert (drawn.peak, drawn.total) == (100, 150)
    assert all(a.x + a.width < b.x for a, b in zip(drawn.bars, drawn.bars[1:]))


def test_only_the_last_quarter_is_drawn_and_nothing_is_no_chart() -> None:
    days = {date(2025, 1, 1): 1, date(2026, 1, 1): 2}
    drawn = chart(days)
    assert drawn is not None and len(drawn.bars) == MAX_DAYS
    assert drawn.bars[-1].day == "2026-01-01" and drawn.total == 2
    assert chart({}) is None
    assert chart({date(2026, 1, 1): 0}).bars[0].height == 0  # type: ignore[union-attr]
