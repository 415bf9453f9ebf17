"""What one turn works with: the message, its match, the day, the knowledge, and the policy's settings.

Built once per message (`TurnContext`) and handed to every step function, so that none
of them threads the same six arguments; the dialogue state is the one thing that
changes, and it is passed and returned explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.conversation.context import Context
from bot.conversation.reading import Reading, read
from bot.conversation.state import State
from bot.knowledge.base import Knowledge, Municipality
from bot.knowledge.message import Message
from bot.records import copied
from bot.rules.dates import find_dates
from bot.understanding.matcher import MatchResult


@dataclass(frozen=True)
class Config:
    """Thresholds of the turn policy (from bot/operations/settings.py)."""

    max_failures: int = 3  # answers in a row the bot could not read before it gives the general rule instead
    # A close call between two intents is offered as a menu only when even the best is this unsure;
    # above it the best is answered and the runner-up is one tap away.
    menu_below: float = 0.5
    clarify_margin: float = 0.06  # the matcher's: runners-up within twice this are offered
    # A short follow-up the matcher is unsure of goes to the topic's nearest related intent
    # only when that one scores at least this (and within a fifth of the best).
    related_floor: float = 0.25


@dataclass(frozen=True)
class UserTurn:
    text: str  # already masked
    match: MatchResult
    # "最初から。母の分の期限を計算したい": what follows the cancel words, matched alone (the whole
    # message matches "cancel"); None when nothing follows them
    rest_match: MatchResult | None = None
    # "手数料は?代理人でもできる?": each question of a message with more than one, matched alone
    each: tuple[MatchResult, ...] = ()


@dataclass(frozen=True)
class Step:
    state: State
    messages: tuple[Message, ...]
    intent: str | None
    confidence: float
    result: dict[str, Any] | None = None
    answered: bool = True  # False: out of domain, the bot had to ask which topic, or it gave up
    gave_up: bool = False  # the form ended after too many answers it could not read
    also: tuple[str, ...] = ()  # the topics of the message's other questions, answered after its own

    def before(self, *messages: Message) -> Step:
        return Step(self.state, (*messages, *self.messages), self.intent, self.confidence, self.result,
                    self.answered, self.gave_up, self.also)

    def but(self, **changes: Any) -> Step:
        return copied(self, changes)


@dataclass
class TurnContext:
    turn: UserTurn
    today: date
    kb: Knowledge
    ctx: Context
    config: Config
    municipality: Municipality | None
    _reading: Reading | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.turn.text

    @property
    def match(self) -> MatchResult:
        return self.turn.match

    @property
    def reading(self) -> Reading:
        """The message read once, when first needed: most turns start no dialogue."""
        if self._reading is None:
            self._reading = read(self.turn.text, self.today)
        return self._reading

    @property
    def has_dates(self) -> bool:
        """Whether the message holds anything date-like: a cheaper look than reading it whole."""
        return bool(find_dates(self.turn.text, self.today))

    def confidence(self, intent: str) -> float:
        return self.match.score if self.match.intent == intent else 1.0
