"""Reading the dates citizens type, and writing dates the way the bot says them.

Users type dates in many shapes: Western or era years, ASCII or full-width digits,
kanji numerals, hiragana (へいせいにねんさんがつついたち), abbreviations such as R3.4.1
or 令3.4.1, parts separated by spaces (1990 4 1), and relative words such as 明日 or
来月末. `find_dates` finds every date-like span in a message so that the dialogue can
tell a birth date from an issue date by the words around each span; `parse_date`
wants exactly one date. A span that looks like a date but is not one (2月30日, a year
and month without a day) comes back as a `DateParseError` whose `reason` is a plain
Japanese sentence the dialogue can show as its reprompt.

Decisions worth knowing:

- Two-digit years (90/4/1, 90年4月1日) are refused with a reason that asks for four
  digits or an era. Nothing here knows whether a date is a birth date (1925 and 2025
  both possible) or an expiry (2035 as likely as 1935), so every two-digit year has two
  readings within 1900-2199 and we do not guess. 90.4.1 is not a date-like span at all:
  dots also separate version numbers (iOS 17.4.1).
- Hiragana numerals and day names (ついたち, はつか, にじゅうよっか) are read only in a date
  that has its year. The dialogue's check that a birth date has a year looks at digits
  and kanji, so a yearless しがつついたち is left unread rather than silently given this year.
- Katakana is read for the era and the units (レイワ3ネン), not for the numbers themselves.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from dateutil.relativedelta import relativedelta

__all__ = [
    "DateParseError", "ParsedDate", "PartialDate", "find_dates", "format_date", "parse_date", "year_alone", "year_in",
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


@dataclass(frozen=True)
class _Era:
    name: str
    starts_on: date


# 明治 is recognised only to say that it is not supported: before 1873 Japan used
# the lunisolar calendar, and nobody who holds a card today was born in 明治.
_MEIJI = "明治"
_ERAS = (
    _Era("大正", date(1912, 7, 30)),
    _Era("昭和", date(1926, 12, 25)),
    _Era("平成", date(1989, 1, 8)),
    _Era("令和", date(2019, 5, 1)),
)
# One-kanji (令3.4.1) and one-letter (R3.4.1) abbreviations as printed on forms and cards.
_ERA_BY_SPELLING = {
    "令和": "令和", "れいわ": "令和", "レイワ": "令和", "r": "令和", "令": "令和",
    "平成": "平成", "へいせい": "平成", "ヘイセイ": "平成", "h": "平成", "平": "平成",
    "昭和": "昭和", "しょうわ": "昭和", "ショウワ": "昭和", "s": "昭和", "昭": "昭和",
    "大正": "大正", "たいしょう": "大正", "タイショウ": "大正", "t": "大正", "大": "大正",
    "明治": _MEIJI, "めいじ": _MEIJI, "メイジ": _MEIJI, "m": _MEIJI, "明": _MEIJI,
}


# --- writing -------------------------------------------------------------------


def _era_of(d: date) -> _Era | None:
    for era in reversed(_ERAS):
        if d >= era.starts_on:
            return era
    return None


def _era_year_text(n: int) -> str:
    return "元" if n == 1 else str(n)


def format_date(d: date, era: bool = True) -> str:
    """The bot's way of writing a date: Western first, the era in parentheses.

    >>> format_date(date(2027, 7, 15))
    '2027年7月15日(令和9年7月15日)'
    >>> format_date(date(2019, 5, 1))
    '2019年5月1日(令和元年5月1日)'
    >>> format_date(date(1989, 1, 7))
    '1989年1月7日(昭和64年1月7日)'
    >>> format_date(date(2027, 7, 15), era=False)
    '2027年7月15日'
    """
    western = f"{d.year}年{d.month}月{d.day}日"
    found = _era_of(d) if era else None
    if found is None:
        return western
    era_year = d.year - found.starts_on.year + 1
    return f"{western}({found.name}{_era_year_text(era_year)}年{d.month}月{d.day}日)"


# --- numbers ---------------------------------------------------------------------

_KANJI_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4,
                 "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}

# Numbers read aloud, with the sound changes of counting (いっせん, ろっぴゃく, じゅっ).
# No PyPI package reads kana numerals (kanjize and its kin read kanji only), so a table.
_KANA_DIGITS = {"いち": 1, "いっ": 1, "に": 2, "さん": 3, "よん": 4, "よ": 4, "し": 4, "ご": 5,
                "ろく": 6, "ろっ": 6, "なな": 7, "しち": 7, "はち": 8, "はっ": 8, "きゅう": 9, "く": 9}
_KANA_UNITS = {"じゅう": 10, "じゅっ": 10, "じっ": 10, "ひゃく": 100, "びゃく": 100, "ぴゃく": 100,
               "せん": 1000, "ぜん": 1000}
# The days of the month that have names of their own.
_DAY_NAMES = {"ついたち": 1, "ふつか": 2, "みっか": 3, "よっか": 4, "いつか": 5, "むいか": 6, "なのか": 7,
              "なぬか": 7, "ようか": 8, "ここのか": 9, "とおか": 10, "じゅうよっか": 14, "はつか": 20,
              "にじゅうよっか": 24}
DAY_NAMES = MappingProxyType(_DAY_NAMES)
_ERA_FIRST_YEAR = ("元", "がん")


def _alternation(words: dict[str, int] | tuple[str, ...]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_KANA_TOKEN = re.compile(_alternation({**_KANA_DIGITS, **_KANA_UNITS}))


def _number(text: str) -> int:
    """An integer from ASCII digits, kanji numerals (二〇二一, 二千二十一) or kana (にじゅういち).

    >>> [_number(s) for s in ("07", "二〇二一", "二千二十一", "十二", "三十一", "元", "がん")]
    [7, 2021, 2021, 12, 31, 1, 1]
    >>> [_number(s) for s in ("ごじゅう", "じゅうに", "にじゅうく", "せんきゅうひゃくきゅうじゅう", "にせんにじゅういち")]
    [50, 12, 29, 1990, 2021]
    """
    if text.isascii() and text.isdigit():
        return int(text)
    if text in _ERA_FIRST_YEAR:
        return 1
    if text[0] not in _KANJI_DIGITS and text[0] not in _KANJI_UNITS:
        values = [(_KANA_DIGITS.get(t), _KANA_UNITS.get(t)) for t in _KANA_TOKEN.findall(text)]
    else:
        values = [(_KANJI_DIGITS.get(ch), _KANJI_UNITS.get(ch)) for ch in text]
    total = current = 0
    for digit, unit in values:
        if digit is not None:
            current = current * 10 + digit
        else:
            total += (current or 1) * (unit or 0)
            current = 0
    return total + current


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
    name = _ERA_BY_SPELLING[spelling.lower()]
    if name == _MEIJI:
        raise DateParseError("明治の日付には対応していません。西暦(例: 1900年1月1日)で書いてください。")
    era = next(e for e in _ERAS if e.name == name)
    if era_year < 1:
        raise DateParseError(f"{name}{era_year}年という年はありません。{name}は元年(1年)から数えます。")
    year = era.starts_on.year + era_year - 1
    if day is None:
        if not 1 <= month <= 12:
            raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
        day = calendar.monthrange(year, month)[1]
    value = _build(year, month, day)
    typed = f"{name}{_era_year_text(era_year)}年{month}月{day}日"
    if value < era.starts_on:
        previous = _era_of(value)
        hint = ""
        if previous is not None:
            hint = f"(その日は{previous.name}{_era_year_text(year - previous.starts_on.year + 1)}年{month}月{day}日です)"
        raise DateParseError(
            f"{name}は{format_date(era.starts_on, era=False)}からなので、{typed}という日はありません{hint}。"
        )
    following = [e for e in _ERAS if e.starts_on > era.starts_on]
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

_KANA_DIGIT = rf"(?:{_alternation(_KANA_DIGITS)})"
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
    names = rf"(?P<dn>{_alternation(_DAY_NAMES)})|" if named else ""
    return rf"(?:{names}(?P<d>{num})\s*{_D}|(?P<end>末日?))"


_DAY_OR_END = _day_or_end(_NUM, named=True)
_YEAR = rf"(?:{_ERA}\s*(?P<ey>{_NUM}|{_alternation(_ERA_FIRST_YEAR)})|{_NOT_AFTER_NUM}(?P<wy>{_NUM}))"
_SEP_YEAR = r"(?:" + _ERA + r"\s*(?P<ey>[0-9]{1,2}|元)|(?<![0-9.\-/])(?P<wy>(?:1[89]|2[0-9])[0-9]{2}))"

_RELATIVE_DAYS = {
    "今日": 0, "本日": 0, "きょう": 0,
    "明日": 1, "あした": 1, "明後日": 2, "あさって": 2,
    "昨日": -1, "きのう": -1, "一昨日": -2, "おととい": -2,
}
_RELATIVE_YEARS = {
    "今年": 0, "ことし": 0, "本年": 0, "来年": 1, "らいねん": 1, "再来年": 2, "さらいねん": 2,
    "去年": -1, "昨年": -1, "きょねん": -1,
}
_RELATIVE_MONTHS = {"今月": 0, "本月": 0, "来月": 1, "らいげつ": 1, "再来月": 2, "先月": -1, "せんげつ": -1}


def _day(g: dict[str, str | None]) -> int:
    return _DAY_NAMES[g["dn"]] if g.get("dn") else _number(g["d"] or "")


def _month_day(g: dict[str, str | None], year: int) -> tuple[int, int, int]:
    """(year, month, day) for a match with a month and either a day or 末 (month end)."""
    month = _number(g["m"] or "")
    if g.get("end"):
        if not 1 <= month <= 12:
            raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
        return year, month, calendar.monthrange(year, month)[1]
    return year, month, _day(g)


def _full(g: dict[str, str | None], today: date) -> ParsedDate:
    month = _number(g["m"] or "")
    day = None if g.get("end") else _day(g)
    if g.get("era"):
        parsed = _from_era(g["era"] or "", _number(g["ey"] or ""), month, day)
    else:
        year = _number(g["wy"] or "")
        if year < 1000:
            raise DateParseError(
                f"{year}年がいつの年か分かりません。西暦4桁(例: 2021年)か、令和・平成などの年号をつけて書いてください。"
            )
        parsed = ParsedDate(_build(*_month_day(g, year)))
    if day is None and parsed.understood_as is None:
        return ParsedDate(parsed.value, f"月末を{format_date(parsed.value, era=False)}として受け取りました。")
    return parsed


def _year_month_only(g: dict[str, str | None], today: date) -> PartialDate:
    month = _number(g["m"] or "")
    if not 1 <= month <= 12:
        raise DateParseError(f"{month}月という月はありません。月は1から12までです。")
    if g.get("ryear"):
        year = today.year + _RELATIVE_YEARS[g["ryear"] or ""]
    elif g.get("era"):
        year = _from_era(g["era"] or "", _number(g["ey"] or ""), month, None).value.year
    else:
        year = _number(g["wy"] or "")
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
    return _month_and_day(_number(g["m"] or ""), None if g.get("end") else _day(g))


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


def _relative_month(g: dict[str, str | None], today: date) -> ParsedDate:
    first = today.replace(day=1) + relativedelta(months=_RELATIVE_MONTHS[g["rmonth"] or ""])
    day = calendar.monthrange(first.year, first.month)[1] if g.get("end") else _day(g)
    return _assumed(first.year, first.month, day, f"「{g['_text']}」を",
                    f"「{g['rmonth']}」は{first.year}年{first.month}月です")


_Handler = Callable[[dict[str, "str | None"], date], "ParsedDate | PartialDate"]

_YEAR_WORDS, _MONTH_WORDS, _DIGITS = ("年", "ねん", "ネン"), ("月", "がつ", "ガツ"), tuple("0123456789")

# Tried together; where spans overlap the earliest, then longest, wins, so a full
# date beats the year-and-month inside it and 来年の3月15日 beats 3月15日.
# Each form also lists words it cannot match without (one of each group): most messages
# have no date, and a substring test is far cheaper than the form's regex.
_FORMS: tuple[tuple[re.Pattern[str], _Handler, tuple[frozenset[str], ...]], ...] = tuple(
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
        (rf"(?P<word>{_alternation(_RELATIVE_DAYS)})", _relative_day, ()),
        (rf"(?P<ryear>{_alternation(_RELATIVE_YEARS)})\s*(?:の\s*)?(?P<m>{_NUM})\s*{_M}\s*{_DAY_OR_END}",
         _relative_year, (_MONTH_WORDS,)),
        (rf"(?P<ryear>{_alternation(_RELATIVE_YEARS)})\s*(?:の\s*)?(?P<m>{_NUM})\s*{_M}", _year_month_only, (_MONTH_WORDS,)),
        (rf"(?P<rmonth>{_alternation(_RELATIVE_MONTHS)})\s*(?:の\s*)?{_DAY_OR_END}", _relative_month,
         (tuple(_RELATIVE_MONTHS),)),
        (rf"{_NOT_AFTER_NUM}(?P<m>{_PLAIN_NUM})\s*{_M}\s*{_day_or_end(_PLAIN_NUM, named=False)}", _no_year, (_MONTH_WORDS,)),
        # 7/15 is common for a day this year; an impossible month is more likely a
        # fraction or a ratio than a date, so it is not a date-like span at all.
        (r"(?<![0-9./\-])(?P<m>1[0-2]|0?[1-9])/(?P<d>[0-9]{1,2})(?![0-9]|[./\-][0-9])", _slash_no_year, (_DIGITS,)),
    )
)


# Every word some form needs: looked up once per message, then each form is a set test.
_NEEDED_WORDS = tuple(sorted({word for _, _, needs in _FORMS for group in needs for word in group}))


def _normalise(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with each output character's index in the input.

    Per character rather than per string so that spans map back exactly; the only
    loss is composing half-width kana with a separate voicing mark, which no date
    form needs.
    """
    if unicodedata.is_normalized("NFKC", text):  # most typed text: no character changes
        return text, list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for n in unicodedata.normalize("NFKC", ch):
            out.append(n)
            origin.append(i)
    return "".join(out), origin


