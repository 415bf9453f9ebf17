"""A plain ASGI middleware in front of every HTTP route: body size limit, rate limit, metrics.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: the latter runs each request through
an extra task and stream, which cost a quarter of the bot's HTTP throughput (bench/README.md).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bot.operations.errors import error_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: Callable[[str], int],
        route_label: Callable[[str], str],
        allow: Callable[[str], float | None],
        observe: Callable[[str, int, float], None],
        rate_limited_body: bytes,
    ) -> None:
        self.app = app
        self._limit_for = limit_for
        self._route_label = route_label
        self._allow = allow
        self._observe = observe
        self._rate_limited_body = rate_limited_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = self._route_label(scope["path"])
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            limit = self._limit_for(route)
            length = header(scope, b"content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await _too_large(send_and_record, limit)
                return
            if route.startswith("/api/"):
                client = scope.get("client")
                wait = self._allow(client[0] if client else "?")
                if wait is not None:
                    await _json(send_and_record, 429, self._rate_limited_body,
                                [(b"retry-after", str(max(1, int(-(-wait // 1)))).encode())])
                    return
            if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
                # A chunked body has no Content-Length: read it here, bounded, then replay it.
                body = await _read_within(receive, limit)
                if body is None:
                    await _too_large(send_and_record, limit)
                    return
                receive = _replay(body)
            await self.app(scope, receive, send_and_record)
        finally:
            self._observe(route, status, time.perf_counter() - started)


def header(scope: Scope, name: bytes) -> str | None:
    """The first header of that (lower-case) name, or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_within(receive: Receive, limit: int) -> bytes | None:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _too_large(send: Send, limit: int) -> None:
    message = f"リクエストが大きすぎます。{limit}バイト以内にしてください。(body too large)"
    await _json(send, 413, error_bytes("too_large", message))


async def _json(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
