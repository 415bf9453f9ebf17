"""The dialogues the bot can hold, as declarations: which values each needs and how it asks for them.

A form's next question is its first open slot: needed (its `when` holds) and not yet
known. Whether a slot is needed may take the rules themselves: the card's issue day is
asked only when it could change the certificates' dates (bot.conversation.compute).
Prompts, choices and `when` conditions are named here and resolved at start-up
(`check_forms`), so a typo stops the server, not a citizen's conversation.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot import rules
from bot.conversation import compute
from bot.knowledge.base import Knowledge

Slots = Mapping[str, str]
Facts = Mapping[str, Any]
Condition = Callable[[Slots, Facts], bool]


def _renewed(slots: Slots, facts: Facts) -> bool:
    card, issued = slots.get("card_issued_on"), slots.get("issued_on")
    return bool(facts.get("renewed")) or (card is not None and issued is not None and card < issued)


def _remembered(condition: Condition) -> Condition:
    """`condition`, remembered for the last few values: a turn asks it once to advance and once
    to ask, and the costly ones try every day of a month the citizen gave without its day.
    The values hold a person's dates, so only a handful are kept (the turns in flight)."""

    @functools.lru_cache(maxsize=8)
    def known(slots: tuple[tuple[str, str], ...], facts: tuple[tuple[str, Any], ...]) -> bool:
        return condition(dict(slots), dict(facts))

    def check(slots: Slots, facts: Facts) -> bool:
        try:
            return known(tuple(sorted(slots.items())), tuple(sorted(facts.items())))
        except TypeError:  # a fact that cannot be a key (none is today): work it out
            return condition(slots, facts)

    return check


CONDITIONS: dict[str, Condition] = {
    "always": lambda slots, facts: True,
    # The card's day is asked only when it could cut the certificates short.
    # The card's day is asked when it could cut the certificates short, or when the issue day could
    # be a renewal that the 6th-birthday rule lengthens (an earlier card's day says it was one).
    "card_matters": _remembered(lambda slots, facts: not facts.get("card_unknown")
                                and (compute.card_matters(slots, facts) or compute.could_be_renewal(slots, facts))),
    # The 6th-birthday rule can apply only to a renewal in the 3 months before the old expiry; when
    # the card's day is not known, nor then whether the issue day was a renewal, it is asked too.
    "renewed_in_window": _remembered(lambda slots, facts: (_renewed(slots, facts) or bool(facts.get("card_unknown")))
                                     and compute.previous_matters(slots, facts)),
    "period_of_stay": lambda slots, facts: bool(facts.get("foreign"))
    and not facts.get("no_stay_limit") and not facts.get("residence_unknown"),
    # A card issued to an 18- or 19-year-old in the year after 2022-04-01 may have been applied for
    # before it, when 20 was the line (rules.md): then its years depend on the application day.
    "applied_matters": _remembered(lambda slots, facts: not any(facts.get(k) for k in compute.APPLIED_FACTS)
                                   and compute.applied_matters(slots, facts)),
    "card_known_first": lambda slots, facts: "card_issued_on" in slots and "issued_on" not in slots,
    "card_differs": lambda slots, facts: bool(facts.get("card_differs") or _renewed(slots, facts)),
    "said_not_lost": lambda slots, facts: bool(facts.get("not_lost")),
}


@dataclass(frozen=True)
class Slot:
    name: str
    label: str  # how the bot names it when it repeats, corrects or asks about a value
    prompt: str  # message key
    choices: str | None = None  # message key of a list of quick replies
    when: str = "always"  # a CONDITIONS name: the slot is needed only while it holds
    # Once the condition holds, the question changes: (condition, prompt key, choices key).
    variant: tuple[str, str, str | None] | None = None
    dont_know: str | None = None  # message key: where to find the date, for "わからない"
    # A date typed without its year: "next" takes its next occurrence from today (an
    # expiry lies ahead); "ask" asks for the year (an issue day or a birthday could be any).
    year: str = "ask"
    # A date typed without its day: "keep" keeps the month (the rules show whether the day
    # matters); "ask" asks for the day at once (a birthday is always a day).
    day: str = "keep"
    is_date: bool = True

    def question(self, slots: Slots, facts: Facts) -> tuple[str, str | None]:
        if self.variant is not None and CONDITIONS[self.variant[0]](slots, facts):
            return self.variant[1], self.variant[2]
        return self.prompt, self.choices


@dataclass(frozen=True)
class Form:
    intent: str
    slots: tuple[Slot, ...]
    finish: str  # key of bot.conversation.results.FINISHERS
    general: str  # the knowledge answer with the general rule (asked in general, or after giving up)
    offer: str | None = None  # message key: after the general answer, how to ask for the computation

    def slot(self, name: str) -> Slot:
        return next(s for s in self.slots if s.name == name)

    @property
    def date_slots(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots if s.is_date)

    def open_slots(self, slots: Slots, facts: Facts, first: str | None = None) -> list[Slot]:
        """The slots still to ask, in order; `first` (the one just asked) leads when open."""
        found = [s for s in self.slots if s.name not in slots and CONDITIONS[s.when](slots, facts)]
        found.sort(key=lambda s: s.name != first)
        return found


