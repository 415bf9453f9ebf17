"""Slot-filling dialogues over the shared rules, and the turn policy around them.

A step is `step(state, turn, today, ...) -> Step`. The next prompt always comes
from the state (the first missing slot of the running form), so cancel,
digressions and corrections need no special paths: they change the state, and
the prompt follows. Prompts, quick replies and keyword tables are named here and
live in knowledge/messages.yaml; start-up fails when a name does not resolve.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot import rules
from bot.dates import DateParseError, ParsedDate, find_dates, format_date
from bot.knowledge import Knowledge, Municipality
from bot.matcher import MatchResult
from bot.normalize import basic_normalize
from bot.replies import Message

STATE_VERSION = 1
MAX_FAILURES = 3


@dataclass(frozen=True)
class UserTurn:
    text: str  # already masked
    match: MatchResult


@dataclass(frozen=True)
class Step:
    state: dict[str, Any]
    messages: tuple[Message, ...]
    intent: str | None
    confidence: float
    result: dict[str, Any] | None = None
    answered: bool = True  # False: out of domain, or the bot had to ask which topic
    gave_up: bool = False  # the form ended after too many answers it could not read


@dataclass(frozen=True)
class Slot:
    name: str
    prompt: str  # message key
    quick_replies: str | None = None  # message key of a list
    needed: Callable[[dict[str, Any]], bool] = lambda slots: True


@dataclass(frozen=True)
class Form:
    intent: str
    slots: tuple[Slot, ...]
    finish: str  # name of the function in FINISHERS

    def missing(self, slots: Mapping[str, Any]) -> Slot | None:
        for slot in self.slots:
            if slot.name not in slots and slot.needed(dict(slots)):
                return slot
        return None


FORMS: dict[str, Form] = {
    "calc_expiry": Form(
        "calc_expiry",
        (
            Slot("birth_date", "ask_birth_date"),
            Slot("issued_on", "ask_issued_on"),
            Slot("card_issued_on", "ask_card_issued_on", "card_issued_choices"),
            Slot("residence_expires_on", "ask_residence", needed=lambda s: bool(s.get("_foreign"))),
        ),
        "finish_expiry",
    ),
    "renewal_window": Form("renewal_window", (Slot("expires_on", "ask_expires_on"),), "finish_window"),
    "fee": Form("fee", (Slot("reason", "ask_fee_reason", "fee_reason_choices"),), "finish_fee"),
}

# Words around a date that say which slot it fills. Checked on the text right
# after the date first ("…生まれ", "…に更新"), then the nearest before it ("生年月日は…").
DATE_LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("birth_date", ("生年月日", "生まれ", "産まれ", "うまれ", "誕生", "たんじょう", "せいねんがっぴ", "生")),
    ("residence_expires_on", ("在留", "ざいりゅう", "ビザ", "滞在")),
    ("card_issued_on", ("カードの交付", "カードを受け取", "カードを作", "カード交付", "カードの発行", "カード発行", "カードは", "カードを")),
    ("expires_on", ("有効期限", "期限", "満了", "切れ")),
    ("issued_on", ("発行", "交付", "更新", "取得", "作った", "作り", "受け取", "手続", "登録", "入れ", "もらっ", "証明書は")),
)
_CARD_TOO = ("カードを作", "カードを受け取", "カードの交付", "カード交付", "カードと一緒", "カードと同時", "カードを申請", "初めて", "はじめて", "新規")
_FOREIGN = ("在留", "ざいりゅう", "外国", "ビザ", "滞在")
_DONT_KNOW = ("わからない", "分からない", "わかりません", "分かりません", "不明", "覚えてない", "覚えていない", "知らない", "忘れた")
_SAME_AS_CERT = ("同じ", "おなじ", "一緒", "いっしょ", "同時", "同日")
_DAY_ONLY = re.compile(r"(?<![0-9年月/.\-])([0-9]{1,2})日")

REQUIRED_MESSAGES = (
    "ask_birth_date", "ask_issued_on", "ask_card_issued_on", "card_issued_choices", "ask_residence",
    "ask_expires_on", "ask_fee_reason", "fee_reason_choices", "fee_reason_words", "cancelled",
    "give_up", "reprompt_no_date", "reprompt_date_error", "understood", "offer_window", "offer_fee",
    "result_expiry", "result_window", "result_fee", "status_not_yet", "status_open", "status_expired",
    "card_same_assumed", "no_signature", "rule_error",
)


def new_state() -> dict[str, Any]:
    return {"v": STATE_VERSION, "form": None, "slots": {}, "asked": None, "failures": 0, "soft": False}


def check_forms(knowledge: Knowledge, intent_names: Iterable[str]) -> None:
    """Every form's intent exists and every prompt it names resolves (run at start-up)."""
    names = set(intent_names)
    for form in FORMS.values():
        if form.intent not in names:
            raise ValueError(f"dialogue form {form.intent!r} has no intent in the intents file")
        if form.finish not in FINISHERS:
            raise ValueError(f"dialogue form {form.intent!r}: unknown finisher {form.finish!r}")
        for slot in form.slots:
            for key in (slot.prompt, slot.quick_replies):
                if key and key not in knowledge.messages:
                    raise ValueError(f"dialogue form {form.intent!r}: message {key!r} is missing")
    for reason in knowledge.messages["fee_reason_words"]:
        if reason not in rules.FEE_REASONS:
            raise ValueError(f"knowledge/messages.yaml: fee_reason_words has unknown reason {reason!r}")


