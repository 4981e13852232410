"""Dates and small lists as people read them, per language."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

MONTHS = (  # English month names, for dates and for the tests that look for them
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day(d: date, lang: str) -> str:
    if lang == "en":
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    return f"{d.year}年{d.month}月{d.day}日"


def moment(t: datetime, lang: str, tz: ZoneInfo) -> str:
    local = t.astimezone(tz)
    return f"{day(local.date(), lang)} {local:%H:%M}"


def join(items: Iterable[str], lang: str) -> str:
    return ", ".join(items) if lang == "en" else "、".join(items)
