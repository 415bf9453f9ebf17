"""Table tests for bot/rules/dates.py: the forms citizens type, and the ones we refuse."""

from __future__ import annotations

import doctest
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.rules.date_forms
import bot.rules.dates
import bot.rules.eras
from bot.rules.dates import DateParseError, ParsedDate, find_dates, format_date, parse_date

TODAY = date(2025, 6, 1)

# (typed, expected ISO date, whether an understood_as note must be set)
PARSES: list[tuple[str, str, bool]] = [
    ("2021年4月1日", "2021-04-01", False),
    ("2021年04月01日", "2021-04-01", False),
    ("2021/4/1", "2021-04-01", False),
    ("2021/04/01", "2021-04-01", False),
    ("2021-04-01", "2021-04-01", False),
    ("2021.4.1", "2021-04-01", False),
    ("20210401", "2021-04-01", False),
    ("19900510", "1990-05-10", False),
    ("令和3年4月1日", "2021-04-01", False),
    ("R3.4.1", "2021-04-01", False),
    ("R3/4/1", "2021-04-01", False),
    ("R3-4-1", "2021-04-01", False),
    ("r3.4.1", "2021-04-01", False),
    ("R03.04.01", "2021-04-01", False),
    ("R3年4月1日", "2021-04-01", False),
    ("令和3.4.1", "2021-04-01", False),
    ("平成2年5月10日", "1990-05-10", False),
    ("H2.5.10", "1990-05-10", False),
    ("h2/5/10", "1990-05-10", False),
    ("昭和60年1月1日", "1985-01-01", False),
    ("S60.1.1", "1985-01-01", False),
    ("昭和64年1月7日", "1989-01-07", False),
    ("大正15年12月24日", "1926-12-24", False),
    ("T15.12.24", "1926-12-24", False),
    ("大正元年7月30日", "1912-07-30", False),
    ("令和元年5月1日", "2019-05-01", False),
    ("R元.5.1", "2019-05-01", False),
    ("平成元年1月8日", "1989-01-08", False),
    ("平成31年4月30日", "2019-04-30", False),
    ("２０２１年４月１日", "2021-04-01", False),
    ("２０２１／４／１", "2021-04-01", False),
    ("令和３年４月１日", "2021-04-01", False),
    ("Ｒ３．４．１", "2021-04-01", False),
    ("令和三年四月一日", "2021-04-01", False),
    ("二〇二一年四月一日", "2021-04-01", False),
    ("二千二十一年十二月二十五日", "2021-12-25", False),
    ("2021年1月三十一日", "2021-01-31", False),
    ("平成二年五月十日", "1990-05-10", False),
    ("2021 年 4 月 1 日", "2021-04-01", False),
    ("令和 3 年 4 月 1 日", "2021-04-01", False),
    ("  2021年4月1日  ", "2021-04-01", False),
    ("2021年　4月　1日", "2021-04-01", False),
    ("れいわ3ねん4がつ1にち", "2021-04-01", False),
    ("へいせい2ねん5がつ10にち", "1990-05-10", False),
    ("しょうわ60ねん1がつ1にち", "1985-01-01", False),
    ("レイワ3ネン4ガツ1ニチ", "2021-04-01", False),
    ("㍻2年5月10日", "1990-05-10", False),
    ("令和3年4月1日(木)", "2021-04-01", False),
    ("生年月日は1990年5月10日です", "1990-05-10", False),
    ("2027年7月15日(令和9年7月15日)", "2027-07-15", False),
    ("2024年2月29日", "2024-02-29", False),
    ("2021年の4月1日", "2021-04-01", False),
    # era past its end: converted, and said
    ("平成32年4月1日", "2020-04-01", True),
    ("平成31年5月1日", "2019-05-01", True),
    ("H32.4.1", "2020-04-01", True),
    ("昭和64年1月8日", "1989-01-08", True),
    ("大正16年1月1日", "1927-01-01", True),
    # month ends
    ("2021年4月末", "2021-04-30", True),
    ("2024年2月末日", "2024-02-29", True),
    # relative forms, resolved against TODAY and said
    ("今日", "2025-06-01", True),
    ("本日", "2025-06-01", True),
    ("きょう", "2025-06-01", True),
    ("明日", "2025-06-02", True),
    ("あした", "2025-06-02", True),
    ("明後日", "2025-06-03", True),
    ("昨日", "2025-05-31", True),
    ("一昨日", "2025-05-30", True),
    ("来年の3月15日", "2026-03-15", True),
    ("来年3月15日", "2026-03-15", True),
    ("今年の7月1日", "2025-07-01", True),
    ("去年の12月1日", "2024-12-01", True),
    ("今月末", "2025-06-30", True),
    ("来月末", "2025-07-31", True),
    ("先月末", "2025-05-31", True),
    ("来月15日", "2025-07-15", True),
    ("今月の20日", "2025-06-20", True),
    # no year: this year, and said so that the dialogue can confirm
    ("3月15日", "2025-03-15", True),
    ("十二月二十五日", "2025-12-25", True),
    ("7/15", "2025-07-15", True),
    # hiragana numerals and day names, in a date with its year
    ("へいせいにねんさんがつついたち", "1990-03-01", False),
    ("しょうわごじゅうねん じゅうにがつ にじゅうよっか", "1975-12-24", False),
    ("れいわがんねんごがつついたち", "2019-05-01", False),
    ("れいわ3ねん3がつついたち", "2021-03-01", False),
    ("へいせいさんじゅういちねんしがつさんじゅうにち", "2019-04-30", False),
    ("しょうわよんじゅうはちねんじゅういちがつみっか", "1973-11-03", False),
    ("へいせいくねんしちがつようか", "1997-07-08", False),
    ("へいせいじゅうねんくがつここのか", "1998-09-09", False),
    ("れいわよねんろくがつむいか", "2022-06-06", False),
    ("れいわごねんにがつふつか", "2023-02-02", False),
    ("へいせいじゅうにねんじゅうがつとおか", "2000-10-10", False),
    ("へいせいにねんじゅうにがつにじゅうくにち", "1990-12-29", False),
    ("へいせいにねんじゅうにがつじゅうににち", "1990-12-12", False),
    ("へいせいにねんいちがつにじゅうにち", "1990-01-20", False),
    ("へいせいにねんいちがつはつか", "1990-01-20", False),
    ("へいせいにねんいちがつじゅうよっか", "1990-01-14", False),
    ("へいせいにねんいちがついつか", "1990-01-05", False),
    ("へいせいにねんいちがつなのか", "1990-01-07", False),
    ("せんきゅうひゃくきゅうじゅうねんくがつとおか", "1990-09-10", False),
    ("にせんにじゅういちねんしちがつはつか", "2021-07-20", False),
    ("たんじょうびはへいせいにねんじゅうにがつにじゅうよっかです", "1990-12-24", False),
    ("はっこうびはにせんにじゅういちねんしがつようか", "2021-04-08", False),
    ("令和3年4月ついたち", "2021-04-01", False),
    ("来年の4月ついたち", "2026-04-01", True),
    ("らいげつのついたち", "2025-07-01", True),
    # one-kanji era abbreviations, and the one-letter ones next to them
    ("令3.3.1", "2021-03-01", False),
    ("平2.10.5", "1990-10-05", False),
    ("昭50/12/24", "1975-12-24", False),
    ("大15.12.24", "1926-12-24", False),
    ("平2年10月5日", "1990-10-05", False),
    ("R3.3.1", "2021-03-01", False),
    ("H2.10.5", "1990-10-05", False),
    ("S50/12/24", "1975-12-24", False),
    ("生年月日平2.10.5", "1990-10-05", False),
    # parts separated by spaces
    ("1990 4 1", "1990-04-01", False),
    ("１９９０　４　１", "1990-04-01", False),
    ("平成2 4 1", "1990-04-01", False),
    ("R3 3 1", "2021-03-01", False),
    ("平成2年 4月 1日", "1990-04-01", False),
    ("生まれは1990 4 1です", "1990-04-01", False),
]


