"""What placing found in one message for a form: values, facts, notes and why a date was refused.

Made by bot.conversation.placing (dates) and bot.conversation.choices (the other answers);
applied to the dialogue's state by bot.conversation.filling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.conversation.state import Partial, Pending


@dataclass
class Placement:
    values: dict[str, str] = field(default_factory=dict)  # slot -> ISO date or YYYY-MM
    facts: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # slot -> how a date the bot had to read was read
    errors: list[tuple[str | None, str]] = field(default_factory=list)  # (slot, why it cannot be used)
    labelled: set[str] = field(default_factory=set)  # slots named by the words around their value
    other: dict[str, str] = field(default_factory=dict)  # dates named for another form's slot
    partial: Partial | None = None
    pending: Pending | None = None
    dropped: set[str] = field(default_factory=set)  # slots and facts taken back ("外国籍ではありません")
    answers_asked: bool = False  # a fact that answers the very question asked ("覚えてない" to the card's day)

    @property
    def found(self) -> bool:
        return bool(self.values or self.facts or self.errors or self.partial or self.pending or self.dropped)
