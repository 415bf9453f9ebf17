"""Slot-filling dialogues over the shared rules, and the turn policy around them.

A step is `step(state, turn, today, kb, municipality) -> Step`. The next question
always comes from the state (the first missing slot of the running form), so
cancel, digressions and corrections need no special paths: they change the state,
and the question follows. Forms, their slots and prompts are declared in FORMS;
every message they name lives in knowledge/messages.yaml and is checked at start-up.

The state is a JSON-serialisable dict: dates are ISO strings, never `date` objects,
and no user text is ever copied into it (the engine masks PINs and individual
numbers before the text reaches us, and we keep only the values we read).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import results, rules
from bot.dates import format_date
from bot.knowledge import Knowledge, Municipality
from bot.matcher import MatchResult
from bot.replies import Message
from bot.slots import DATE_SLOTS, Asking, Reading, card_differs, is_question, normal
from bot.slots import MESSAGE_FIELDS as READING_MESSAGES
from bot.slots import read as read_slots

STATE_VERSION = 2
MAX_FAILURES = 3  # answers in a row the bot could not read before it gives the general rule instead

State = dict[str, Any]
Facts = Mapping[str, Any]


@dataclass(frozen=True)
class UserTurn:
    text: str  # already masked
    match: MatchResult


@dataclass(frozen=True)
class Step:
    state: State
    messages: tuple[Message, ...]
    intent: str | None
    confidence: float
    result: dict[str, Any] | None = None
    answered: bool = True  # False: out of domain, the bot had to ask which topic, or it gave up
    gave_up: bool = False  # the form ended after too many answers it could not read


Needed = Callable[[Mapping[str, Any], Facts], bool]


def _always(slots: Mapping[str, Any], facts: Facts) -> bool:
    return True


@dataclass(frozen=True)
class Slot:
    name: str
    prompt: str  # message key
    choices: str | None = None  # message key of a list of quick replies
    needed: Needed = _always
    # Once `when` holds (the user answered the first question "no", or gave the card's
    # date first), the question changes: (when, prompt key, choices key).
    variant: tuple[Needed, str, str | None] | None = None
    dont_know: str | None = None  # message key: where to find the date, for "わからない"

    def question(self, slots: Mapping[str, Any], facts: Facts) -> tuple[str, str | None]:
        if self.variant is not None and self.variant[0](slots, facts):
            return self.variant[1], self.variant[2]
        return self.prompt, self.choices


@dataclass(frozen=True)
class Form:
    intent: str
    slots: tuple[Slot, ...]
    finish: str  # key of FINISHERS
    general: str  # the knowledge answer with the general rule (asked in general, or after giving up)
    offer: str | None = None  # message key: after the general answer, how to ask for the computation

    def missing(self, slots: Mapping[str, Any], facts: Facts, focus: str | None = None) -> Slot | None:
        open_slots = [s for s in self.slots if s.name not in slots and s.needed(slots, facts)]
        for slot in open_slots:
            if slot.name == focus:
                return slot
        return open_slots[0] if open_slots else None

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots)

    def asking(self, state: Mapping[str, Any]) -> Asking:
        """What this form wants from the next message, for bot.slots to read."""

        def open_dates(taken: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
            merged, known = {**state["slots"], **taken}, {**state["facts"], **facts}
            names = [s.name for s in self.slots
                     if s.name in DATE_SLOTS and s.name not in merged and s.needed(merged, known)]
            if state.get("asked") in names:
                names.remove(state["asked"])
                names.insert(0, state["asked"])
            return names

        return Asking(self.intent, self.slot_names, state.get("asked"), state["slots"], state["facts"],
                      state.get("partial"), open_dates)


def _renewal(slots: Mapping[str, Any], facts: Facts) -> bool:
    """The 6th-birthday rule can apply only to a renewal, so only then is the old expiry asked."""
    if facts.get("previous_unknown"):
        return False
    card, issued = slots.get("card_issued_on"), slots.get("issued_on")
    return bool(facts.get("renewed")) or (card is not None and issued is not None and card < issued)


def _period_of_stay(slots: Mapping[str, Any], facts: Facts) -> bool:
    return bool(facts.get("foreign")) and not facts.get("no_stay_limit") and not facts.get("residence_unknown")


def _card_known_first(slots: Mapping[str, Any], facts: Facts) -> bool:
    return "card_issued_on" in slots and "issued_on" not in slots


def _said_no(fact: str) -> Needed:
    return lambda slots, facts: bool(facts.get(fact))


FORMS: dict[str, Form] = {
    "calc_expiry": Form(
        "calc_expiry",
        (
            Slot("birth_date", "ask_birth_date", dont_know="dont_know_birth_date"),
            Slot("issued_on", "ask_issued_on", dont_know="dont_know_issued_on",
                 variant=(_card_known_first, "ask_issued_on_card_known", "same_as_card_choices")),
            Slot("card_issued_on", "ask_card_issued_on", "card_issued_choices",
                 variant=(card_differs, "ask_card_date", "dont_know_choices")),
            Slot("previous_expires_on", "ask_previous_expires_on", "dont_know_choices", needed=_renewal),
            Slot("residence_expires_on", "ask_residence", "residence_choices", needed=_period_of_stay),
        ),
        "finish_expiry", "validity_rules",  # never answered in general: a birth date is always needed
    ),
    "renewal_window": Form(
        "renewal_window", (Slot("expires_on", "ask_expires_on", dont_know="dont_know_expires_on"),),
        "finish_window", "renewal_window", "offer_window",
    ),
    "fee": Form(
        "fee",
        (Slot("reason", "ask_fee_reason", "fee_reason_choices",
              variant=(_said_no("not_lost"), "ask_fee_free_reason", "fee_free_choices")),),
        "finish_fee", "fee", "ask_fee_reason",
    ),
}
SLOT_LABELS = {  # how the bot names a slot when it repeats or corrects a value
    "birth_date": "生年月日", "issued_on": "電子証明書の発行日", "card_issued_on": "カードの交付日",
    "previous_expires_on": "前の証明書の有効期限", "residence_expires_on": "在留期間の満了日",
    "expires_on": "有効期限",
}

# The fields each message may use; start-up fails on any other, so a typo in
# messages.yaml stops the server instead of a citizen's conversation.
MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "ask_birth_date": (), "ask_issued_on": (), "ask_issued_on_card_known": ("card",), "ask_card_issued_on": (),
    "ask_card_date": (), "ask_previous_expires_on": (), "ask_residence": (), "ask_expires_on": (),
    "ask_fee_reason": (), "ask_fee_free_reason": (), "ask_day": ("month",),
    "card_issued_choices": (), "same_as_card_choices": (), "dont_know_choices": (), "residence_choices": (),
    "fee_reason_choices": (), "fee_free_choices": (), "fee_reason_words": (),
    "offer_window": (),
    "dont_know_birth_date": (), "dont_know_issued_on": (), "dont_know_expires_on": (),
    "received": ("values",), "corrected": ("slot", "value"),
    "reprompt_date_error": ("reason",), "reprompt_no_date": (), "reprompt_choice": (),
    "cancelled": (), "restarted": (), "resume": (), "give_up": (), "rule_error": ("reason",),
    **READING_MESSAGES,
    **results.MESSAGE_FIELDS,
}
REQUIRED_MESSAGES = tuple(MESSAGE_FIELDS)


def new_state() -> State:
    return {
        "v": STATE_VERSION,
        "form": None,  # the running form's intent
        "slots": {},  # slot -> ISO date or a choice
        "facts": {},  # what the user told us besides slots (foreign resident, card on the same day, ...)
        "asked": None,  # the slot the last question asked for
        "failures": 0,  # answers in a row the bot could not read
        "soft": None,  # a form answered in general last turn: a date or situation next computes it
        "partial": None,  # {"slot", "year", "month"}: the day is still missing
        # {"form", "slots", "facts"} of the result just given, so a correction in the next
        # message recomputes it; kept for that one message only.
        "last": None,
    }


def check_forms(knowledge: Knowledge, intent_names: Iterable[str]) -> None:
    """Every name a form uses resolves, and every message has only the fields we fill (start-up)."""
    names = set(intent_names)
    messages_file = "knowledge/messages.yaml"
    for form in FORMS.values():
        if form.intent not in names:
            raise ValueError(f"dialogue form {form.intent!r} has no intent in the intents file")
        if form.finish not in results.FINISHERS:
            raise ValueError(f"dialogue form {form.intent!r}: unknown finisher {form.finish!r}")
        if form.general not in knowledge.answers:
            raise ValueError(f"dialogue form {form.intent!r}: no knowledge answer {form.general!r}")
        keys = [form.offer]
        for slot in form.slots:
            keys += [slot.prompt, slot.choices, slot.dont_know, *(slot.variant[1:] if slot.variant else ())]
        for key in keys:
            if key and key not in MESSAGE_FIELDS:
                raise ValueError(f"dialogue form {form.intent!r}: message {key!r} is not in MESSAGE_FIELDS")
    for key, allowed in MESSAGE_FIELDS.items():
        value = knowledge.messages.get(key)
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


def _read(form: Form, state: Mapping[str, Any], text: str, today: date, kb: Knowledge) -> Reading:
    return read_slots(form.asking(state), text, today, kb)


def _derive(slots: dict[str, Any], facts: dict[str, Any]) -> None:
    """Slots that follow from facts: a card issued with the certificates has their date."""
    if facts.get("card_same") and "issued_on" in slots:
        slots["card_issued_on"] = slots["issued_on"]


def _takes_answer(form: Form, match: MatchResult, text: str, reading: Reading) -> bool:
    """Whether a message with something readable in it answers the form rather than asking something else.

    "カードをなくした" answers the fee question even though the matcher hears
    invalidation; "引っ越したら証明書はどうなる?" is its own question.
    """
    if not reading.found:
        return False
    if reading.labelled or reading.errors or reading.partial or match.intent in (None, form.intent):
        return True
    if match.exact:
        return False
    return match.ambiguous or not is_question(text)


# --- the turn policy --------------------------------------------------------------------------------

# Words that make a message right after a result a correction of it.
_CORRECTION = re.compile(r"やっぱり|やはり|間違|まちが|訂正|修正|ではなく|じゃなく|でした|だった")
_CANCEL = re.compile(
    r"^(?:やっぱり|やはり|もう)?[、,\s]*(?:やめ(?:る|ます|て|た|たい)?|止め(?:る|ます|て)?|キャンセル(?:する|します|して)?"
    r"|最初から(?:やり直し(?:たい|て|ます)?)?|中止(?:する|します|して)?|取り消し|取消|リセット)"
    r"(?:ください|下さい|です|します|ね)?(?=$|[!。、,.\s])[!。、,.\s]*"
)


def _cancel_rest(text: str, match: MatchResult) -> str | None:
    """None when the message does not cancel; else what follows the cancel words ("" for a plain cancel)."""
    norm = normal(text).strip()
    found = _CANCEL.match(norm)
    if found:
        return norm[found.end():]
    return "" if match.intent == "cancel" and not match.ambiguous else None


def _load(state: Mapping[str, Any]) -> State:
    if state.get("v") == STATE_VERSION:
        return _copy_json(state)
    return _reset(state)


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): what a state is; copy.deepcopy
    handles every type and cost a quarter of a turn's dialogue step."""
    if isinstance(value, Mapping):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _reset(state: Mapping[str, Any], last: dict[str, Any] | None = None) -> State:
    fresh = new_state()
    if state.get("municipality"):
        fresh["municipality"] = state["municipality"]
    fresh["last"] = last
    return fresh


