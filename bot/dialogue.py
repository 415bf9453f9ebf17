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

import copy
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot import rules
from bot.dates import DateParseError, ParsedDate, find_dates, format_date
from bot.knowledge import Knowledge, Municipality
from bot.matcher import MatchResult
from bot.replies import Message

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
    offer: str  # message key: after the general answer, how to ask for the computation

    def missing(self, slots: Mapping[str, Any], facts: Facts, focus: str | None = None) -> Slot | None:
        open_slots = [s for s in self.slots if s.name not in slots and s.needed(slots, facts)]
        for slot in open_slots:
            if slot.name == focus:
                return slot
        return open_slots[0] if open_slots else None

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots)


def _renewed(slots: Mapping[str, Any], facts: Facts) -> bool:
    """The 6th-birthday rule can apply only to a renewal, so only then is the old expiry asked."""
    if facts.get("previous_unknown"):
        return False
    card, issued = slots.get("card_issued_on"), slots.get("issued_on")
    return bool(facts.get("renewed")) or (card is not None and issued is not None and card < issued)


def _foreign(slots: Mapping[str, Any], facts: Facts) -> bool:
    return bool(facts.get("foreign")) and not facts.get("no_stay_limit") and not facts.get("residence_unknown")


def _card_known_first(slots: Mapping[str, Any], facts: Facts) -> bool:
    return "card_issued_on" in slots and "issued_on" not in slots


def _said_no(fact: str) -> Needed:
    return lambda slots, facts: bool(facts.get(fact))


def _card_differs(slots: Mapping[str, Any], facts: Facts) -> bool:
    # A renewal is never on the card's own issue day, so do not ask whether it was.
    return bool(facts.get("card_differs") or facts.get("renewed"))


