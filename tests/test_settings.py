from __future__ import annotations

from datetime import date

import pytest

from bot.operations.settings import ConfigError, Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "RATE_LIMIT_PER_MINUTE", "SESSION_STORE", "BOT_TODAY", "CORS_ALLOW_ORIGINS", "LOG_RETENTION_DAYS",
                 "METRICS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.port == 8000
    assert settings.rate_limit_per_minute == 60
    assert settings.session_store == "sqlite"
    assert settings.fixed_today is None
    assert settings.cors_allow_origins == ("*",)
    assert settings.log_retention_days == 365
    assert settings.metrics_token is None


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("BOT_TODAY", "2026-01-15")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LOG_RETENTION_DAYS", "0")
    settings = Settings.from_env()
    assert settings.port == 9001
    assert settings.fixed_today == date(2026, 1, 15)
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.log_retention_days == 0  # keep every turn


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "abc", "Config 'PORT' must be an integer"),
        ("MATCH_ACCEPT_THRESHOLD", "high", "Config 'MATCH_ACCEPT_THRESHOLD' must be a number"),
        ("BOT_TODAY", "15/01/2026", "Config 'BOT_TODAY' must be a date"),
        ("SESSION_STORE", "mongo", "Config 'SESSION_STORE' must be sqlite, memory or redis"),
        ("LOG_RETENTION_DAYS", "-1", "Config 'LOG_RETENTION_DAYS' must be 0 \\(keep forever\\) or a number of days"),
        ("LOG_RETENTION_DAYS", "1y", "Config 'LOG_RETENTION_DAYS' must be an integer"),
        ("LOG_RETENTION_DAYS", "30.5", "Config 'LOG_RETENTION_DAYS' must be an integer"),
        # An origin as a browser sends it, or the widget would silently never be allowed anywhere.
        ("CORS_ALLOW_ORIGINS", "https://www.city.example/", "Config 'CORS_ALLOW_ORIGINS' must list origins"),
        ("CORS_ALLOW_ORIGINS", "https://www.city.example/kurashi/", "Config 'CORS_ALLOW_ORIGINS' must list origins"),
        ("CORS_ALLOW_ORIGINS", "www.city.example", "Config 'CORS_ALLOW_ORIGINS' must list origins"),
        ("CORS_ALLOW_ORIGINS", "ftp://www.city.example", "Config 'CORS_ALLOW_ORIGINS' must list origins"),
        ("CORS_ALLOW_ORIGINS", "https://www.city.example:99999", "Config 'CORS_ALLOW_ORIGINS' must list origins"),
        ("CORS_ALLOW_ORIGINS", "*, https://www.city.example", "Config 'CORS_ALLOW_ORIGINS' is either \\* \\(any origin\\)"),
        ("LINE_RETRY_TRIES", "0", "Config 'LINE_RETRY_TRIES' must be at least 1"),
        ("LINE_RETRY_TRIES", "two", "Config 'LINE_RETRY_TRIES' must be an integer"),
        ("LINE_REPLY_TOKEN_SECONDS", "-1", "Config 'LINE_REPLY_TOKEN_SECONDS' must be 0 or more"),
        ("LINE_HTTP_TIMEOUT_SECONDS", "soon", "Config 'LINE_HTTP_TIMEOUT_SECONDS' must be a number"),
        ("METRICS_TOKEN", "short", "Config 'METRICS_TOKEN' must be at least 16"),
        ("METRICS_TOKEN", "sixteen chars and spaces", "Config 'METRICS_TOKEN' must be at least 16"),
    ],
)
def test_bad_values_are_loud(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env()


def test_origins_are_kept_as_browsers_send_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "HTTPS://WWW.City.Example:443,http://127.0.0.1:8000, https://www.city.example")
    assert Settings.from_env().cors_allow_origins == ("https://www.city.example", "http://127.0.0.1:8000")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", " * ")
    assert Settings.from_env().cors_allow_origins == ("*",)


def test_metrics_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "Zq3-long_random.token~0123")
    assert Settings.from_env().metrics_token == "Zq3-long_random.token~0123"


def test_redis_store_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_STORE", "redis")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Settings.from_env()
