"""Which web pages may use the bot: CORS_ALLOW_ORIGINS, for HTTP (CORS) and the /ws handshake alike.

Browsers apply CORS to fetch() but not to WebSockets: a page on any site may open a socket to
the bot, and the browser only tells the server which site the page is on, in the handshake's
`Origin`. So the handshake is checked here, against the same list the HTTP routes' CORS uses
plus the bot's own origin (its demo page), and refused with 403 before the socket opens.

Decisions:
- The bot's own origin is the scheme and `Host` the request arrived with. Behind a reverse
  proxy that ends TLS, the proxy must pass `Host` through and say `X-Forwarded-Proto: https`
  (uvicorn then reports the scheme as wss), or the bot's own page, on https, is refused.
  A browser cannot be made to send another site's `Host`, so this cannot be used to get in.
- A handshake without `Origin` is served: browsers always send one, so it is not a page in
  a citizen's browser (it is a script, a test or a benchmark), and a script could send any
  `Origin` it likes anyway. The check protects citizens' browsers, not the server.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.operations.errors import error_bytes
from bot.operations.guard import ASGIApp, Receive, Scope, Send, header

log = logging.getLogger("bot")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}

REFUSED_JA = "このページからはチャットに接続できません。(origin not allowed)"


def normalize_origin(text: str) -> str:
    """An origin written as browsers send it in `Origin`: scheme://host[:port], lower case,
    no default port; anything else (a path, a query, user info, another scheme) is a ValueError.

    >>> normalize_origin("HTTPS://City.Example:443")
    'https://city.example'
    >>> normalize_origin("http://127.0.0.1:8000")
    'http://127.0.0.1:8000'
    >>> normalize_origin("http://[::1]:8000")
    'http://[::1]:8000'
    >>> normalize_origin("https://city.example/")
    Traceback (most recent call last):
    ValueError: an origin has no path: write 'https://city.example/' as scheme://host[:port]
    >>> normalize_origin("https://city.example?")
    Traceback (most recent call last):
    ValueError: an origin has no path: write 'https://city.example?' as scheme://host[:port]
    >>> normalize_origin("city.example")
    Traceback (most recent call last):
    ValueError: an origin starts with http:// or https://, not 'city.example'
    """
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} is not an origin (scheme://host[:port])") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"an origin starts with http:// or https://, not {text!r}")
    if parts.path or "?" in text or "#" in text or "@" in parts.netloc:
        raise ValueError(f"an origin has no path: write {text!r} as scheme://host[:port]")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def own_origin(scheme: str, host: str | None) -> str | None:
    """The origin a request reached the bot at, from its scope's scheme and its `Host`.

    >>> own_origin("ws", "127.0.0.1:8000")
    'http://127.0.0.1:8000'
    >>> own_origin("wss", "Bot.City.Example:443")
    'https://bot.city.example'
    >>> own_origin("ws", None) is None
    True
    """
    if not host or scheme not in _HTTP_SCHEME:
        return None
    try:
        return normalize_origin(f"{_HTTP_SCHEME[scheme]}://{host}")
    except ValueError:
        return None


@dataclass(frozen=True)
class AllowedOrigins:
    """CORS_ALLOW_ORIGINS, already normalised (bot/operations/settings.py): ("*",) allows any page."""

    origins: tuple[str, ...]

    @property
    def any(self) -> bool:
        return self.origins == ("*",)

    def allows_websocket(self, origin: str | None, own: str | None) -> bool:
        """Whether a handshake with this `Origin` (None: there was none) may open a socket.

        >>> city = AllowedOrigins(("https://city.example",))
        >>> [city.allows_websocket(o, "http://127.0.0.1:8000") for o in
        ...  ["https://city.example", "https://CITY.example:443", "http://127.0.0.1:8000", None]]
        [True, True, True, True]
        >>> [city.allows_websocket(o, "http://127.0.0.1:8000") for o in
        ...  ["https://evil.example", "http://city.example", "https://city.example.evil.example", "null", ""]]
        [False, False, False, False, False]
        >>> AllowedOrigins(("*",)).allows_websocket("null", None)
        True
        """
        if origin is None or self.any:
            return True
        try:
            origin = normalize_origin(origin)
        except ValueError:
            return False  # "null" (a sandboxed frame, a file), or not an origin at all
        return origin in self.origins or origin == own


class WebSocketOrigins:
    """Refuses a WebSocket handshake from a page outside `allowed`: 403 and a JSON error, no socket."""

    def __init__(self, app: ASGIApp, *, allowed: AllowedOrigins) -> None:
        self.app = app
        self._allowed = allowed
        self._refusal = error_bytes("origin_not_allowed", REFUSED_JA)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            origin = header(scope, b"origin")
            own = own_origin(scope.get("scheme", "ws"), header(scope, b"host"))
            if not self._allowed.allows_websocket(origin, own):
                log.info(json.dumps({"event": "ws_origin_refused", "origin": (origin or "")[:200]}, ensure_ascii=False))
                await self._refuse(scope, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if "websocket.http.response" not in scope.get("extensions", {}):
            # A server without the denial-response extension turns a close before accept into a 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._refusal)).encode())]
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": self._refusal})
