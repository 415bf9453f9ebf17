"""The rules run on what a dialogue knows, which is not always a whole date.

A value may be a month without its day ('2018-10'): every day of it is tried, and when
they all give the same dates the day is not asked (issue 12: "ask only what changes the
answer"); when they differ, the days are grouped by result so that "I don't remember
the day" can be answered with each possible result. The card's issue day is wanted
only when the card's own expiry could cut the certificates short: the certificates'
dates are worked out with the card issued together with them and with the card issued
as early as it can have been, and the question is asked only when the two differ.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot import rules
from bot.conversation.plausible import CARDS_BEGAN, span

Slots = Mapping[str, str]
Facts = Mapping[str, Any]
# What a citizen is told: the dates, and whether a signature certificate exists at all.
_EXPIRY_KEYS = ("card_expires_on", "user_certificate_expires_on", "signature_certificate_expires_on",
                "renewal_opens_on")
_WINDOW_KEYS = ("opens_on", "status")


@dataclass(frozen=True)
class Group:
    first: date  # the days of the varying month that give `result`
    last: date
    result: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    result: Mapping[str, Any] | None  # the one result every reading gives
    varies: str | None = None  # else: the month-valued slot whose day decides
    groups: tuple[Group, ...] = ()  # its days grouped by result, in order


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value and len(value) == 10 else None


def _readings(slots: Slots) -> tuple[list[str], list[dict[str, date]]]:
    """Every combination of days the values can be: the month-valued slots, and the combinations."""
    months, fixed, choices = _choices(slots)
    return months, [{**fixed, **dict(zip(months, days))} for days in itertools.product(*choices)]


def _ends(slots: Slots) -> list[dict[str, date]]:
    """The first and the last combination only: each month's first days, and its last days."""
    months, fixed, choices = _choices(slots)
    return [{**fixed, **{m: c[0] for m, c in zip(months, choices)}},
            {**fixed, **{m: c[-1] for m, c in zip(months, choices)}}]


def _choices(slots: Slots) -> tuple[list[str], dict[str, date], list[list[date]]]:
    months = [name for name, value in slots.items() if _is_date(value) and len(value) == 7]
    fixed = {name: date.fromisoformat(value) for name, value in slots.items() if _is_date(value) and len(value) == 10}
    choices = []
    for name in months:
        first, last = span(slots[name])
        choices.append([first + timedelta(days=i) for i in range((last - first).days + 1)])
    return months, fixed, choices


def _is_date(value: object) -> bool:
    return isinstance(value, str) and len(value) in (7, 10) and value[4] == "-"


def _notes_by_month(result: Mapping[str, Any], days: Mapping[str, date]) -> Mapping[str, Any]:
    """The result, its notes naming a date said by its month as that month ("発行日(2021年4月)"), not
    as the day it was worked out on: any day of it gives the same dates."""
    if not days or not result.get("notes"):
        return result
    notes = list(result["notes"])
    for day in days.values():
        said, month = f"({day.year}年{day.month}月{day.day}日)", f"({day.year}年{day.month}月)"
        notes = [note.replace(said, month) for note in notes]
    return {**result, "notes": notes}


def _outcome(slots: Slots, run: Any, keys: tuple[str, ...]) -> Outcome:
    months, readings = _readings(slots)
    results: list[tuple[dict[str, date], dict[str, Any]]] = []
    error: rules.RuleInputError | None = None
    for days in readings:
        try:
            results.append((days, run(days)))
        except rules.RuleInputError as exc:
            error = error or exc
    if not results:
        assert error is not None
        raise error
    distinct = {tuple(r[k] for k in keys) for _, r in results}
    if len(distinct) == 1:
        return Outcome(_notes_by_month(results[0][1], {m: results[0][0][m] for m in months}))
    varies = months[0]
    groups: list[Group] = []
    for days, result in results:
        day = days[varies]
        if groups and all(groups[-1].result[k] == result[k] for k in keys) and groups[-1].last == day - timedelta(1):
            groups[-1] = Group(groups[-1].first, day, groups[-1].result)
        else:
            groups.append(Group(day, day, result))
    return Outcome(None, varies, tuple(groups))


# --- the expiry -------------------------------------------------------------------------------


# What the citizen answered about the card's application day, when it was asked without a date.
APPLIED_FACTS = ("applied_before", "applied_after", "applied_unknown")
# The end of the year after the old line's last application day (20 for 18, rules.md) in which a card
# applied for by then could still be handed over: later cards are taken as applied for after it.
OLD_LINE_CARDS_UNTIL = date(2023, 3, 31)


