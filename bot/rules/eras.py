"""Japanese eras, numbers as citizens write them, and dates the way the bot says them.

The building blocks of bot.rules.dates (which reads dates) and of every date the bot
writes (`format_date`: Western first, the era in parentheses, as api.md asks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

__all__ = [
    "DAY_NAMES", "ERAS", "ERA_BY_SPELLING", "ERA_FIRST_YEAR", "KANA_DIGITS", "KANA_UNITS", "MEIJI", "Era",
    "alternation", "era_of", "format_date", "number",
]


@dataclass(frozen=True)
class Era:
    name: str
    starts_on: date


# 明治 is recognised only to say that it is not supported: before 1873 Japan used
# the lunisolar calendar, and nobody who holds a card today was born in 明治.
MEIJI = "明治"
ERAS = (
    Era("大正", date(1912, 7, 30)),
    Era("昭和", date(1926, 12, 25)),
    Era("平成", date(1989, 1, 8)),
    Era("令和", date(2019, 5, 1)),
)
# One-kanji (令3.4.1) and one-letter (R3.4.1) abbreviations as printed on forms and cards.
ERA_BY_SPELLING = {
    "令和": "令和", "れいわ": "令和", "レイワ": "令和", "r": "令和", "令": "令和",
    "平成": "平成", "へいせい": "平成", "ヘイセイ": "平成", "h": "平成", "平": "平成",
    "昭和": "昭和", "しょうわ": "昭和", "ショウワ": "昭和", "s": "昭和", "昭": "昭和",
    "大正": "大正", "たいしょう": "大正", "タイショウ": "大正", "t": "大正", "大": "大正",
    "明治": MEIJI, "めいじ": MEIJI, "メイジ": MEIJI, "m": MEIJI, "明": MEIJI,
}


# --- writing -------------------------------------------------------------------


def era_of(d: date) -> Era | None:
    for era in reversed(ERAS):
        if d >= era.starts_on:
            return era
    return None


def era_year_text(n: int) -> str:
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
    found = era_of(d) if era else None
    if found is None:
        return western
    era_year = d.year - found.starts_on.year + 1
    return f"{western}({found.name}{era_year_text(era_year)}年{d.month}月{d.day}日)"


# --- numbers ---------------------------------------------------------------------

KANJI_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4,
                 "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}

# Numbers read aloud, with the sound changes of counting (いっせん, ろっぴゃく, じゅっ).
# No PyPI package reads kana numerals (kanjize and its kin read kanji only), so a table.
KANA_DIGITS = {"いち": 1, "いっ": 1, "に": 2, "さん": 3, "よん": 4, "よ": 4, "し": 4, "ご": 5,
                "ろく": 6, "ろっ": 6, "なな": 7, "しち": 7, "はち": 8, "はっ": 8, "きゅう": 9, "く": 9}
KANA_UNITS = {"じゅう": 10, "じゅっ": 10, "じっ": 10, "ひゃく": 100, "びゃく": 100, "ぴゃく": 100,
               "せん": 1000, "ぜん": 1000}
# The days of the month that have names of their own.
_DAY_NAMES = {"ついたち": 1, "ふつか": 2, "みっか": 3, "よっか": 4, "いつか": 5, "むいか": 6, "なのか": 7,
              "なぬか": 7, "ようか": 8, "ここのか": 9, "とおか": 10, "じゅうよっか": 14, "はつか": 20,
              "にじゅうよっか": 24}
DAY_NAMES = MappingProxyType(_DAY_NAMES)
ERA_FIRST_YEAR = ("元", "がん")


def alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_KANA_TOKEN = re.compile(alternation({**KANA_DIGITS, **KANA_UNITS}))


def number(text: str) -> int:
    """An integer from ASCII digits, kanji numerals (二〇二一, 二千二十一) or kana (にじゅういち).

    >>> [number(s) for s in ("07", "二〇二一", "二千二十一", "十二", "三十一", "元", "がん")]
    [7, 2021, 2021, 12, 31, 1, 1]
    >>> [number(s) for s in ("ごじゅう", "じゅうに", "にじゅうく", "せんきゅうひゃくきゅうじゅう", "にせんにじゅういち")]
    [50, 12, 29, 1990, 2021]
    """
    if text.isascii() and text.isdigit():
        return int(text)
    if text in ERA_FIRST_YEAR:
        return 1
    if text[0] not in KANJI_DIGITS and text[0] not in KANJI_UNITS:
        values = [(KANA_DIGITS.get(t), KANA_UNITS.get(t)) for t in _KANA_TOKEN.findall(text)]
    else:
        values = [(KANJI_DIGITS.get(ch), KANJI_UNITS.get(ch)) for ch in text]
    total = current = 0
    for digit, unit in values:
        if digit is not None:
            current = current * 10 + digit
        else:
            total += (current or 1) * (unit or 0)
            current = 0
    return total + current
