"""Filling a form: taking the values a message gave, asking the next question, finishing.

`advance` applies a placement (bot.conversation.placing) to the state, says what it took
and what it corrected, then asks the first open slot or, when none is left, runs the rules
and says the result. A correction after a result goes through the same path (`reopen`)
and says which dates changed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot import rules
from bot.conversation import placing, results
from bot.conversation.compute import birthday_after
from bot.conversation.forms import Form
from bot.conversation.people import decoded_births
from bot.conversation.state import Last, State
from bot.conversation.turn import Step, TurnContext
from bot.knowledge.message import Message
from bot.rules.dates import Found, ParsedDate, PartialDate, format_date

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "ask_day": ("month",), "ask_year": ("slot", "month", "day"), "ask_which_slot": ("value", "first", "second"),
    "received": ("values",), "corrected": ("slot", "value"), "changed": ("lines",),
    "changed_none": (), "reprompt_date_error": ("reason",), "reprompt_no_date": (), "reprompt_choice": (),
    "resume": (), "give_up": (), "rule_error": ("reason",), "next_person": ("person",), "next_person_reply": ("person",),
}
# Of a result, the dates a correction can change, as the bot names them.
_RESULT_NAMES = {"user_certificate_expires_on": "利用者証明用", "signature_certificate_expires_on": "署名用",
                 "card_expires_on": "カード", "renewal_opens_on": "更新の受付開始", "opens_on": "更新の受付開始"}
# Of the person, what a second computation in the same conversation need not ask again.
KEPT = ("birth_date", "residence_expires_on")
KEPT_FACTS = ("foreign", "no_stay_limit", "person")


def shown(value: str) -> str:
    """A slot's value as the bot says it: a date, or a month without its day."""
    return format_date(date.fromisoformat(value)) if len(value) == 10 else f"{value[:4]}年{int(value[5:])}月"


def place(t: TurnContext, form: Form, state: State, correcting: bool | None = None) -> placing.Placement:
    return placing.place(form, state, t.reading, t.text, t.today, t.kb, correcting)