def _applied(days: Mapping[str, date], facts: Facts, card: date | None) -> date | None:
    """The card's application day as far as the rules need it: given, or 'on or before 2022-03-31'."""
    if "card_applied_on" in days:
        return days["card_applied_on"]
    if facts.get("applied_before"):
        return min(rules.LAST_DAY_OF_OLD_ADULT_AGE, card or days["issued_on"])  # applied for no later than issued
    return None


def first_expiry(days: Mapping[str, date]) -> date | None:
    """The expiry of the certificates that came with the card, when the renewal said was theirs: the
    issue day falls in their window (a later certificate would still have years to run)."""
    card, issued = days.get("card_issued_on"), days["issued_on"]
    if card is None or card >= issued:
        return None
    try:
        first = rules.expiry(days["birth_date"], card, card_issued_on=card)["user_certificate_expires_on"]
    except rules.RuleInputError:
        return None
    return first if rules.renewal_opens_on(first) <= issued <= first else None


def _previous(days: Mapping[str, date], facts: Facts) -> date | None:
    """The old certificate's expiry: given, or, for a renewal said to be inside its window, the
    birthday it most likely ended on (else the renewal day itself: inside the window either way);
    not known, the card's own certificates' when the renewal fell in their window."""
    if "previous_expires_on" not in days and facts.get("previous_unknown"):
        return first_expiry(days)
    if "previous_expires_on" in days or not facts.get("in_window"):
        return days.get("previous_expires_on")
    issued = days["issued_on"]
    old = birthday_after(days["birth_date"], issued)
    return old if rules.renewal_opens_on(old) <= issued else issued


def _expiry(days: Mapping[str, date], facts: Facts, card: date | None) -> dict[str, Any]:
    return rules.expiry(
        days["birth_date"], days["issued_on"],
        card_issued_on=card,
        card_applied_on=_applied(days, facts, card),
        previous_expires_on=_previous(days, facts),
        residence_expires_on=days.get("residence_expires_on"),
        adult_ward=bool(facts.get("adult_ward")),
    )


def card_known(slots: Slots, facts: Facts) -> bool:
    return "card_issued_on" in slots or bool(facts.get("card_same"))


def expiry(slots: Slots, facts: Facts) -> Outcome:
    """The expiry dates; `card_expires_on` is None when the card's day is unknown (it did not matter)."""
    known = card_known(slots, facts)
    if facts.get("card_same"):
        # The card came with the certificates: its day is theirs, not a second month to try day by day.
        slots = {k: v for k, v in slots.items() if k != "card_issued_on"}

    def run(days: Mapping[str, date]) -> dict[str, Any]:
        card = days.get("card_issued_on") if "card_issued_on" in slots else None
        result = _expiry(days, facts, card)
        if not known:
            result = {**result, "card_expires_on": None,
                      "notes": [n for n in result["notes"] if not n.startswith(rules.CARD_NOTE_PREFIX)]}
        return result

    return _outcome(slots, run, _EXPIRY_KEYS)


def earliest_card(birth: date, issued: date, days: Mapping[str, date]) -> date:
    """The earliest day the card can have been issued: from 2016 and from birth, and still valid on `issued`."""
    low = max(CARDS_BEGAN, birth)
    high = issued
    if _card_valid(birth, issued, low, days):
        return low
    # A card issued later never expires sooner, so the valid days are one stretch up to `issued`.
    lo, hi = low.toordinal(), high.toordinal()
    while lo < hi:
        mid = (lo + hi) // 2
        if _card_valid(birth, issued, date.fromordinal(mid), days):
            hi = mid
        else:
            lo = mid + 1
    return date.fromordinal(lo)


def _card_valid(birth: date, issued: date, card: date, days: Mapping[str, date]) -> bool:
    try:
        rules.expiry(birth, issued, card_issued_on=card, residence_expires_on=days.get("residence_expires_on"))
    except rules.RuleInputError:
        return False
    return True