FORMS: dict[str, Form] = {
    "calc_expiry": Form(
        "calc_expiry",
        (
            Slot("birth_date", "ask_birth_date", dont_know="dont_know_birth_date"),
            Slot("issued_on", "ask_issued_on", dont_know="dont_know_issued_on",
                 variant=(_card_known_first, "ask_issued_on_card_known", "same_as_card_choices")),
            Slot("card_issued_on", "ask_card_issued_on", "card_issued_choices",
                 variant=(_card_differs, "ask_card_date", "dont_know_choices")),
            Slot("previous_expires_on", "ask_previous_expires_on", "dont_know_choices", needed=_renewed),
            Slot("residence_expires_on", "ask_residence", "residence_choices", needed=_foreign),
        ),
        "finish_expiry", "validity_rules", "offer_expiry",
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
DATE_SLOTS = frozenset(
    {"birth_date", "issued_on", "card_issued_on", "previous_expires_on", "residence_expires_on", "expires_on"}
)
# Dates in the past by nature: a missing year means the latest such day up to today.
PAST_SLOTS = ("issued_on", "card_issued_on", "previous_expires_on")
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
    "offer_expiry": (), "offer_window": (),
    "dont_know_birth_date": (), "dont_know_issued_on": (), "dont_know_expires_on": (),
    "received": ("values",), "corrected": ("slot", "value"), "assumed_year": ("value",),
    "need_birth_year": (), "birth_in_future": ("today",), "no_such_day": ("month", "day"),
    "reprompt_date_error": ("reason",), "reprompt_no_date": (), "reprompt_choice": (),
    "cancelled": (), "restarted": (), "resume": (), "give_up": (), "rule_error": ("reason",),
    "result_expiry": ("birth", "issued", "card_line", "user", "signature", "card", "opens"),
    "card_same_line": (), "card_assumed_line": (), "card_line": ("card",), "signature_until": ("date",), "no_signature": (),
    "rules_heading": (), "card_assumed": (), "previous_unknown": (), "residence_unknown": (),
    "result_window": ("expires", "opens"), "window_rule": (), "window_rule_month_end": ("expires", "day"),
    "status_not_yet": ("today", "opens", "expires"), "status_open": ("today", "opens", "expires"),
    "status_expired": ("today", "opens", "expires"),
    "result_fee": ("certificate", "card", "total"), "result_fee_certificate_only": ("certificate",),
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
        "last": None,  # {"form", "slots", "facts"} of the last result, so a correction recomputes it
    }


def check_forms(knowledge: Knowledge, intent_names: Iterable[str]) -> None:
    """Every name a form uses resolves, and every message has only the fields we fill (start-up)."""
    names = set(intent_names)
    messages_file = "knowledge/messages.yaml"
    for form in FORMS.values():
        if form.intent not in names:
            raise ValueError(f"dialogue form {form.intent!r} has no intent in the intents file")
        if form.finish not in FINISHERS:
            raise ValueError(f"dialogue form {form.intent!r}: unknown finisher {form.finish!r}")
        if form.general not in knowledge.answers:
            raise ValueError(f"dialogue form {form.intent!r}: no knowledge answer {form.general!r}")
        for slot in form.slots:
            keys = [slot.prompt, slot.choices, slot.dont_know, *(slot.variant[1:] if slot.variant else ())]
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
                raise ValueError(f"{messages_file}: {key!r} uses {sorted(used - set(allowed))}, allowed {list(allowed)}")
    for reason in knowledge.messages["fee_reason_words"]:
        if reason not in rules.FEE_REASONS:
            raise ValueError(f"{messages_file}: fee_reason_words has unknown reason {reason!r}")


# --- reading slot values out of a message -------------------------------------------------------


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


# The words around a date that say which slot it fills. One alternation, tried left
# to right, so a longer phrase ("在留期間の満了日", "前の証明書の期限") wins over the
# generic word inside it ("満了", "期限").
_LABELS = re.compile("|".join((
    r"(?P<residence_expires_on>在留(?:期間|期限|カード)?の?(?:満了日?|有効期限|期限|有効期間)?|ざいりゅう|ビザ|滞在(?:期間|期限)?)",
    r"(?P<previous_expires_on>(?:前の|以前の|古い|旧|更新前の?|前回の|今までの|これまでの)(?:電子)?(?:証明書の?)?"
    r"(?:有効)?(?:期限|満了日?|有効期間))",
    r"(?P<birth_date>生年月日|生まれ|産まれ|うまれ|誕生日?|たんじょうび?|せいねんがっぴ|^生)",
    r"(?P<card_expires_on>カードの?(?:有効)?(?:期限|有効期間))",
    r"(?P<card_issued_on>カードの?(?:交付|発行|受け?取り?|取得|作成)日?)",
    r"(?P<expires_on>有効期限|有効期間|期限|満了日?|きげん|切れ|まで)",
    r"(?P<issued_on>発行|交付|更新|取得|作成|作っ|作り|つくっ|受け?取|うけと|もらっ|貰っ|手続|登録|入れ|いれ|申請|こうしん|はっこう)",
)))
_CARD = re.compile(r"カード|かーど")
_CERTIFICATE = re.compile(r"証明書|しょうめいしょ|jpki")
_TOGETHER = re.compile(r"一緒|いっしょ|同時|どうじ")
_RENEWED = re.compile(r"更新|こうしん")
# A clause that ends like a label ("生年月日は", "発行日:", "在留期間の満了日") names the date after it.
_ENDS_AS_LABEL = re.compile(r"(?:は|が|も|:|=|→|って|とは|日|日付|月日|期限|満了日?|期間)\s*$")
_DELIMS = re.compile(r"[、。,.!?;\n]")

_CARD_TOO = re.compile(
    r"カードと(?:一緒|いっしょ|同時|同じ)|カードを(?:作|つく|受け?取|うけと|もら)[^、。]{0,6}(?:とき|時)"
    r"|カードの(?:交付|発行|受け?取り)と(?:一緒|同時)"
)
_SAME = re.compile(r"同じ|おなじ|一緒|いっしょ|同時|どうじ|同日")
_YES = re.compile(r"^(?:はい|ええ|うん|そう|yes|その通り|そのとおり)")
_NO = re.compile(r"^(?:いいえ|いえ|いや|no\b)|違う|違い|ちがう|ちがい|別の日|別々|べつ")
# Only at the end of the message: "暗証番号を忘れたらどうする?" is a question, not "I don't know".
_DONT_KNOW = re.compile(
    r"(?:(?:わから|分から|わかん)(?:ない|ん)|わかりません|分かりません|不明|(?:覚え|おぼえ)て(?:い)?(?:ない|ません)"
    r"|知らない|しらない|知りません|(?:忘れ|わすれ)(?:た|ました|ちゃった|てしまった|てしまいました))"
    r"(?:です|でした|んです|のです|な|ね|よ)?[。!.\s]*$"
)
_FOREIGN = re.compile(r"在留|ざいりゅう|外国籍|外国人|がいこく|ビザ|永住")
_NO_STAY_LIMIT = re.compile(r"永住|定めはない|定めがない|定めなし|期限はない|期限がない|期間はない|なし|ありません")
_QUESTION = re.compile(r"どうなる|どうすれば|どうしたら|ですか|ますか|でしょうか|できる|できます|いくら|いつ|どこ|なに|何|教えて|知りたい|必要")
_CORRECTION = re.compile(r"やっぱり|やはり|間違|まちが|訂正|修正|ではなく|じゃなく|でした|だった")
_RELATIVE_DAY = re.compile(r"今日|本日|きょう|明日|あした|明後日|あさって|昨日|きのう|一昨日|おととい")
_NUMERAL = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_NO_YEAR = re.compile(rf"^\s*(?:{_NUMERAL}\s*(?:月|がつ)\s*(?:{_NUMERAL}\s*(?:日|にち)|末日?)|[0-9]{{1,2}}/[0-9]{{1,2}})\s*$")
_DAY_ONLY = re.compile(r"(?<![0-9年月/.\-])([0-9]{1,2})\s*(?:日|にち)")
_BARE_DAY = re.compile(r"^\s*([0-9]{1,2})\s*(?:日|にち)?\s*(?:です|でした|だよ|です。)?\s*[。!.]?\s*$")


@dataclass
class Reading:
    values: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str | None, str]] = field(default_factory=list)  # (slot, why)
    notes: dict[str, str] = field(default_factory=dict)  # slot -> how the bot read a date it had to interpret
    labelled: set[str] = field(default_factory=set)  # slots named by the words around their value
    other: dict[str, str] = field(default_factory=dict)  # dates labelled for another form's slot
    partial: dict[str, Any] | None = None
    dont_know: bool = False

    @property
    def found(self) -> bool:
        return bool(self.values or self.facts or self.errors or self.partial)


