"""The WebSocket channel's frames (README: the /ws protocol): one JSON frame in, one out.

    → {"type": "hello", "session_id": null | "…", "municipality": "zama" | null}
    ← {"type": "welcome", "session_id": "…", "messages": [...]}
    → {"type": "message", "id": "c1", "text": "…", "session_id": "…", "municipality": …}
    ← {"type": "reply", "id": "c1", "session_id": "…", "intent": …, ...}
    ← {"type": "error", "id": "c1" | null, "error": {"code": "…", "message": "…"}}

A bad frame gets an error frame and the connection stays usable. The socket itself (accept,
origin check, binary frames) is server.py's; this only translates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.engine import Bot, InputError
from bot.operations.errors import error_body
from bot.operations.ratelimit import RATE_LIMIT_MESSAGE_JA
from bot.stores.sessions import StoreUnavailable

__all__ = ["Frames"]


class Frames:
    def __init__(self, bot: Bot, max_bytes: int, allow: Callable[[str], float | None],
                 store_unavailable: Callable[[StoreUnavailable], str]) -> None:
        """`allow(client)` is None when the client may go on; `store_unavailable` tells the
        operator and returns what the user is told."""
        self._bot = bot
        self._max_bytes = max_bytes
        self._allow = allow
        self._store_unavailable = store_unavailable

    def answer(self, raw: str, client: str) -> dict[str, Any]:
        frame_id = None
        try:
            if len(raw) > self._max_bytes:
                raise InputError("too_large", "メッセージが大きすぎます。(frame too large)")
            try:
                frame = json.loads(raw)
            except ValueError:
                raise InputError("invalid_json", "JSONとして読めないメッセージです。(malformed JSON frame)") from None
            if not isinstance(frame, dict):
                raise InputError("invalid_frame", "メッセージはJSONオブジェクトで送ってください。(frame must be an object)")
            frame_id = frame.get("id") if isinstance(frame.get("id"), (str, int)) else None
            kind = frame.get("type")
            if self._allow(client) is not None:
                return {"type": "error", "id": frame_id, **error_body("rate_limited", RATE_LIMIT_MESSAGE_JA)}
            if kind == "hello":
                turn = self._bot.welcome(frame.get("session_id"), frame.get("municipality"))
                return {"type": "welcome", "session_id": turn.session_id,
                        "messages": [m.as_dict() for m in turn.messages]}
            if kind == "message":
                turn = self._bot.reply(frame.get("text"), frame.get("session_id"), frame.get("municipality"),
                                       channel="ws")
                return {"type": "reply", "id": frame_id, **turn.as_dict()}
            raise InputError("unknown_type", "不明な種類のメッセージです。(type must be hello or message)")
        except InputError as exc:
            return {"type": "error", "id": frame_id, **error_body(exc.code, str(exc))}
        except StoreUnavailable as exc:
            return {"type": "error", "id": frame_id, **error_body("store_unavailable", self._store_unavailable(exc))}