def step(
    state: Mapping[str, Any], turn: UserTurn, today: date, kb: Knowledge, municipality: Municipality | None
) -> Step:
    current = _load(state)
    last, current["last"] = current["last"], None
    rest = _cancel_rest(turn.text, turn.match)
    if rest is not None:
        return _cancel(current, turn, rest, today, kb, municipality)
    form = FORMS.get(current["form"] or "")
    if form is not None:
        return _in_form(form, current, turn, today, kb, municipality)
    if last is not None:
        reopened = _reopen(current, last, turn, today, kb, municipality)
        if reopened is not None:
            return reopened
    return _fresh(current, turn, today, kb, municipality)


def _cancel(state: State, turn: UserTurn, rest: str, today: date, kb: Knowledge,
            municipality: Municipality | None) -> Step:
    was = state["form"]
    state = _reset(state)
    if rest and turn.match.intent not in (None, "cancel"):
        # "最初から。生年月日は…" or "やめて、手数料は?": end the dialogue, then take the rest as new.
        after = _fresh(state, turn, today, kb, municipality)
        key = "restarted" if was is not None and after.state["form"] == was else "cancelled"
        first = (Message(kb.message(key)),) if was is not None else ()
        return Step(after.state, first + after.messages, after.intent, after.confidence, after.result,
                    after.answered, after.gave_up)
    menu = tuple(kb.topic(i) for i in kb.messages["menu"][:4])
    text = kb.message("cancelled") if was is not None else kb.answers["cancel"].text.strip()
    return Step(state, (Message(text, menu),), "cancel", turn.match.score)