def _classify(clause: str, after: bool, around: str) -> tuple[str, bool, bool] | None:
    """(slot, card_too, renewed) for the label in a clause: the first one after a date, the last before it.

    Whether an issue word is about the card or the certificates is read from `around`,
    both clauses of the date ("カードは2019年4月1日に受け取りました").
    """
    matches = list(_LABELS.finditer(clause))
    if not matches:
        return None
    match = matches[0] if after else matches[-1]
    slot = match.lastgroup or ""
    if slot == "birth_date" and match.group(0) == "生" and not after:
        return None
    card_too = renewed = False
    if slot == "issued_on":
        renewed = bool(_RENEWED.fullmatch(match.group(0)))
        if _CARD.search(around):
            if _CERTIFICATE.search(around) or _TOGETHER.search(around):
                card_too = True
            else:
                slot = "card_issued_on"
    return slot, card_too, renewed


def _label_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool, bool] | None]:
    """The label of each date span, read from the clause before and after it.

    A label right before a date ("生年月日は…") is the strongest; otherwise the words
    after it ("…生まれ", "…に発行した"), unless those words are the next date's label
    ("…で、発行日は…"); otherwise any label word before it.
    """
    labels: list[tuple[str, bool, bool] | None] = []
    for i, (start, end) in enumerate(spans):
        prev_end = spans[i - 1][1] if i else 0
        next_start = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        before = _DELIMS.split(_nfkc(text[prev_end:start]))[-1]
        parts = _DELIMS.split(_nfkc(text[end:next_start]), maxsplit=1)
        after = parts[0]
        after_is_next_label = len(parts) == 1 and i + 1 < len(spans) and bool(_ENDS_AS_LABEL.search(after))
        around = before + after
        b, a = _classify(before, False, around), _classify(after.lstrip(), True, around)
        if b and _ENDS_AS_LABEL.search(before):
            labels.append(b)
        elif a and not after_is_next_label:
            labels.append(a)
        else:
            labels.append(b)
    return labels


def _is_question(text: str) -> bool:
    return bool(_QUESTION.search(_nfkc(text)))


def _target(form: Form, state: State, label: str | None) -> str | None:
    """The slot of `form` that a labelled date fills; None for an unlabelled date."""
    if label is None:
        return None
    if label in form.slot_names:
        return label
    if label == "expires_on" and state.get("asked") in ("previous_expires_on", "residence_expires_on"):
        return str(state["asked"])
    return "other:" + label


