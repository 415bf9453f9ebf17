"""The grammar of the dates citizens type: the forms, and what each one reads as.

Tried together by bot.rules.dates.find_dates; where spans overlap the earliest, then longest,
wins. A form that matches but is not a date (2月30日, a year before the era began) comes
back as a DateParseError with a plain Japanese reason; a date without its year or day as
a PartialDate, for the dialogue to decide.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from bot.rules.eras import (
    DAY_NAMES,
    ERA_BY_SPELLING,
    ERA_FIRST_YEAR,
    ERAS,
    KANA_DIGITS,
    MEIJI,
    alternation,
    era_of,
    era_year_text,
    format_date,
    number,
)

__all__ = [
    "ERA_PATTERN", "FORMS", "NEEDED_WORDS", "YEAR_UNIT", "DateParseError", "Found", "Handler", "ParsedDate", "PartialDate",
]


@dataclass(frozen=True)
class ParsedDate:
    value: date
    # Set when the bot had to interpret: an era year past the era's end, a relative
    # word, a month end. The dialogue repeats it so the user can correct us.
    understood_as: str | None = None


@dataclass(frozen=True)
class PartialDate:
    """A date typed without its year (3月15日, 7/15) or without its day (令和3年4月, 来年の2月).

    Which year a yearless date means depends on what it is (an expiry lies ahead, an issue
    day behind), and whether a missing day matters depends on the rules: the dialogue
    decides both, so nothing is guessed here. The parts that are given exist together
    (no 2月30日 in any year; 2月29日 is kept, as some year has it).
    """

    year: int | None
    month: int
    day: int | None  # None: the day is missing
    month_end: bool = False  # 月末 without a year: the day depends on the year

    def on(self, year: int) -> date:
        """The day this means in `year` (ValueError when that year has no such day)."""
        if self.month_end:
            return date(year, self.month, calendar.monthrange(year, self.month)[1])
        return date(year, self.month, self.day or 1)

    def days(self) -> list[date]:
        """Every day a date missing its day can be (its year is known)."""
        assert self.year is not None
        last = calendar.monthrange(self.year, self.month)[1]
        return [date(self.year, self.month, d) for d in range(1, last + 1)]


class DateParseError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- building and checking -----------------------------------------------------------


# The dates a card holder can mean: births from 1900, expiries well before 2200. Outside
# this the rules' birthday arithmetic could overflow, and no real card is concerned.
FIRST_YEAR, LAST_YEAR = 1900, 2199


def _build(year: int, month: int, day: int) -> date:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DateParseError(f"{year}年という年は扱えません。{FIRST_YEAR}年から{LAST_YEAR}年までの日付で教えてください。")
    if not 1 <= month <= 12:
        raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
    last = calendar.monthrange(year, month)[1]
    if day < 1:
        raise DateParseError(f"{month}月{day}日という日はありません。")
    if day > last:
        if month == 2 and day == 29:
            raise DateParseError(f"{year}年はうるう年ではないので、2月29日はありません。")
        raise DateParseError(f"{month}月{day}日はありません。{month}月は{last}日までです。")
    return date(year, month, day)


def _from_era(spelling: str, era_year: int, month: int, day: int | None) -> ParsedDate:
    """The date for an era year; `day` None means the month's last day (月末)."""
    name = ERA_BY_SPELLING[spelling.lower()]
    if name == MEIJI:
        raise DateParseError("明治の日付には対応していません。西暦(例: 1900年1月1日)で書いてください。")
    era = next(e for e in ERAS if e.name == name)
    if era_year < 1:
        raise DateParseError(f"{name}{era_year}年という年はありません。{name}は元年(1年)から数えます。")
    year = era.starts_on.year + era_year - 1
    if day is None:
        if not 1 <= month <= 12:
            raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
        day = calendar.monthrange(year, month)[1]
    value = _build(year, month, day)
    typed = f"{name}{era_year_text(era_year)}年{month}月{day}日"
    if value < era.starts_on:
        previous = era_of(value)
        hint = ""
        if previous is not None:
            hint = f"(その日は{previous.name}{era_year_text(year - previous.starts_on.year + 1)}年{month}月{day}日です)"
        raise DateParseError(
            f"{name}は{format_date(era.starts_on, era=False)}からなので、{typed}という日はありません{hint}。"
        )
    following = [e for e in ERAS if e.starts_on > era.starts_on]
    if following and value >= following[0].starts_on:
        # Older documents print dates such as 平成32年 that were set before the era
        # changed; the day itself is clear, so we convert and say so.
        return ParsedDate(value, f"{typed}は、{format_date(value)}として受け取りました。")
    return ParsedDate(value)