Found = ParsedDate | PartialDate | DateParseError


def find_dates(text: str, today: date) -> list[tuple[int, int, Found]]:
    """Every date-like span in `text`, in order: (start, end, a date, a partial date, or the reason it is not one).

    >>> [(s, e, r.value.isoformat()) for s, e, r in find_dates("生年月日は平成2年5月10日、発行は２０２１年４月１日", date(2025, 6, 1))]
    [(5, 14, '1990-05-10'), (18, 27, '2021-04-01')]
    """
    return list(_find_dates(text, today))


# The dialogue reads a message's dates and the turn log redacts them from the same
# message: the second look is a cache hit. Bounded; results are never mutated.
@functools.lru_cache(maxsize=1024)
def _find_dates(text: str, today: date) -> tuple[tuple[int, int, Found], ...]:
    normal, origin = _normalise(text)
    candidates: list[tuple[int, int, int, re.Match[str], _Handler]] = []
    present = {word for word in _NEEDED_WORDS if word in normal}
    for priority, (pattern, handler, needs) in enumerate(_FORMS):
        if needs and not all(present & group for group in needs):
            continue
        for match in pattern.finditer(normal):
            candidates.append((match.start(), -(match.end() - match.start()), priority, match, handler))
    candidates.sort(key=lambda c: c[:3])
    found: list[tuple[int, int, Found]] = []
    taken_until = 0
    for start, _, _, match, handler in candidates:
        if start < taken_until:
            continue
        taken_until = match.end()
        result: Found
        try:
            result = handler({**match.groupdict(), "_text": match.group(0).strip()}, today)
        except DateParseError as exc:
            # Kept in the cache: a copy never raised, so no traceback keeps the handler's frames alive.
            result = DateParseError(exc.reason)
        found.append((origin[start], origin[match.end() - 1] + 1, result))
    return tuple(found)


