"""One thing the bot says (Message), and an official page it rests on (Link): what answers, the dialogue and
every channel pass around."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.records import copied


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
        return copied(self, changes)
