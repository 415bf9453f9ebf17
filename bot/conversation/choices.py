"""The answers in a message that are not dates: same day, don't know, yes or no, the fee situation,
a foreign resident. They go into the same Placement as the dates (bot.conversation.placing)."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from bot.conversation.forms import Form
from bot.conversation.labels import CARD_DAY_UNKNOWN
from bot.conversation.reading import DONT_KNOW_WORDS, PERMANENT, Reading, normal
from bot.conversation.state import State
from bot.knowledge.base import Knowledge

if TYPE_CHECKING:
    from bot.conversation.placement import Placement


def place_choices(form: Form, state: State, reading: Reading, norm: str, out: Placement, kb: Knowledge) -> None:
    """The answers that are not dates: same day, don't know, yes/no, the fee situation, a foreign resident."""
    asked, slots, facts = state.asked, state.slots, state.facts
    if form.intent == "fee":
        reason = fee_reason(norm, kb)
        if reason is not None:
            out.values["reason"] = reason
        if asked == "reason" and "reason" not in out.values and not facts.get("not_lost"):
            if reading.yes:
                out.values["reason"] = "card_reissue_own_fault"
            elif reading.no:
                out.facts["not_lost"] = True
    if form.intent != "calc_expiry":
        return
    if reading.not_foreign and (facts.get("foreign") or "residence_expires_on" in slots):
        out.dropped |= {"foreign", "no_stay_limit", "residence_unknown", "residence_expires_on"}
    if reading.foreign and not facts.get("foreign"):
        out.facts["foreign"] = True
    if reading.foreign and not facts.get("no_stay_limit") and _PERMANENT.search(norm):
        out.facts["no_stay_limit"] = True  # "永住者なので在留期限はありません", whenever it is said
    if "issued_on" not in slots and "issued_on" not in out.values and _renewal_done(norm):
        out.facts["renewed"] = True  # "先週、証明書を更新しました": the issue day asked next is a renewal's
    if reading.in_window is not None and "previous_expires_on" not in slots:
        out.facts["in_window" if reading.in_window else "outside_window"] = True
    if reading.card_too and "card_issued_on" not in slots:
        out.facts["card_same"] = True
    if CARD_DAY_UNKNOWN.search(norm) and "card_issued_on" not in slots and "card_issued_on" not in out.values:
        out.facts["card_unknown"] = True  # "カードをもらった日は覚えていません", said before it is asked
    card = out.values.get("card_issued_on")
    if reading.card_too and card and "issued_on" not in out.values and "issued_on" not in slots:
        out.values["issued_on"] = card  # "カードは…に受け取り、電子証明書もそのとき": the card's day is theirs
    before = dict(out.facts)
    if asked == "card_issued_on" and "card_issued_on" not in out.values:
        if reading.dont_know:
            out.facts["card_unknown"] = True
        elif not (facts.get("card_differs") or facts.get("renewed")) and reading.yes \
                or reading.same and (reading.card_too or not facts.get("renewed")):  # "同じ日" said: it is
            out.facts["card_same"] = True
        elif reading.no and not reading.dates:  # not "いや、やっぱり2021年4月3日でした" (a correction)
            out.facts["card_differs"] = True
    elif asked == "issued_on" and "card_issued_on" in slots and "issued_on" not in out.values \
            and (reading.same or reading.yes):
        out.values["issued_on"] = slots["card_issued_on"]
    elif asked == "card_applied_on" and "card_applied_on" not in out.values:
        if reading.dont_know:
            out.facts["applied_unknown"] = True
        elif reading.yes or _BEFORE.search(norm):
            out.facts["applied_before"] = True
        elif reading.no or _AFTER.search(norm):
            out.facts["applied_after"] = True
    elif asked == "previous_expires_on" and (reading.dont_know or _FORGOT.search(norm)) \
            and "previous_expires_on" not in out.values:  # "覚えていません。…カードと一緒に発行された証明書です"
        out.facts["previous_unknown"] = True
    elif asked == "residence_expires_on" and "residence_expires_on" not in out.values:
        if reading.dont_know:
            out.facts["residence_unknown"] = True
        elif reading.no_stay_limit:
            out.facts["no_stay_limit"] = True
    out.answers_asked = out.facts != before


def fee_reason(norm: str, kb: Knowledge) -> str | None:
    """The fee case a message names (knowledge/messages.yaml fee_reason_words, tried in order)."""
    for reason, words in kb.messages["fee_reason_words"].items():
        if any(w in norm for w in _normalised(tuple(words))):
            return str(reason)
    return None


@functools.lru_cache(maxsize=64)
def _normalised(words: tuple[str, ...]) -> tuple[str, ...]:
    """Staff's words in the form messages are compared in, made once per list (the lists never change)."""
    return tuple(normal(w) for w in words)


_BEFORE = re.compile(r"以前|より前|までに|まで$")
_AFTER = re.compile(r"以降|より後|あと|後で|その後")
_PERMANENT = re.compile(PERMANENT)


# "証明書を更新しました", "更新してきた": the certificates were renewed (not "カードを更新した", a new card)
_RENEWAL_DONE = re.compile(r"(?:更新|こうしん)(?:しました|した(?![いら])|して(?:きました|きた|もらいました|もらった|もろた)|済|ずみ"
                           r"|の手続きを?(?:しました|した(?![いら])))")
_CARD_ONLY = re.compile(r"カード|かーど")
_CERTIFICATES = re.compile(r"証明書|しょうめいしょ")


def _renewal_done(norm: str) -> bool:
    return any(_RENEWAL_DONE.search(s) and not (_CARD_ONLY.search(s) and not _CERTIFICATES.search(s))
               for s in re.split(r"[。!?\n]", norm))
_FORGOT = re.compile(DONT_KNOW_WORDS)  # anywhere in the message, not only as its end