def _in_form(form: Form, state: State, turn: UserTurn, today: date, kb: Knowledge,
             municipality: Municipality | None) -> Step:
    match = turn.match
    reading = _read(form, state, turn.text, today, kb)
    if _takes_answer(form, match, turn.text, reading):
        return _advance(form, state, reading, turn, today, kb, municipality)
    if match.intent == "goodbye" and not match.ambiguous:
        return _answer(_reset(state), turn, kb, municipality)
    if reading.dont_know:
        return _failed(form, state, reading, turn, kb, municipality)
    other = FORMS.get(match.intent or "")
    if other is not None and other is not form and not match.ambiguous:
        found = _read(other, {**_reset(state), "form": other.intent}, turn.text, today, kb)
        if found.labelled and other.missing(found.values, found.facts) is not None:
            # Dates for another computation that needs more questions: the user switched.
            return _advance(other, {**_reset(state), "form": other.intent}, found, turn, today, kb, municipality)
    side = _side_question(form, state, turn, reading, today, kb, municipality)
    if side is not None:
        return Step(side.state, side.messages + _prompt(form, side.state, kb, resume=True), side.intent,
                    side.confidence, side.result, side.answered)
    if match.intent == form.intent:
        # The user asked for this computation again: ask the open question again, no failure.
        return Step(state, _prompt(form, state, kb), form.intent, match.score)
    return _failed(form, state, reading, turn, kb, municipality)


