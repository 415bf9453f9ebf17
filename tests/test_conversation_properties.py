"""Properties of where dates go (issue 12): plausibility and dates without a year, for any date and any today.

- An expiry typed without its year is its next occurrence: never before today, never more
  than the 8 years a 29 February can need, same month and day.
- An issue or birth date typed without its year is never given one: the year is asked.
- Whatever a citizen types, a value placed in a slot is plausible for it (issue and card
  dates from 2016-01-01 to today, birth dates within 120 years up to today, expiries from
  2016 to 11 years ahead); an implausible one is refused with a reason, never stored.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation import placing
from bot.conversation.forms import FORMS
from bot.conversation.plausible import CARDS_BEGAN, why_not
from bot.conversation.reading import read
from bot.conversation.state import State
from bot.engine import Core

CHECK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TODAYS = st.dates(min_value=date(2016, 6, 1), max_value=date(2040, 12, 31))
MONTH_DAYS = st.tuples(st.integers(1, 12), st.integers(1, 31)).filter(
    lambda md: md[1] <= (29 if md[0] == 2 else 30 if md[0] in (4, 6, 9, 11) else 31))
ANY_DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))
DATE_SLOTS = ("birth_date", "issued_on", "card_issued_on", "residence_expires_on")


def place(core: Core, form: str, asked: str, text: str, today: date,
          slots: dict[str, str] | None = None) -> placing.Placement:
    state = State(form=form, asked=asked, slots=slots or {})
    return placing.place(FORMS[form], state, read(text, today), text, today, core.knowledge)


@CHECK
@given(today=TODAYS, md=MONTH_DAYS)
def test_an_expiry_without_its_year_is_its_next_occurrence(core: Core, today: date, md: tuple[int, int]) -> None:
    month, day = md
    found = place(core, "renewal_window", "expires_on", f"{month}月{day}日", today)
    if _exists(today.year, month, day) and today - timedelta(days=92) <= date(today.year, month, day) < today:
        # Fell in the last 3 months: this year's (expired) or next year's, so the year is asked.
        assert "expires_on" not in found.values and found.partial is not None and found.partial.year is None
        return
    value = date.fromisoformat(found.values["expires_on"])
    assert today <= value < today + timedelta(days=366 * 8 + 1)
    assert (value.month, value.day) == (month, day)
    # the first such day: a year earlier would be before today
    earlier = [y for y in range(today.year, value.year) if _exists(y, month, day) and date(y, month, day) >= today]
    assert earlier == []
    assert found.notes["expires_on"]  # and it says which year it took


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


@CHECK
@given(today=TODAYS, md=MONTH_DAYS, slot=st.sampled_from(["birth_date", "issued_on"]))
def test_an_issue_or_birth_date_without_its_year_asks_for_the_year(core: Core, today: date, md: tuple[int, int],
                                                                   slot: str) -> None:
    month, day = md
    slots = {"birth_date": "1980-01-01"} if slot == "issued_on" else {}
    found = place(core, "calc_expiry", slot, f"{month}月{day}日", today, slots)
    assert slot not in found.values
    assert found.partial is not None and found.partial.slot == slot and found.partial.year is None


@CHECK
@given(today=TODAYS, typed=ANY_DATES, slot=st.sampled_from(DATE_SLOTS))
def test_a_placed_date_is_always_plausible_and_an_implausible_one_says_why(core: Core, today: date, typed: date,
                                                                          slot: str) -> None:
    slots = {"birth_date": "1970-04-01"} if slot != "birth_date" else {}
    text = f"{typed.year}年{typed.month}月{typed.day}日"
    found = place(core, "calc_expiry", slot, text, today, slots)
    for name, value in found.values.items():
        if len(value) == 10:
            assert why_not(name, value, {k: v for k, v in slots.items() if k != name}, today) is None, (name, value)
        if name in ("issued_on", "card_issued_on"):
            assert CARDS_BEGAN <= date.fromisoformat(value) <= today
        if name == "birth_date":
            assert date.fromisoformat(value) <= today
    if not found.values and not found.pending:
        assert found.errors and all(why for _, why in found.errors)


@CHECK
@given(today=TODAYS, typed=st.dates(min_value=date(1900, 1, 1), max_value=date(2015, 12, 31)))
def test_a_correction_too_early_for_an_issue_date_corrects_the_birth_date(core: Core, today: date,
                                                                          typed: date) -> None:
    """The issue's first failure: while the issue date is asked, "<a 1987 date>の間違いでした" is the birth date."""
    old_birth = "1960-01-01" if typed != date(1960, 1, 1) else "1961-01-01"
    text = f"すみません、{typed.year}年{typed.month}月{typed.day}日の間違いでした"
    found = place(core, "calc_expiry", "issued_on", text, today, {"birth_date": old_birth})
    if why_not("birth_date", typed.isoformat(), {}, today) is None:
        assert found.values == {"birth_date": typed.isoformat()}
    else:
        assert "issued_on" not in found.values and found.errors
