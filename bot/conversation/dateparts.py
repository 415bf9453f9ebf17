"""A date as the dialogue holds it (an ISO day, or a month 'YYYY-MM'), and its parts.

Taking a part out ("the year of the issue day"), putting one in (a correction of the month
alone), the next occurrence of a day typed without its year, and how a found date is shown.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.rules.dates import DateParseError, ParsedDate, PartialDate, format_date
from bot.rules.eras import ERAS, era_of


def iso(value: date) -> str:
    return value.isoformat()


def month_of(partial: PartialDate) -> str:
    return f"{partial.year:04d}-{partial.month:02d}"


def just_passed(partial: PartialDate, today: date) -> bool:
    """An expiry typed without its year that fell in the last 3 months: this year's (already past,
    "まだ間に合う?") or next year's cannot be told apart, so the year is asked, not assumed."""
    try:
        this_year = partial.on(today.year)
    except ValueError:
        return False
    return today - timedelta(days=92) <= this_year < today


def next_occurrence(partial: PartialDate, today: date) -> date:
    """The first day on or after today with this month and day (2月29日: the next leap year's)."""
    for year in range(today.year, today.year + 9):
        try:
            day = partial.on(year)
        except ValueError:
            continue
        if day >= today:
            return day
    raise ValueError("no such day")  # pragma: no cover - every month and day recurs within 8 years


def shown(parsed: ParsedDate | PartialDate | DateParseError) -> str:
    assert not isinstance(parsed, DateParseError)
    if isinstance(parsed, ParsedDate):
        return format_date(parsed.value, era=False)
    return "".join(f"{n}{unit}" for n, unit in ((parsed.year, "年"), (parsed.month, "月"), (parsed.day, "日")) if n)


def value_of(parsed: ParsedDate | PartialDate) -> str:
    return iso(parsed.value) if isinstance(parsed, ParsedDate) else month_of(parsed)


def part_of(value: str, part: str) -> int | None:
    if part == "year":
        return int(value[:4])
    if part == "month":
        return int(value[5:7])
    return int(value[8:]) if len(value) == 10 else None


def with_part(old: str, part: str, new: int) -> str:
    """`old` (a date or a month) with its year, month or day replaced."""
    if part == "year":
        return f"{new:04d}{old[4:]}"
    if part == "month":
        return f"{old[:5]}{new:02d}{old[7:]}"
    return f"{old[:7]}-{new:02d}"


def exists(value: str) -> bool:
    """A month, or a day that the calendar has (not 2月30日)."""
    try:
        date.fromisoformat(value if len(value) == 10 else f"{value}-01")
    except ValueError:
        return False
    return True


def with_era(old: str, was: str, era: str) -> str | None:
    """`old` in the same year of another era (昭和20年 → 平成20年), if `old` is in era `was`;
    None otherwise, or when that year of the other era is not in it."""
    first = date.fromisoformat(old if len(old) == 10 else f"{old}-01")
    said, new = era_of(first), next((e for e in ERAS if e.name == era), None)
    if said is None or said.name != was or new is None:
        return None
    value = f"{new.starts_on.year + first.year - said.starts_on.year:04d}{old[4:]}"
    following = next((e for e in ERAS if e.starts_on > new.starts_on), None)
    day = date.fromisoformat(value if len(value) == 10 else f"{value}-28")
    if not exists(value) or day < new.starts_on or (following is not None and day >= following.starts_on):
        return None
    return value