def _this_year(partial: PartialDate, today: date) -> ParsedDate:
    """A lone date's reading: a missing day is refused, a missing year is this year's, said."""
    if partial.year is not None:
        raise DateParseError("日付の「日」がありません。何日かも教えてください(例: 2021年4月1日)。")
    year = today.year
    try:
        value = partial.on(year)
    except ValueError:
        raise DateParseError(
            f"年が書かれていないので{year}年と考えましたが、{year}年はうるう年ではないので、2月29日はありません。"
        ) from None
    return ParsedDate(value, f"年が書かれていないので、{format_date(value, era=False)}として受け取りました。")


def parse_date(text: str, today: date) -> ParsedDate:
    """The one date in `text`.

    >>> parse_date("令和3年4月1日", date(2025, 6, 1))
    ParsedDate(value=datetime.date(2021, 4, 1), understood_as=None)
    >>> parse_date("平成32年4月1日", date(2025, 6, 1)).understood_as
    '平成32年4月1日は、2020年4月1日(令和2年4月1日)として受け取りました。'
    """
    spans = find_dates(text, today)
    if not spans:
        raise DateParseError("日付が読み取れませんでした。2021年4月1日 や 令和3年4月1日 のように書いてください。")
    for _, _, result in spans:
        if isinstance(result, DateParseError):
            raise DateParseError(result.reason)  # a fresh one: the found one is shared through the cache
    dates = [_this_year(r, today) if isinstance(r, PartialDate) else r for _, _, r in spans]
    if len({d.value for d in dates}) > 1:
        raise DateParseError("日付が2つ以上書かれています。1つだけ書いてください。")
    return dates[0]


