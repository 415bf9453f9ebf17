"""Property tests for bot/rules.py (and the date round trip of bot/rules/dates.py).

Besides the invariants, the rules are compared with a deliberately naive reference
written from rules.md here (year-by-year loops, no relativedelta), so that a slip in
the clever version shows up as a disagreement on generated cases.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.rules import (
    RuleInputError,
    age_on,
    expiry,
    nth_birthday_after,
    renewal_opens_on,
    renewal_window,
    to_json,
)
from bot.rules.dates import DateParseError, ParsedDate, PartialDate, find_dates, format_date, parse_date

# per test, not a loaded profile: the profile would leak into other modules' tests
CHECK = settings(max_examples=300, deadline=None)

LEAP_BIRTHS = st.sampled_from([date(y, 2, 29) for y in range(1924, 2025, 4)])
MONTH_ENDS = st.builds(
    lambda y, m: date(y, m, calendar.monthrange(y, m)[1]), st.integers(1930, 2024), st.integers(1, 12)
)
BIRTHS = st.one_of(st.dates(date(1925, 1, 1), date(2024, 12, 31)), LEAP_BIRTHS, MONTH_ENDS)
DAYS = st.dates(date(1930, 1, 1), date(2060, 12, 31))
STATUS_RANK = {"not_yet": 0, "open": 1, "expired": 2}


# --- the naive reference --------------------------------------------------------------


def ref_birthday(birth: date, year: int) -> date:
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birth.month, birth.day)


def ref_nth_after(birth: date, day: date, n: int) -> date:
    year, seen = day.year, 0
    while True:
        candidate = ref_birthday(birth, year)
        if candidate > day:
            seen += 1
            if seen == n:
                return candidate
        year += 1


def ref_age(birth: date, day: date) -> int:
    return sum(1 for y in range(birth.year + 1, day.year + 1) if ref_birthday(birth, y) <= day)


def ref_opens(expires: date) -> date:
    year, month = (expires.year, expires.month - 3) if expires.month > 3 else (expires.year - 1, expires.month + 9)
    if expires.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, expires.day) + timedelta(days=1)
    return date(year, month + 1, 1)  # month is never 12 here: December has 31 days


def ref_expiry(birth: date, issued: date, card_issued: date, card_applied: date,
               previous: date | None, residence: date | None, ward: bool) -> tuple[date, date, date | None]:
    line = 20 if card_applied <= date(2022, 3, 31) else 18
    card = ref_nth_after(birth, card_issued, 10 if ref_age(birth, card_issued) >= line else 5)
    if residence is not None:
        card = min(card, residence)
    n = 6 if previous is not None and ref_opens(previous) <= issued <= previous else 5
    user = min(ref_nth_after(birth, issued, n), card)
    signature = None if ward or ref_age(birth, issued) < 15 else min(ref_nth_after(birth, issued, n), user, card)
    return card, user, signature


# --- generated expiry inputs ------------------------------------------------------------


@st.composite
def expiry_inputs(draw: st.DrawFn) -> dict[str, Any]:
    birth = draw(BIRTHS)
    applied = birth + timedelta(days=draw(st.integers(0, 80 * 365)))
    # crowd the card's application around the 2022-04-01 change
    if draw(st.booleans()):
        applied = max(birth, date(2022, 3, 31) + timedelta(days=draw(st.integers(-40, 40))))
    card_issued = applied + timedelta(days=draw(st.integers(0, 90)))
    issued = card_issued + timedelta(days=draw(st.one_of(st.just(0), st.integers(0, 3700))))
    if draw(st.booleans()):
        # issued on a birthday (28 February in a common year for a 29 February birth)
        issued = max(issued, ref_birthday(birth, max(issued.year, birth.year + 1)))
    kwargs: dict[str, Any] = {"birth_date": birth, "issued_on": issued}
    if card_issued != issued or draw(st.booleans()):
        kwargs["card_issued_on"] = card_issued
    if applied != card_issued or draw(st.booleans()):
        kwargs["card_applied_on"] = applied
    previous = draw(st.sampled_from(["none", "near", "window_first_day", "window_day_before", "last_day"]))
    if previous == "near":
        # an expiry near the issue day, so that renewals land inside and around the window
        kwargs["previous_expires_on"] = max(birth, issued + timedelta(days=draw(st.integers(-200, 120))))
    elif previous in ("window_first_day", "window_day_before"):
        first_day = issued if previous == "window_first_day" else issued + timedelta(days=1)
        candidate = first_day - timedelta(days=1) + relativedelta(months=3)
        kwargs["previous_expires_on"] = candidate
    elif previous == "last_day":
        kwargs["previous_expires_on"] = issued
    if draw(st.booleans()):
        kwargs["residence_expires_on"] = issued + timedelta(days=draw(st.integers(0, 4000)))
    kwargs["adult_ward"] = draw(st.booleans())
    return kwargs


def _run(kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return expiry(**kwargs)
    except RuleInputError as exc:
        # Only the card having expired before the certificates' issue day is left to
        # reject among the generated cases; anything else is a bug.
        assert exc.field == "issued_on", exc
        assume(False)
        raise


# --- the properties of one computation ------------------------------------------------


def expiry_matches_the_naive_reference(kwargs: dict[str, Any], result: dict[str, Any]) -> None:
    card_issued = kwargs.get("card_issued_on", kwargs["issued_on"])
    expected = ref_expiry(
        kwargs["birth_date"], kwargs["issued_on"], card_issued, kwargs.get("card_applied_on", card_issued),
        kwargs.get("previous_expires_on"), kwargs.get("residence_expires_on"), kwargs["adult_ward"],
    )
    got = (result["card_expires_on"], result["user_certificate_expires_on"], result["signature_certificate_expires_on"])
    assert got == expected


def no_certificate_outlives_what_holds_it(kwargs: dict[str, Any], result: dict[str, Any]) -> None:
    card, user, signature = (result["card_expires_on"], result["user_certificate_expires_on"],
                             result["signature_certificate_expires_on"])
    assert user <= card
    if signature is not None:
        assert signature <= user
    residence = kwargs.get("residence_expires_on")
    if residence is not None:
        assert card <= residence
    assert user >= kwargs["issued_on"]


def each_expiry_is_a_birthday_or_a_cap(kwargs: dict[str, Any], result: dict[str, Any]) -> None:
    birth = kwargs["birth_date"]
    caps = {result["card_expires_on"], kwargs.get("residence_expires_on")}
    for key in ("card_expires_on", "user_certificate_expires_on", "signature_certificate_expires_on"):
        day = result[key]
        if day is None:
            continue
        assert day == ref_birthday(birth, day.year) or day in caps, key


def signature_only_from_15_and_never_for_an_adult_ward(kwargs: dict[str, Any], result: dict[str, Any]) -> None:
    issued = (kwargs["adult_ward"] is False) and age_on(kwargs["birth_date"], kwargs["issued_on"]) >= 15
    assert (result["signature_certificate_expires_on"] is not None) is issued


def renewal_opens_for_the_earlier_certificate(kwargs: dict[str, Any], result: dict[str, Any]) -> None:
    earliest = min(d for d in (result["user_certificate_expires_on"], result["signature_certificate_expires_on"]) if d)
    assert result["renewal_opens_on"] == renewal_opens_on(earliest)
    assert result["notes"] and all(isinstance(n, str) and n for n in result["notes"])


def to_json_round_trips(kwargs: dict[str, Any], result: dict[str, Any]) -> None:
    encoded = to_json(result)
    for key, value in result.items():
        if isinstance(value, date):
            assert date.fromisoformat(encoded[key]) == value
        else:
            assert encoded[key] == value


# The six properties of one computation are checked on the same generated inputs, in one test:
# drawing the inputs was most of their cost (six tests, 300 inputs each: 11 s of CPU in make
# test), and each property now sees 600 inputs, twice as many as when each drew its own.
EXPIRY_CHECK = settings(max_examples=600, deadline=None)
PROPERTIES = (
    expiry_matches_the_naive_reference, no_certificate_outlives_what_holds_it, each_expiry_is_a_birthday_or_a_cap,
    signature_only_from_15_and_never_for_an_adult_ward, renewal_opens_for_the_earlier_certificate, to_json_round_trips,
)


@EXPIRY_CHECK
@given(expiry_inputs())
def test_expiry_properties(kwargs: dict[str, Any]) -> None:
    result = _run(kwargs)
    for check in PROPERTIES:
        check(kwargs, result)


@CHECK
@given(BIRTHS, DAYS, st.integers(1, 12))
def test_nth_birthday_after_matches_reference(birth: date, day: date, n: int) -> None:
    assume(day >= birth)
    got = nth_birthday_after(birth, day, n)
    assert got == ref_nth_after(birth, day, n)
    assert got > day
    assert age_on(birth, got) == age_on(birth, day) + n


@CHECK
@given(BIRTHS, DAYS)
def test_age_on_matches_reference(birth: date, day: date) -> None:
    assume(day >= birth)
    assert age_on(birth, day) == ref_age(birth, day)


@CHECK
@given(st.one_of(DAYS, MONTH_ENDS))
def test_renewal_opens_after_the_day_three_months_before(expires: date) -> None:
    opens = renewal_opens_on(expires)
    assert opens == ref_opens(expires)
    assert expires - relativedelta(months=3) < opens <= expires
    assert (expires - opens).days in range(88, 93)


@CHECK
@given(st.one_of(DAYS, MONTH_ENDS), DAYS, DAYS)
def test_status_is_monotone_in_today(expires: date, a: date, b: date) -> None:
    early, late = sorted((a, b))
    first, second = renewal_window(expires, early), renewal_window(expires, late)
    assert STATUS_RANK[first["status"]] <= STATUS_RANK[second["status"]]
    assert first["opens_on"] == second["opens_on"]
    assert (first["status"] == "open") is (first["opens_on"] <= early <= expires)


# --- dates: what the bot writes, it reads back ------------------------------------------


@CHECK
@given(st.dates(date(1912, 7, 30), date(2099, 12, 31)), st.booleans())
def test_format_date_reads_back(value: date, era: bool) -> None:
    text = format_date(value, era)
    assert parse_date(text, date(2025, 6, 1)).value == value


@CHECK
@given(st.text(max_size=40))
def test_find_dates_never_crashes_and_spans_are_ordered(text: str) -> None:
    spans = find_dates(text, date(2025, 6, 1))
    end = 0
    for start, stop, _ in spans:
        assert end <= start < stop <= len(text)
        end = stop


DATE_ALPHABET = "0123456789０１２〇一二三九十百千元年月日末の/.-令和平成昭和大正明治RHSrh来今去年月明昨 (）"


@CHECK
@given(st.text(alphabet=DATE_ALPHABET, max_size=30))
def test_find_dates_on_date_like_noise_gives_dates_or_reasons(text: str) -> None:
    for start, stop, result in find_dates(text, date(2025, 6, 1)):
        assert 0 <= start < stop <= len(text)
        if isinstance(result, PartialDate):  # its parts exist together in some year
            assert result.year is not None or result.day is not None or result.month_end
            result.on(2000 if result.year is None else result.year)
        else:
            assert isinstance(result, ParsedDate) or (isinstance(result, DateParseError) and result.reason)
