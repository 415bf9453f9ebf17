"""The LINE channel: the Messaging API's webhook in, reply (or push) calls out.

Only I/O: the signature check, the webhook route, the background handling of events
and the calls out (`bot.channels.line_api`). What an event says and what a Turn looks like as
LINE messages is pure translation in `bot.line_messages`.

A signed webhook is answered 200 at once; each event is then handled in the
background: a text message or a postback goes through `Bot.reply`, exactly as a web
turn does, a follow event gets `Bot.welcome`, and the Turn becomes LINE message objects
(at most 5 bubbles of at most 5,000 characters, the quick replies as LINE quick-reply
items on the last bubble).

Decisions:
- A conversation is keyed by the LINE user, through a keyed digest: `line:` and the
  HMAC-SHA256 of the user (in a group or a room: of the place and the user, so each member
  has their own dialogue there, apart from a 1:1 chat), under a key derived from the
  channel secret. No store holds a LINE id; the push fallback takes the id from the event
  being handled, in memory.
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
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot.channels.line_api import LineApi, log_event
from bot.channels.line_messages import (
    CHANNEL,
    FAILED_JA,
    ONLY_TEXT_JA,
    event_action,
    event_text,
    line_messages,
    push_target,
    session_key,
    session_secret,
)
from bot.engine import Bot, InputError, Turn
from bot.knowledge.message import Message
from bot.operations.errors import error_body
from bot.operations.privacy import pseudonym
from bot.operations.settings import ConfigError, Settings
from bot.stores.sessions import StoreUnavailable

# LINE may batch several events of up to 5,000 characters each into one webhook.
WEBHOOK_MAX_BODY_BYTES = 1_048_576


@dataclass(frozen=True)
class LineConfig:
    """The channel's own settings (bot/operations/settings.py reads them from the environment)."""

    municipality: str | None  # LINE_MUNICIPALITY: the local details this account speaks for
    reply_token_seconds: float  # a reply token older than this is not tried; push instead
    tries: int  # attempts per outgoing call, the first included
    retry_base_seconds: float  # backoff: base, 2*base, 4*base, ...
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> LineConfig:
        return cls(
            municipality=settings.line_municipality,
            reply_token_seconds=settings.line_reply_token_seconds,
            tries=settings.line_retry_tries,
            retry_base_seconds=settings.line_retry_base_seconds,
            timeout_seconds=settings.line_http_timeout_seconds,
        )


# --- the signature ---------------------------------------------------------


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


# --- the channel ------------------------------------------------------------


class LineChannel:
    """Turns webhook events into bot turns and bot turns into LINE calls, in the background."""

    def __init__(self, bot: Bot, settings: Settings, config: LineConfig) -> None:
        self._bot = bot
        self._config = config
        secret = settings.line_channel_secret
        self._session_secret = session_secret(secret) if secret else None
        self._api = LineApi(settings.line_api_base, settings.line_channel_access_token or "", tries=config.tries,
                            retry_base_seconds=config.retry_base_seconds, timeout_seconds=config.timeout_seconds)
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    def dispatch(self, events: Sequence[object], received: float) -> int:
        """Schedule the events; returns how many will be handled. Never waits for them."""
        scheduled = 0
        if self._session_secret is None:
            return 0  # the route refuses every webhook without a channel secret
        for event in events:
            if not isinstance(event, dict):
                continue
            key = session_key(event.get("source"), self._session_secret)
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
            log_event("line_event_error", logging.ERROR, conversation=pseudonym(key), error=type(exc).__name__)
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    async def _handle(self, event: dict[str, Any], key: str, received: float) -> None:
        kind = event.get("type")
        tag = pseudonym(key)
        if event.get("mode") == "standby":
            # Another channel (a chat module, a human operator) owns the conversation now.
            return
        if kind == "unfollow":
            await asyncio.to_thread(self._bot.reset, key)
            return
        action = event_action(event)
        if action is None:
            return
        if not await self._claim(event, tag):
            return
        if action == "welcome":
            turn = await asyncio.to_thread(self._bot.welcome, key, self._config.municipality, "line")
            messages = turn.messages
        elif action == "only_text":
            menu = await asyncio.to_thread(self._bot.welcome, key, self._config.municipality, "line")
            messages = (Message(ONLY_TEXT_JA, menu.messages[-1].quick_replies if menu.messages else ()),)
        else:
            messages = await self._turn(event_text(event) or "", key, tag)
        await self._deliver(event, messages, received, tag)

    async def _claim(self, event: dict[str, Any], tag: str) -> bool:
        event_id = event.get("webhookEventId")
        if not isinstance(event_id, str) or not event_id:
            return True  # nothing to deduplicate by (very old webhook formats)
        try:
            if await asyncio.to_thread(self._bot.store.claim_event, "line:" + event_id):
                return True
        except StoreUnavailable:
            # Cannot tell a redelivery from a first delivery: answering twice is better than
            # leaving the user with no answer at all (the turn will say to try again).
            log_event("line_claim_unavailable", logging.WARNING, conversation=tag)
            return True
        context = event.get("deliveryContext")
        redelivery = isinstance(context, dict) and context.get("isRedelivery") is True
        log_event("line_event_duplicate", conversation=tag, redelivery=redelivery)
        return False

    async def _turn(self, text: str, key: str, tag: str) -> tuple[Message, ...]:
        try:
            turn: Turn = await asyncio.to_thread(self._bot.reply, text, key, self._config.municipality, channel="line")
        except InputError as exc:
            # Too long, empty: the same Japanese message the web gets with its 4xx.
            return (Message(str(exc)),)
        except Exception as exc:  # noqa: BLE001 - the user still deserves an answer
            log_event("line_turn_error", logging.ERROR, conversation=tag, error=type(exc).__name__)
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
                log_event("line_reply", logging.INFO if outcome == "sent" else logging.WARNING, conversation=tag, outcome=outcome)
                return
        to = push_target(event.get("source"))
        if to is None:
            log_event("line_push_impossible", logging.WARNING, conversation=tag)
            return
        sent = await self._api.push(to, body)
        log_event("line_push", logging.INFO if sent else logging.WARNING, conversation=tag, outcome="sent" if sent else "failed")



# --- the route --------------------------------------------------------------


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


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


def make_router(bot: Bot, settings: Settings) -> APIRouter:
    """The `POST /webhook/line` route, with a lifespan that closes the LINE client on shutdown."""
    config = LineConfig.from_settings(settings)
    if config.municipality and bot.core.knowledge.municipality(config.municipality) is None:
        raise ConfigError(f"Config 'LINE_MUNICIPALITY' names no municipality profile: {config.municipality!r}")
    channel = LineChannel(bot, settings, config)
    bot.reserve_keys(CHANNEL)

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