# A year alone, the answer to "which year?": 2021年です, 令和3年, R3, へいせい30ねん; and a year
# without a month inside a longer message.
_A_YEAR = rf"(?:{_ERA}\s*(?P<ey>[0-9]{{1,2}}|{_alternation(_ERA_FIRST_YEAR)})|(?<![0-9])(?P<wy>(?:19|20)[0-9]{{2}}))"
_YEAR_ALONE = re.compile(
    rf"^\s*{_A_YEAR}\s*{_Y}?\s*(?:です|でした|だよ|だと思います|ごろ|頃|くらい|ぐらい)?\s*[。!.]?\s*$"
)
_YEAR_IN = re.compile(rf"{_A_YEAR}\s*{_Y}(?!\s*(?:の\s*)?[0-9〇一二三四五六七八九十]+\s*(?:月|がつ))")


def year_alone(text: str) -> int | None:
    """The Western year of a message that is only a year, else None.

    >>> [year_alone(t) for t in ("2021年です", "令和3年", "R3", "へいせい30ねん", "平成元年", "3年", "明治40年")]
    [2021, 2021, 2021, 2018, 1989, None, None]
    """
    return _western_year(_YEAR_ALONE.match(unicodedata.normalize("NFKC", text).lower()))


def year_in(text: str) -> int | None:
    """The first year named without a month in a longer message ("令和5年です。カードと一緒に…").

    >>> [year_in(t) for t in ("令和5年です。カードと一緒に", "たしか2021年だったと思う", "2021年4月", "3年前")]
    [2023, 2021, None, None]
    """
    return _western_year(_YEAR_IN.search(unicodedata.normalize("NFKC", text).lower()))


def _western_year(found: re.Match[str] | None) -> int | None:
    if not found:
        return None
    if found.group("wy"):
        return int(found.group("wy"))
    name = _ERA_BY_SPELLING.get(found.group("era"))  # the text is lower-cased: R3 is r3
    era = next((e for e in _ERAS if e.name == name), None)
    return None if era is None else era.starts_on.year + _number(found.group("ey")) - 1
