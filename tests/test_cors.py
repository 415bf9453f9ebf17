"""The widget is embedded on other sites: the HTTP fallback needs CORS."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_preflight_and_simple_request_from_another_origin(app_factory: Callable[..., TestClient]) -> None:
    client = app_factory(cors_allow_origins=("https://www.city.example",))
    preflight = client.options(
        "/api/chat",
        headers={"Origin": "https://www.city.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://www.city.example"
    answer = client.post("/api/chat", json={"text": "こんにちは"}, headers={"Origin": "https://www.city.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://www.city.example"
    other = client.post("/api/chat", json={"text": "こんにちは"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
