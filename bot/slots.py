"""Reading slot values out of a citizen's message: dates by the words around them, and the other answers.

One message may carry several dates; each is labelled by the clause before and after it
("平成2年5月10日生まれで、令和3年3月1日に発行"), and a date without words goes to the slot
the bot asked for. Dates are read by bot.dates; what it cannot read comes back with its
reason, a year and month without the day is kept until the day comes, and a date the
bot had to interpret (平成32年, no year) comes back with a note saying how it was read.
Nothing here changes the dialogue state: the result is a `Reading` the dialogue applies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.dates import DAY_NAMES, DateParseError, ParsedDate, find_dates, format_date
from bot.knowledge import Knowledge

DATE_SLOTS = frozenset(
    {"birth_date", "issued_on", "card_issued_on", "previous_expires_on", "residence_expires_on", "expires_on"}
)
# Dates in the past by nature: a missing year means the latest such day up to today.
PAST_SLOTS = ("issued_on", "card_issued_on", "previous_expires_on")
# The messages said here, with the fields each may use (checked at start-up).
MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "need_birth_year": (), "birth_in_future": ("today",), "no_such_day": ("month", "day"), "assumed_year": ("value",),
}


@dataclass(frozen=True)
class Asking:
    """What the running form wants from the next message; the dialogue builds it from its state."""

    intent: str  # the form
    slot_names: tuple[str, ...]
    asked: str | None  # the slot the last question asked for
    slots: Mapping[str, Any]  # the values so far (ISO dates or choices)
    facts: Mapping[str, Any]
    partial: Mapping[str, Any] | None  # {"slot", "year", "month"}: a date still missing its day
    # The date slots still to fill once `values` and `facts` are taken, the asked one first.
    open_dates: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]


def card_differs(slots: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """The card was not issued with the certificates: the user said so, or this was a renewal."""
    return bool(facts.get("card_differs") or facts.get("renewed"))


def normal(text: str) -> str:
    """NFKC and lower case: the form every pattern here is written against."""
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
_RENEWED = re.compile(r"更新|こうしん")
# A clause that ends like a label ("生年月日は", "発行日:", "在留期間の満了日") names the date after it.
_ENDS_AS_LABEL = re.compile(r"(?:は|が|も|:|=|→|って|とは|日|日付|月日|期限|満了日?|期間)\s*$")
_DELIMS = re.compile(r"[、。,.!?;\n]")

_SAME = re.compile(r"同じ|おなじ|一緒|いっしょ|同時|どうじ|同日")
# "カードと一緒に", "カードも同じ日", "カードを作ったときに": the card came with the certificates.
_CARD_TOO = re.compile(
    rf"カード(?:の(?:交付|発行|受け?取り)日?)?[とも](?:{_SAME.pattern})"
    r"|カードを(?:作|つく|受け?取|うけと|もら)[^、。]{0,6}(?:とき|時)"
)
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
_RELATIVE_DAY = re.compile(r"今日|本日|きょう|明日|あした|明後日|あさって|昨日|きのう|一昨日|おととい")
_NUMERAL = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_NO_YEAR = re.compile(rf"^\s*(?:{_NUMERAL}\s*(?:月|がつ)\s*(?:{_NUMERAL}\s*(?:日|にち)|末日?)|[0-9]{{1,2}}/[0-9]{{1,2}})\s*$")
_DAY_ONLY = re.compile(r"(?<![0-9年月/.\-])([0-9]{1,2})\s*(?:日|にち)")
_BARE_DAY = re.compile(r"^\s*([0-9]{1,2})\s*(?:日|にち)?\s*(?:です|でした|だよ|です。)?\s*[。!.]?\s*$")
_BARE_DAY_NAME = re.compile(rf"^\s*({'|'.join(sorted(DAY_NAMES, key=len, reverse=True))})\s*(?:です|でした|だよ|です。)?\s*[。!.]?\s*$")


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
            if _CERTIFICATE.search(around) or _SAME.search(around):
                card_too = True
            else:
                slot = "card_issued_on"
    return slot, card_too, renewed


def label_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool, bool] | None]:
    """The label of each date span, read from the clause before and after it.

    A label right before a date ("生年月日は…") is the strongest; otherwise the words
    after it ("…生まれ", "…に発行した"), unless those words are the next date's label
    ("…で、発行日は…"); otherwise any label word before it.
    """
    labels: list[tuple[str, bool, bool] | None] = []
    for i, (start, end) in enumerate(spans):
        prev_end = spans[i - 1][1] if i else 0
        next_start = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        before = _DELIMS.split(normal(text[prev_end:start]))[-1]
        parts = _DELIMS.split(normal(text[end:next_start]), maxsplit=1)
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


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(normal(text)))


def _target(asking: Asking, label: str | None) -> str | None:
    """The slot of the form that a labelled date fills; None for an unlabelled date."""
    if label is None:
        return None
    if label in asking.slot_names:
        return label
    if label == "expires_on" and asking.asked in ("previous_expires_on", "residence_expires_on"):
        return asking.asked
    return "other:" + label


def _year_month(span: str, today: date) -> tuple[int, int] | None:
    """The year and month of a date written without its day ("平成2年5月", "2021/4")."""
    sep = re.search(r"[./\-]", normal(span))
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


def read_dates(asking: Asking, text: str, today: date, kb: Knowledge) -> Reading:
    reading = Reading()
    found = find_dates(text, today)
    labels = label_spans(text, [(s, e) for s, e, _ in found])
    question = is_question(text) or text.rstrip().endswith(("?", "?"))
    unlabelled: list[tuple[str, ParsedDate]] = []
    for (start, end, parsed), label in zip(found, labels):
        span = text[start:end]
        target = _target(asking, label[0] if label else None)
        if label is not None and target is not None and not target.startswith("other:"):
            reading.labelled.add(target)
            if label[1] and target == "issued_on":
                reading.facts["card_same"] = True
            if label[2] and target == "issued_on":
                reading.facts["renewed"] = True
        if isinstance(parsed, DateParseError):
            slot = target if target and not target.startswith("other:") else _first(asking.open_dates({}, {}))
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
        _put(reading, asking, target, span, parsed, today, kb)
    targets = asking.open_dates(reading.values, reading.facts)
    if len(unlabelled) > 1 and "birth_date" in targets:
        # Two dates and no words: the birth date is the earlier one.
        unlabelled.sort(key=lambda item: item[1].value)
    for (span, parsed), target in zip(unlabelled, targets):
        _put(reading, asking, target, span, parsed, today, kb)
    if not found:
        _read_day(asking, text, reading, kb)
    return reading


def _first(names: list[str]) -> str | None:
    return names[0] if names else None


def _put(reading: Reading, asking: Asking, slot: str, span: str, parsed: ParsedDate, today: date,
         kb: Knowledge) -> None:
    """Put one date into its slot, after the checks only the slot can make (a birth year, a past day)."""
    value, note = parsed.value, parsed.understood_as
    if _NO_YEAR.match(normal(span)):
        if slot == "birth_date":
            reading.errors.append((slot, kb.message("need_birth_year")))
            return
        if slot in PAST_SLOTS:
            try:
                value = _past_without_year(value, asking.slots.get(slot), today)
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


def _read_day(asking: Asking, text: str, reading: Reading, kb: Knowledge) -> None:
    """A day alone: the missing day of a year and month ("10日"), or a correction ("誕生日は11日でした")."""
    norm = normal(text)
    partial = asking.partial
    bare = _BARE_DAY.match(norm)
    if partial and bare:
        _put_day(reading, partial["slot"], partial["year"], partial["month"], int(bare.group(1)), kb)
        return
    named = _BARE_DAY_NAME.match(norm)
    if partial and named:  # "ついたち" for the day still missing
        _put_day(reading, partial["slot"], partial["year"], partial["month"], DAY_NAMES[named.group(1)], kb)
        return
    match = _DAY_ONLY.search(norm)
    if not match:
        return
    label = label_spans(norm, [(match.start(), match.end())])[0]
    slot = _target(asking, label[0] if label else None)
    if slot is None and partial:
        slot = partial["slot"]
    if slot is None or slot.startswith("other:"):
        return
    if partial and slot == partial["slot"]:
        _put_day(reading, slot, partial["year"], partial["month"], int(match.group(1)), kb)
    elif slot in asking.slots:
        old = date.fromisoformat(asking.slots[slot])
        _put_day(reading, slot, old.year, old.month, int(match.group(1)), kb)
        reading.labelled.add(slot)


def _put_day(reading: Reading, slot: str, year: int, month: int, day: int, kb: Knowledge) -> None:
    try:
        reading.values[slot] = date(year, month, day).isoformat()
    except ValueError:
        reading.errors.append((slot, kb.message("no_such_day", month=month, day=day)))


def read_choices(asking: Asking, text: str, kb: Knowledge) -> Reading:
    """The answers that are not dates: same day, don't know, yes/no, the fee situation, a foreign resident."""
    reading = Reading()
    norm = normal(text)
    asked, slots, facts = asking.asked, asking.slots, asking.facts
    reading.dont_know = bool(_DONT_KNOW.search(norm))
    if asking.intent == "fee":
        for reason, words in kb.messages["fee_reason_words"].items():
            if any(normal(w) in norm for w in words):
                reading.values["reason"] = reason
                break
        if asked == "reason" and "reason" not in reading.values and not facts.get("not_lost"):
            if _YES.search(norm):
                reading.values["reason"] = "card_reissue_own_fault"
            elif _NO.search(norm):
                reading.facts["not_lost"] = True
    if asking.intent == "calc_expiry":
        if _FOREIGN.search(norm) and not facts.get("foreign"):
            reading.facts["foreign"] = True
        if _CARD_TOO.search(norm) and "card_issued_on" not in slots:
            reading.facts["card_same"] = True
        if asked == "card_issued_on" and not card_differs(slots, facts):
            if reading.dont_know:
                reading.facts.update(card_same=True, card_assumed=True)
            elif _SAME.search(norm) or _YES.search(norm):
                reading.facts["card_same"] = True
            elif _NO.search(norm):
                reading.facts["card_differs"] = True
        elif asked == "card_issued_on" and reading.dont_know:
            reading.facts.update(card_same=True, card_assumed=True)
        elif asked == "issued_on" and "card_issued_on" in slots and (_SAME.search(norm) or _YES.search(norm)):
            reading.values["issued_on"] = slots["card_issued_on"]
        elif asked == "previous_expires_on" and reading.dont_know:
            reading.facts["previous_unknown"] = True
        elif asked == "residence_expires_on":
            if reading.dont_know:
                reading.facts["residence_unknown"] = True
            elif _NO_STAY_LIMIT.search(norm):
                reading.facts["no_stay_limit"] = True
    return reading


def read(asking: Asking, text: str, today: date, kb: Knowledge) -> Reading:
    """Everything in `text` that answers the form: dates by their labels, and the other answers."""
    reading = read_dates(asking, text, today, kb) if asking.intent != "fee" else Reading()
    choices = read_choices(asking, text, kb)
    for key, value in choices.values.items():
        reading.values.setdefault(key, value)
    reading.facts.update(choices.facts)
    reading.dont_know = choices.dont_know
    return reading