def _side_question(form: Form, state: State, turn: UserTurn, reading: Reading, today: date, kb: Knowledge,
                   municipality: Municipality | None) -> Step | None:
    """A question in the middle of a form: answered (computed where it can be) without losing the form."""
    match = turn.match
    other = FORMS.get(match.intent or "") if not match.ambiguous and match.intent != form.intent else None
    if other is None and reading.other.get("expires_on"):
        other = FORMS["renewal_window"]
    soft = FORMS.get(state.get("soft") or "")
    for candidate in (soft, other):
        if candidate is None or candidate is form:
            continue
        side = {**new_state(), "form": candidate.intent}
        found = _read(candidate, side, turn.text, today, kb)
        if not found.values or candidate.missing(found.values, found.facts) is not None:
            continue
        try:
            messages, result = results.FINISHERS[candidate.finish](found.values, found.facts, today, kb)
        except rules.RuleInputError:
            continue  # dates that cannot be: answer the question in general instead
        state["soft"] = None
        return Step(state, messages, candidate.intent, _confidence(match, candidate.intent), result)
    if other is not None:
        state["soft"] = other.intent
        return _answer(state, turn, kb, municipality)
    if match.intent is not None and not match.ambiguous:
        state["soft"] = None
        return _answer(state, turn, kb, municipality)
    if match.intent is None and (_out_of_scope(match, kb) or is_question(turn.text)):
        return _answer(state, turn, kb, municipality)
    return None


