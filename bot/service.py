"""The composition root: the bot, its log, metrics and limits, built once from settings.

server.py routes call into this; nothing here knows about HTTP frameworks except
the WebSocket frame format, which is a channel's I/O translation.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bot import line
from bot.engine import Bot, Core, InputError, TurnEvent
from bot.metrics import Metrics
from bot.ratelimit import RATE_LIMIT_MESSAGE_JA, RateLimiter
from bot.sessions import StoreUnavailable
from bot.settings import Settings
from bot.storage import TurnLog

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

KNOWN_ROUTES = ("/api/chat", "/api/welcome", "/api/rules/expiry", "/api/rules/renewal-window",
                "/api/rules/fee", "/webhook/line", "/healthz", "/metrics", "/ws")


@dataclass
class AppState:
    settings: Settings
    bot: Bot
    turns: TurnLog
    metrics: Metrics
    limiter: RateLimiter
    line_router: Any = None

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
                         at=datetime.now(timezone.utc), names=event.names)
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
        state.line_router = line.make_router(state)
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
        return json.dumps({"error": {"code": "rate_limited", "message": RATE_LIMIT_MESSAGE_JA}},
                          ensure_ascii=False).encode()

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.metrics.observe_request(route, status, seconds)

    @staticmethod
    def route_label(path: str) -> str:
        # Label by known route only, so arbitrary paths cannot blow up metric cardinality.
        return path if path in KNOWN_ROUTES else ("/api/other" if path.startswith("/api/") else "/static")

    def ws_frame(self, raw: str, client: str) -> dict[str, Any]:
        """One WebSocket frame in, one frame out (see README: the /ws protocol)."""
        frame_id = None
        try:
            if len(raw) > self.settings.max_body_bytes:
                raise InputError("too_large", "メッセージが大きすぎます。(frame too large)")
            try:
                frame = json.loads(raw)
            except ValueError:
                raise InputError("invalid_json", "JSONとして読めないメッセージです。(malformed JSON frame)") from None
            if not isinstance(frame, dict):
                raise InputError("invalid_frame", "メッセージはJSONオブジェクトで送ってください。(frame must be an object)")
            frame_id = frame.get("id") if isinstance(frame.get("id"), (str, int)) else None
            kind = frame.get("type")
            if self.allow(client) is not None:
                return {"type": "error", "id": frame_id,
                        "error": {"code": "rate_limited", "message": RATE_LIMIT_MESSAGE_JA}}
            if kind == "hello":
                turn = self.bot.welcome(frame.get("session_id"), frame.get("municipality"))
                return {"type": "welcome", "session_id": turn.session_id,
                        "messages": [m.as_dict() for m in turn.messages]}
            if kind == "message":
                turn = self.bot.reply(frame.get("text"), frame.get("session_id"), frame.get("municipality"), channel="ws")
                return {"type": "reply", "id": frame_id, **turn.as_dict()}
            raise InputError("unknown_type", "不明な種類のメッセージです。(type must be hello or message)")
        except InputError as exc:
            return {"type": "error", "id": frame_id, "error": {"code": exc.code, "message": str(exc)}}
        except StoreUnavailable as exc:
            self.store_unavailable(exc)
            return {"type": "error", "id": frame_id,
                    "error": {"code": "store_unavailable", "message": STORE_UNAVAILABLE_JA}}

    @staticmethod
    def store_unavailable(exc: StoreUnavailable) -> None:
        """Tell the operator; the user gets STORE_UNAVAILABLE_JA and may try again."""
        log.warning(json.dumps({"event": "store_unavailable", "error": str(exc)[:300]}, ensure_ascii=False))
