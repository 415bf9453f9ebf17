"""The LINE channel: the Messaging API's webhook in, reply (or push) calls out.

Only I/O translation. A signed webhook is answered 200 at once; each event is then
handled in the background: a text message or a postback goes through `Bot.reply`,
exactly as a web turn does, a follow event gets `Bot.welcome`, and the Turn becomes
LINE message objects (at most 5 bubbles of at most 5,000 characters, the quick replies
as LINE quick-reply items on the last bubble).

Decisions:
- A conversation is keyed by the LINE user: `line:{userId}`. In a group or a room it is
  `line:{groupId|roomId}:{userId}`, so each member has their own dialogue there and a
  1:1 chat with the same person stays separate.
- Events of one conversation are handled in arrival order, one at a time; different
  conversations run side by side. `Bot.reply` is synchronous and runs in a thread.
- An event is claimed in the session store under `line:{webhookEventId}` before it is
  handled, so a redelivered event (`deliveryContext.isRedelivery`) is answered once,
  also after a restart.
- A message that is not text (sticker, image, ...) gets a short note that only text is
  understood, with the menu buttons. unfollow forgets the conversation; join, leave,
  standby-mode events and unknown types get nothing.
- A reply token older than LINE_REPLY_TOKEN_SECONDS, or one LINE rejects, falls back to
  the push API. 429, 5xx and connection errors are retried with exponential backoff;
  pushes always carry an `X-Line-Retry-Key` so a retry cannot deliver twice.
- Logs never hold message text or LINE ids: a conversation is named by a short hash.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot.engine import InputError, valid_session_id
from bot.replies import Message, Turn
from bot.settings import ConfigError

log = logging.getLogger("bot.line")

# LINE may batch several events of up to 5,000 characters each into one webhook.
WEBHOOK_MAX_BODY_BYTES = 1_048_576

# LINE's documented limits (Messaging API reference: reply message, text message, quick reply).
MAX_MESSAGES = 5
MAX_TEXT_CHARS = 5000
MAX_QUICK_REPLIES = 13
MAX_LABEL_CHARS = 20
MAX_ACTION_TEXT_CHARS = 300

REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
TRANSIENT = frozenset({429, 500, 502, 503, 504})

# The channel's own phrases: they speak about this chat, not about certificates.
ONLY_TEXT_JA = "申し訳ありません。このチャットでは文字のメッセージだけを読み取れます。ご質問を文字で送ってください。"
FAILED_JA = "申し訳ありません。ただいまお答えできませんでした。少し時間をおいて、もう一度お送りください。"
CUT_JA = "\n(長いため、ここから先は省略しました)"


@dataclass(frozen=True)
class LineConfig:
    """The channel's own settings, read once from the environment."""

    municipality: str | None  # LINE_MUNICIPALITY: the local details this account speaks for
    reply_token_seconds: float  # a reply token older than this is not tried; push instead
    tries: int  # attempts per outgoing call, the first included
    retry_base_seconds: float  # backoff: base, 2*base, 4*base, ...
    timeout_seconds: float

    @classmethod
    def from_env(cls) -> LineConfig:
        tries = _env_number("LINE_RETRY_TRIES", 3, int)
        if tries < 1:
            raise ConfigError(f"Config 'LINE_RETRY_TRIES' must be at least 1, got {tries}")
        return cls(
            municipality=os.environ.get("LINE_MUNICIPALITY") or None,
            reply_token_seconds=_env_number("LINE_REPLY_TOKEN_SECONDS", 20.0, float),
            tries=tries,
            retry_base_seconds=_env_number("LINE_RETRY_BASE_SECONDS", 1.0, float),
            timeout_seconds=_env_number("LINE_HTTP_TIMEOUT_SECONDS", 10.0, float),
        )


def _env_number(name: str, default: Any, kind: Callable[[str], Any]) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"Config '{name}' must be a {kind.__name__}, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"Config '{name}' must not be negative, got {raw!r}")
    return value