def _assumed(year: int, month: int, day: int, note: str, assumption: str) -> ParsedDate:
    """A date whose year (or month) we filled in; `note` is what the user typed."""
    try:
        value = _build(year, month, day)
    except DateParseError as exc:
        raise DateParseError(f"{assumption}が、{exc.reason}") from None
    return ParsedDate(value, f"{note}{format_date(value, era=False)}として受け取りました。")


# --- the forms ---------------------------------------------------------------------

_KANA_DIGIT = rf"(?:{alternation(KANA_DIGITS)})"
_KANA_THOUSANDS = rf"{_KANA_DIGIT}?(?:せん|ぜん)"
_KANA_HUNDREDS = rf"{_KANA_DIGIT}?(?:ひゃく|びゃく|ぴゃく)"
_KANA_TENS = rf"{_KANA_DIGIT}?(?:じゅう|じゅっ|じっ)"
# A kana number as a grammar (thousands, hundreds, tens, ones), so that a kana particle
# before it (は, に) is never taken for a digit: しにせん is no number and the match moves on.
_KANA_NUM = (
    rf"(?:{_KANA_THOUSANDS}(?:{_KANA_HUNDREDS})?(?:{_KANA_TENS})?{_KANA_DIGIT}?"
    rf"|{_KANA_HUNDREDS}(?:{_KANA_TENS})?{_KANA_DIGIT}?"
    rf"|{_KANA_TENS}{_KANA_DIGIT}?"
    rf"|{_KANA_DIGIT})"
)
_PLAIN_NUM = r"(?:[0-9]{1,4}|[〇○零一二三四五六七八九十百千]{1,7})"
_NUM = rf"(?:{_PLAIN_NUM}|{_KANA_NUM})"
_NOT_AFTER_NUM = r"(?<![0-9〇○零一二三四五六七八九十百千])"
_ERA = (
    r"(?P<era>令和|平成|昭和|大正|明治|れいわ|へいせい|しょうわ|たいしょう|めいじ"
    r"|レイワ|ヘイセイ|ショウワ|タイショウ|メイジ|令|平|昭|大|明|(?<![A-Za-z])[RHSTMrhstm])"
)
_Y, _M, _D = r"(?:年|ねん|ネン)", r"(?:月|がつ|ガツ)", r"(?:日|にち|ニチ)"


def _day_or_end(num: str, named: bool) -> str:
    names = rf"(?P<dn>{alternation(DAY_NAMES)})|" if named else ""
    return rf"(?:{names}(?P<d>{num})\s*{_D}|(?P<end>末日?))"


_DAY_OR_END = _day_or_end(_NUM, named=True)
_YEAR = rf"(?:{_ERA}\s*(?P<ey>{_NUM}|{alternation(ERA_FIRST_YEAR)})|{_NOT_AFTER_NUM}(?P<wy>{_NUM}))"
_SEP_YEAR = r"(?:" + _ERA + r"\s*(?P<ey>[0-9]{1,2}|元)|(?<![0-9.\-/])(?P<wy>(?:1[89]|2[0-9])[0-9]{2}))"

_RELATIVE_DAYS = {
    "今日": 0, "本日": 0, "きょう": 0,
    "明日": 1, "あした": 1, "明後日": 2, "あさって": 2,
    "昨日": -1, "きのう": -1, "一昨日": -2, "おととい": -2,
}
_RELATIVE_YEARS = {
    "今年": 0, "ことし": 0, "本年": 0, "来年": 1, "らいねん": 1, "再来年": 2, "さらいねん": 2,
    "去年": -1, "昨年": -1, "きょねん": -1, "一昨年": -2, "おととし": -2,
}
_RELATIVE_MONTHS = {"今月": 0, "本月": 0, "来月": 1, "らいげつ": 1, "再来月": 2, "先月": -1, "せんげつ": -1}


def _day(g: dict[str, str | None]) -> int:
    named = g.get("dn")
    return DAY_NAMES[named] if named else number(g["d"] or "")