# --- reading slot values out of a message ---------------------------------------------------


@dataclass
class Reading:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.values or self.errors)


def _label_of(text: str, start: int, end: int, prev_end: int) -> str | None:
    after = re.split(r"[、。,.\s!?!?]", text[end : end + 8], maxsplit=1)[0]
    for slot, words in DATE_LABELS:
        if any(after.startswith(w) or after[1:].startswith(w) or after[2:].startswith(w) for w in words):
            return slot
    before = text[max(prev_end, start - 16) : start]
    best: tuple[int, str] | None = None
    for slot, words in DATE_LABELS:
        for word in words:
            at = before.rfind(word)
            if at >= 0 and (best is None or at + len(word) > best[0]):
                best = (at + len(word), slot)
    return best[1] if best else None


def read_dates(form: Form, state: dict[str, Any], text: str, today: date) -> Reading:
    reading = Reading()
    slots = state["slots"]
    wanted = [s.name for s in form.slots]
    spans = find_dates(text, today)
    prev_end = 0
    unlabelled: list[ParsedDate] = []
    for start, end, parsed in spans:
        label = _label_of(text, start, end, prev_end)
        prev_end = end
        if label == "expires_on" and "expires_on" not in wanted:
            label = None
        if label is not None and label not in wanted:
            label = "issued_on" if label == "card_issued_on" and "card_issued_on" not in wanted else None
        if isinstance(parsed, DateParseError):
            reading.errors.append(parsed.reason)
            continue
        if label is None:
            unlabelled.append(parsed)
            continue
        reading.values[label] = parsed.value.isoformat()
        if parsed.understood_as:
            reading.notes.append(parsed.understood_as)
    for parsed in unlabelled:
        target = _next_open(form, state, reading.values)
        if target is None:
            break
        reading.values[target] = parsed.value.isoformat()
        if parsed.understood_as:
            reading.notes.append(parsed.understood_as)
    if not spans:
        _read_day_correction(text, slots, reading)
    return reading


def _next_open(form: Form, state: dict[str, Any], taken: Mapping[str, Any]) -> str | None:
    asked = state.get("asked")
    date_slots = [s.name for s in form.slots if s.name not in {"reason"}]
    if asked in date_slots and asked not in taken:
        return asked
    merged = {**state["slots"], **taken}
    for name in date_slots:
        if name not in merged and (name != "residence_expires_on" or merged.get("_foreign")):
            return name
    return None


def _read_day_correction(text: str, slots: Mapping[str, Any], reading: Reading) -> None:
    """"誕生日は11日でした": replace only the day of a date already given."""
    match = _DAY_ONLY.search(text)
    if not match:
        return
    label = _label_of(text, match.start(), match.end(), 0)
    if label is None or label not in slots:
        return
    old = date.fromisoformat(slots[label])
    try:
        reading.values[label] = old.replace(day=int(match.group(1))).isoformat()
    except ValueError:
        reading.errors.append(f"{old.month}月{int(match.group(1))}日という日はありません。")