def _out_of_scope(match: MatchResult, kb: Knowledge) -> bool:
    """The matcher placed the text in a learned "not ours" intent (weather, other services)."""
    top = match.ranking[0] if match.ranking else None
    return top is not None and top.intent not in kb.answers and top.score >= 0.5


def _confidence(match: MatchResult, intent: str) -> float:
    return match.score if match.intent == intent else 1.0


def _failed(form: Form, state: State, reading: Reading, turn: UserTurn, kb: Knowledge,
            municipality: Municipality | None) -> Step:
    slot = form.missing(state["slots"], state["facts"], focus=state.get("asked"))
    if reading.dont_know and slot is not None and slot.dont_know:
        why = kb.message(slot.dont_know)
    elif slot is not None and slot.name not in DATE_SLOTS:
        why = kb.message("reprompt_choice")
    else:
        why = kb.message("reprompt_no_date")
    return _retry(form, state, [], why, turn, kb, municipality)


def _retry(form: Form, state: State, messages: list[Message], why: str, turn: UserTurn, kb: Knowledge,
           municipality: Municipality | None, focus: str | None = None) -> Step:
    """An answer the bot could not use: say why and ask again, or give up after MAX_FAILURES in a row."""
    state["failures"] = state.get("failures", 0) + 1
    if state["failures"] >= MAX_FAILURES:
        return _give_up(form, state, turn, kb, municipality)
    return Step(state, (*messages, Message(why), *_prompt(form, state, kb, focus=focus)), form.intent,
                _confidence(turn.match, form.intent))


def _fresh(state: State, turn: UserTurn, today: date, kb: Knowledge, municipality: Municipality | None) -> Step:
    match = turn.match
    soft = FORMS.get(state.get("soft") or "")
    state.update(soft=None, asked=None)
    if soft is not None:
        found = _read(soft, {**state, "form": soft.intent, "asked": soft.slots[0].name}, turn.text, today, kb)
        if _takes_answer(soft, match, turn.text, found):
            state.update(form=soft.intent, asked=soft.slots[0].name)
            return _advance(soft, state, found, turn, today, kb, municipality)
    readings = _Readings(lambda name: _read(FORMS[name], {**state, "form": name}, turn.text, today, kb))
    form = _form_to_start(match, turn.text, readings)
    if form is None:
        return _answer(state, turn, kb, municipality)
    state.update(form=form.intent, slots={}, facts={}, asked=None, failures=0, partial=None)
    found = readings[form.intent]
    if form.intent != "calc_expiry" and not (found.values or found.errors or found.partial):
        # Asked in general: answer from knowledge, and stay ready to compute.
        state.update(_reset(state), soft=form.intent, asked=form.slots[0].name)
        answer = _answer(state, turn, kb, municipality)
        _, choices = form.slots[0].question({}, {})
        offer = () if form.offer is None else (
            Message(kb.message(form.offer), tuple(kb.messages[choices]) if choices else ()),
        )
        return Step(state, answer.messages + offer, form.intent, answer.confidence)
    return _advance(form, state, found, turn, today, kb, municipality)