def _open_slots(form: Form, state: State, taken: Mapping[str, Any], facts: Facts) -> list[str]:
    merged = {**state["slots"], **taken}
    names = [s.name for s in form.slots
             if s.name in DATE_SLOTS and s.name not in merged and s.needed(merged, {**state["facts"], **facts})]
    asked = state.get("asked")
    if asked in names:
        names.remove(asked)
        names.insert(0, asked)
    return names


def _year_month(span: str, today: date) -> tuple[int, int] | None:
    """The year and month of a date written without its day ("平成2年5月", "2021/4")."""
    sep = re.search(r"[./\-]", _nfkc(span))
    for candidate in (f"{span}1日", f"{span}{sep.group(0)}1" if sep else None):
        if candidate is None:
            continue
        found = find_dates(candidate, today)
        if len(found) == 1 and isinstance(found[0][2], ParsedDate):
            value = found[0][2].value
            return value.year, value.month
    return None


def _past_without_year(parsed: date, existing: str | None, today: date) -> date:
    """A month and day for a date in the past: the year of the value it corrects, else the latest such day."""
    if existing:
        year = date.fromisoformat(existing).year
    else:
        year = today.year if (parsed.month, parsed.day) <= (today.month, today.day) else today.year - 1
    return date(year, parsed.month, parsed.day)


def read_dates(form: Form, state: State, text: str, today: date, kb: Knowledge) -> Reading:
    reading = Reading()
    found = find_dates(text, today)
    labels = _label_spans(text, [(s, e) for s, e, _ in found])
    question = _is_question(text) or text.rstrip().endswith(("?", "?"))
    unlabelled: list[tuple[str, ParsedDate]] = []
    for (start, end, parsed), label in zip(found, labels):
        span = text[start:end]
        target = _target(form, state, label[0] if label else None)
        if label is not None and target is not None and not target.startswith("other:"):
            reading.labelled.add(target)
            if label[1] and target == "issued_on":
                reading.facts["card_same"] = True
            if label[2] and target == "issued_on":
                reading.facts["renewed"] = True
        if isinstance(parsed, DateParseError):
            slot = target if target and not target.startswith("other:") else _first(_open_slots(form, state, {}, {}))
            ym = _year_month(span, today)
            if ym is not None and slot is not None:
                reading.partial = {"slot": slot, "year": ym[0], "month": ym[1]}
            else:
                reading.errors.append((slot, parsed.reason))
            continue
        if target is not None and target.startswith("other:"):
            reading.other[target.removeprefix("other:")] = parsed.value.isoformat()
            continue
        if target is None:
            if _RELATIVE_DAY.search(span) and question:
                continue  # "今日の天気は?" is not a date answer
            unlabelled.append((span, parsed))
            continue
        _put(reading, state, target, span, parsed, today, kb)
    targets = _open_slots(form, state, reading.values, reading.facts)
    if len(unlabelled) > 1 and "birth_date" in targets:
        # Two dates and no words: the birth date is the earlier one.
        unlabelled.sort(key=lambda item: item[1].value)
    for (span, parsed), target in zip(unlabelled, targets):
        _put(reading, state, target, span, parsed, today, kb)
    if not found:
        _read_day(form, state, text, reading, kb)
    return reading


def _first(names: list[str]) -> str | None:
    return names[0] if names else None


def _put(reading: Reading, state: State, slot: str, span: str, parsed: ParsedDate, today: date, kb: Knowledge) -> None:
    value, note = parsed.value, parsed.understood_as
    if _NO_YEAR.match(_nfkc(span)):
        if slot == "birth_date":
            reading.errors.append((slot, kb.message("need_birth_year")))
            return
        if slot in PAST_SLOTS:
            try:
                value = _past_without_year(value, state["slots"].get(slot), today)
            except ValueError:
                reading.errors.append((slot, kb.message("no_such_day", month=value.month, day=value.day)))
                return
            note = kb.message("assumed_year", value=format_date(value))
    if slot == "birth_date" and value > today:
        reading.errors.append((slot, kb.message("birth_in_future", today=format_date(today, era=False))))
        return
    reading.values[slot] = value.isoformat()
    if note:
        reading.notes[slot] = note