def _has_any(text: str, words: Iterable[str]) -> bool:
    return any(w in text for w in words)


def read_choices(form: Form, state: dict[str, Any], text: str, kb: Knowledge) -> Reading:
    reading = Reading()
    norm = basic_normalize(text)
    asked = state.get("asked")
    if form.intent == "fee":
        for reason, words in kb.messages["fee_reason_words"].items():
            if _has_any(norm, (basic_normalize(w) for w in words)):
                reading.values["reason"] = reason
                break
        if asked == "reason" and "reason" not in reading.values and _has_any(norm, ("いいえ", "ちがう", "違う", "いや")):
            reading.values["reason"] = "renewal"
    if form.intent == "calc_expiry":
        if _has_any(norm, _FOREIGN):
            reading.values["_foreign"] = True
        if asked == "card_issued_on":
            if _has_any(norm, _SAME_AS_CERT) or _has_any(norm, ("はい",)):
                reading.values["card_issued_on"] = "same"
            elif _has_any(norm, _DONT_KNOW):
                reading.values["card_issued_on"] = "unknown"
        if _has_any(norm, _CARD_TOO):
            reading.values.setdefault("_card_same", True)
    return reading


# --- the turn policy ----------------------------------------------------------------------------


def step(
    state: Mapping[str, Any], turn: UserTurn, today: date, kb: Knowledge, municipality: Municipality | None
) -> Step:
    state = copy.deepcopy(dict(state)) if state.get("v") == STATE_VERSION else {**new_state(), **{
        k: v for k, v in state.items() if k == "municipality"}}
    match = turn.match
    form = FORMS.get(state.get("form") or "")
    if match.intent == "cancel" and match.score >= 0.6:
        return _cancel(state, kb, match, had_form=form is not None)
    if form is not None:
        found = _read(form, state, turn.text, today, kb)
        answers_form = found.found or (match.intent in (None, form.intent)) or match.ambiguous
        if state.get("soft") and not found.found:
            state.update(new_state() | {"municipality": state.get("municipality")})
            return _fresh(state, turn, today, kb, municipality)
        if answers_form and (found.found or not state.get("soft")):
            return _continue(form, state, found, turn, today, kb)
        # A question in the middle: answer it, then come back to the open slot.
        answer = _answer(state, turn, kb, municipality)
        resume = _prompt(form, state, kb, resume=True)
        return Step(state, answer.messages + resume, answer.intent, answer.confidence, None, answer.answered)
    return _fresh(state, turn, today, kb, municipality)


def _fresh(state: dict[str, Any], turn: UserTurn, today: date, kb: Knowledge, municipality: Municipality | None) -> Step:
    match = turn.match
    form = FORMS.get(match.intent or "")
    if form is not None and not match.ambiguous:
        state.update(form=form.intent, slots={}, asked=None, failures=0, soft=False)
        found = _read(form, state, turn.text, today, kb)
        if form.intent == "calc_expiry" or found.values:
            return _continue(form, state, found, turn, today, kb)
        # Asked in general: answer from knowledge, and stay ready to compute.
        state["soft"] = True
        state["asked"] = form.slots[0].name
        answer = _answer(state, turn, kb, municipality)
        offer = "offer_window" if form.intent == "renewal_window" else "offer_fee"
        choices = kb.messages["fee_reason_choices"] if form.intent == "fee" else []
        return Step(state, answer.messages + (Message(kb.message(offer), tuple(choices)),), answer.intent,
                    answer.confidence)
    return _answer(state, turn, kb, municipality)


