"""The shared rules' results, said in words: short, the dates first, the reasons on request.

A finisher takes a form's values and facts and gives the reply and the result object the
rules routes return (`rules.to_json`), or, when the day of a month-only date decides the
result, the slot whose day to ask. The reply leads with what the citizen needs (the dates,
from when renewal is possible, a new card when the card itself ends); which rule decided
each date is kept for 「理由を見る」 (`reasons`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import rules
from bot.conversation import compute
from bot.conversation.compute import Group, Outcome
from bot.knowledge.base import Knowledge
from bot.knowledge.message import Message
from bot.rules.dates import format_date

Facts = Mapping[str, Any]

# The messages said here, with the fields each may use (checked at start-up).
MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "result_expiry": ("user", "signature", "card", "opens"),
    "card_on_its_face": (), "signature_until": ("date",), "no_signature": (), "no_signature_ward": (),
    "lead_new_card": (), "lead_card_expired": (), "lead_stay": (),
    "computed_from": ("values",), "reasons_heading": (),
    "card_unknown": (), "previous_unknown": ("birthday", "longer"), "previous_from_card": ("first",), "residence_unknown": (), "applied_unknown": ("card",), "in_window_said": (),
    "result_window": ("expires", "opens"), "window_rule": (), "window_rule_month_end": ("expires", "day"),
    "status_not_yet": ("today",), "status_open": ("today",), "status_expired": (),
    "result_fee": ("certificate", "card", "total"), "result_fee_certificate_only": ("certificate",),
    "depends_on_day": ("slot",), "depends_on_day_line": ("first", "last", "what"),
    "show_reasons": (),
}


@dataclass(frozen=True)
class Finished:
    messages: tuple[Message, ...]
    result: dict[str, Any]


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None


def _status(kb: Knowledge, expires_on: date, today: date) -> str:
    status = rules.renewal_window(expires_on, today)["status"]
    return kb.message(f"status_{status}", **({} if status == "expired" else {"today": format_date(today, era=False)}))


def _given(slots: Mapping[str, str], labels: Mapping[str, str]) -> str:
    parts = []
    for name, value in slots.items():
        if name in labels and len(value) in (7, 10):
            day = _day(value)
            shown = format_date(day, era=False) if day else f"{value[:4]}年{int(value[5:])}月"
            parts.append(f"{labels[name]} {shown}")
    return "・".join(parts)


def finish_expiry(result: Mapping[str, Any], slots: Mapping[str, str], facts: Facts, today: date, kb: Knowledge
                  ) -> Finished:
    user, signature, card = (result["user_certificate_expires_on"], result["signature_certificate_expires_on"],
                             result["card_expires_on"])
    earliest = min(d for d in (user, signature) if d is not None)
    lines = []
    if card is not None and card < today:
        lines.append(kb.message("lead_card_expired"))
    elif card is not None and earliest == card and card == slots_date(slots, "residence_expires_on"):
        lines.append(kb.message("lead_stay"))
    elif card is not None and earliest == card:
        lines.append(kb.message("lead_new_card"))
    lines.append(kb.message(
        "result_expiry", user=format_date(user),
        signature=kb.message("signature_until", date=format_date(signature)) if signature
        else kb.message("no_signature_ward" if facts.get("adult_ward") else "no_signature"),
        card=f"{format_date(card)}まで" if card else kb.message("card_on_its_face"),
        opens=format_date(result["renewal_opens_on"]),
    ))
    if not (card is not None and card < today):
        lines.append(_status(kb, earliest, today))
    lines += assumptions(slots, facts, kb)
    replies = [kb.message("show_reasons"), kb.topic("renewal_procedure"), kb.topic("renewal_proxy")]
    if signature is None:
        replies.append(kb.topic("legal_guardian" if facts.get("adult_ward") else "minors"))
    if facts.get("foreign"):
        replies.append(kb.topic("foreign_residents"))
    return Finished((Message("\n".join(lines), tuple(replies)),), rules.to_json(dict(result)))


def slots_date(slots: Mapping[str, str], name: str) -> date | None:
    return _day(slots.get(name))


def expiry_reasons(slots: Mapping[str, str], facts: Facts, result: Mapping[str, Any], kb: Knowledge,
                   labels: Mapping[str, str]) -> str:
    """「理由を見る」: what the computation started from, which rule decided each date, and what was assumed."""
    lines = [kb.message("computed_from", values=_given(slots, labels)), kb.message("reasons_heading")]
    lines += [f"・{note}" for note in result.get("notes", ())]
    return "\n".join(lines)


def assumptions(slots: Mapping[str, str], facts: Facts, kb: Knowledge) -> list[str]:
    """What the computation had to assume because the citizen did not know a date: said with the result."""
    lines = []
    if facts.get("card_unknown"):
        lines.append(kb.message("card_unknown"))
    birth, issued = _day(slots.get("birth_date")), _day(slots.get("issued_on"))
    card = _day(slots.get("card_issued_on"))
    first = compute.first_expiry({"birth_date": birth, "issued_on": issued, "card_issued_on": card}) \
        if facts.get("previous_unknown") and birth and issued and card else None
    if first is not None:  # "カードと一緒の証明書を…に更新、前の期限は覚えていません"
        lines.append(kb.message("previous_from_card", first=format_date(first, era=False)))
    elif facts.get("previous_unknown") and birth is not None and issued is not None:
        birthday = compute.birthday_after(birth, issued)
        longer = rules.nth_birthday_after(birth, issued, rules.CERT_YEARS_RENEWED_IN_WINDOW)
        lines.append(kb.message("previous_unknown", birthday=format_date(birthday, era=False),
                                longer=format_date(longer, era=False)))
    if facts.get("residence_unknown"):
        lines.append(kb.message("residence_unknown"))
    if facts.get("in_window"):
        lines.append(kb.message("in_window_said"))
    if facts.get("applied_unknown"):
        older = compute.expiry(slots, {**facts, "applied_unknown": False, "applied_before": True}).result
        if older is not None and older["card_expires_on"] is not None:
            lines.append(kb.message("applied_unknown", card=format_date(older["card_expires_on"], era=False)))
    return lines


def finish_window(window: Mapping[str, Any], slots: Mapping[str, str], facts: Facts, today: date, kb: Knowledge
                  ) -> Finished:
    expires_on = _day(slots["expires_on"])
    assert expires_on is not None  # a month alone never gives one window: its day was asked
    opens_on = window["opens_on"]
    # The day before opening is "3 months before"; when it is not the expiry's day of the
    # month, that month had no such day and the window opens on the 1st.
    three_months_before = date.fromordinal(opens_on.toordinal() - 1)
    if three_months_before.day != expires_on.day:
        rule = kb.message("window_rule_month_end", expires=format_date(expires_on, era=False), day=expires_on.day)
    else:
        rule = kb.message("window_rule")
    lines = [kb.message("result_window", expires=format_date(expires_on), opens=format_date(opens_on)),
             _status(kb, expires_on, today), rule]
    replies = (kb.topic("renewal_procedure"), kb.topic("renewal_proxy"))
    return Finished((Message("\n".join(lines), replies),), rules.to_json(dict(window)))


def finish_fee(result: Mapping[str, Any], slots: Mapping[str, str], facts: Facts, today: date, kb: Knowledge
               ) -> Finished:
    card = result["card_fee_yen"]
    if card is None:
        text = kb.message("result_fee_certificate_only", certificate=rules.yen(result["certificate_fee_yen"]))
    else:
        text = kb.message("result_fee", certificate=rules.yen(result["certificate_fee_yen"]), card=rules.yen(card),
                          total=rules.yen(result["total_yen"]))
    lines = [text, *(f"・{n}" for n in result["notes"])]
    replies = (kb.topic("renewal_procedure"), kb.topic("office_hours"))
    return Finished((Message("\n".join(lines), replies),), rules.to_json(dict(result)))


def depends_on_day(form_intent: str, outcome: Outcome, label: str, kb: Knowledge) -> Message:
    """"I don't remember the day": each possible result, by the days that give it."""
    lines = [kb.message("depends_on_day", slot=label)]
    for group in outcome.groups[:4]:
        lines.append(kb.message("depends_on_day_line", first=format_date(group.first, era=False),
                                last=format_date(group.last, era=False), what=_what(form_intent, group)))
    if len(outcome.groups) > 4:
        first, last = outcome.groups[0], outcome.groups[-1]
        lines = [lines[0], kb.message("depends_on_day_line", first=format_date(first.first, era=False),
                                      last=format_date(last.last, era=False),
                                      what=f"{_what(form_intent, first)}〜{_what(form_intent, last)}")]
    return Message("\n".join(lines))


def _what(form_intent: str, group: Group) -> str:
    result = group.result
    if form_intent == "renewal_window":
        return f"{format_date(result['opens_on'], era=False)}から更新できます"
    dates = [d for d in (result["user_certificate_expires_on"], result["signature_certificate_expires_on"]) if d]
    return f"電子証明書は{format_date(min(dates), era=False)}まで"


Finisher = Callable[[Mapping[str, Any], Mapping[str, str], Facts, date, Knowledge], Finished]
FINISHERS: dict[str, Finisher] = {
    "finish_expiry": finish_expiry,
    "finish_window": finish_window,
    "finish_fee": finish_fee,
}
OUTCOMES: dict[str, Callable[[Mapping[str, str], Facts, date], Outcome]] = {
    "finish_expiry": lambda slots, facts, today: compute.expiry(slots, facts),
    "finish_window": lambda slots, facts, today: compute.window(slots, today),
    "finish_fee": lambda slots, facts, today: compute.fee(slots),
}