FORMS: dict[str, Form] = {
    "calc_expiry": Form(
        "calc_expiry",
        (
            Slot("birth_date", "生年月日", "ask_birth_date", dont_know="dont_know_birth_date", day="ask"),
            Slot("issued_on", "電子証明書の発行日", "ask_issued_on", dont_know="dont_know_issued_on",
                 variant=("card_known_first", "ask_issued_on_card_known", "same_as_card_choices")),
            Slot("card_issued_on", "カードの交付日", "ask_card_issued_on", "card_issued_choices", when="card_matters",
                 variant=("card_differs", "ask_card_date", "dont_know_choices")),
            Slot("card_applied_on", "カードの申請日", "ask_card_applied_on", "card_applied_choices",
                 when="applied_matters"),
            Slot("previous_expires_on", "前の証明書の有効期限", "ask_previous_expires_on", "dont_know_choices",
                 when="renewed_in_window", year="next"),
            Slot("residence_expires_on", "在留期間の満了日", "ask_residence", "residence_choices", when="period_of_stay",
                 year="next"),
        ),
        "finish_expiry", "validity_rules",  # never answered in general: a birth date is always needed
    ),
    "renewal_window": Form(
        "renewal_window",
        (Slot("expires_on", "有効期限", "ask_expires_on", dont_know="dont_know_expires_on", year="next"),),
        "finish_window", "renewal_window", "offer_window",
    ),
    "fee": Form(
        "fee",
        (Slot("reason", "状況", "ask_fee_reason", "fee_reason_choices", is_date=False,
              variant=("said_not_lost", "ask_fee_free_reason", "fee_free_choices")),),
        "finish_fee", "fee", "ask_fee_reason",
    ),
}

# The prompts and choices forms name, with the fields each message may use.
MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "ask_birth_date": (), "ask_issued_on": (), "ask_issued_on_card_known": ("card",), "ask_card_issued_on": (),
    "ask_card_date": (), "ask_card_applied_on": (), "card_applied_choices": (),
    "ask_previous_expires_on": ("birthday",), "ask_residence": (), "ask_expires_on": (),
    "ask_fee_reason": (), "ask_fee_free_reason": (),
    "card_issued_choices": (), "same_as_card_choices": (), "dont_know_choices": (), "residence_choices": (),
    "fee_reason_choices": (), "fee_free_choices": (), "fee_reason_words": (), "offer_window": (),
    "dont_know_birth_date": (), "dont_know_issued_on": (), "dont_know_expires_on": (),
}


def check_forms(knowledge: Knowledge, intent_names: Iterable[str], fields: Mapping[str, tuple[str, ...]],
                finishers: Iterable[str]) -> None:
    """Every name a form uses resolves, and every message has only the fields we fill (start-up)."""
    names, finishers = set(intent_names), set(finishers)
    messages_file = "knowledge/messages.yaml"
    for form in FORMS.values():
        if form.intent not in names:
            raise ValueError(f"dialogue form {form.intent!r} has no intent in the intents file")
        if form.finish not in finishers:
            raise ValueError(f"dialogue form {form.intent!r}: unknown finisher {form.finish!r}")
        if form.general not in knowledge.answers:
            raise ValueError(f"dialogue form {form.intent!r}: no knowledge answer {form.general!r}")
        keys = [form.offer]
        for slot in form.slots:
            keys += [slot.prompt, slot.choices, slot.dont_know, *(slot.variant[1:] if slot.variant else ())]
            for condition in (slot.when, slot.variant[0] if slot.variant else "always"):
                if condition not in CONDITIONS:
                    raise ValueError(f"dialogue form {form.intent!r}: slot {slot.name!r} names unknown {condition!r}")
        for key in keys:
            if key and key not in fields:
                raise ValueError(f"dialogue form {form.intent!r}: message {key!r} is not declared")
    for key, allowed in fields.items():
        value = knowledge.messages.get(key)
        if value is None:
            raise ValueError(f"{messages_file}: message {key!r} is missing")
        if key.endswith("_choices"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{messages_file}: {key!r} must be a list of button labels")
            continue
        if isinstance(value, str):
            used = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
            if used - set(allowed):
                unknown = sorted(used - set(allowed))
                raise ValueError(f"{messages_file}: {key!r} uses {unknown}, allowed {list(allowed)}")
    for reason in knowledge.messages["fee_reason_words"]:
        if reason not in rules.FEE_REASONS:
            raise ValueError(f"{messages_file}: fee_reason_words has unknown reason {reason!r}")
