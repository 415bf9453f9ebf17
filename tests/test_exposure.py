"""/metrics is not public (METRICS_TOKEN, else loopback clients only), and the start-up warning
about a bot that listens beyond loopback while any page may use it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import METRICS_TOKEN, LiveServer, loopback

LOOPBACK = ("127.0.0.1", 40000)
ELSEWHERE = ("192.0.2.7", 40000)  # TEST-NET-1: an address that is not this machine's


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "メトリクス" in error["message"]  # Japanese first
    assert "chatbot_" not in response.text


def test_with_a_token_metrics_answer_only_the_bearer_over_a_real_connection(city_server: LiveServer) -> None:
    url = city_server.url + "/metrics"
    missing = loopback.get(url)  # from 127.0.0.1: loopback alone is not enough once a token is set
    assert_refused(missing, 401, "metrics_token_required")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_refused(loopback.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"}), 401,
                   "metrics_token_required")
    assert_refused(loopback.get(url, headers={"Authorization": f"Basic {METRICS_TOKEN}"}), 401, "metrics_token_required")
    assert_refused(loopback.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}x"}), 401, "metrics_token_required")
    scraped = loopback.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "chatbot_http_requests_total" in scraped.text


def test_with_a_token_it_is_asked_of_every_client(app_factory: Callable[..., TestClient]) -> None:
    for client in (LOOPBACK, ELSEWHERE):
        app = app_factory(metrics_token=METRICS_TOKEN, client=client)
        assert_refused(app.get("/metrics"), 401, "metrics_token_required")
        assert app.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200


def test_without_a_token_only_loopback_clients_are_answered(app_factory: Callable[..., TestClient]) -> None:
    assert app_factory(metrics_token=None, client=LOOPBACK).get("/metrics").status_code == 200
    for client in (ELSEWHERE, ("::ffff:192.0.2.7", 40000), ("testclient", 50000)):
        app = app_factory(metrics_token=None, client=client)
        assert_refused(app.get("/metrics"), 403, "metrics_loopback_only")
        # A token the server does not have opens nothing.
        assert_refused(app.get("/metrics", headers={"Authorization": "Bearer anything-0123456789"}), 403,
                       "metrics_loopback_only")


def test_refusals_are_counted_like_any_request(app_factory: Callable[..., TestClient]) -> None:
    app = app_factory(metrics_token=METRICS_TOKEN, client=ELSEWHERE)
    app.get("/metrics")
    text = app.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'chatbot_http_requests_total{route="/metrics",status="401"} 1.0' in text


@pytest.fixture
def bot_log(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The bot's JSON event log, which otherwise goes to stderr only."""
    monkeypatch.setattr(logging.getLogger("bot"), "propagate", True)
    caplog.set_level(logging.INFO, logger="bot")
    return caplog


def warnings_in(log: pytest.LogCaptureFixture) -> list[str]:
    return [json.loads(r.getMessage())["warning"] for r in log.records
            if r.levelno == logging.WARNING and "deployment_warning" in r.getMessage()]


def test_start_up_warns_when_any_origin_may_use_a_bot_beyond_loopback(
    app_factory: Callable[..., TestClient], bot_log: pytest.LogCaptureFixture
) -> None:
    app_factory(host="0.0.0.0", cors_allow_origins=("*",))
    [warning] = warnings_in(bot_log)
    assert "HOST=0.0.0.0" in warning and "CORS_ALLOW_ORIGINS" in warning


@pytest.mark.parametrize(("host", "origins"), [
    ("127.0.0.1", ("*",)),  # make run's default: only this machine can reach it
    ("localhost", ("*",)),
    ("0.0.0.0", ("https://www.city.example",)),  # pinned
])
def test_no_warning_when_loopback_or_pinned(
    app_factory: Callable[..., TestClient], bot_log: pytest.LogCaptureFixture, host: str, origins: tuple[str, ...]
) -> None:
    app_factory(host=host, cors_allow_origins=origins)
    assert warnings_in(bot_log) == []