def card_matters(slots: Slots, facts: Facts) -> bool:
    """Whether the card's issue day could change the certificates' dates (both ways, as the docstring says)."""
    if card_known(slots, facts) or "birth_date" not in slots or "issued_on" not in slots:
        return False
    keys = ("user_certificate_expires_on", "signature_certificate_expires_on")
    for days in _ends(slots):
        birth, issued = days["birth_date"], days["issued_on"]
        try:
            same = _expiry(days, facts, None)
            early = _expiry(days, facts, earliest_card(birth, issued, days))
        except rules.RuleInputError:
            return True  # the dates cannot be worked out without it
        if any(same[k] != early[k] for k in keys):
            return True
    return False


# The first certificates on a card were issued in January 2016; the earliest of them could be
# renewed in its window from October 2019 (a 5th birthday in January 2020).
FIRST_RENEWALS_FROM = date(2019, 10, 1)


def could_be_renewal(slots: Slots, facts: Facts) -> bool:
    """Whether the issue day, said without how (the question asks for 発行 or 前回更新), could be
    a renewal in the old certificate's window that the 6th-birthday rule lengthens: then the card's
    day is asked (the same day: a first issue; earlier: a renewal, and the old expiry is asked)."""
    if card_known(slots, facts) or facts.get("renewed") or "issued_on" not in slots:
        return False
    if slots["issued_on"] < FIRST_RENEWALS_FROM.isoformat():
        return False
    return previous_matters(slots, facts)


def applied_matters(slots: Slots, facts: Facts) -> bool:
    """Whether the card's application day could change its expiry: issued from 2022-04-01 to a year
    later to someone 18 or 19 on that day, whose card would then run 5 years instead of 10."""
    if "birth_date" not in slots or "card_applied_on" in slots or not card_known(slots, facts):
        return False
    days = dict(_ends(slots)[0])
    if facts.get("card_same") and "issued_on" in days:
        days["card_issued_on"] = days["issued_on"]
    card = days.get("card_issued_on")
    if card is None or not (rules.LAST_DAY_OF_OLD_ADULT_AGE < card <= OLD_LINE_CARDS_UNTIL) or "issued_on" not in days:
        return False
    try:
        after = _expiry(days, facts, card)
        before = _expiry(days, {**facts, "applied_before": True}, card)
    except rules.RuleInputError:
        return False
    return bool(after["card_expires_on"] != before["card_expires_on"])


def birthday_after(birth: date, day: date) -> date:
    """The first birthday on or after `day`."""
    return rules.nth_birthday_after(birth, day - timedelta(days=1), 1)


def previous_matters(slots: Slots, facts: Facts) -> bool:
    """Whether the old certificate's expiry could bring in the 6th-birthday rule and change the dates.

    The rule applies when the renewal fell between the old expiry's window opening and the
    old expiry. An old certificate ended on a birthday (its own, or its card's), so only a
    renewal in the 3 months before a birthday can be such a renewal; a period of stay can
    end on any day, so for a foreign resident any renewal can. Even then it matters only
    when the longer count is not cut short anyway (by the card, or the period of stay):
    both ways are worked out, as for the card.
    """
    if ("birth_date" not in slots or "issued_on" not in slots
            or any(facts.get(k) for k in ("previous_unknown", "in_window", "outside_window"))):
        return False
    stay = bool(facts.get("foreign")) and not facts.get("no_stay_limit")
    if facts.get("card_same"):
        slots = {k: v for k, v in slots.items() if k != "card_issued_on"}  # the certificates' own day
    _, readings = _readings(slots)
    keys = ("user_certificate_expires_on", "signature_certificate_expires_on")
    for days in readings:
        birth, issued = days["birth_date"], days["issued_on"]
        if issued < birth:
            continue
        old = issued if stay else birthday_after(birth, issued)
        if rules.renewal_opens_on(old) > issued:
            continue
        card = days.get("card_issued_on") if "card_issued_on" in slots else None
        try:
            five = rules.expiry(birth, issued, card_issued_on=card,
                                residence_expires_on=days.get("residence_expires_on"))
            six = rules.expiry(birth, issued, card_issued_on=card, previous_expires_on=old,
                               residence_expires_on=days.get("residence_expires_on"))
        except rules.RuleInputError:
            return True
        if any(five[k] != six[k] for k in keys):
            return True
    return False


# --- the renewal window and the fee ----------------------------------------------------------


def window(slots: Slots, today: date) -> Outcome:
    return _outcome(slots, lambda days: rules.renewal_window(days["expires_on"], today), _WINDOW_KEYS)


def fee(slots: Slots) -> Outcome:
    return Outcome(rules.fee(slots["reason"]))
