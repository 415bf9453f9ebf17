"""The shared rules' results, said in words: what a finished form answers.

Each finisher takes the form's slots (ISO strings) and facts, runs the rules and
returns the reply and the same object the rules routes return (`rules.to_json`).
The reply states every date in the api.md format, which rule decided it (the
rules' notes), from when renewal is possible and whether that is open today.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from bot import rules
from bot.dates import format_date
from bot.knowledge import Knowledge
from bot.replies import Message

Facts = Mapping[str, Any]
Finished = tuple[tuple[Message, ...], dict[str, Any]]

# The messages the finishers say, with the fields each may use (checked at start-up).
MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "result_expiry": ("birth", "issued", "card_line", "user", "signature", "card", "opens"),
    "card_same_line": (), "card_assumed_line": (), "card_line": ("card",), "signature_until": ("date",),
    "no_signature": (), "rules_heading": (), "card_assumed": (), "previous_unknown": (), "residence_unknown": (),
    "result_window": ("expires", "opens"), "window_rule": (), "window_rule_month_end": ("expires", "day"),
    "status_not_yet": ("today", "opens", "expires"), "status_open": ("today", "opens", "expires"),
    "status_expired": ("today", "opens", "expires"),
    "result_fee": ("certificate", "card", "total"), "result_fee_certificate_only": ("certificate",),
}


def _day(slots: Mapping[str, Any], name: str) -> date | None:
    value = slots.get(name)
    return date.fromisoformat(value) if value else None


def _status(kb: Knowledge, expires_on: date, today: date) -> str:
    window = rules.renewal_window(expires_on, today)
    return kb.message(f"status_{window['status']}", today=format_date(today, era=False),
                      opens=format_date(window["opens_on"]), expires=format_date(expires_on))


def expiry_of(slots: Mapping[str, Any]) -> dict[str, Any]:
    """rules.expiry on the slots known so far (the card's day defaults to the certificates')."""
    birth, issued = _day(slots, "birth_date"), _day(slots, "issued_on")
    assert birth is not None and issued is not None
    return rules.expiry(
        birth, issued, card_issued_on=_day(slots, "card_issued_on"),
        previous_expires_on=_day(slots, "previous_expires_on"),
        residence_expires_on=_day(slots, "residence_expires_on"),
    )


def _card_line(kb: Knowledge, issued: date, card_issued: date | None, facts: Facts) -> str:
    if card_issued is not None and card_issued != issued:
        return kb.message("card_line", card=format_date(card_issued))
    return kb.message("card_assumed_line" if facts.get("card_assumed") else "card_same_line")


def finish_expiry(slots: Mapping[str, Any], facts: Facts, today: date, kb: Knowledge) -> Finished:
    birth, issued = _day(slots, "birth_date"), _day(slots, "issued_on")
    assert birth is not None and issued is not None
    result = expiry_of(slots)
    user, signature = result["user_certificate_expires_on"], result["signature_certificate_expires_on"]
    text = kb.message(
        "result_expiry",
        birth=format_date(birth), issued=format_date(issued),
        card_line=_card_line(kb, issued, _day(slots, "card_issued_on"), facts),
        user=format_date(user), card=format_date(result["card_expires_on"]),
        opens=format_date(result["renewal_opens_on"]),
        signature=kb.message("signature_until", date=format_date(signature)) if signature
        else kb.message("no_signature"),
    )
    earliest = min(d for d in (user, signature) if d is not None)
    lines = [text, _status(kb, earliest, today), kb.message("rules_heading"), *(f"・{n}" for n in result["notes"])]
    # What the bot had to assume, each message named after its fact.
    lines += [kb.message(fact) for fact in ("card_assumed", "previous_unknown", "residence_unknown") if facts.get(fact)]
    replies = [kb.topic("renewal_procedure"), kb.topic("renewal_proxy")]
    if signature is None:
        replies.append(kb.topic("minors"))
    if facts.get("foreign"):
        replies.append(kb.topic("foreign_residents"))
    return (Message("\n".join(lines), tuple(replies)),), rules.to_json(result)


def finish_window(slots: Mapping[str, Any], facts: Facts, today: date, kb: Knowledge) -> Finished:
    expires_on = _day(slots, "expires_on")
    assert expires_on is not None
    window = rules.renewal_window(expires_on, today)
    opens_on = window["opens_on"]
    text = kb.message("result_window", expires=format_date(expires_on), opens=format_date(opens_on))
    # The day before opening is "3 months before"; when it is not the expiry's day of the
    # month, that month had no such day and the window opens on the 1st.
    three_months_before = date.fromordinal(opens_on.toordinal() - 1)
    if three_months_before.day != expires_on.day:
        rule = kb.message("window_rule_month_end", expires=format_date(expires_on, era=False), day=expires_on.day)
    else:
        rule = kb.message("window_rule")
    lines = [text, rule, _status(kb, expires_on, today)]
    replies = (kb.topic("renewal_procedure"), kb.topic("renewal_proxy"))
    return (Message("\n".join(lines), replies),), rules.to_json(window)


def finish_fee(slots: Mapping[str, Any], facts: Facts, today: date, kb: Knowledge) -> Finished:
    result = rules.fee(slots["reason"])
    card = result["card_fee_yen"]
    if card is None:
        text = kb.message("result_fee_certificate_only", certificate=rules.yen(result["certificate_fee_yen"]))
    else:
        text = kb.message("result_fee", certificate=rules.yen(result["certificate_fee_yen"]), card=rules.yen(card),
                          total=rules.yen(result["total_yen"]))
    lines = [text, *(f"・{n}" for n in result["notes"])]
    replies = (kb.topic("renewal_procedure"), kb.topic("office_hours"))
    return (Message("\n".join(lines), replies),), rules.to_json(result)


FINISHERS: dict[str, Callable[[Mapping[str, Any], Facts, date, Knowledge], Finished]] = {
    "finish_expiry": finish_expiry,
    "finish_window": finish_window,
    "finish_fee": finish_fee,
}
