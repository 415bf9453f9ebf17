"""The LINE channel's pure translation: webhook events in, Messaging API message objects out.

No I/O and no clocks: `bot.channels.line` feeds these functions a parsed webhook event or a
Turn's messages and sends what they return.

LINE's documented limits (Messaging API reference: reply message, text message, quick
reply) are kept here, because LINE cuts nothing itself: one label over 20 characters
makes the whole call fail.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from bot.engine import channel_session_id
from bot.knowledge.message import Message

CHANNEL = "line"  # conversations keyed "line:…" (bot.engine.channel_session_id): only this channel opens them

MAX_MESSAGES = 5
MAX_TEXT_CHARS = 5000
MAX_QUICK_REPLIES = 13
MAX_LABEL_CHARS = 20
MAX_ACTION_TEXT_CHARS = 300

# The channel's own phrases: they speak about this chat, not about certificates.
ONLY_TEXT_JA = "申し訳ありません。このチャットでは文字のメッセージだけを読み取れます。ご質問を文字で送ってください。"
FAILED_JA = "申し訳ありません。ただいまお答えできませんでした。少し時間をおいて、もう一度お送りください。"
CUT_JA = "\n(長いため、ここから先は省略しました)"
SOURCE_JA = "出典:"


# --- events in --------------------------------------------------------------


def _line_id(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def session_secret(channel_secret: str) -> bytes:
    """The key of conversation ids, derived from the channel secret.

    A key of its own, so that the secret that signs webhooks keys one thing only.
    Rotating the channel secret starts every LINE conversation afresh, as an idle
    timeout would.
    """
    return hmac.new(channel_secret.encode("utf-8"), b"bot.line session key v1", hashlib.sha256).digest()


def session_key(source: object, secret: bytes) -> str | None:
    """The conversation an event belongs to, or None when the source names nobody.

    A keyed digest (HMAC-SHA256) of who and where: stable across messages and
    restarts, the same in every worker, and no store ever holds a LINE id. In a group
    or a room each member has their own conversation, apart from their 1:1 chat.
    The example agrees with openssl: K=$(printf 'bot.line session key v1' | openssl dgst
    -sha256 -hmac secret -hex), then printf 'user\\nU4af4980629' | openssl dgst -sha256
    -mac HMAC -macopt hexkey:$K.

    >>> key = session_key({"type": "user", "userId": "U4af4980629"}, session_secret("secret"))
    >>> key
    'line:93b1788ce3931ac2ae8d5560b4cea994fd394671b52bfe18077b84b9712690b9'
    >>> session_key({"type": "group", "groupId": "Ca56f9463", "userId": "U4af4980629"}, session_secret("secret")) != key
    True
    >>> session_key({"type": "user"}, session_secret("secret")) is None
    True
    """
    if not isinstance(source, dict):
        return None
    user = _line_id(source.get("userId"))
    kind = source.get("type")
    if kind in ("group", "room"):
        place = _line_id(source.get("groupId" if kind == "group" else "roomId"))
        if place is None:
            return None
        who = f"{kind}\n{place}\n{user or ''}"
    elif user is not None:
        who = f"user\n{user}"
    else:
        return None
    return channel_session_id(CHANNEL, hmac.new(secret, who.encode("utf-8"), hashlib.sha256).hexdigest())


def push_target(source: object) -> str | None:
    """Where a push goes: the group or room the event came from, else the user."""
    if not isinstance(source, dict):
        return None
    kind = source.get("type")
    if kind == "group":
        return _line_id(source.get("groupId"))
    if kind == "room":
        return _line_id(source.get("roomId"))
    return _line_id(source.get("userId"))


def event_text(event: dict[str, Any]) -> str | None:
    """What the user said: a text message's text, or a postback's displayed text (else its data).

    >>> event_text({"type": "message", "message": {"type": "text", "text": "手数料は?"}})
    '手数料は?'
    >>> event_text({"type": "postback", "postback": {"data": "暗証番号を忘れた"}})
    '暗証番号を忘れた'
    """
    if event.get("type") == "message":
        message = event.get("message")
        if isinstance(message, dict) and message.get("type") == "text" and isinstance(message.get("text"), str):
            return str(message["text"])
        return None
    if event.get("type") == "postback":
        postback = event.get("postback")
        if isinstance(postback, dict):
            for field in ("displayText", "data"):
                if isinstance(postback.get(field), str) and postback[field].strip():
                    return str(postback[field])
    return None


def event_action(event: dict[str, Any]) -> str | None:
    """What an event asks of the bot: 'turn', 'welcome', 'only_text', or None (nothing).

    >>> event_action({"type": "message", "message": {"type": "sticker"}})
    'only_text'
    >>> event_action({"type": "postback", "postback": {"data": " "}}) is None
    True
    """
    kind = event.get("type")
    if kind == "follow":
        return "welcome"
    if kind == "postback":
        return "turn" if event_text(event) else None
    if kind == "message":
        return "turn" if event_text(event) is not None else "only_text"
    return None


# --- messages out -----------------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Cut a text into pieces of at most `limit` characters, at a line break when one is near.

    >>> split_text("abc\\ndef", 5)
    ['abc', 'def']
    >>> split_text("abcdefgh", 3)
    ['abc', 'def', 'gh']
    """
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut >= limit // 2:
            pieces.append(text[:cut])
            text = text[cut + 1 :]
        else:
            pieces.append(text[:limit])
            text = text[limit:]
    if text:
        pieces.append(text)
    return pieces


