"""Table tests for bot/rules.py, one row per edge of /work/shared/spec/rules.md."""

from __future__ import annotations

import doctest
from datetime import date, datetime
from typing import Any

import pytest

import bot.rules
import bot.rules.fees
import bot.rules.validity
from bot.rules import (
    FEE_REASONS,
    RuleInputError,
    age_on,
    expiry,
    fee,
    nth_birthday_after,
    renewal_opens_on,
    renewal_window,
    to_json,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("birth", "day", "n", "expected"),
    [
        ("1990-05-10", "2021-04-01", 5, "2025-05-10"),
        ("1990-05-10", "2021-05-10", 5, "2026-05-10"),  # issued on a birthday: it does not count
        ("1990-05-10", "2021-05-09", 1, "2021-05-10"),
        ("1990-05-10", "2021-05-11", 1, "2022-05-10"),
        ("1990-05-10", "2021-04-01", 10, "2030-05-10"),
        ("2000-12-31", "2020-12-31", 5, "2025-12-31"),
        ("2000-01-01", "2020-12-31", 1, "2021-01-01"),
        ("2000-01-01", "2000-01-01", 1, "2001-01-01"),  # the birth day is not a birthday after itself
        ("2004-02-29", "2021-04-01", 5, "2026-02-28"),
        ("2004-02-29", "2023-03-01", 1, "2024-02-29"),
        ("2004-02-29", "2024-02-28", 1, "2024-02-29"),
        ("2004-02-29", "2024-02-29", 1, "2025-02-28"),
        ("2004-02-29", "2025-02-28", 1, "2026-02-28"),  # 28 Feb is that year's birthday
        ("2004-02-29", "2027-02-27", 1, "2027-02-28"),
        ("2004-02-29", "2004-02-29", 1, "2005-02-28"),
    ],
)
def test_nth_birthday_after(birth: str, day: str, n: int, expected: str) -> None:
    assert nth_birthday_after(D(birth), D(day), n) == D(expected)


@pytest.mark.parametrize(
    ("birth", "day", "expected"),
    [
        ("2007-04-01", "2025-03-31", 17),
        ("2007-04-01", "2025-04-01", 18),
        ("2008-02-29", "2023-02-27", 14),
        ("2008-02-29", "2023-02-28", 15),
        ("2008-02-29", "2024-02-28", 15),
        ("2008-02-29", "2024-02-29", 16),
        ("2000-01-01", "2000-01-01", 0),
        ("2000-01-01", "2000-12-31", 0),
        ("2000-01-01", "2001-01-01", 1),
    ],
)
def test_age_on(birth: str, day: str, expected: int) -> None:
    assert age_on(D(birth), D(day)) == expected


@pytest.mark.parametrize(
    ("expires", "opens"),
    [
        ("2027-07-15", "2027-04-16"),  # the Kama page
        ("2021-10-01", "2021-07-02"),  # the Shinagawa page
        ("2027-05-31", "2027-03-01"),  # rules.md: no 31 February
        ("2027-05-30", "2027-03-01"),
        ("2028-05-30", "2028-03-01"),
        ("2027-05-29", "2027-03-01"),  # no 29 February in 2027
        ("2028-05-29", "2028-03-01"),  # 29 February 2028 exists: the day after it
        ("2027-05-28", "2027-03-01"),
        ("2028-05-28", "2028-02-29"),
        ("2027-03-31", "2027-01-01"),
        ("2027-01-01", "2026-10-02"),
        ("2027-12-31", "2027-10-01"),
        ("2027-08-31", "2027-06-01"),
        ("2027-07-31", "2027-05-01"),
        ("2027-02-28", "2026-11-29"),
    ],
)
def test_renewal_opens_on(expires: str, opens: str) -> None:
    assert renewal_opens_on(D(expires)) == D(opens)


@pytest.mark.parametrize(
    ("expires", "today", "status"),
    [
        ("2027-05-31", "2027-02-28", "not_yet"),
        ("2027-05-31", "2027-03-01", "open"),
        ("2027-05-31", "2027-05-31", "open"),
        ("2027-05-31", "2027-06-01", "expired"),
        ("2027-07-15", "2027-04-15", "not_yet"),
        ("2027-07-15", "2027-04-16", "open"),
        ("2027-07-15", "2030-01-01", "expired"),
        ("2027-07-15", "2020-01-01", "not_yet"),
    ],
)
def test_renewal_window(expires: str, today: str, status: str) -> None:
    assert renewal_window(D(expires), D(today)) == {"opens_on": renewal_opens_on(D(expires)), "status": status}