@pytest.mark.parametrize(("text", "iso", "noted"), PARSES)
def test_parses(text: str, iso: str, noted: bool) -> None:
    parsed = parse_date(text, TODAY)
    assert parsed.value == date.fromisoformat(iso)
    assert (parsed.understood_as is not None) is noted, parsed.understood_as


# (typed, a phrase the reason must contain)
FAILS: list[tuple[str, str]] = [
    ("令和3年2月30日", "2月30日はありません"),
    ("2021年2月29日", "うるう年ではない"),
    ("2021/2/29", "うるう年ではない"),
    ("2021年4月31日", "4月は30日まで"),
    ("2021年13月1日", "13月"),
    ("2021/13/1", "13月"),
    ("2021年0月1日", "0月"),
    ("2021年4月0日", "0日"),
    ("2021年1月32日", "1月は31日まで"),
    ("20210230", "2月30日"),
    ("平成1年1月1日", "1989年1月8日から"),
    ("平成元年1月7日", "昭和64年1月7日"),
    ("令和元年4月30日", "平成31年4月30日"),
    ("昭和1年12月24日", "1926年12月25日から"),
    ("大正元年7月29日", "1912年7月30日から"),
    ("令和0年1月1日", "元年"),
    ("明治40年1月1日", "明治"),
    ("2021年4月", "「日」がありません"),
    ("令和3年4月", "「日」がありません"),
    ("R3.4", "「日」がありません"),
    ("2021/4", "「日」がありません"),
    ("来年の3月", "「日」がありません"),
    ("21年4月1日", "西暦4桁"),
    ("3年4月1日", "年号"),
    ("来年2月29日", "うるう年ではない"),
    ("2月29日", "年が書かれていない"),
    ("2/30", "2月30日"),
    ("2021年4月1日と2022年5月1日", "2つ以上"),
    ("よろしくお願いします", "読み取れません"),
    ("", "読み取れません"),
    ("0120-123-456", "読み取れません"),
    ("13/2", "読み取れません"),
    # two-digit years: 19xx or 20xx is not ours to guess
    ("90/4/1", "西暦何年か決められません"),
    ("90/4/1", "1990/4/1"),
    ("21/4/1", "2021/4/1"),
    ("03-4-1", "西暦何年か決められません"),
    ("90年4月1日", "西暦4桁"),
    ("明3.4.5", "明治"),
    ("へいせいにねんにがつさんじゅうにち", "2月30日はありません"),
    # a kana date without its year is left unread (see the module docstring)
    ("しがつついたち", "読み取れません"),
    ("1990 4 1 5", "読み取れません"),
]