def _read_day(form: Form, state: State, text: str, reading: Reading, kb: Knowledge) -> None:
    """A day alone: the missing day of a year and month ("10日"), or a correction ("誕生日は11日でした")."""
    norm = _nfkc(text)
    partial = state.get("partial")
    bare = _BARE_DAY.match(norm)
    if partial and bare:
        _put_day(reading, partial["slot"], partial["year"], partial["month"], int(bare.group(1)), kb)
        return
    match = _DAY_ONLY.search(norm)
    if not match:
        return
    label = _label_spans(norm, [(match.start(), match.end())])[0]
    slot = _target(form, state, label[0] if label else None)
    if slot is None and partial:
        slot = partial["slot"]
    if slot is None or slot.startswith("other:"):
        return
    if partial and slot == partial["slot"]:
        _put_day(reading, slot, partial["year"], partial["month"], int(match.group(1)), kb)
    elif slot in state["slots"]:
        old = date.fromisoformat(state["slots"][slot])
        _put_day(reading, slot, old.year, old.month, int(match.group(1)), kb)
        reading.labelled.add(slot)


def _put_day(reading: Reading, slot: str, year: int, month: int, day: int, kb: Knowledge) -> None:
    try:
        reading.values[slot] = date(year, month, day).isoformat()
    except ValueError:
        reading.errors.append((slot, kb.message("no_such_day", month=month, day=day)))


def read_choices(form: Form, state: State, text: str, kb: Knowledge) -> Reading:
    """The answers that are not dates: same day, don't know, yes/no, the fee situation, a foreign resident."""
    reading = Reading()
    norm = _nfkc(text)
    asked, facts = state.get("asked"), state["facts"]
    reading.dont_know = bool(_DONT_KNOW.search(norm))
    if form.intent == "fee":
        for reason, words in kb.messages["fee_reason_words"].items():
            if any(_nfkc(w) in norm for w in words):
                reading.values["reason"] = reason
                break
        if asked == "reason" and "reason" not in reading.values and not facts.get("not_lost"):
            if _YES.search(norm):
                reading.values["reason"] = "card_reissue_own_fault"
            elif _NO.search(norm):
                reading.facts["not_lost"] = True
    if form.intent == "calc_expiry":
        if _FOREIGN.search(norm) and not facts.get("foreign"):
            reading.facts["foreign"] = True
        if _CARD_TOO.search(norm) and "card_issued_on" not in state["slots"]:
            reading.facts["card_same"] = True
        if asked == "card_issued_on" and not _card_differs(state["slots"], facts):
            if reading.dont_know:
                reading.facts.update(card_same=True, card_assumed=True)
            elif _SAME.search(norm) or _YES.search(norm):
                reading.facts["card_same"] = True
            elif _NO.search(norm):
                reading.facts["card_differs"] = True
        elif asked == "card_issued_on" and reading.dont_know:
            reading.facts.update(card_same=True, card_assumed=True)
        elif asked == "issued_on" and "card_issued_on" in state["slots"] and (_SAME.search(norm) or _YES.search(norm)):
            reading.values["issued_on"] = state["slots"]["card_issued_on"]
        elif asked == "previous_expires_on" and reading.dont_know:
            reading.facts["previous_unknown"] = True
        elif asked == "residence_expires_on":
            if reading.dont_know:
                reading.facts["residence_unknown"] = True
            elif _NO_STAY_LIMIT.search(norm):
                reading.facts["no_stay_limit"] = True
    return reading


def read(form: Form, state: State, text: str, today: date, kb: Knowledge) -> Reading:
    reading = read_dates(form, state, text, today, kb) if form.intent != "fee" else Reading()
    choices = read_choices(form, state, text, kb)
    for key, value in choices.values.items():
        reading.values.setdefault(key, value)
    reading.facts.update(choices.facts)
    reading.dont_know = choices.dont_know
    return reading


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
    return match.ambiguous or not _is_question(text)


# --- the turn policy --------------------------------------------------------------------------------

_CANCEL = re.compile(
    r"^(?:やっぱり|やはり|もう)?[、,\s]*(?:やめ(?:る|ます|て|た|たい)?|止め(?:る|ます|て)?|キャンセル(?:する|します|して)?"
    r"|最初から(?:やり直し(?:たい|て|ます)?)?|中止(?:する|します|して)?|取り消し|取消|リセット)"
    r"(?:ください|下さい|です|します|ね)?(?=$|[!。、,.\s])[!。、,.\s]*"
)


def _cancel_rest(text: str, match: MatchResult) -> str | None:
    """None when the message does not cancel; else what follows the cancel words ("" for a plain cancel)."""
    norm = _nfkc(text).strip()
    found = _CANCEL.match(norm)
    if match.intent == "cancel" and not match.ambiguous:
        return norm[found.end():] if found else ""
    if found:
        return norm[found.end():]
    return None