class _Readings(dict[str, Reading]):
    """A form's reading of the message, made only when asked for: most turns start no form."""

    def __init__(self, read: Callable[[str], Reading]) -> None:
        super().__init__()
        self._read = read

    def __missing__(self, name: str) -> Reading:
        self[name] = reading = self._read(name)
        return reading


def _form_to_start(match: MatchResult, text: str, readings: Mapping[str, Reading]) -> Form | None:
    """The form a new message starts: the matched one, unless the dates in it say otherwise."""
    form = FORMS.get(match.intent or "")
    calc = readings["calc_expiry"]
    if form is not None and match.ambiguous and not readings[form.intent].found:
        return None  # too close to call and nothing to compute: let _answer ask which topic
    calc_dates = calc.labelled & {"birth_date", "issued_on"}
    if form is FORMS["renewal_window"] and calc_dates and "expires_on" not in calc.other:
        return FORMS["calc_expiry"]  # "いつから更新できる? 生年月日は…、発行は…": the dates decide
    if form is FORMS["calc_expiry"] and not calc.values and "expires_on" in calc.other:
        return FORMS["renewal_window"]  # "期限は2027/7/15、いつまで使える?"
    if form is None and "birth_date" in calc.labelled and (match.intent is None or not is_question(text)):
        return FORMS["calc_expiry"]  # a birth date is only ever given for the computation
    return form


def _reopen(state: State, last: Mapping[str, Any], turn: UserTurn, today: date, kb: Knowledge,
            municipality: Municipality | None) -> Step | None:
    """A correction of a date just after a result ("やっぱり発行日は…", "誕生日は11日でした") recomputes it."""
    if not _CORRECTION.search(normal(turn.text)):
        return None
    form = FORMS[last["form"]]
    reopened = {**state, "form": form.intent, "slots": dict(last["slots"]), "facts": dict(last["facts"]),
                "asked": None, "failures": 0, "partial": None, "soft": None}
    found = _read(form, reopened, turn.text, today, kb)
    if not found.labelled & set(last["slots"]):
        return None
    return _advance(form, reopened, found, turn, today, kb, municipality)


def _advance(form: Form, state: State, reading: Reading, turn: UserTurn, today: date, kb: Knowledge,
             municipality: Municipality | None) -> Step:
    slots, facts = state["slots"], state["facts"]
    messages: list[Message] = []
    received: list[str] = []
    for slot, value in reading.values.items():
        if slot not in DATE_SLOTS:
            continue
        shown = format_date(date.fromisoformat(value))
        if slot in slots and slots[slot] != value:
            messages.append(Message(kb.message("corrected", slot=SLOT_LABELS[slot], value=shown)))
        elif slots.get(slot) != value and slot not in reading.notes:
            received.append(f"{SLOT_LABELS[slot]} {shown}")
    slots.update(reading.values)
    facts.update(reading.facts)
    if "card_issued_on" in reading.values:  # a date the user gave beats "same day" or "don't know"
        facts.pop("card_same", None)
        facts.pop("card_assumed", None)
    _derive(slots, facts)
    if received:
        messages.insert(0, Message(kb.message("received", values="、".join(received))))
    messages.extend(Message(note) for note in reading.notes.values())
    state["partial"] = reading.partial
    if reading.errors:
        slot, why = reading.errors[0]
        return _retry(form, state, messages, kb.message("reprompt_date_error", reason=why), turn, kb, municipality,
                      focus=slot)
    state["failures"] = 0
    try:
        if form.intent == "calc_expiry" and {"birth_date", "issued_on"} <= slots.keys():
            results.expiry_of(slots)  # refuse an impossible pair as soon as it is typed, not questions later
        if state["partial"] or form.missing(slots, facts) is not None:
            return Step(state, tuple(messages) + _prompt(form, state, kb), form.intent,
                        _confidence(turn.match, form.intent))
        finished, result = results.FINISHERS[form.finish](slots, facts, today, kb)
    except rules.RuleInputError as exc:
        # The rules name a field of the pair that cannot be; when the user has just typed
        # the other one of the pair, that fresh date is the likelier slip, so ask for it again.
        given = [name for name in reading.values if name in DATE_SLOTS]
        field_name = exc.field if exc.field in slots else "issued_on"
        if field_name not in given and len(given) == 1:
            field_name = given[0]
        slots.pop(field_name, None)
        if field_name == "issued_on" and facts.get("card_same"):
            slots.pop("card_issued_on", None)
        if field_name == "card_issued_on":
            facts.pop("card_same", None)
            facts["card_differs"] = True
        return _retry(form, state, messages, kb.message("rule_error", reason=exc.reason), turn, kb, municipality,
                      focus=field_name)
    done = _reset(state, last={"form": form.intent, "slots": dict(slots), "facts": dict(facts)})
    return Step(done, tuple(messages) + finished, form.intent, _confidence(turn.match, form.intent), result)