def _answer(state: dict[str, Any], turn: UserTurn, kb: Knowledge, municipality: Municipality | None) -> Step:
    match = turn.match
    if match.intent is None:
        close = [c.intent for c in match.ranking[:3] if c.score >= match.score * 0.8 and c.intent in kb.messages["topics"]]
        messages = [Message(kb.message("fallback"))]
        if close and match.score > 0.2:
            messages.append(Message(kb.message("fallback_topics"), tuple(kb.topic(i) for i in close)))
        messages.append(Message(kb.message("contact_hint"), (kb.topic("contact"),)))
        return Step(state, tuple(messages), None, 0.0 if match.score < 0 else 1.0 - match.score, None, False)
    if match.ambiguous:
        options = [c.intent for c in match.ranking[:3] if c.score >= match.score - 2 * 0.06 and c.intent in kb.messages["topics"]]
        if len(options) > 1:
            return Step(state, (Message(kb.message("clarify"), tuple(kb.topic(i) for i in options)),),
                        match.intent, match.score, None, False)
    messages = kb.render(match.intent, municipality) if match.intent in kb.answers else [Message(kb.message("fallback"))]
    if match.intent == "help":
        first = messages[0]
        messages[0] = Message(first.text, tuple(dict.fromkeys((*first.quick_replies, *(kb.topic(i) for i in kb.messages["menu"])))))
    return Step(state, tuple(messages), match.intent, match.score)


def _cancel(state: dict[str, Any], kb: Knowledge, match: MatchResult, had_form: bool) -> Step:
    municipality = state.get("municipality")
    state.clear()
    state.update(new_state())
    if municipality:
        state["municipality"] = municipality
    text = kb.message("cancelled") if had_form else kb.answers["cancel"].text.strip()
    return Step(state, (Message(text, tuple(kb.topic(i) for i in kb.messages["menu"][:4])),), "cancel", match.score)


def _read(form: Form, state: dict[str, Any], text: str, today: date, kb: Knowledge) -> Reading:
    reading = read_dates(form, state, text, today) if form.intent != "fee" else Reading()
    choices = read_choices(form, state, text, kb)
    reading.values.update(choices.values)
    return reading


def _continue(form: Form, state: dict[str, Any], found: Reading, turn: UserTurn, today: date, kb: Knowledge) -> Step:
    slots = state["slots"]
    slots.update(found.values)
    if slots.get("card_issued_on") in ("same", "unknown") or (slots.get("_card_same") and "issued_on" in slots and "card_issued_on" not in slots):
        if slots.get("card_issued_on") == "unknown":
            slots["_card_assumed"] = True
        if "issued_on" in slots:
            slots["card_issued_on"] = slots["issued_on"]
        else:
            slots.pop("card_issued_on", None)
    state["soft"] = False
    messages: list[Message] = []
    if found.notes:
        messages.append(Message(kb.message("understood", notes="\n".join(found.notes))))
    if found.errors:
        state["failures"] = state.get("failures", 0) + 1
        if state["failures"] >= MAX_FAILURES:
            return _give_up(form, state, kb, turn)
        messages.append(Message(kb.message("reprompt_date_error", reason=found.errors[0])))
        return Step(state, tuple(messages) + _prompt(form, state, kb), form.intent, turn.match.score or 1.0)
    if not found.values:
        if turn.match.intent == form.intent and state.get("asked") is None:
            pass
        else:
            state["failures"] = state.get("failures", 0) + 1
            if state["failures"] >= MAX_FAILURES:
                return _give_up(form, state, kb, turn)
            messages.append(Message(kb.message("reprompt_no_date")))
    missing = form.missing(slots)
    if missing is not None:
        return Step(state, tuple(messages) + _prompt(form, state, kb), form.intent, max(turn.match.score, 0.5))
    finished = FINISHERS[form.finish](slots, today, kb)
    municipality = state.get("municipality")
    state.clear()
    state.update(new_state())
    if municipality:
        state["municipality"] = municipality
    return Step(state, tuple(messages) + finished[0], form.intent, max(turn.match.score, 0.5), finished[1])


def _prompt(form: Form, state: dict[str, Any], kb: Knowledge, resume: bool = False) -> tuple[Message, ...]:
    slot = form.missing(state["slots"])
    if slot is None:
        return ()
    state["asked"] = slot.name
    text = kb.message(slot.prompt)
    if resume:
        text = f"{kb.message('resume')}{text}"
    choices = tuple(kb.messages[slot.quick_replies]) if slot.quick_replies else ()
    return (Message(text, (*choices, kb.topic("cancel"))),)


