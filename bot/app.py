"""The composition root: the bot, its log, metrics, limits and channels, built once from settings.

server.py's create_app builds one AppState and routes into it; nothing here knows about
HTTP frameworks.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.channels import line
from bot.channels.ws import Frames
from bot.engine import Bot, Core, TurnEvent
from bot.operations.errors import error_bytes
from bot.operations.metrics import Metrics
from bot.operations.ratelimit import RATE_LIMIT_MESSAGE_JA, RateLimiter
from bot.operations.settings import Settings
from bot.stores.sessions import StoreUnavailable
from bot.stores.turnlog import TurnLog

log = logging.getLogger("bot")


def _setup_logging(level: str) -> None:
    """One JSON object per line on stderr for the bot's own events; never message text."""
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter('{"time": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", "data": %(message)s}'))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


STORE_UNAVAILABLE_JA = ("ただいま会話の記録を読み書きできません。少し時間をおいてから、もう一度お試しください。"
                        "(conversation store unavailable)")
STORE_RETRY_SECONDS = 2

@dataclass
class AppState:
    settings: Settings
    bot: Bot
    turns: TurnLog
    metrics: Metrics
    limiter: RateLimiter
    line_router: Any = None
    ws: Frames | None = None
    routes: frozenset[str] = frozenset()  # the app's own routes, the only metric labels besides two catch-alls

    @classmethod
    def create(cls, settings: Settings, *, core: Core | None = None) -> AppState:
        """`core`: intents, knowledge and matcher already loaded (immutable, so apps may share one)."""
        _setup_logging(settings.log_level)
        turns = TurnLog(settings.db_path, retention_days=settings.log_retention_days)
        metrics = Metrics()
        metrics.watch_turn_log(lambda: (turns.dropped, turns.failed))

        def on_turn(event: TurnEvent) -> None:
            turn = event.turn
            turns.record(session_id=event.session_id, channel=event.channel, text=event.text, intent=turn.intent,
                         confidence=turn.confidence, answered=event.answered, municipality=event.municipality,
                         at=datetime.now(UTC), names=event.names, today=event.today)
            metrics.count_intent(event.channel, turn.intent)
            if event.gave_up:
                metrics.count_fallback("gave_up")
            elif not event.answered:
                metrics.count_fallback("out_of_domain" if turn.intent is None else "clarify")
            for kind in event.masked:
                metrics.count_masked(kind)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(json.dumps({"event": "turn", "channel": event.channel, "intent": turn.intent,
                                     "confidence": round(turn.confidence, 3), "answered": event.answered}))

        bot = Bot(settings, core=core, on_turn=on_turn)
        state = cls(settings, bot, turns, metrics, RateLimiter(settings.rate_limit_per_minute))
        state.line_router = line.make_router(bot, settings)
        state.ws = Frames(bot, settings.max_body_bytes, state.allow, state.store_unavailable)
        return state

    def close(self) -> None:
        self.bot.store.close()
        self.turns.close()

    def allow(self, client: str) -> float | None:
        """None when the client may go on, else the seconds to wait."""
        allowed, retry_after = self.limiter.allow(client)
        return None if allowed else retry_after

    @staticmethod
    def rate_limited_body() -> bytes:
        return error_bytes("rate_limited", RATE_LIMIT_MESSAGE_JA)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.metrics.observe_request(route, status, seconds)

    def route_label(self, path: str) -> str:
        # Label by known route only, so arbitrary paths cannot blow up metric cardinality.
        return path if path in self.routes else ("/api/other" if path.startswith("/api/") else "/static")

    @staticmethod
    def store_unavailable(exc: StoreUnavailable) -> str:
        """Tell the operator; return what the user is told (they may try again)."""
        log.warning(json.dumps({"event": "store_unavailable", "error": str(exc)[:300]}, ensure_ascii=False))
        return STORE_UNAVAILABLE_JA