def advance(t: TurnContext, form: Form, state: State, found: placing.Placement) -> Step:
    kb = t.kb
    slots, facts = dict(state.slots), dict(state.facts)
    messages: list[Message] = []
    received: list[str] = []
    for slot, value in found.values.items():
        if slot not in form.date_slots:
            continue
        if slot in slots and slots[slot] != value and not value.startswith(slots[slot]):  # not a month's day
            messages.append(Message(kb.message("corrected", slot=form.slot(slot).label, value=shown(value))))
        elif slots.get(slot) != value and slot not in found.notes:
            received.append(f"{form.slot(slot).label} {shown(value)}")
    slots.update(found.values)
    facts.update(found.facts)
    for name in found.dropped:
        slots.pop(name, None)
        facts.pop(name, None)
    if found.dropped:
        state = state.but(known={k: v for k, v in state.known.items() if k not in found.dropped})
    if form.intent == "calc_expiry" and "adult_ward" in state.known:
        facts["adult_ward"] = bool(state.known["adult_ward"])
    if "card_issued_on" in found.values:  # a date the user gave beats "same day" or "don't know"
        facts.pop("card_same", None)
        facts.pop("card_unknown", None)
    if "previous_expires_on" in found.values:  # "前の期限は…でした" after "わからない": its caveat goes too
        facts.pop("previous_unknown", None)
    if facts.get("card_same") and "issued_on" in slots:
        slots["card_issued_on"] = slots["issued_on"]
    if received:
        messages.insert(0, Message(kb.message("received", values="、".join(received))))
    messages.extend(Message(note) for note in (*found.notes.values(), *found.remarks))
    state = state.but(slots=slots, facts=facts, partial=found.partial, pending=found.pending)
    if found.errors:
        refused, why = found.errors[0]
        return retry(t, form, state, messages, kb.message("reprompt_date_error", reason=why), focus=refused)
    if found.pending is not None:
        first, second = (form.slot(n).label for n in found.pending.options)
        text = kb.message("ask_which_slot", value=shown(found.pending.value), first=first, second=second)
        return Step(state, (*messages, Message(text, (first, second, kb.topic("cancel")))), form.intent,
                    t.confidence(form.intent))
    state = state.but(failures=0)
    try:
        if state.partial is not None or form.open_slots(slots, facts):
            state, prompt = ask(t, form, state)
            return Step(state, (*messages, *prompt), form.intent, t.confidence(form.intent))
        outcome = results.OUTCOMES[form.finish](slots, facts, t.today)
    except rules.RuleInputError as exc:
        return impossible(t, form, state, messages, found, exc)
    if outcome.varies is not None:
        return _ask_day(t, form, state, messages, outcome.varies)
    assert outcome.result is not None
    finished = results.FINISHERS[form.finish](outcome.result, slots, facts, t.today, kb)
    if state.last is not None and state.last.form == form.intent \
            and facts.get("person") == state.last.facts.get("person"):  # not another person's dates
        changed = _changes(state.last.result, finished.result, kb.message("changed_none"))
        if changed:
            messages.append(Message(kb.message("changed", lines="、".join(changed))))
    known = {**state.known, **{k: v for k, v in slots.items() if k in KEPT and len(v) == 10},
             **{k: v for k, v in facts.items() if k in KEPT_FACTS}}
    after: tuple[Message, ...] = ()
    others = next_people(slots, facts)
    if others:  # "私と妻の期限を…": the other one's dates wait for "妻の分"
        known["others"] = {**state.known.get("others", {}), **others}
        chosen = [p for p, b in decoded_births(facts["births"]).items() if b == slots.get("birth_date")]
        if chosen:
            known["person"] = chosen[0]  # whose this result is, picked by a date: "私の分も" is then another's
        person = next(iter(others))
        after = (Message(kb.message("next_person", person=person), (kb.message("next_person_reply", person=person),)),)
    done = state.form_done().but(last=Last(form.intent, slots, facts, finished.result), known=known)
    return Step(done, (*messages, *finished.messages, *after), form.intent, t.confidence(form.intent),
                finished.result)


