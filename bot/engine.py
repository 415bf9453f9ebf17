"""The engine: one user message in, one Turn out, the same for every channel.

Data flows one way: mask personal data → match → dialogue step → reply → store.
Channels (HTTP, WebSocket, LINE) only translate I/O around `Bot.reply`.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bot import conversation
from bot.knowledge.base import Knowledge, load_knowledge
from bot.knowledge.message import Message
from bot.knowledge.yamlfile import load, strip_lines
from bot.operations import privacy
from bot.operations.settings import Settings
from bot.stores.sessions import MemoryStore, SessionStore, SqliteStore
from bot.text import nfkc_folded
from bot.understanding.analyzer import Analyzer
from bot.understanding.intents import Intent, load_intents
from bot.understanding.matcher import Matcher, MatcherConfig
from bot.understanding.normalize import Normalizer, load_lexicon
from bot.understanding.sentences import questions
from bot.understanding.tokenizer import shared_tokenizer

SESSION_ID_MAX = 128


class InputError(ValueError):
    """Bad input from a user or client: the channel answers `status` (4xx) with `code` and this message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# C0/C1 control characters other than tab and line breaks: no keyboard types them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SESSION_ID = re.compile(rf"[A-Za-z0-9_:.\-]{{1,{SESSION_ID_MAX}}}")


# A channel that keys its conversations itself (LINE, by its users) names them "<channel>:<key>"
# and reserves the prefix (Bot.reserve_keys): only that channel may use such an id.
CHANNEL_KEY_SEPARATOR = ":"
# A message's questions matched one by one (beyond the whole message): the answer says at most
# the first three topics besides its own; a longer list is a form, not a question.
_MOST_QUESTIONS = 4


def channel_session_id(channel: str, key: str) -> str:
    return f"{channel}{CHANNEL_KEY_SEPARATOR}{key}"


def valid_session_id(session_id: str) -> bool:
    return _SESSION_ID.fullmatch(session_id) is not None


@dataclass(frozen=True)
class Turn:
    """The bot's answer to one user message (the body of POST /api/chat)."""

    session_id: str
    intent: str | None
    confidence: float
    messages: tuple[Message, ...]
    result: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "intent": self.intent,
            "confidence": round(min(max(self.confidence, 0.0), 1.0), 4),
            "messages": [m.as_dict() for m in self.messages],
            "result": self.result,
        }


@dataclass(frozen=True)
class TurnEvent:
    """What the log and the metrics learn of a turn: the text is already masked."""

    session_id: str
    channel: str
    text: str
    turn: Turn
    answered: bool
    gave_up: bool
    municipality: str | None
    masked: frozenset[str]
    names: tuple[str, ...] = ()  # personal names the matcher saw in the text
    today: date | None = None  # the day the turn's dates were read against: the log finds them so again


@dataclass(frozen=True)
class Core:
    """Everything loaded once at start-up and never changed."""

    intents: tuple[Intent, ...]
    knowledge: Knowledge
    matcher: Matcher
    context: conversation.Context
    dialogue: conversation.Config

    # The settings load() reads (and matcher_config): apps whose settings agree on these may share
    # one Core. tests/test_engine.py checks the list against the code.
    SETTINGS_READ: ClassVar[frozenset[str]] = frozenset({
        "intents_path", "knowledge_dir", "model_path", "accept_threshold", "clarify_margin", "domain_threshold",
        "menu_below"})

    @classmethod
    def shares(cls, one: Settings, other: Settings) -> bool:
        """Whether a Core loaded for `one` is the Core `other` would load."""
        return all(getattr(one, name) == getattr(other, name) for name in cls.SETTINGS_READ)

    @classmethod
    def load(cls, settings: Settings, stored_model: bool = True) -> Core:
        """Load and validate everything; stored_model=False trains the intent model afresh."""
        intents = load_intents(settings.intents_path)
        names = [i.name for i in intents if i.in_domain]
        knowledge = load_knowledge(settings.knowledge_dir, names, conversation.MESSAGE_FIELDS)
        conversation.check(knowledge, names)
        context = conversation.Context.from_data(strip_lines(load(settings.knowledge_dir / "context.yaml")), knowledge)
        normalizer = Normalizer(load_lexicon(settings.knowledge_dir / "lexicon.yaml"))
        analyzer = Analyzer(normalizer, shared_tokenizer())
        with_answers = tuple(replace(i, answer=i.answer or _answer_text(knowledge, i.name)) for i in intents)
        topics = {label: intent for intent, label in knowledge.messages["topics"].items()}
        config = matcher_config(settings)
        matcher = Matcher(with_answers, analyzer, config, exact=topics, model_path=settings.model_path if stored_model else None)
        dialogue = conversation.Config(menu_below=settings.menu_below, clarify_margin=settings.clarify_margin)
        return cls(intents, knowledge, matcher, context, dialogue)