def fit_bubbles(texts: Sequence[str]) -> list[str]:
    """At most MAX_MESSAGES bubbles of at most MAX_TEXT_CHARS: split long texts, merge the rest into the last.

    >>> fit_bubbles(["1", "2", "3", "4", "5", "6", "7"])
    ['1', '2', '3', '4', '5\\n\\n6\\n\\n7']
    """
    pieces = [piece for text in texts for piece in split_text(text)]
    if len(pieces) <= MAX_MESSAGES:
        return pieces
    tail = "\n\n".join(pieces[MAX_MESSAGES - 1 :])
    if len(tail) > MAX_TEXT_CHARS:
        tail = tail[: MAX_TEXT_CHARS - len(CUT_JA)] + CUT_JA
    return [*pieces[: MAX_MESSAGES - 1], tail]


def button_label(text: str) -> str:
    """LINE cuts nothing itself: a label over 20 characters makes the whole call fail.

    >>> button_label("電子証明書の有効期限を自分で計算してみたいのですが")
    '電子証明書の有効期限を自分で計算してみ…'
    """
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def quick_reply_items(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The turn's buttons as LINE quick-reply items (LINE shows them under the last bubble only).

    Every button of the turn is kept, in order, so that "もしかして" suggestions in an
    earlier message are not lost; past 13, the later messages' buttons win because
    they answer the question just asked. Tapping sends the full text, not the label.
    """

    def usable(messages: Sequence[Message]) -> list[str]:
        return list(dict.fromkeys(
            c.strip() for m in messages for c in m.quick_replies if c.strip() and len(c.strip()) <= MAX_ACTION_TEXT_CHARS
        ))

    choices = usable(messages)
    if len(choices) > MAX_QUICK_REPLIES:
        keep = set(usable(tuple(reversed(messages)))[:MAX_QUICK_REPLIES])
        choices = [c for c in choices if c in keep]
    return [{"type": "action", "action": {"type": "message", "label": button_label(c), "text": c}} for c in choices]


def with_sources(message: Message) -> str:
    """A bubble's text with the official pages it rests on, one short line each (LINE links a bare URL).

    >>> from bot.knowledge.message import Link
    >>> with_sources(Message("更新は無料です。", links=(Link("嘉麻市「電子証明書の発行・更新」", "https://www.city.kama.lg.jp/a.html"),)))
    '更新は無料です。\\n出典:嘉麻市「電子証明書の発行・更新」 https://www.city.kama.lg.jp/a.html'
    """
    lines = [message.text.strip(), *(f"{SOURCE_JA}{link.title} {link.url}" for link in message.links)]
    return "\n".join(lines)


def line_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """A Turn's messages as the `messages` of a reply or push call.

    >>> line_messages([Message("はい", ("やめる",))])
    [{'type': 'text', 'text': 'はい', 'quickReply': {'items': [{'type': 'action', 'action': {'type': 'message', 'label': 'やめる', 'text': 'やめる'}}]}}]
    """
    bubbles: list[dict[str, Any]] = [
        {"type": "text", "text": text} for text in fit_bubbles([with_sources(m) for m in messages if m.text.strip()])
    ]
    items = quick_reply_items(messages)
    if bubbles and items:
        bubbles[-1]["quickReply"] = {"items": items}
    return bubbles