def _month_day(g: dict[str, str | None], year: int) -> tuple[int, int, int]:
    """(year, month, day) for a match with a month and either a day or 末 (month end)."""
    month = number(g["m"] or "")
    if g.get("end"):
        if not 1 <= month <= 12:
            raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
        return year, month, calendar.monthrange(year, month)[1]
    return year, month, _day(g)


def _full(g: dict[str, str | None], today: date) -> ParsedDate:
    month = number(g["m"] or "")
    day = None if g.get("end") else _day(g)
    if g.get("era"):
        parsed = _from_era(g["era"] or "", number(g["ey"] or ""), month, day)
    else:
        year = number(g["wy"] or "")
        if year < 1000:
            raise DateParseError(
                f"{year}年がいつの年か分かりません。西暦4桁(例: 2021年)か、令和・平成などの年号をつけて書いてください。"
            )
        parsed = ParsedDate(_build(*_month_day(g, year)))
    if day is None and parsed.understood_as is None:
        return ParsedDate(parsed.value, f"月末を{format_date(parsed.value, era=False)}として受け取りました。")
    return parsed


def _year_month_only(g: dict[str, str | None], today: date) -> PartialDate:
    month = number(g["m"] or "")
    if not 1 <= month <= 12:
        raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
    if g.get("ryear"):
        year = today.year + _RELATIVE_YEARS[g["ryear"] or ""]
    elif g.get("era"):
        year = _from_era(g["era"] or "", number(g["ey"] or ""), month, None).value.year
    else:
        year = number(g["wy"] or "")
        if year < 1000:
            raise DateParseError(
                f"{year}年がいつの年か分かりません。西暦4桁(例: 2021年)か、令和・平成などの年号をつけて書いてください。"
            )
        _build(year, month, 1)
    return PartialDate(year, month, None)


def _month_and_day(month: int, day: int | None) -> PartialDate:
    """A month and day without a year, refused only when no year has that day."""
    if not 1 <= month <= 12:
        raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
    if day is None:
        return PartialDate(None, month, None, month_end=True)
    longest = calendar.monthrange(2000, month)[1]  # 2000 is a leap year: 2月29日 exists in some year
    if not 1 <= day <= longest:
        raise DateParseError(f"{month}月{day}日という日はありません。")
    return PartialDate(None, month, day)


def _no_year(g: dict[str, str | None], today: date) -> PartialDate:
    return _month_and_day(number(g["m"] or ""), None if g.get("end") else _day(g))


def _slash_no_year(g: dict[str, str | None], today: date) -> PartialDate:
    return _month_and_day(int(g["m"] or 0), int(g["d"] or 0))


def _two_digit_year(g: dict[str, str | None], today: date) -> ParsedDate:
    yy, month, day = g["yy"] or "", int(g["m"] or 0), int(g["d"] or 0)
    likely = (1900 if int(yy) > today.year % 100 else 2000) + int(yy)
    raise DateParseError(
        f"「{g['_text']}」の{yy}年が西暦何年か決められません。西暦4桁(例: {likely}/{month}/{day})か、"
        f"令和・平成などの年号をつけて書いてください。"
    )


def _relative_day(g: dict[str, str | None], today: date) -> ParsedDate:
    value = today + timedelta(days=_RELATIVE_DAYS[g["word"] or ""])
    return ParsedDate(value, f"「{g['_text']}」を{format_date(value, era=False)}として受け取りました。")


def _relative_year(g: dict[str, str | None], today: date) -> ParsedDate:
    year = today.year + _RELATIVE_YEARS[g["ryear"] or ""]
    y, m, d = _month_day(g, year)
    return _assumed(y, m, d, f"「{g['_text']}」を", f"「{g['ryear']}」は{year}年です")


def _relative_month_only(g: dict[str, str | None], today: date) -> PartialDate:
    """先月, 来月 without a day: that month of that year, as a month typed without its day is."""
    first = today.replace(day=1) + relativedelta(months=_RELATIVE_MONTHS[g["rmonth"] or ""])
    return PartialDate(first.year, first.month, None)


def _relative_month(g: dict[str, str | None], today: date) -> ParsedDate:
    first = today.replace(day=1) + relativedelta(months=_RELATIVE_MONTHS[g["rmonth"] or ""])
    day = calendar.monthrange(first.year, first.month)[1] if g.get("end") else _day(g)
    return _assumed(first.year, first.month, day, f"「{g['_text']}」を",
                    f"「{g['rmonth']}」は{first.year}年{first.month}月です")


