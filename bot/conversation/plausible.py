"""Which dates can be which: the plausibility rules, in one place.

A date the citizen gives is placed in the slot it can belong to, and a date that
cannot be what it was given as gets a question that says why, never a computation.
The bounds (issue 12): a birth date is not in the future nor over 120 years ago; the
certificates and the card were issued from 2016-01-01 (when My Number Cards began)
up to today; an expiry lies from 2016 to 11 years ahead; a period of stay does not
end before the certificates were issued. Between slots: nobody is issued anything
before being born, and the certificates live on the card, so the card came first.

A value is a day or, for a date typed without its day, a whole month: a month is
plausible when some day of it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from dateutil.relativedelta import relativedelta

from bot.rules.dates import format_date

CARDS_BEGAN = date(2016, 1, 1)
OLDEST_YEARS = 120
EXPIRY_YEARS_AHEAD = 11

Span = tuple[date, date]  # the first and last day a value can be


def span(value: str) -> Span:
    """'1990-05-10' is one day; '1990-05' every day of May 1990."""
    if len(value) == 7:
        first = date.fromisoformat(f"{value}-01")
        return first, first + relativedelta(months=1, days=-1)
    day = date.fromisoformat(value)
    return day, day


def _d(day: date) -> str:
    return format_date(day, era=False)


def why_not(slot: str, value: str, known: Mapping[str, str], today: date) -> str | None:
    """None when `value` can be `slot` beside the other `known` slots; else why not, in words."""
    first, last = span(value)
    bounds = _bounds(slot, today)
    if bounds is not None:
        low, high, too_early, too_late = bounds
        if last < low:
            return too_early
        if first > high:
            return too_late
    for other, relation in _ORDER.get(slot, ()):
        if other not in known:
            continue
        o_first, o_last = span(known[other])
        if relation == "before" and first > o_last:
            return _ORDER_REASONS[(slot, other)].format(other=_d(o_first))
        if relation == "after" and last < o_first:
            return _ORDER_REASONS[(slot, other)].format(other=_d(o_first))
    return None


def _bounds(slot: str, today: date) -> tuple[date, date, str, str] | None:
    ahead = today + relativedelta(years=EXPIRY_YEARS_AHEAD)
    if slot == "birth_date":
        oldest = today - relativedelta(years=OLDEST_YEARS)
        return (oldest, today, f"{OLDEST_YEARS}年以上前の生年月日になっています。",
                f"生年月日が今日({_d(today)})より後の日付になっています。")
    if slot in ("issued_on", "card_issued_on"):
        what = "電子証明書の発行日" if slot == "issued_on" else "カードの交付日"
        return (CARDS_BEGAN, today,
                f"{what}が、マイナンバーカードの交付が始まった2016年1月より前になっています。",
                f"{what}が今日({_d(today)})より後の日付になっています。")
    if slot in ("expires_on", "previous_expires_on"):
        return (CARDS_BEGAN, ahead, "有効期限が2016年より前になっています。",
                f"有効期限が{EXPIRY_YEARS_AHEAD}年以上先になっています。")
    if slot == "residence_expires_on":
        return (CARDS_BEGAN, ahead, "在留期間の満了日が2016年より前になっています。",
                f"在留期間の満了日が{EXPIRY_YEARS_AHEAD}年以上先になっています。")
    return None


# (other slot, "before": this slot's value cannot be after the other's; "after": nor before it)
_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "birth_date": (("issued_on", "before"), ("card_issued_on", "before")),
    "issued_on": (("birth_date", "after"), ("card_issued_on", "after")),
    "card_issued_on": (("birth_date", "after"), ("issued_on", "before")),
    # Applied for before the card was handed over, and so before the certificates on it were issued.
    "card_applied_on": (("birth_date", "after"), ("card_issued_on", "before"), ("issued_on", "before")),
    "residence_expires_on": (("issued_on", "after"),),
}
_ORDER_REASONS = {
    ("birth_date", "issued_on"): "生年月日が、電子証明書の発行日({other})より後になっています。",
    ("birth_date", "card_issued_on"): "生年月日が、カードの交付日({other})より後になっています。",
    ("issued_on", "birth_date"): "電子証明書の発行日が、生年月日({other})より前になっています。",
    ("issued_on", "card_issued_on"): "電子証明書はカードに記録されるので、カードの交付日({other})より前には発行されません。",
    ("card_issued_on", "birth_date"): "カードの交付日が、生年月日({other})より前になっています。",
    ("card_issued_on", "issued_on"): "カードの交付日が、電子証明書の発行日({other})より後になっています。",
    ("card_applied_on", "birth_date"): "カードの申請日が、生年月日({other})より前になっています。",
    ("card_applied_on", "card_issued_on"): "カードの申請日が、カードの交付日({other})より後になっています。",
    ("card_applied_on", "issued_on"): "カードの申請日が、電子証明書の発行日({other})より後になっています。",
    ("residence_expires_on", "issued_on"): "在留期間の満了日が、電子証明書の発行日({other})より前になっています。",
}