# (case, kwargs, card, user certificate, signature certificate or None, renewal opens)
EXPIRY: list[tuple[str, dict[str, Any], str, str, str | None, str]] = [
    ("adult, the Kama example", {"birth_date": "1990-07-15", "issued_on": "2022-08-01"},
     "2032-07-15", "2027-07-15", "2027-07-15", "2027-04-16"),
    ("issued on a birthday", {"birth_date": "1990-07-15", "issued_on": "2022-07-15"},
     "2032-07-15", "2027-07-15", "2027-07-15", "2027-04-16"),
    ("18 on the card's issue day, after 2022-04-01",
     {"birth_date": "2005-06-01", "issued_on": "2023-06-01", "card_applied_on": "2023-05-01"},
     "2033-06-01", "2028-06-01", "2028-06-01", "2028-03-02"),
    ("one day short of 18", {"birth_date": "2005-06-02", "issued_on": "2023-06-01"},
     "2027-06-02", "2027-06-02", "2027-06-02", "2027-03-03"),  # the next day is the 1st birthday
    ("19, applied on 2022-03-31: the old line of 20",
     {"birth_date": "2003-01-01", "issued_on": "2022-05-01", "card_applied_on": "2022-03-31"},
     "2027-01-01", "2027-01-01", "2027-01-01", "2026-10-02"),
    ("19, applied on 2022-04-01: the new line of 18",
     {"birth_date": "2003-01-01", "issued_on": "2022-05-01", "card_applied_on": "2022-04-01"},
     "2032-01-01", "2027-01-01", "2027-01-01", "2026-10-02"),
    ("20 on the card's issue day under the old line",
     {"birth_date": "2002-05-01", "issued_on": "2022-05-01", "card_applied_on": "2022-03-01"},
     "2032-05-01", "2027-05-01", "2027-05-01", "2027-02-02"),
    ("15 on the issue day: signature issued", {"birth_date": "2010-04-01", "issued_on": "2025-04-01"},
     "2030-04-01", "2030-04-01", "2030-04-01", "2030-01-02"),
    ("one day short of 15: no signature", {"birth_date": "2010-04-02", "issued_on": "2025-04-01"},
     "2029-04-02", "2029-04-02", None, "2029-01-03"),
    ("a child, card applied before 2022", {"birth_date": "2012-01-01", "issued_on": "2020-01-01"},
     "2025-01-01", "2025-01-01", None, "2024-10-02"),
    ("adult ward: no signature", {"birth_date": "1980-01-01", "issued_on": "2024-06-01", "adult_ward": True},
     "2034-01-01", "2029-01-01", None, "2028-10-02"),
    ("born 29 February", {"birth_date": "2000-02-29", "issued_on": "2021-03-01"},
     "2031-02-28", "2026-02-28", "2026-02-28", "2025-11-29"),
    ("born 29 February, issued on 28 February of a common year",
     {"birth_date": "2000-02-29", "issued_on": "2023-02-28"},
     "2033-02-28", "2028-02-29", "2028-02-29", "2027-11-30"),
    ("renewed on the window's first day: 6th birthday",
     {"birth_date": "1990-07-15", "issued_on": "2027-04-16", "card_issued_on": "2025-01-01",
      "previous_expires_on": "2027-07-15"},
     "2034-07-15", "2032-07-15", "2032-07-15", "2032-04-16"),
    ("renewed the day before the window: 5th birthday",
     {"birth_date": "1990-07-15", "issued_on": "2027-04-15", "card_issued_on": "2025-01-01",
      "previous_expires_on": "2027-07-15"},
     "2034-07-15", "2031-07-15", "2031-07-15", "2031-04-16"),
    ("renewed on the old expiry day, itself a birthday: 6th birthday",
     {"birth_date": "1990-07-15", "issued_on": "2027-07-15", "card_issued_on": "2025-01-01",
      "previous_expires_on": "2027-07-15"},
     "2034-07-15", "2033-07-15", "2033-07-15", "2033-04-16"),
    ("issued the day after the old expiry: 5th birthday",
     {"birth_date": "1990-07-15", "issued_on": "2027-07-16", "card_issued_on": "2025-01-01",
      "previous_expires_on": "2027-07-15"},
     "2034-07-15", "2032-07-15", "2032-07-15", "2032-04-16"),
    ("month-end window, renewed on its first day (1 March)",
     {"birth_date": "1990-05-31", "issued_on": "2027-03-01", "card_issued_on": "2025-06-01",
      "previous_expires_on": "2027-05-31"},
     "2035-05-31", "2032-05-31", "2032-05-31", "2032-03-01"),
    ("month-end window, renewed on 28 February: before it",
     {"birth_date": "1990-05-31", "issued_on": "2027-02-28", "card_issued_on": "2025-06-01",
      "previous_expires_on": "2027-05-31"},
     "2035-05-31", "2031-05-31", "2031-05-31", "2031-03-01"),
    ("6th birthday capped by the card",
     {"birth_date": "1990-07-15", "issued_on": "2027-05-01", "card_issued_on": "2022-06-01",
      "previous_expires_on": "2027-07-15"},
     "2031-07-15", "2031-07-15", "2031-07-15", "2031-04-16"),
    ("certificate capped by the card",
     {"birth_date": "1990-07-15", "issued_on": "2021-08-01", "card_issued_on": "2016-01-10"},
     "2025-07-15", "2025-07-15", "2025-07-15", "2025-04-16"),
    ("period of stay ends first",
     {"birth_date": "1990-07-15", "issued_on": "2024-01-10", "residence_expires_on": "2026-03-31"},
     "2026-03-31", "2026-03-31", "2026-03-31", "2026-01-01"),
    ("period of stay between certificate and card",
     {"birth_date": "1990-07-15", "issued_on": "2024-01-10", "residence_expires_on": "2030-01-01"},
     "2030-01-01", "2028-07-15", "2028-07-15", "2028-04-16"),
    ("period of stay after everything",
     {"birth_date": "1990-07-15", "issued_on": "2024-01-10", "residence_expires_on": "2040-01-01"},
     "2033-07-15", "2028-07-15", "2028-07-15", "2028-04-16"),
    ("period of stay ends on the issue day",
     {"birth_date": "1990-07-15", "issued_on": "2024-01-10", "residence_expires_on": "2024-01-10"},
     "2024-01-10", "2024-01-10", "2024-01-10", "2023-10-11"),
]