def next_people(slots: dict[str, str], facts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The other person of two whose birth dates came in one message: their birth date, and the
    certificates' and card's days when the message said they were both people's ("二人とも…")."""
    births = facts.get("births")
    if not births or "birth_date" not in slots:
        return {}
    days: tuple[str, ...] = ("issued_on", "card_issued_on") if facts.get("births_shared") else ()
    shared = {k: slots[k] for k in days if k in slots}
    return {person: {"birth_date": birth, **shared} for person, birth in decoded_births(births).items()
            if birth != slots["birth_date"]}


def _ask_day(t: TurnContext, form: Form, state: State, messages: list[Message], slot: str) -> Step:
    """The day of a date given by its month, when the day changes the dates."""
    value = state.slots[slot]
    text = t.kb.message("ask_day", month=f"{value[:4]}年{int(value[5:])}月")
    choices = (t.kb.messages["dont_know_choices"][0], t.kb.topic("cancel"))
    return Step(state.but(asked=slot), (*messages, Message(text, choices)), form.intent, t.confidence(form.intent))


def finish(t: TurnContext, form: Form, slots: dict[str, str], facts: dict[str, Any]) -> results.Finished | None:
    """A form's result from values alone (a side question), or None when a day must still be asked."""
    outcome = results.OUTCOMES[form.finish](slots, facts, t.today)
    if outcome.result is None:
        return None
    return results.FINISHERS[form.finish](outcome.result, slots, facts, t.today, t.kb)


def impossible(t: TurnContext, form: Form, state: State, messages: list[Message], found: placing.Placement,
               exc: rules.RuleInputError) -> Step:
    """Dates the rules refuse together: ask again for the one the user is likelier to have mistyped."""
    slots, facts = dict(state.slots), dict(state.facts)
    given = [name for name in found.values if name in form.date_slots]
    field = exc.field if exc.field in slots else "issued_on"
    if field not in given and len(given) == 1:
        field = given[0]  # the date just typed is the likelier slip
    slots.pop(field, None)
    if field == "issued_on" and facts.get("card_same"):
        slots.pop("card_issued_on", None)
    if field == "card_issued_on":
        facts.pop("card_same", None)
        facts["card_differs"] = True
    state = state.but(slots=slots, facts=facts)
    return retry(t, form, state, messages, t.kb.message("rule_error", reason=exc.reason), focus=field)


def ask(t: TurnContext, form: Form, state: State, resume: bool = False,
        focus: str | None = None) -> tuple[State, tuple[Message, ...]]:
    """The next question, from the state: a date's missing part, or the first open slot. Sets `asked`."""
    kb = t.kb
    partial = state.partial
    if partial is not None:
        slot = form.slot(partial.slot)
        if partial.year is None:
            text = kb.message("ask_year", slot=slot.label, month=partial.month, day=partial.day or "")
        else:
            text = kb.message("ask_day", month=f"{partial.year}年{partial.month}月")
        choices: tuple[str, ...] = ()
        asked = partial.slot
    else:
        open_slots = form.open_slots(state.slots, state.facts, first=focus)
        if not open_slots:
            return state, ()
        slot = open_slots[0]
        asked = slot.name
        key, choices_key = slot.question(state.slots, state.facts)
        text = kb.message(key, **_prompt_fields(key, state))
        choices = tuple(kb.messages[choices_key]) if choices_key else ()
    if resume:
        text = f"{kb.message('resume')}{text}"
    return state.but(asked=asked), (Message(text, (*choices, kb.topic("cancel"))),)


def retry(t: TurnContext, form: Form, state: State, messages: list[Message], why: str,
          focus: str | None = None) -> Step:
    """An answer the bot could not use: say why and ask again, or give up after max_failures in a row."""
    state = state.but(failures=state.failures + 1)
    if state.failures >= t.config.max_failures:
        return give_up(t, form, state)
    state, prompt = ask(t, form, state, focus=focus)
    return Step(state, (*messages, Message(why), *prompt), form.intent, t.confidence(form.intent))


def give_up(t: TurnContext, form: Form, state: State) -> Step:
    """Too many unreadable answers: the general rule and whom to ask, instead of a loop."""
    messages = (
        Message(t.kb.message("give_up")),
        *t.kb.render(form.general, t.municipality, today=t.today),
        *t.kb.render("contact", t.municipality, today=t.today),
    )
    return Step(state.form_done(), messages, form.intent, t.confidence(form.intent), None, False, gave_up=True)


def failed(t: TurnContext, form: Form, state: State) -> Step:
    open_slots = form.open_slots(state.slots, state.facts, first=state.asked)
    slot = open_slots[0] if open_slots else None
    if t.reading.dont_know and slot is not None and slot.dont_know:
        why = t.kb.message(slot.dont_know)
    elif slot is not None and not slot.is_date:
        why = t.kb.message("reprompt_choice")
    else:
        why = t.kb.message("reprompt_no_date")
    return retry(t, form, state, [], why)


def dont_know(t: TurnContext, form: Form, state: State) -> Step:
    """"わからない": to the day of a month, each possible result; else where to find the date."""
    asked, slots = state.asked, dict(state.slots)
    partial = state.partial
    if partial is not None and partial.year is not None:
        slots[partial.slot] = f"{partial.year:04d}-{partial.month:02d}"
        asked = partial.slot
    if asked is not None and len(slots.get(asked, "")) == 7 and not form.open_slots(slots, state.facts):
        outcome = results.OUTCOMES[form.finish](slots, state.facts, t.today)
        if outcome.varies is not None:
            message = results.depends_on_day(form.intent, outcome, form.slot(outcome.varies).label, t.kb)
            return Step(state.form_done(), (message,), form.intent, t.confidence(form.intent))
        return advance(t, form, state.but(slots=slots, partial=None), placing.Placement())
    return failed(t, form, state)


def reopen(t: TurnContext, state: State, last: Last, form: Form) -> Step | None:
    """A correction right after a result ("やっぱり発行日は…", "誕生日は11日でした") recomputes it."""
    reopened = state.form_done().but(form=form.intent, slots=last.slots, facts=last.facts)
    found = place(t, form, reopened, correcting=True)
    if not (found.found or _lacked(state, last)):
        return None
    return advance(t, form, reopened, found)


def adds_to(t: TurnContext, state: State, last: Last) -> bool:
    """Whether a message right after an expiry changes what it was computed from, without words of
    correction: a part of a date it named ("生まれ月は6月です"), the card's day or a period of stay
    ("カードは…に受け取りました", "外国籍で在留期限は…"), or whether the holder is an adult ward.
    Then it is recomputed."""
    if last.form != "calc_expiry":
        return False
    reading = t.reading
    return (_lacked(state, last) or (reading.foreign and not last.facts.get("foreign"))
            or (reading.not_foreign and bool(last.facts.get("foreign")))
            or (reading.part_label in last.slots and (reading.year or reading.month or reading.day) is not None)
            or any(d.label in _SAME_PERSON_DATES for d in reading.dates)
            or any(_in_month(d.found, value) for d in reading.dates for value in last.slots.values() if len(value) == 7))


def _in_month(found: Found, month: str) -> bool:
    """Whether a date gives the day of a date said by its month ("2021年4月頃" then "4月12日でした")."""
    if isinstance(found, ParsedDate):
        return found.value.isoformat().startswith(month)
    return isinstance(found, PartialDate) and found.day is not None and found.month == int(month[5:]) \
        and found.year in (None, int(month[:4]))


# Dates told after a result that can only be of the same computation ("カードは…に受け取りました"):
# a birth or issue date could as well start one for someone else, and goes the usual way.
_SAME_PERSON_DATES = frozenset({"card_issued_on", "card_applied_on", "previous_expires_on", "residence_expires_on"})


def _lacked(state: State, last: Last) -> bool:
    """Whether the conversation now says otherwise of an adult ward than the last expiry assumed."""
    return (last.form == "calc_expiry" and "adult_ward" in state.known
            and bool(state.known["adult_ward"]) != bool(last.facts.get("adult_ward")))


def _changes(before: Any, after: Any, none: str) -> list[str]:
    lines = []
    for key, name in _RESULT_NAMES.items():
        old, new = before.get(key), after.get(key)
        # A signature certificate may come or go (an age, an adult ward); the card's day may become unknown.
        if key in before and key in after and old != new and (old and new or key == _SIGNATURE):
            lines.append(f"{name} {_plain(old, none)}→{_plain(new, none)}")
    return lines


_SIGNATURE = "signature_certificate_expires_on"


def _plain(value: str | None, none: str) -> str:
    return format_date(date.fromisoformat(value), era=False) if value else none


def _prompt_fields(key: str, state: State) -> dict[str, str]:
    """The values a prompt names: the card's day, or the birthday an old certificate may have ended on."""
    fields: dict[str, str] = {}
    if key == "ask_issued_on_card_known":
        fields["card"] = shown(state.slots["card_issued_on"])
    if key == "ask_previous_expires_on":
        birth, issued = state.slots.get("birth_date", ""), state.slots.get("issued_on", "")
        fields["birthday"] = ""
        if len(birth) == 10 and len(issued) == 10:
            fields["birthday"] = format_date(birthday_after(date.fromisoformat(birth), date.fromisoformat(issued)))
    return fields