Handler = Callable[[dict[str, "str | None"], date], "ParsedDate | PartialDate"]

_YEAR_WORDS, _MONTH_WORDS, _DIGITS = ("年", "ねん", "ネン"), ("月", "がつ", "ガツ"), tuple("0123456789")

# Tried together; where spans overlap the earliest, then longest, wins, so a full
# date beats the year-and-month inside it and 来年の3月15日 beats 3月15日.
# Each form also lists words it cannot match without (one of each group): most messages
# have no date, and a substring test is far cheaper than the form's regex.
_FORMS: tuple[tuple[re.Pattern[str], Handler, tuple[frozenset[str], ...]], ...] = tuple(
    (re.compile(pattern), handler, tuple(frozenset(group) for group in needs))
    for pattern, handler, needs in (
        (rf"{_YEAR}\s*{_Y}\s*(?:の\s*)?(?P<m>{_NUM})\s*{_M}\s*{_DAY_OR_END}", _full, (_YEAR_WORDS, _MONTH_WORDS)),
        (rf"{_SEP_YEAR}(?P<sep>[./\-])(?P<m>[0-9]{{1,2}})(?P=sep)(?P<d>[0-9]{{1,2}})(?![0-9])", _full, (_DIGITS,)),
        (rf"{_SEP_YEAR}[ \t]+(?P<m>[0-9]{{1,2}})[ \t]+(?P<d>[0-9]{{1,2}})(?![0-9]|[ \t./\-]*[0-9])", _full, (_DIGITS,)),
        (r"(?<![0-9./\-])(?P<yy>[0-9]{2})(?P<sep>[/\-])(?P<m>1[0-2]|0?[1-9])(?P=sep)(?P<d>[0-9]{1,2})"
         r"(?![0-9]|[./\-][0-9])", _two_digit_year, (_DIGITS,)),
        (r"(?<![0-9])(?P<wy>(?:19|20)[0-9]{2})(?P<m>[0-9]{2})(?P<d>[0-9]{2})(?![0-9])", _full, (_DIGITS,)),
        (rf"{_YEAR}\s*{_Y}\s*(?:の\s*)?(?P<m>{_NUM})\s*{_M}", _year_month_only, (_YEAR_WORDS, _MONTH_WORDS)),
        (rf"{_SEP_YEAR}(?P<sep>[./\-])(?P<m>[0-9]{{1,2}})(?![0-9]|[./\-][0-9])", _year_month_only, (_DIGITS,)),
        (rf"(?P<word>{alternation(_RELATIVE_DAYS)})", _relative_day, ()),
        (rf"(?P<ryear>{alternation(_RELATIVE_YEARS)})\s*(?:の\s*)?(?P<m>{_NUM})\s*{_M}\s*{_DAY_OR_END}",
         _relative_year, (_MONTH_WORDS,)),
        (rf"(?P<ryear>{alternation(_RELATIVE_YEARS)})\s*(?:の\s*)?(?P<m>{_NUM})\s*{_M}", _year_month_only, (_MONTH_WORDS,)),
        (rf"(?P<rmonth>{alternation(_RELATIVE_MONTHS)})\s*(?:の\s*)?{_DAY_OR_END}", _relative_month,
         (tuple(_RELATIVE_MONTHS),)),
        (rf"(?P<rmonth>{alternation(_RELATIVE_MONTHS)})", _relative_month_only, (tuple(_RELATIVE_MONTHS),)),
        (rf"{_NOT_AFTER_NUM}(?P<m>{_PLAIN_NUM})\s*{_M}\s*{_day_or_end(_PLAIN_NUM, named=False)}", _no_year, (_MONTH_WORDS,)),
        # 7/15 is common for a day this year; an impossible month is more likely a
        # fraction or a ratio than a date, so it is not a date-like span at all.
        (r"(?<![0-9./\-])(?P<m>1[0-2]|0?[1-9])/(?P<d>[0-9]{1,2})(?![0-9]|[./\-][0-9])", _slash_no_year, (_DIGITS,)),
    )
)


# Every word some form needs: looked up once per message, then each form is a set test.
_NEEDED_WORDS = tuple(sorted({word for _, _, needs in _FORMS for group in needs for word in group}))


Found = ParsedDate | PartialDate | DateParseError
FORMS = _FORMS
NEEDED_WORDS = _NEEDED_WORDS
ERA_PATTERN, YEAR_UNIT = _ERA, _Y