def _prompt(form: Form, state: State, kb: Knowledge, resume: bool = False,
            focus: str | None = None) -> tuple[Message, ...]:
    slots, facts = state["slots"], state["facts"]
    partial = state.get("partial")
    if partial:
        state["asked"] = partial["slot"]
        text = kb.message("ask_day", month=f"{partial['year']}年{partial['month']}月")
        choices: tuple[str, ...] = ()
    else:
        slot = form.missing(slots, facts, focus=focus)
        if slot is None:
            return ()
        state["asked"] = slot.name
        key, choices_key = slot.question(slots, facts)
        card = format_date(date.fromisoformat(slots["card_issued_on"])) if "card_issued_on" in slots else ""
        text = kb.message(key, card=card) if "card" in MESSAGE_FIELDS[key] else kb.message(key)
        choices = tuple(kb.messages[choices_key]) if choices_key else ()
    if resume:
        text = f"{kb.message('resume')}{text}"
    return (Message(text, (*choices, kb.topic("cancel"))),)


def _answer(state: State, turn: UserTurn, kb: Knowledge, municipality: Municipality | None) -> Step:
    match = turn.match
    if match.intent is None:
        close = [c.intent for c in match.ranking[:3]
                 if c.score >= match.score * 0.8 and c.intent in kb.messages["topics"]]
        messages = [Message(kb.message("fallback"))]
        if close and match.score > 0.2 and not _out_of_scope(match, kb):
            messages.append(Message(kb.message("fallback_topics"), tuple(kb.topic(i) for i in close)))
        messages.append(Message(kb.message("contact_hint"), (kb.topic("contact"),)))
        return Step(state, tuple(messages), None, 0.0 if match.score < 0 else 1.0 - match.score, None, False)
    if match.ambiguous:
        options = [c.intent for c in match.ranking[:3]
                   if c.score >= match.score - 2 * 0.06 and c.intent in kb.messages["topics"]]
        if len(options) > 1:
            return Step(state, (Message(kb.message("clarify"), tuple(kb.topic(i) for i in options)),),
                        match.intent, match.score, None, False)
    if match.intent in kb.answers:
        messages = kb.render(match.intent, municipality)
    else:
        messages = [Message(kb.message("fallback"))]
    if match.intent == "help":
        first = messages[0]
        menu = (*first.quick_replies, *(kb.topic(i) for i in kb.messages["menu"]))
        messages[0] = Message(first.text, tuple(dict.fromkeys(menu)))
    return Step(state, tuple(messages), match.intent, match.score)


def _give_up(form: Form, state: State, turn: UserTurn, kb: Knowledge, municipality: Municipality | None) -> Step:
    """Too many unreadable answers: the general rule and whom to ask, instead of a loop."""
    messages = (
        Message(kb.message("give_up")),
        *kb.render(form.general, municipality),
        *kb.render("contact", municipality),
    )
    return Step(_reset(state), tuple(messages), form.intent, _confidence(turn.match, form.intent), None, False,
                gave_up=True)
