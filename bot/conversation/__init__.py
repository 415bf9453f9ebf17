"""The conversation layer: dialogue state, forms, reading and placing values, and the turn policy.

`step` (bot.conversation.policy) is the one entry point; everything it needs to know about
messages is declared in `MESSAGE_FIELDS` here and checked against knowledge/messages.yaml
at start-up (`check`).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.conversation import answering, filling, forms, placing, policy, results
from bot.conversation.context import Context
from bot.conversation.policy import Config, Step, UserTurn, after_cancel_words, step
from bot.conversation.state import State
from bot.knowledge.base import Knowledge

__all__ = ["MESSAGE_FIELDS", "Config", "Context", "State", "Step", "UserTurn", "after_cancel_words", "check", "step"]

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    **forms.MESSAGE_FIELDS, **placing.MESSAGE_FIELDS, **filling.MESSAGE_FIELDS, **results.MESSAGE_FIELDS,
    **answering.MESSAGE_FIELDS, **policy.MESSAGE_FIELDS,
}


def check(knowledge: Knowledge, intent_names: Iterable[str]) -> None:
    """Every name the forms use resolves and every message has only the fields we fill (start-up)."""
    forms.check_forms(knowledge, intent_names, MESSAGE_FIELDS, results.FINISHERS)