@pytest.mark.parametrize(("text", "phrase"), FAILS)
def test_refuses_with_a_reason(text: str, phrase: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_date(text, TODAY)
    assert phrase in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_era_overflow_says_which_date_was_understood() -> None:
    parsed = parse_date("平成32年4月1日", TODAY)
    assert parsed.understood_as == "平成32年4月1日は、2020年4月1日(令和2年4月1日)として受け取りました。"


def test_missing_year_says_which_year_was_assumed() -> None:
    assert "2025年3月15日" in (parse_date("3月15日", TODAY).understood_as or "")
    assert "2030年3月15日" in (parse_date("3月15日", date(2030, 1, 1)).understood_as or "")


def test_relative_forms_follow_today() -> None:
    assert parse_date("明日", date(2024, 12, 31)).value == date(2025, 1, 1)
    assert parse_date("来月末", date(2025, 12, 15)).value == date(2026, 1, 31)
    assert parse_date("来月末", date(2024, 1, 31)).value == date(2024, 2, 29)
    assert parse_date("今年の2月29日", date(2024, 5, 1)).value == date(2024, 2, 29)


# --- find_dates: spans in a longer message -------------------------------------------


def test_find_dates_returns_spans_in_order_on_the_original_text() -> None:
    text = "生年月日は平成2年5月10日で、カードは２０２１年４月１日に発行されました"
    spans = find_dates(text, TODAY)
    assert [text[s:e] for s, e, _ in spans] == ["平成2年5月10日", "２０２１年４月１日"]
    assert [r.value for _, _, r in spans if isinstance(r, ParsedDate)] == [date(1990, 5, 10), date(2021, 4, 1)]


def test_find_dates_keeps_errors_in_place() -> None:
    text = "誕生日はH2.5.10、発行は令和3年2月30日"
    spans = find_dates(text, TODAY)
    assert len(spans) == 2
    assert isinstance(spans[0][2], ParsedDate)
    assert isinstance(spans[1][2], DateParseError)
    assert text[spans[1][0]:spans[1][1]] == "令和3年2月30日"


def test_find_dates_prefers_the_longest_form() -> None:
    text = "来年の3月15日までに"
    spans = find_dates(text, TODAY)
    assert [(text[s:e]) for s, e, _ in spans] == ["来年の3月15日"]


def test_find_dates_maps_expanding_characters_back() -> None:
    text = "㍻2年5月10日生まれ、今日は"
    spans = find_dates(text, TODAY)
    assert [text[s:e] for s, e, _ in spans] == ["㍻2年5月10日", "今日"]


@pytest.mark.parametrize(
    "text",
    ["電話は03-1234-5678です", "個人番号123456789012", "暗証番号は4桁", "3か月前の翌日", "iOS 17.4.1で使える?",
     "90.4.1", "最大2年", "わたしがつくった", "ことしにせんえんはらった", "にねんまえにこうしんした", "1/2/3"],
)
def test_find_dates_ignores_numbers_that_are_not_dates(text: str) -> None:
    assert find_dates(text, TODAY) == []


# --- format_date ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "era", "expected"),
    [
        (date(2027, 7, 15), True, "2027年7月15日(令和9年7月15日)"),
        (date(2027, 7, 15), False, "2027年7月15日"),
        (date(2019, 5, 1), True, "2019年5月1日(令和元年5月1日)"),
        (date(2019, 4, 30), True, "2019年4月30日(平成31年4月30日)"),
        (date(1989, 1, 8), True, "1989年1月8日(平成元年1月8日)"),
        (date(1989, 1, 7), True, "1989年1月7日(昭和64年1月7日)"),
        (date(1926, 12, 25), True, "1926年12月25日(昭和元年12月25日)"),
        (date(1912, 7, 30), True, "1912年7月30日(大正元年7月30日)"),
        (date(1900, 1, 1), True, "1900年1月1日"),
    ],
)
def test_format_date(value: date, era: bool, expected: str) -> None:
    assert format_date(value, era) == expected


