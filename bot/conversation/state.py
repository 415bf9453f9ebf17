"""The dialogue's state between turns: frozen, typed, and JSON both ways.

A step never changes a state in place; it builds the next one with `State.but(...)`.
Stores keep `to_json()`; `from_json` reads it back, and a state written by another
version of the code starts over (keeping only the municipality), since its keys may
mean something else now.

Dates are ISO strings (`1990-05-10`), a month without its day `1990-05`. No text the
user typed is ever copied in: only the values read from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.records import copied

STATE_VERSION = 3


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Partial:
    """A date that still misses its year or its day: the next answer completes it."""

    slot: str
    year: int | None
    month: int
    day: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"slot": self.slot, "year": self.year, "month": self.month, "day": self.day}


@dataclass(frozen=True)
class Pending:
    """A date the bot could not place: it asked which of `options` the value is."""

    value: str
    options: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "options": list(self.options)}


@dataclass(frozen=True)
class Last:
    """The last result given, for a correction, a follow-up question or 「理由を見る」."""

    form: str
    slots: Mapping[str, str]
    facts: Mapping[str, Any]
    result: Mapping[str, Any]  # rules.to_json of the result, notes included

    def to_json(self) -> dict[str, Any]:
        return {"form": self.form, "slots": dict(self.slots), "facts": dict(self.facts), "result": dict(self.result)}


@dataclass(frozen=True)
class State:
    form: str | None = None  # the running form's intent
    slots: Mapping[str, str] = field(default_factory=frozen_map)  # the running form's values: dates, months, choices
    facts: Mapping[str, Any] = field(default_factory=frozen_map)  # what else the user told the form
    asked: str | None = None  # the slot the last question asked for
    failures: int = 0  # answers in a row the bot could not read
    soft: str | None = None  # a form answered in general last turn: a date or situation next computes it
    partial: Partial | None = None
    pending: Pending | None = None
    last: Last | None = None
    topic: str | None = None  # the intent the last answer was about: follow-ups and 「詳しく」 read in it
    # The person's dates said in this conversation, so a second computation does not ask them again.
    known: Mapping[str, Any] = field(default_factory=frozen_map)
    said: frozenset[str] = field(default_factory=frozenset)  # notes said once per conversation
    municipality: str | None = None

    def but(self, **changes: Any) -> State:
        """A copy with `changes`; mappings are frozen on the way in."""
        for name in ("slots", "facts", "known"):
            if name in changes:
                changes[name] = frozen_map(changes[name])
        if "said" in changes:
            changes["said"] = frozenset(changes["said"])
        return copied(self, changes)

    def form_done(self) -> State:
        """The running form ended: its values go, the conversation's memory stays."""
        return self.but(form=None, slots={}, facts={}, asked=None, failures=0, soft=None, partial=None, pending=None)

    @property
    def is_empty(self) -> bool:
        return self == _EMPTY

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "form": self.form,
            "slots": dict(self.slots),
            "facts": dict(self.facts),
            "asked": self.asked,
            "failures": self.failures,
            "soft": self.soft,
            "partial": self.partial.to_json() if self.partial else None,
            "pending": self.pending.to_json() if self.pending else None,
            "last": self.last.to_json() if self.last else None,
            "topic": self.topic,
            "known": dict(self.known),
            "said": sorted(self.said),
            "municipality": self.municipality,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> State:
        if not data:
            return cls()
        if data.get("v") != STATE_VERSION:
            return cls(municipality=data.get("municipality"))
        partial, pending, last = data.get("partial"), data.get("pending"), data.get("last")
        return cls(
            form=data.get("form"),
            slots=frozen_map(data.get("slots")),
            facts=frozen_map(data.get("facts")),
            asked=data.get("asked"),
            failures=int(data.get("failures") or 0),
            soft=data.get("soft"),
            partial=Partial(**partial) if partial else None,
            pending=Pending(pending["value"], tuple(pending["options"])) if pending else None,
            last=Last(last["form"], frozen_map(last["slots"]), frozen_map(last["facts"]), frozen_map(last["result"]))
            if last else None,
            topic=data.get("topic"),
            known=frozen_map(data.get("known")),
            said=frozenset(data.get("said") or ()),
            municipality=data.get("municipality"),
        )


_EMPTY = State()