def _load(state: Mapping[str, Any]) -> State:
    if state.get("v") == STATE_VERSION:
        return copy.deepcopy(dict(state))
    return _reset(state)


def _reset(state: Mapping[str, Any], last: dict[str, Any] | None = None) -> State:
    fresh = new_state()
    if state.get("municipality"):
        fresh["municipality"] = state["municipality"]
    fresh["last"] = last if last is not None else state.get("last")
    return fresh


def step(
    state: Mapping[str, Any], turn: UserTurn, today: date, kb: Knowledge, municipality: Municipality | None
) -> Step:
    current = _load(state)
    rest = _cancel_rest(turn.text, turn.match)
    if rest is not None:
        return _cancel(current, turn, rest, today, kb, municipality)
    form = FORMS.get(current["form"] or "")
    if form is not None:
        return _in_form(form, current, turn, today, kb, municipality)
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
    reading = read(form, state, turn.text, today, kb)
    if _takes_answer(form, match, turn.text, reading):
        return _advance(form, state, reading, turn, today, kb, municipality)
    if match.intent == "goodbye" and not match.ambiguous:
        return _answer(_reset(state), turn, kb, municipality)
    if reading.dont_know:
        return _failed(form, state, reading, turn, kb, municipality)
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
        found = read(candidate, side, turn.text, today, kb)
        if found.values and candidate.missing(found.values, found.facts) is None:
            messages, result = _finish(candidate, found.values, found.facts, today, kb)
            state["soft"] = None
            return Step(state, messages, candidate.intent, _confidence(match, candidate.intent), result)
    if other is not None:
        state["soft"] = other.intent
        return _answer(state, turn, kb, municipality)
    if match.intent is not None and not match.ambiguous:
        state["soft"] = None
        return _answer(state, turn, kb, municipality)
    if match.intent is None and (_out_of_scope(match, kb) or _is_question(turn.text)):
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
    reopened = _reopen(state, turn, today, kb, municipality)
    if reopened is not None:
        return reopened
    soft = FORMS.get(state.get("soft") or "")
    state.update(soft=None, asked=None)
    if soft is not None:
        found = read(soft, {**state, "form": soft.intent, "asked": soft.slots[0].name}, turn.text, today, kb)
        if _takes_answer(soft, match, turn.text, found):
            state.update(form=soft.intent, asked=soft.slots[0].name)
            return _advance(soft, state, found, turn, today, kb, municipality)
    readings = {name: read(f, {**state, "form": name}, turn.text, today, kb) for name, f in FORMS.items()}
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
        offer = Message(kb.message(form.offer), tuple(kb.messages[choices]) if choices else ())
        return Step(state, answer.messages + (offer,), form.intent, answer.confidence)
    return _advance(form, state, found, turn, today, kb, municipality)


def _form_to_start(match: MatchResult, text: str, readings: Mapping[str, Reading]) -> Form | None:
    """The form a new message starts: the matched one, unless the dates in it say otherwise."""
    form = FORMS.get(match.intent or "")
    calc = readings["calc_expiry"]
    if form is not None and match.ambiguous and not readings[form.intent].found:
        return None  # too close to call and nothing to compute: let _answer ask which topic
    if form is FORMS["renewal_window"] and calc.labelled & {"birth_date", "issued_on"} and "expires_on" not in calc.other:
        return FORMS["calc_expiry"]  # "いつから更新できる? 生年月日は…、発行は…": the dates decide
    if form is FORMS["calc_expiry"] and not calc.values and "expires_on" in calc.other:
        return FORMS["renewal_window"]  # "期限は2027/7/15、いつまで使える?"
    if form is None and "birth_date" in calc.labelled and (match.intent is None or not _is_question(text)):
        return FORMS["calc_expiry"]  # a birth date is only ever given for the computation
    return form


