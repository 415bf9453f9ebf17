"""The headers every HTTP answer of the bot carries, and the demo page's content security policy."""

from __future__ import annotations

from bot.operations.guard import ASGIApp, Message, Receive, Scope, Send

# Never guess a type (a JSON answer or widget.js read as HTML); tell other sites the origin at most.
EVERY_RESPONSE = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)

# The demo page (web/index.html) runs only the bot's own files: no inline script or style, no
# other origin, no framing. 'self' in connect-src covers the page's own ws: and wss: (CSP Level 3).
DEMO_PAGE_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])


class SecurityHeaders:
    """Adds EVERY_RESPONSE to each HTTP response start (error answers and CORS preflights too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *EVERY_RESPONSE]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
