"""CORS_ALLOW_ORIGINS at the /ws handshake: browsers do not apply CORS to WebSockets, so the
server checks Origin itself. Over real WebSocket connections to a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from conftest import CITY_ORIGIN, LiveServer, loopback


def handshake(url: str, origin: str | None, headers: dict[str, str] | None = None) -> dict[str, Any] | int:
    """The welcome frame when the socket opens, else the handshake's HTTP status and body."""

    async def attempt() -> dict[str, Any] | int:
        try:
            async with connect(url, origin=origin, additional_headers=headers, open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "hello"}))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))
        except InvalidStatus as refused:
            body = json.loads(refused.response.body or b"{}")
            assert body["error"]["code"] == "origin_not_allowed", body
            assert "接続できません" in body["error"]["message"], body
            return refused.response.status_code

    return asyncio.run(asyncio.wait_for(attempt(), 30))


@pytest.mark.parametrize("origin", [
    "https://evil.example",
    "https://www.city.example.evil.example",  # a prefix is not the origin
    "http://www.city.example",  # nor is another scheme
    "https://www.city.example:8443",  # or another port
    "null",  # a sandboxed frame or a file
])
def test_a_socket_from_an_origin_outside_the_list_is_refused_at_the_handshake(city_server: LiveServer, origin: str) -> None:
    assert handshake(city_server.ws_url, origin) == 403


@pytest.mark.parametrize("origin", [CITY_ORIGIN, "HTTPS://WWW.CITY.EXAMPLE:443", "own", None])
def test_the_listed_origin_the_bots_own_page_and_non_browsers_are_served(city_server: LiveServer, origin: str | None) -> None:
    welcome = handshake(city_server.ws_url, city_server.url if origin == "own" else origin)
    assert isinstance(welcome, dict) and welcome["type"] == "welcome", welcome


def test_behind_a_tls_proxy_the_bots_own_origin_is_https(city_server: LiveServer) -> None:
    """A proxy that ends TLS says so with X-Forwarded-Proto (trusted from 127.0.0.1, uvicorn's default)."""
    own_https = city_server.url.replace("http://", "https://")
    welcome = handshake(city_server.ws_url, own_https, {"X-Forwarded-Proto": "https"})
    assert isinstance(welcome, dict) and welcome["type"] == "welcome", welcome
    # Without it the bot cannot tell its https page from another site's.
    assert handshake(city_server.ws_url, own_https) == 403


def test_refused_sockets_leave_the_http_routes_as_they_were(city_server: LiveServer) -> None:
    assert handshake(city_server.ws_url, "https://evil.example") == 403
    response = loopback.post(city_server.url + "/api/chat", json={"text": "手数料はいくら?"}, headers={"Origin": CITY_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == CITY_ORIGIN


def test_with_the_default_any_page_may_open_a_socket(app_factory: Callable[..., TestClient]) -> None:
    client = app_factory(cors_allow_origins=("*",))  # the default, for local use
    for origin in ["https://anywhere.example", "null"]:
        with client.websocket_connect("/ws", headers={"Origin": origin}) as ws:
            ws.send_text(json.dumps({"type": "hello"}))
            assert ws.receive_json()["type"] == "welcome"
