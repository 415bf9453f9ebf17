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

import functools
import re
from datetime import date

from bot.rules.date_forms import (
    ERA_PATTERN,
    FORMS,
    NEEDED_WORDS,
    YEAR_UNIT,
    DateParseError,
    Found,
    Handler,
    ParsedDate,
    PartialDate,
)
from bot.rules.eras import DAY_NAMES, ERA_BY_SPELLING, ERA_FIRST_YEAR, ERAS, alternation, format_date, number
from bot.text import nfkc_folded, with_offsets

__all__ = [
    "DAY_NAMES", "DateParseError", "Found", "ParsedDate", "PartialDate", "find_dates", "format_date", "parse_date",
    "year_alone", "year_in",
]


_FORMS_NEEDING_NOTHING = [(priority, form) for priority, form in enumerate(FORMS) if not form[2]]


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
    normal, starts, ends = with_offsets(text)
    candidates: list[tuple[int, int, int, re.Match[str], Handler]] = []
    present = {word for word in NEEDED_WORDS if word in normal}
    # Most messages hold none of the words the forms need: only the forms that need none are tried.
    for priority, (pattern, handler, needs) in enumerate(FORMS) if present else _FORMS_NEEDING_NOTHING:
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
        found.append((starts[start], ends[match.end() - 1], result))
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
    dates = [_this_year(r, today) if isinstance(r, PartialDate) else r for _, _, r in spans
             if not isinstance(r, DateParseError)]
    if len({d.value for d in dates}) > 1:
        raise DateParseError("日付が2つ以上書かれています。1つだけ書いてください。")
    return dates[0]


# A year alone, the answer to "which year?": 2021年です, 令和3年, R3, へいせい30ねん; and a year
# without a month inside a longer message.
_A_YEAR = rf"(?:{ERA_PATTERN}\s*(?P<ey>[0-9]{{1,2}}|[一二三四五六七八九十]{{1,3}}|{alternation(ERA_FIRST_YEAR)})|(?<![0-9])(?P<wy>(?:19|20)[0-9]{{2}}))"
_YEAR_ALONE = re.compile(
    rf"^\s*{_A_YEAR}\s*{YEAR_UNIT}?\s*(?:です|でした|だよ|だと思います|ごろ|頃|くらい|ぐらい)?\s*[。!.]?\s*$"
)
_YEAR_IN = re.compile(rf"{_A_YEAR}\s*{YEAR_UNIT}(?!\s*(?:の\s*)?[0-9〇一二三四五六七八九十]+\s*(?:月|がつ))")


def year_alone(text: str) -> int | None:
    """The Western year of a message that is only a year, else None.

    >>> [year_alone(t) for t in ("2021年です", "令和3年", "R3", "へいせい30ねん", "平成元年", "3年", "明治40年")]
    [2021, 2021, 2021, 2018, 1989, None, None]
    """
    return _western_year(_YEAR_ALONE.match(nfkc_folded(text)))


def year_in(text: str) -> int | None:
    """The first year named without a month in a longer message ("令和5年です。カードと一緒に…").

    >>> [year_in(t) for t in ("令和5年です。カードと一緒に", "たしか2021年だったと思う", "2021年4月", "3年前")]
    [2023, 2021, None, None]
    """
    return _western_year(_YEAR_IN.search(nfkc_folded(text)))


def _western_year(found: re.Match[str] | None) -> int | None:
    if not found:
        return None
    if found.group("wy"):
        return int(found.group("wy"))
    name = ERA_BY_SPELLING.get(found.group("era"))  # the text is lower-cased: R3 is r3
    era = next((e for e in ERAS if e.name == name), None)
    return None if era is None else era.starts_on.year + number(found.group("ey")) - 1
