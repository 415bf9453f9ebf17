"""The LINE channel's outgoing calls: the Messaging API's reply and push, with bounded retries.

429, 5xx and connection errors are retried with exponential backoff; a push always
carries an `X-Line-Retry-Key`, from its first try on, so that a retry cannot deliver
twice. Logs name the call and its status, never a LINE id or message text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("bot.line")

REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
TRANSIENT = frozenset({429, 500, 502, 503, 504})


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, json.dumps({"event": event, **fields}, ensure_ascii=False))


class LineApi:
    """Reply and push calls with bounded retries, over one httpx client for the app's lifetime."""

    def __init__(
        self, base: str, access_token: str, *, tries: int, retry_base_seconds: float, timeout_seconds: float
    ) -> None:
        self._base = base.rstrip("/")
        self._token = access_token
        self._tries = tries  # attempts per call, the first included
        self._retry_base = retry_base_seconds  # backoff: base, 2*base, 4*base, ...
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Created on first use so that it belongs to the server's running event loop.
        # httpx is imported here too: it is a tenth of a second of every server's cold
        # start, and a server without LINE never needs it.
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=min(5.0, self._timeout)),
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
        log_event("line_call_failed", logging.WARNING, path=REPLY_PATH, status=response.status_code,
                  reason=_error_message(response))
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
        log_event("line_call_failed", logging.WARNING, path=PUSH_PATH, status=response.status_code,
                  reason=_error_message(response))
        return False

    async def _post(
        self, path: str, body: dict[str, Any], headers: dict[str, str], may_retry: Callable[[], bool]
    ) -> httpx.Response | None:
        """POST with retries on 429, 5xx and connection errors; the last response, or None if none came."""
        import httpx  # see _http(); once loaded, this is a dictionary lookup

        headers = {"Authorization": f"Bearer {self._token}", **headers}
        response: httpx.Response | None = None
        for attempt in range(1, self._tries + 1):
            try:
                response = await self._http().post(self._base + path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                response = None
                log_event("line_call_error", path=path, attempt=attempt, error=type(exc).__name__)
            else:
                if response.status_code not in TRANSIENT:
                    return response
                log_event("line_call_retryable", path=path, attempt=attempt, status=response.status_code)
            if attempt == self._tries or not may_retry():
                break
            await asyncio.sleep(self._retry_base * 2 ** (attempt - 1))
        return response


def _error_message(response: httpx.Response) -> str:
    """LINE's error `message` (it names the problem, never the user), cut short for logs."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    message = payload.get("message") if isinstance(payload, dict) else None
    return message[:200] if isinstance(message, str) else ""
