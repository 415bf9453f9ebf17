"""What a turn of conversation produces: the shapes every channel translates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Link:
    """An official page an answer rests on (https only; knowledge loading checks it)."""

    title: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url}


@dataclass(frozen=True)
class Message:
    text: str
    quick_replies: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "quick_replies": list(self.quick_replies),
                "links": [link.as_dict() for link in self.links]}

    def but(self, **changes: Any) -> Message:
        return replace(self, **changes)


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