def _dates(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: D(v) if isinstance(v, str) else v for k, v in kwargs.items()}


@pytest.mark.parametrize(("case", "kwargs", "card", "user", "signature", "opens"), EXPIRY, ids=[r[0] for r in EXPIRY])
def test_expiry(case: str, kwargs: dict[str, Any], card: str, user: str, signature: str | None, opens: str) -> None:
    result = expiry(**_dates(kwargs))
    assert result["card_expires_on"] == D(card)
    assert result["user_certificate_expires_on"] == D(user)
    assert result["signature_certificate_expires_on"] == (D(signature) if signature else None)
    assert result["renewal_opens_on"] == D(opens)
    assert result["notes"] and all(isinstance(n, str) and n for n in result["notes"])


def test_notes_name_the_deciding_rule() -> None:
    notes = expiry(D("1990-07-15"), D("2027-04-16"), card_issued_on=D("2025-01-01"),
                   previous_expires_on=D("2027-07-15"))["notes"]
    assert any("6回目の誕生日" in n for n in notes)
    assert any("2032年7月15日" in n for n in notes)
    capped = expiry(D("1990-07-15"), D("2024-01-10"), residence_expires_on=D("2026-03-31"))["notes"]
    assert any("在留期間の満了日(2026年3月31日)" in n for n in capped)
    old_line = expiry(D("2003-01-01"), D("2022-05-01"), card_applied_on=D("2022-03-31"))["notes"]
    assert any("20歳" in n for n in old_line)
    child = expiry(D("2010-04-02"), D("2025-04-01"))["notes"]
    assert any("15歳未満" in n for n in child)
    ward = expiry(D("1980-01-01"), D("2024-06-01"), adult_ward=True)["notes"]
    assert any("成年被後見人" in n for n in ward)
    leap = expiry(D("2000-02-29"), D("2021-03-01"))["notes"]
    assert any("2月28日" in n for n in leap)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"birth_date": "2000-01-02", "issued_on": "2000-01-01"}, "issued_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "card_issued_on": "1999-12-31"}, "card_issued_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "card_applied_on": "2021-01-02"}, "card_applied_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "card_issued_on": "2021-01-01",
          "card_applied_on": "1999-01-01"}, "card_applied_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "card_issued_on": "2021-01-02"}, "issued_on"),
        # the card (5th birthday, a child) had expired on 2020-01-01
        ({"birth_date": "2010-01-01", "issued_on": "2021-01-01", "card_issued_on": "2015-06-01"}, "issued_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "residence_expires_on": "2020-12-31"},
         "residence_expires_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "previous_expires_on": "1999-12-31"},
         "previous_expires_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "previous_expires_on": "2027-01-02"},
         "previous_expires_on"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01", "adult_ward": "yes"}, "adult_ward"),
        ({"birth_date": "2000-01-01", "issued_on": "2021-01-01T00:00"}, "issued_on"),
    ],
)
def test_impossible_inputs_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    args = {k: (datetime.fromisoformat(v) if "T" in v else D(v)) if isinstance(v, str) and v[:1].isdigit() else v
            for k, v in kwargs.items()}
    with pytest.raises(RuleInputError) as caught:
        expiry(**args)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert caught.value.reason