# --- pure translation -------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """X-Line-Signature: base64 of the HMAC-SHA256 of the raw body, keyed by the channel secret.

    The example agrees with `printf '{"events":[]}' | openssl dgst -sha256 -hmac secret -binary | base64`.

    >>> signature("secret", b'{"events":[]}')
    'pkK1lVPJPiJ+wPLziRD79xIxohl8AImYM8AEeM7IbzQ='
    """
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    # Compare bytes: compare_digest refuses non-ASCII str, and a header is caller-controlled.
    return hmac.compare_digest(signature(secret, body).encode("ascii"), header.encode("utf-8", "replace"))


def _line_id(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def session_key(source: object) -> str | None:
    """The conversation an event belongs to, or None when the source names nobody.

    >>> session_key({"type": "user", "userId": "U4af4980629"})
    'line:U4af4980629'
    >>> session_key({"type": "group", "groupId": "Ca56f9463", "userId": "U4af4980629"})
    'line:Ca56f9463:U4af4980629'
    >>> session_key({"type": "room", "roomId": "Rb3f1"})
    'line:Rb3f1'
    >>> session_key({"type": "user"}) is None
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
        key = f"line:{place}:{user}" if user else f"line:{place}"
    elif user is not None:
        key = f"line:{user}"
    else:
        return None
    # Real LINE ids are short hex; anything else still gets a stable, valid session id.
    return key if valid_session_id(key) else "line:h:" + hashlib.sha256(key.encode()).hexdigest()[:40]


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
            return message["text"]
        return None
    if event.get("type") == "postback":
        postback = event.get("postback")
        if isinstance(postback, dict):
            for field in ("displayText", "data"):
                if isinstance(postback.get(field), str) and postback[field].strip():
                    return postback[field]
    return None


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


def line_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """A Turn's messages as the `messages` of a reply or push call.

    >>> line_messages([Message("はい", ("やめる",))])
    [{'type': 'text', 'text': 'はい', 'quickReply': {'items': [{'type': 'action', 'action': {'type': 'message', 'label': 'やめる', 'text': 'やめる'}}]}}]
    """
    bubbles: list[dict[str, Any]] = [
        {"type": "text", "text": text} for text in fit_bubbles([m.text.strip() for m in messages if m.text.strip()])
    ]
    items = quick_reply_items(messages)
    if bubbles and items:
        bubbles[-1]["quickReply"] = {"items": items}
    return bubbles