def matcher_config(settings: Settings) -> MatcherConfig:
    """The matcher's weights as cross-validation chose them, with the thresholds from settings."""
    config = MatcherConfig(accept_threshold=settings.accept_threshold, clarify_margin=settings.clarify_margin)
    # Our intents have 70-190 examples each: the answers' text as a lexical field no longer
    # helps (cross-validated top-1 0.9151 with it, 0.9160 without), and costs 0.05 ms a
    # question. The answers still name the names that are vocabulary (Matcher._not_names).
    config = replace(config, lexical=replace(config.lexical, answer_weight=0.0))
    if settings.domain_threshold is not None:
        config = replace(config, gate=replace(config.gate, threshold=settings.domain_threshold))
    return config


def _answer_text(knowledge: Knowledge, name: str) -> str:
    answer = knowledge.answers.get(name)
    return answer.text if answer else ""


def make_store(settings: Settings) -> SessionStore:
    if settings.session_store == "memory":
        return MemoryStore(settings.session_idle_seconds)
    if settings.session_store == "redis":
        from bot.stores.redis_store import RedisStore

        return RedisStore(settings.redis_url or "", settings.session_idle_seconds)
    return SqliteStore(settings.db_path, settings.session_idle_seconds)


class Bot:
    def __init__(
        self,
        settings: Settings,
        core: Core | None = None,
        store: SessionStore | None = None,
        today: Callable[[], date] | None = None,
        on_turn: Callable[[TurnEvent], None] | None = None,
    ) -> None:
        self.settings = settings
        self.core = core if core is not None else Core.load(settings)
        self.store = store if store is not None else make_store(settings)
        fixed = settings.fixed_today
        self._today = today or (lambda: fixed or datetime.now(ZoneInfo(settings.timezone)).date())
        self._on_turn = on_turn
        self._locks: dict[str, threading.Lock] = {}
        self._keyed_by: set[str] = set()  # channels that key their own conversations (reserve_keys)
        self._locks_guard = threading.Lock()

    def today(self) -> date:
        return self._today()

    def _lock(self, session_id: str) -> threading.Lock:
        # One turn at a time per conversation, so two tabs cannot interleave a dialogue.
        with self._locks_guard:
            lock = self._locks.get(session_id)
            if lock is None:
                if len(self._locks) > 10000:
                    self._locks = {k: v for k, v in self._locks.items() if v.locked()}
                lock = self._locks[session_id] = threading.Lock()
            return lock

    def check_text(self, text: object) -> str:
        if not isinstance(text, str):
            raise InputError("invalid_text", "text は文字列で送ってください。(text must be a string)")
        if not text.strip():
            raise InputError("empty_text", "メッセージが空です。ご質問を入力してください。(text is empty)")
        if _CONTROL.search(text):
            raise InputError(
                "invalid_text",
                "メッセージに使えない制御文字が含まれています。(text contains control characters)",
            )
        if len(text) > self.settings.max_text_chars:
            raise InputError(
                "text_too_long",
                f"メッセージが長すぎます。{self.settings.max_text_chars}文字以内でお送りください。"
                f"(text is over {self.settings.max_text_chars} characters)",
            )
        return text

    def check_session_id(self, session_id: object, channel: str = "web") -> str | None:
        if session_id is None:
            return None
        if not isinstance(session_id, str) or not valid_session_id(session_id):
            raise InputError(
                "invalid_session_id",
                "session_id の形式が正しくありません。(session_id must be 1-128 letters, digits or -_:.)",
            )
        owner, keyed, _ = session_id.partition(CHANNEL_KEY_SEPARATOR)
        if keyed and owner in self._keyed_by and owner != channel:
            # "line:…" is a conversation the LINE channel keys itself; no other channel may open it.
            raise InputError(
                "invalid_session_id",
                f"この session_id は使えません。(session_id must not start with '{owner}:')",
            )
        return session_id

    def reserve_keys(self, channel: str) -> None:
        """`channel` keys its own conversations ("<channel>:<key>"): no other channel may open one."""
        self._keyed_by.add(channel)

    def welcome(self, session_id: str | None = None, municipality: str | None = None, channel: str = "web") -> Turn:
        session_id = self.check_session_id(session_id, channel) or new_session_id()
        self.check_municipality(municipality)
        kb = self.core.knowledge
        answer = kb.answers["greeting"]
        replies = tuple(kb.topic(i) for i in kb.messages["menu"])
        return Turn(session_id, "greeting", 1.0, (Message(answer.text.strip(), replies),))

    def reply(
        self, text: object, session_id: object = None, municipality: object = None, channel: str = "web"
    ) -> Turn:
        text = self.check_text(text)
        given = self.check_session_id(session_id, channel)
        sid = given or new_session_id()
        municipality = self.check_municipality(municipality)
        masked = privacy.mask(text)
        # A new conversation's id is unknown to anyone until this reply carries it: no other
        # turn can race this one, so it takes no lock (nor a place in the lock table).
        with self._lock(sid) if given else contextlib.nullcontext():
            # A new conversation has nothing stored yet: skip the read.
            stored = self.store.load(sid) if given else None
            state = conversation.State.from_json(stored)
            if municipality is not None and municipality != state.municipality:
                state = state.but(municipality=municipality)
            match = self.core.matcher.match(masked.text)
            core = self.core
            today = self.today()
            rest = conversation.after_cancel_words(masked.text)  # "最初から。<a request>": the request too
            rest_match = core.matcher.match(rest) if rest else None
            # "…忘れました。どうすればいいですか?また、更新に必要なものは?": each question matched alone too
            asked = questions(nfkc_folded(masked.text))
            each = tuple(core.matcher.match(q) for q in asked[:_MOST_QUESTIONS]) if len(asked) > 1 else ()
            step = conversation.step(state, conversation.UserTurn(masked.text, match, rest_match, each), today,
                                     core.knowledge, core.context, core.dialogue)
            messages = list(step.messages)
            if masked.kinds:
                messages.insert(0, Message(privacy.WARNING_TEXT))
            if stored is not None or not step.state.is_empty:
                # A question answered outright leaves nothing to remember: storing the empty
                # state would cost a write per turn and tell the next turn nothing new.
                self.store.save(sid, step.state.to_json())
        turn = Turn(sid, step.intent, step.confidence, tuple(messages), step.result, {"also": step.also})
        if self._on_turn is not None:
            self._on_turn(TurnEvent(sid, channel, masked.text, turn, step.answered, step.gave_up,
                                    step.state.municipality, masked.kinds, match.names, today))
        return turn

    def check_municipality(self, municipality: object) -> str | None:
        """A profile's id for a code or name the client sent; an unknown one is refused (api.md)."""
        if municipality is None or municipality == "":
            return None
        if not isinstance(municipality, str):
            raise InputError("invalid_municipality", "municipality は文字列で送ってください。(municipality must be a string)")
        found = self.core.knowledge.municipality(municipality)
        if found is None:
            known = "、".join(f"{m.id}({m.name})" for m in self.core.knowledge.municipalities.values())
            raise InputError("unknown_municipality",
                             f"municipality「{municipality[:40]}」は登録されていません。使えるのは {known} です。"
                             f"(unknown municipality)", status=422)
        return found.id

    def reset(self, session_id: str) -> None:
        self.store.delete(session_id)


def new_session_id() -> str:
    return secrets.token_hex(16)  # 32 hex digits like uuid4().hex, without building a UUID
