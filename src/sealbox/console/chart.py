"""Bytes served per day, as the bars of a chart drawn on the server (SVG in
the page: no chart library, no script, nothing the CSP must allow).

Pure: events in (the audit API's JSON: ``Time``, ``BytesSent``), the days
and the bars' geometry out; the template draws them. Days are UTC, as the
audit trail's times are; a day without events is a bar of zero, so gaps
show as gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

MAX_DAYS = 92  # a quarter: wider, and a bar is thinner than a pixel on a phone
WIDTH, HEIGHT = 640, 200  # the viewBox; the SVG scales to its box
LEFT, BOTTOM, TOP = 56, 24, 8  # room for the axis labels
MAX_BAR = 40  # a week's bars stay bars, not blocks


@dataclass(frozen=True)
class Bar:
    day: str  # 2026-01-31
    sent: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int  # the largest day's bytes: the top of the scale
    total: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = HEIGHT - BOTTOM
    top: int = TOP


def bytes_per_day(events: Iterable[Mapping[str, Any]]) -> dict[date, int]:
    """The bytes each UTC day's events sent; events without a readable
    time or size are left out."""
    days: dict[date, int] = {}
    for event in events:
        when, sent = event.get("Time"), event.get("BytesSent")
        if not isinstance(when, str) or not isinstance(sent, int) or sent < 0:
            continue
        try:
            day = date.fromisoformat(when[:10])
        except ValueError:
            continue
        days[day] = days.get(day, 0) + sent
    return days


def chart(days: Mapping[date, int]) -> Chart | None:
    """The bars from the first day to the last (the last ``MAX_DAYS`` of
    them), every day in between; None without any day."""
    if not days:
        return None
    last = max(days)
    first = max(min(days), last - timedelta(days=MAX_DAYS - 1))
    span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    values = [days.get(day, 0) for day in span]
    peak = max(values)
    slot = (WIDTH - LEFT) / len(span)
    plot = HEIGHT - BOTTOM - TOP
    bars = []
    for index, (day, sent) in enumerate(zip(span, values, strict=True)):
        height = plot * sent / peak if peak else 0.0
        width = min(slot * 0.8, MAX_BAR)
        bars.append(Bar(day.isoformat(), sent, round(LEFT + index * slot + (slot - width) / 2, 2),
                        round(TOP + plot - height, 2), round(width, 2), round(height, 2)))
    return Chart(bars, peak, sum(values))