@pytest.mark.parametrize("value", [date(1912, 7, 30), date(1989, 1, 7), date(2019, 5, 1), date(2024, 2, 29)])
def test_format_date_reads_back(value: date) -> None:
    assert parse_date(format_date(value), TODAY).value == value
    assert parse_date(format_date(value).split("(")[1], TODAY).value == value


def test_doctests() -> None:
    for module in (bot.rules.dates, bot.rules.eras, bot.rules.date_forms):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(bot.rules.eras).attempted > 0


def test_find_dates_reads_kana_after_a_particle() -> None:
    text = "はっこうびはにせんにじゅういちねんしがつついたちです"
    spans = find_dates(text, TODAY)
    assert [text[s:e] for s, e, _ in spans] == ["にせんにじゅういちねんしがつついたち"]


def test_two_digit_year_example_follows_today() -> None:
    assert "2030/4/1" in parse_date_reason("30/4/1", date(2035, 1, 1))
    assert "1930/4/1" in parse_date_reason("30/4/1", date(2025, 1, 1))


def parse_date_reason(text: str, today: date) -> str:
    with pytest.raises(DateParseError) as caught:
        parse_date(text, today)
    return caught.value.reason


# The forms' `needs` words only skip work: with or without them, the same spans and readings.
_DATEISH = st.lists(st.sampled_from([
    "2021", "1990", "4", "12", "31", "０３", "年", "月", "日", "ねん", "がつ", "にち", "ガツ", "令和", "平成", "へいせい",
    "R", "H", "令", "元", "がん", "3", "にじゅう", "ご", "さん", "ついたち", "はつか", "らいげつ", "せんげつ", "今月",
    "来年", "ことし", "きょう", "あした", "の", "末", "/", "-", ".", " ", "は", "です", "五", "十",
]), max_size=8).map("".join)


@given(_DATEISH)
@settings(max_examples=400, deadline=None)
def test_skipping_forms_by_their_needs_changes_nothing(text: str) -> None:
    def plain(found: list) -> list:
        return [(s, e, type(r).__name__, getattr(r, "value", str(r))) for s, e, r in found]

    dates = bot.rules.dates
    with_needs = plain(dates.find_dates(text, date(2026, 1, 15)))
    saved = dates.FORMS
    try:
        dates.FORMS = tuple((pattern, handler, ()) for pattern, handler, _ in saved)
        dates._find_dates.cache_clear()  # else the second reading is the first one's, from the cache
        without = plain(dates.find_dates(text, date(2026, 1, 15)))
    finally:
        dates.FORMS = saved
        dates._find_dates.cache_clear()
    assert with_needs == without
