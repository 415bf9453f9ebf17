"""Reading a message in the conversation it belongs to.

- A municipality the citizen names ("座間市に住んでいます", "名古屋なんだけど") is taken for the
  rest of the conversation.
- A short follow-up right after an answer is read in that answer's topic, with the facts
  already known: "いくら?" after a lost card is the fee of a card reissue; "それならいつから?"
  after a computed expiry is the renewal window of that expiry; "コンビニは?" after the
  forgotten-PIN answer is that answer's part about convenience stores.
- 「詳しく」 and 「理由を見る」 ask for more of the last answer or result.

The words and relations are data (knowledge/context.yaml), so staff can extend them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.reading import normal
from bot.conversation.state import State
from bot.knowledge.base import Knowledge, Municipality

_KANJI = re.compile(r"[\u4e00-\u9fff]")


_WORDISH = "ぁ-んァ-ンー一-龯a-z"


@dataclass(frozen=True)
class Places:
    """Every municipality's names and aliases in one pattern, built once from the profiles."""

    pattern: re.Pattern[str] | None
    ids: Mapping[str, str]  # a name as found (folded) -> the profile's id

    @classmethod
    def of(cls, kb: Knowledge) -> Places:
        """Kanji names are found anywhere (座間市, 名古屋駅の近く); kana and Latin aliases only as
        words of their own (ざまし, "in zama"), since ざま is also inside さまざま."""
        ids = {normal(a): muni.id for muni in kb.municipalities.values() for a in muni.aliases}
        parts = []
        for alias in sorted(ids, key=len, reverse=True):  # at one place, the longest name wins
            escaped = re.escape(alias)
            if _KANJI.search(alias):
                parts.append(escaped)
            else:
                parts.append(rf"(?<![{_WORDISH}]){escaped}(?:(?![{_WORDISH}]|$)|(?=$|[にでのはも、。!?\s]|市|区|在住))")
        return cls(re.compile("|".join(parts)) if parts else None, ids)


def municipality_in(text: str, kb: Knowledge, places: Places) -> Municipality | None:
    """The first municipality named in `text` by a profile's name or alias."""
    found = places.pattern.search(normal(text)) if places.pattern is not None else None
    return kb.municipalities.get(places.ids[found.group(0)]) if found else None


@dataclass(frozen=True)
class Context:
    """knowledge/context.yaml, loaded once."""

    openers: tuple[str, ...]  # words that begin a follow-up: で, じゃあ, それなら
    short_chars: int  # a message this short after an answer is read in its topic
    fee_words: tuple[str, ...]
    window_words: tuple[str, ...]
    fee_after: Mapping[str, str]  # topic -> the fee situation it implies
    related: Mapping[str, tuple[str, ...]]  # topic -> the intents a follow-up most likely means
    details_words: re.Pattern[str]
    reasons_words: re.Pattern[str]
    places: Places  # the municipalities' names, from the profiles

    @classmethod
    def from_data(cls, data: Mapping[str, Any], kb: Knowledge) -> Context:
        return cls(
            openers=tuple(data["openers"]),
            short_chars=int(data["short_chars"]),
            fee_words=tuple(data["fee_words"]),
            window_words=tuple(data["window_words"]),
            fee_after=dict(data["fee_after"]),
            related={k: tuple(v) for k, v in data["related"].items()},
            details_words=re.compile(data["details_pattern"]),
            reasons_words=re.compile(data["reasons_pattern"]),
            places=Places.of(kb),
        )


def is_follow_up(text: str, ctx: Context) -> bool:
    """Short, or opening like a follow-up ("で、", "じゃあ", "それなら")."""
    norm = normal(text).strip()
    return len(norm) <= ctx.short_chars or norm.startswith(ctx.openers)


def mentions(text: str, words: Sequence[str]) -> bool:
    norm = normal(text)
    return any(normal(w) in norm for w in words)


def command(text: str, state: State, ctx: Context) -> str | None:
    """"details" for 「詳しく」 after an answer that has more; "reasons" for 「理由を見る」 after a result."""
    norm = normal(text).strip()
    if state.topic and ctx.details_words.fullmatch(norm):
        return "details"
    if state.last is not None and ctx.reasons_words.fullmatch(norm):
        return "reasons"
    return None


def part_for(text: str, topic: str | None, kb: Knowledge) -> int | None:
    """The part of the topic's answer a follow-up asks about ("コンビニは?" after forgot_pin)."""
    answer = kb.answers.get(topic or "")
    if answer is None:
        return None
    norm = normal(text)
    for index, part in enumerate(answer.parts):
        if any(normal(w) in norm for w in part.when):
            return index
    return None