def _give_up(form: Form, state: dict[str, Any], kb: Knowledge, turn: UserTurn) -> Step:
    municipality = state.get("municipality")
    state.clear()
    state.update(new_state())
    if municipality:
        state["municipality"] = municipality
    general = "validity_rules" if form.intent == "calc_expiry" else form.intent
    messages = (
        Message(kb.message("give_up")),
        Message(kb.answers[general].text.strip()),
        Message(kb.message("contact_hint"), (kb.topic("contact"),)),
    )
    return Step(state, messages, form.intent, turn.match.score, None, False, gave_up=True)


# --- finishing: the shared rules, said in words ---------------------------------------------------


def _status_text(kb: Knowledge, status: str, opens_on: date, expires_on: date, today: date) -> str:
    return kb.message(f"status_{status}", opens=format_date(opens_on), expires=format_date(expires_on),
                      today=format_date(today, era=False))


def finish_expiry(slots: Mapping[str, Any], today: date, kb: Knowledge) -> tuple[tuple[Message, ...], dict[str, Any] | None]:
    try:
        result = rules.expiry(
            date.fromisoformat(slots["birth_date"]),
            date.fromisoformat(slots["issued_on"]),
            card_issued_on=date.fromisoformat(slots["card_issued_on"]) if slots.get("card_issued_on") else None,
            residence_expires_on=date.fromisoformat(slots["residence_expires_on"]) if slots.get("residence_expires_on") else None,
        )
    except rules.RuleInputError as exc:
        return (Message(kb.message("rule_error", reason=exc.reason)),), None
    user = result["user_certificate_expires_on"]
    signature = result["signature_certificate_expires_on"]
    earliest = min(d for d in (user, signature) if d is not None)
    window = rules.renewal_window(earliest, today)
    text = kb.message(
        "result_expiry",
        birth=format_date(date.fromisoformat(slots["birth_date"]), era=False),
        issued=format_date(date.fromisoformat(slots["issued_on"]), era=False),
        card=format_date(result["card_expires_on"]),
        user=format_date(user),
        signature=f"{format_date(signature)}まで" if signature else kb.message("no_signature"),
        opens=format_date(result["renewal_opens_on"]),
    )
    lines = [text, _status_text(kb, window["status"], window["opens_on"], earliest, today)]
    if result["notes"]:
        lines.append("\n".join(f"・{n}" for n in result["notes"]))
    if slots.get("_card_assumed"):
        lines.append(kb.message("card_same_assumed"))
    return (Message("\n".join(lines), (kb.topic("renewal_procedure"), kb.topic("renewal_proxy"))),), rules.to_json(result)


def finish_window(slots: Mapping[str, Any], today: date, kb: Knowledge) -> tuple[tuple[Message, ...], dict[str, Any] | None]:
    expires_on = date.fromisoformat(slots["expires_on"])
    window = rules.renewal_window(expires_on, today)
    text = kb.message("result_window", expires=format_date(expires_on), opens=format_date(window["opens_on"]))
    status = _status_text(kb, window["status"], window["opens_on"], expires_on, today)
    return (Message(f"{text}\n{status}", (kb.topic("renewal_procedure"), kb.topic("renewal_proxy"))),), rules.to_json(window)


def finish_fee(slots: Mapping[str, Any], today: date, kb: Knowledge) -> tuple[tuple[Message, ...], dict[str, Any] | None]:
    result = rules.fee(slots["reason"])
    card = result["card_fee_yen"]
    text = kb.message(
        "result_fee",
        certificate=rules.yen(result["certificate_fee_yen"]),
        card=rules.yen(card) if card is not None else "—",
        total=rules.yen(result["total_yen"]),
    )
    notes = "\n".join(f"・{n}" for n in result["notes"])
    return (Message(f"{text}\n{notes}" if notes else text),), rules.to_json(result)


FINISHERS: dict[str, Callable[[Mapping[str, Any], date, Knowledge], tuple[tuple[Message, ...], dict[str, Any] | None]]] = {
    "finish_expiry": finish_expiry,
    "finish_window": finish_window,
    "finish_fee": finish_fee,
}
