"""The widget is embedded on other sites: the HTTP fallback needs CORS."""

from __future__ import annotations

import httpx


def test_preflight_and_simple_request_from_another_origin(server_factory) -> None:  # noqa: ANN001
    server = server_factory(CORS_ALLOW_ORIGINS="https://www.city.example")
    preflight = httpx.options(
        server.url + "/api/chat",
        headers={"Origin": "https://www.city.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://www.city.example"
    answer = httpx.post(server.url + "/api/chat", json={"text": "こんにちは"}, headers={"Origin": "https://www.city.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://www.city.example"
    other = httpx.post(server.url + "/api/chat", json={"text": "こんにちは"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
