"""The dashboard's charts as plain geometry for the SVG templates: no chart library, no script, no CDN.

Each function turns counts into coordinates in a fixed view box; the templates draw them as <rect>, <polyline>
and <text>, so the charts are part of the page and print as they show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

W, H = 1200, 260  # the line chart's view box (wide and low: it spans the page)
PAD_L, PAD_R, PAD_T, PAD_B = 44, 16, 14, 28


def cumulative(dates: Sequence[date], per_day: Counter[date], today: date) -> list[int]:
    """Submissions so far, day by day, up to today (before the window opens everything counts on day one)."""
    total = sum(n for d, n in per_day.items() if d < dates[0])
    out: list[int] = []
    for d in dates:
        if d > today:
            break
        total += per_day.get(d, 0)
        out.append(total)
    return out


def projection(dates: Sequence[date], cumulative: Sequence[int], today: date, labs: int) -> list[int]:
    """Where the count ends at the deadline at the pace of the last seven days (at most every lab)."""
    if not cumulative or len(cumulative) >= len(dates):
        return []
    recent = cumulative[-8:]
    pace = (recent[-1] - recent[0]) / max(1, len(recent) - 1)
    start = cumulative[-1]
    rest = len(dates) - len(cumulative)
    return [min(labs, round(start + pace * (i + 1))) for i in range(rest)]


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    actual: str  # polyline points
    projected: str
    goal_y: float
    today_x: float
    ticks: list[tuple[float, str]]  # x, label
    yticks: list[tuple[float, int]]
    last: int
    projected_end: int
    goal: int


def line_chart(dates: Sequence[date], actual: Sequence[int], proj: Sequence[int], labs: int, today: date) -> LineChart:
    top = max([labs, *actual, *proj, 1])
    n = max(1, len(dates) - 1)

    def x(i: int) -> float:
        return round(PAD_L + (W - PAD_L - PAD_R) * i / n, 1)

    def y(v: float) -> float:
        return round(H - PAD_B - (H - PAD_T - PAD_B) * v / top, 1)

    pts = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(actual))
    start = len(actual) - 1
    proj_pts = " ".join(f"{x(start + i)},{y(v)}" for i, v in enumerate([actual[-1], *proj])) if proj and actual else ""
    step = max(1, len(dates) // 6)
    ticks = [(x(i), f"{d.month}/{d.day}") for i, d in enumerate(dates) if i % step == 0 or i == len(dates) - 1]
    yticks = [(y(top * k / 4), round(top * k / 4)) for k in range(5)]
    today_i = min(len(dates) - 1, max(0, (today - dates[0]).days))
    return LineChart(
        W,
        H,
        pts,
        proj_pts,
        y(labs),
        x(today_i),
        ticks,
        yticks,
        actual[-1] if actual else 0,
        proj[-1] if proj else 0,
        labs,
    )


def bars(items: Iterable[tuple[str, int]], total: int) -> list[dict[str, Any]]:
    """Horizontal bars against the whole (e.g. labs done with each step out of all labs)."""
    total = max(1, total)
    return [
        {"key": key, "n": n, "pct": round(100 * n / total), "w": round(300 * n / total, 1), "y": i * 26}
        for i, (key, n) in enumerate(items)
    ]


def stacked(rows: Iterable[tuple[str, Counter[str]]], statuses: Sequence[str]) -> list[dict[str, Any]]:
    """One bar per row (a city, an institution type), split by status, scaled to the largest row."""
    rows = list(rows)
    top = max([sum(c.values()) for _, c in rows] or [1]) or 1
    out = []
    for i, (label, counts) in enumerate(rows):
        x = 0.0
        parts = []
        for status in statuses:
            n = counts.get(status, 0)
            if n:
                w = round(360 * n / top, 1)
                parts.append({"status": status, "x": x, "w": w, "n": n})
                x += w
        out.append({"label": label, "y": i * 22, "parts": parts, "n": sum(counts.values())})
    return out


def paired(rows: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """This year's count beside last year's, per specialty."""
    rows = list(rows)
    top = max([max(a, b) for _, a, b in rows] or [1]) or 1
    return [
        {"label": label, "now": a, "last": b, "wn": round(300 * a / top, 1), "wl": round(300 * b / top, 1), "y": i * 24}
        for i, (label, a, b) in enumerate(rows)
    ]


def daily_bars(dates: Sequence[date], per_day: Counter[date], today: date, days: int = 21) -> list[dict[str, Any]]:
    """Decisions per day over the last three weeks."""
    shown = [d for d in dates if d <= today][-days:]
    top = max([per_day.get(d, 0) for d in shown] or [1]) or 1
    return [
        {
            "x": i * 28,
            "h": round(120 * per_day.get(d, 0) / top, 1),
            "n": per_day.get(d, 0),
            "label": f"{d.month}/{d.day}",
        }
        for i, d in enumerate(shown)
    ]