def conversation_tag(key: str) -> str:
    """A name for a conversation in logs that does not reveal the LINE id."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _log(event: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, json.dumps({"event": event, **fields}, ensure_ascii=False))


# --- outgoing calls ---------------------------------------------------------


class LineApi:
    """Reply and push calls with bounded retries, over one httpx client for the app's lifetime."""

    def __init__(self, base: str, access_token: str, config: LineConfig) -> None:
        self._base = base.rstrip("/")
        self._token = access_token
        self._config = config
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Created on first use so that it belongs to the server's running event loop.
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._config.timeout_seconds, connect=min(5.0, self._config.timeout_seconds)),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def reply(self, reply_token: str, messages: list[dict[str, Any]], still_fresh: Callable[[], bool]) -> str:
        """'sent', 'stale' (the token expired or was refused: push instead) or 'failed'."""
        response = await self._post(REPLY_PATH, {"replyToken": reply_token, "messages": messages}, {}, still_fresh)
        if response is None:
            return "stale" if not still_fresh() else "failed"
        if response.is_success:
            return "sent"
        if response.status_code == 400 and "reply token" in _error_message(response).lower():
            return "stale"
        if response.status_code in TRANSIENT and not still_fresh():
            return "stale"
        _log("line_call_failed", logging.WARNING, path=REPLY_PATH, status=response.status_code, reason=_error_message(response))
        return "failed"

    async def push(self, to: str, messages: list[dict[str, Any]]) -> bool:
        # The key goes on the first try too: LINE only deduplicates requests that all carry it.
        headers = {"X-Line-Retry-Key": str(uuid.uuid4())}
        response = await self._post(PUSH_PATH, {"to": to, "messages": messages}, headers, lambda: True)
        if response is None:
            return False
        # 409: an earlier try with this retry key was accepted already.
        if response.is_success or response.status_code == 409:
            return True
        _log("line_call_failed", logging.WARNING, path=PUSH_PATH, status=response.status_code, reason=_error_message(response))
        return False

    async def _post(
        self, path: str, body: dict[str, Any], headers: dict[str, str], may_retry: Callable[[], bool]
    ) -> httpx.Response | None:
        """POST with retries on 429, 5xx and connection errors; the last response, or None if none came."""
        headers = {"Authorization": f"Bearer {self._token}", **headers}
        response: httpx.Response | None = None
        for attempt in range(1, self._config.tries + 1):
            try:
                response = await self._http().post(self._base + path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                response = None
                _log("line_call_error", path=path, attempt=attempt, error=type(exc).__name__)
            else:
                if response.status_code not in TRANSIENT:
                    return response
                _log("line_call_retryable", path=path, attempt=attempt, status=response.status_code)
            if attempt == self._config.tries or not may_retry():
                break
            await asyncio.sleep(self._config.retry_base_seconds * 2 ** (attempt - 1))
        return response


def _error_message(response: httpx.Response) -> str:
    """LINE's error `message` (it names the problem, never the user), cut short for logs."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    message = payload.get("message") if isinstance(payload, dict) else None
    return message[:200] if isinstance(message, str) else ""


# --- the channel ------------------------------------------------------------


class LineChannel:
    """Turns webhook events into bot turns and bot turns into LINE calls, in the background."""

    def __init__(self, state: Any, config: LineConfig) -> None:
        self._bot = state.bot
        self._config = config
        self._api = LineApi(state.settings.line_api_base, state.settings.line_channel_access_token or "", config)
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    def dispatch(self, events: Sequence[object], received: float) -> int:
        """Schedule the events; returns how many will be handled. Never waits for them."""
        scheduled = 0
        for event in events:
            if not isinstance(event, dict):
                continue
            key = session_key(event.get("source"))
            if key is None:
                continue
            # Tasks start in creation order and asyncio locks are fair: a conversation's turns keep their order.
            self._waiting[key] = self._waiting.get(key, 0) + 1
            lock = self._locks.setdefault(key, asyncio.Lock())
            task = asyncio.create_task(self._run(event, key, lock, received))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            scheduled += 1
        return scheduled

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Let running events finish for a moment, then stop them and close the HTTP client."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await self._api.close()

    async def _run(self, event: dict[str, Any], key: str, lock: asyncio.Lock, received: float) -> None:
        try:
            async with lock:
                await self._handle(event, key, received)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the others
            _log("line_event_error", logging.ERROR, conversation=conversation_tag(key), error=type(exc).__name__)
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    async def _handle(self, event: dict[str, Any], key: str, received: float) -> None:
        kind = event.get("type")
        tag = conversation_tag(key)
        if event.get("mode") == "standby":
            # Another channel (a chat module, a human operator) owns the conversation now.
            return
        if kind == "unfollow":
            await asyncio.to_thread(self._bot.reset, key)
            return
        action = _action(event)
        if action is None:
            return
        if not await self._claim(event, tag):
            return
        if action == "welcome":
            turn = await asyncio.to_thread(self._bot.welcome, key, self._config.municipality)
            messages = turn.messages
        elif action == "only_text":
            menu = await asyncio.to_thread(self._bot.welcome, key, self._config.municipality)
            messages = (Message(ONLY_TEXT_JA, menu.messages[-1].quick_replies if menu.messages else ()),)
        else:
            messages = await self._turn(event_text(event) or "", key, tag)
        await self._deliver(event, messages, received, tag)

    async def _claim(self, event: dict[str, Any], tag: str) -> bool:
        event_id = event.get("webhookEventId")
        if not isinstance(event_id, str) or not event_id:
            return True  # nothing to deduplicate by (very old webhook formats)
        if await asyncio.to_thread(self._bot.store.claim_event, "line:" + event_id):
            return True
        context = event.get("deliveryContext")
        redelivery = isinstance(context, dict) and context.get("isRedelivery") is True
        _log("line_event_duplicate", conversation=tag, redelivery=redelivery)
        return False

    async def _turn(self, text: str, key: str, tag: str) -> tuple[Message, ...]:
        try:
            turn: Turn = await asyncio.to_thread(self._bot.reply, text, key, self._config.municipality, channel="line")
        except InputError as exc:
            # Too long, empty: the same Japanese message the web gets with its 4xx.
            return (Message(str(exc)),)
        except Exception as exc:  # noqa: BLE001 - the user still deserves an answer
            _log("line_turn_error", logging.ERROR, conversation=tag, error=type(exc).__name__)
            return (Message(FAILED_JA),)
        return turn.messages

    async def _deliver(self, event: dict[str, Any], messages: Sequence[Message], received: float, tag: str) -> None:
        body = line_messages(messages)
        if not body:
            return

        def still_fresh() -> bool:
            return time.monotonic() - received < self._config.reply_token_seconds

        token = event.get("replyToken")
        if isinstance(token, str) and token and still_fresh():
            outcome = await self._api.reply(token, body, still_fresh)
            if outcome != "stale":
                _log("line_reply", logging.INFO if outcome == "sent" else logging.WARNING, conversation=tag, outcome=outcome)
                return
        to = push_target(event.get("source"))
        if to is None:
            _log("line_push_impossible", logging.WARNING, conversation=tag)
            return
        sent = await self._api.push(to, body)
        _log("line_push", logging.INFO if sent else logging.WARNING, conversation=tag, outcome="sent" if sent else "failed")


def _action(event: dict[str, Any]) -> str | None:
    """What an event asks of the bot: 'turn', 'welcome', 'only_text', or None (nothing)."""
    kind = event.get("type")
    if kind == "follow":
        return "welcome"
    if kind == "postback":
        return "turn" if event_text(event) else None
    if kind == "message":
        return "turn" if event_text(event) is not None else "only_text"
    return None


# --- the route --------------------------------------------------------------


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None past `limit` bytes (a chunked body has no Content-Length to check)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_router(state: Any) -> APIRouter:
    """The `POST /webhook/line` route, with a lifespan that closes the LINE client on shutdown."""
    config = LineConfig.from_env()
    if config.municipality and state.bot.core.knowledge.municipality(config.municipality) is None:
        raise ConfigError(f"Config 'LINE_MUNICIPALITY' names no municipality profile: {config.municipality!r}")
    settings = state.settings
    channel = LineChannel(state, config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await channel.close()

    router = APIRouter(lifespan=lifespan)

    @router.post(
        "/webhook/line",
        summary="LINE Messaging API webhook",
        description="Signed with X-Line-Signature; answered 200 at once, events are handled in the background.",
        responses={400: {"description": "malformed body"}, 401: {"description": "bad or missing signature"},
                   503: {"description": "LINE is not configured"}},
    )
    async def line_webhook(request: Request) -> JSONResponse:
        secret = settings.line_channel_secret
        if not secret:
            return _error(503, "line_not_configured",
                          "LINE_CHANNEL_SECRET is not set, so LINE webhooks cannot be verified. "
                          "(LINE連携が設定されていません)")
        if not settings.line_channel_access_token:
            return _error(503, "line_not_configured",
                          "LINE_CHANNEL_ACCESS_TOKEN is not set, so the bot cannot answer on LINE. "
                          "(LINE連携が設定されていません)")
        body = await _read_body(request, WEBHOOK_MAX_BODY_BYTES)
        if body is None:
            return _error(413, "too_large", "リクエストが大きすぎます。(body too large)")
        if not signature_ok(secret, body, request.headers.get("x-line-signature")):
            return _error(401, "invalid_signature", "署名を確認できません。(X-Line-Signature is missing or wrong)")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error(400, "invalid_json", "リクエストのJSONが正しくありません。(malformed JSON body)")
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return _error(400, "invalid_webhook", "events の一覧がありません。(body must be an object with an events list)")
        channel.dispatch(events, time.monotonic())
        return JSONResponse({})

    return router