def test_previous_expiry_at_the_latest_possible_day_is_accepted() -> None:
    # 6th birthday after the issue day is the latest a replaced certificate can end
    result = expiry(D("2000-01-01"), D("2021-01-01"), previous_expires_on=D("2027-01-01"))
    assert result["user_certificate_expires_on"] == D("2026-01-01")


def test_birthday_helpers_refuse_days_before_birth_and_bad_counts() -> None:
    with pytest.raises(RuleInputError) as caught:
        nth_birthday_after(D("2000-01-01"), D("1999-01-01"), 1)
    assert caught.value.field == "day"
    with pytest.raises(RuleInputError) as caught:
        nth_birthday_after(D("2000-01-01"), D("2001-01-01"), 0)
    assert caught.value.field == "n"
    with pytest.raises(RuleInputError):
        age_on(D("2000-01-01"), D("1999-12-31"))


@pytest.mark.parametrize(
    ("reason", "certificate", "card", "total"),
    [
        ("first_issue", 0, 0, 0),
        ("renewal", 0, None, 0),
        ("reissue_after_expiry", 0, None, 0),
        ("reissue_after_invalidation", 0, None, 0),
        ("card_reissue_own_fault", 200, 800, 1000),
        ("card_reissue_not_own_fault", 0, 0, 0),
    ],
)
def test_fee(reason: str, certificate: int, card: int | None, total: int) -> None:
    result = fee(reason)
    assert (result["certificate_fee_yen"], result["card_fee_yen"], result["total_yen"]) == (certificate, card, total)
    assert result["notes"] and all(result["notes"])


def test_fee_reasons_are_the_api_list() -> None:
    # api.md's five, then the theft case the project added from official municipal pages.
    assert FEE_REASONS == ("first_issue", "renewal", "reissue_after_expiry", "reissue_after_invalidation",
                           "card_reissue_own_fault", "card_reissue_not_own_fault")
    assert "1,000円" in fee("card_reissue_own_fault")["notes"][0]


@pytest.mark.parametrize("reason", ["", "lost", "RENEWAL", "renewal "])
def test_unknown_fee_reason(reason: str) -> None:
    with pytest.raises(RuleInputError) as caught:
        fee(reason)
    assert caught.value.field == "reason"


def test_to_json_makes_iso_strings_and_keeps_the_rest() -> None:
    result = to_json(expiry(D("2010-04-02"), D("2025-04-01")))
    assert result["card_expires_on"] == "2029-04-02"
    assert result["signature_certificate_expires_on"] is None
    assert all(isinstance(n, str) for n in result["notes"])
    assert to_json(renewal_window(D("2027-07-15"), D("2027-05-01"))) == {"opens_on": "2027-04-16", "status": "open"}
    assert to_json(fee("renewal"))["card_fee_yen"] is None


def test_doctests() -> None:
    results = [doctest.testmod(module) for module in (bot.rules.validity, bot.rules.fees)]
    assert sum(r.attempted for r in results) >= 10 and not any(r.failed for r in results)