def _reopen(state: State, turn: UserTurn, today: date, kb: Knowledge, municipality: Municipality | None) -> Step | None:
    """A correction just after a result ("やっぱり発行日は…", "誕生日は11日でした") recomputes it."""
    last = state.get("last")
    if not last or not _CORRECTION.search(_nfkc(turn.text)):
        return None
    form = FORMS[last["form"]]
    reopened = {**state, "form": form.intent, "slots": dict(last["slots"]), "facts": dict(last["facts"]),
                "asked": None, "failures": 0, "partial": None, "soft": None}
    found = read(form, reopened, turn.text, today, kb)
    if not (found.labelled & set(last["slots"])) and not (form.intent == "fee" and found.values):
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
    if reading.partial:
        state["asked"] = reading.partial["slot"]
        month = f"{reading.partial['year']}年{reading.partial['month']}月"
        messages.append(Message(kb.message("ask_day", month=month), (kb.topic("cancel"),)))
        return Step(state, tuple(messages), form.intent, _confidence(turn.match, form.intent))
    try:
        if form.intent == "calc_expiry" and {"birth_date", "issued_on"} <= slots.keys():
            _expiry(slots)  # an impossible pair is refused as soon as it is typed, not after more questions
        if form.missing(slots, facts) is not None:
            return Step(state, tuple(messages) + _prompt(form, state, kb), form.intent,
                        _confidence(turn.match, form.intent))
        finished, result = _finish(form, slots, facts, today, kb)
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


def _prompt(form: Form, state: State, kb: Knowledge, resume: bool = False, focus: str | None = None) -> tuple[Message, ...]:
    slots, facts = state["slots"], state["facts"]
    partial = state.get("partial")
    if partial:
        month = f"{partial['year']}年{partial['month']}月"
        text = kb.message("ask_day", month=month)
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
    messages = kb.render(match.intent, municipality) if match.intent in kb.answers else [Message(kb.message("fallback"))]
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


# --- finishing: the shared rules, said in words --------------------------------------------------

Finished = tuple[tuple[Message, ...], dict[str, Any]]


def _finish(form: Form, slots: Mapping[str, Any], facts: Facts, today: date, kb: Knowledge) -> Finished:
    return FINISHERS[form.finish](slots, facts, today, kb)


def _day(slots: Mapping[str, Any], name: str) -> date | None:
    value = slots.get(name)
    return date.fromisoformat(value) if value else None


def _status(kb: Knowledge, expires_on: date, today: date) -> str:
    window = rules.renewal_window(expires_on, today)
    return kb.message(f"status_{window['status']}", today=format_date(today, era=False),
                      opens=format_date(window["opens_on"]), expires=format_date(expires_on))


def _expiry(slots: Mapping[str, Any]) -> dict[str, Any]:
    """rules.expiry on the slots known so far (the card's day defaults to the certificates')."""
    birth, issued = _day(slots, "birth_date"), _day(slots, "issued_on")
    assert birth is not None and issued is not None
    return rules.expiry(
        birth, issued, card_issued_on=_day(slots, "card_issued_on"),
        previous_expires_on=_day(slots, "previous_expires_on"), residence_expires_on=_day(slots, "residence_expires_on"),
    )


def finish_expiry(slots: Mapping[str, Any], facts: Facts, today: date, kb: Knowledge) -> Finished:
    birth, issued, card_issued = _day(slots, "birth_date"), _day(slots, "issued_on"), _day(slots, "card_issued_on")
    assert birth is not None and issued is not None
    result = _expiry(slots)
    user, signature = result["user_certificate_expires_on"], result["signature_certificate_expires_on"]
    same_card = card_issued is None or card_issued == issued
    text = kb.message(
        "result_expiry",
        birth=format_date(birth), issued=format_date(issued),
        card_line=kb.message("card_assumed_line" if facts.get("card_assumed") else "card_same_line") if same_card
        else kb.message("card_line", card=format_date(card_issued)),
        user=format_date(user), card=format_date(result["card_expires_on"]), opens=format_date(result["renewal_opens_on"]),
        signature=kb.message("signature_until", date=format_date(signature)) if signature else kb.message("no_signature"),
    )
    earliest = min(d for d in (user, signature) if d is not None)
    lines = [text, _status(kb, earliest, today), kb.message("rules_heading"), *(f"・{n}" for n in result["notes"])]
    for fact, key in (("card_assumed", "card_assumed"), ("previous_unknown", "previous_unknown"),
                      ("residence_unknown", "residence_unknown")):
        if facts.get(fact):
            lines.append(kb.message(key))
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
    return (Message("\n".join(lines), (kb.topic("renewal_procedure"), kb.topic("office_hours"))),), rules.to_json(result)


FINISHERS: dict[str, Callable[[Mapping[str, Any], Facts, date, Knowledge], Finished]] = {
    "finish_expiry": finish_expiry,
    "finish_window": finish_window,
    "finish_fee": finish_fee,
}
