"""Settings from the environment, read once, with explicit types and defaults."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from bot.operations.origins import normalize_origin

ROOT = Path(__file__).resolve().parents[2]  # the repository: bot/operations/settings.py


class ConfigError(RuntimeError):
    pass


T = TypeVar("T")


def _parsed(name: str, default: T, parse: Callable[[str], T], what: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"Config '{name}' must be {what}, got {raw!r}") from None


def _int(name: str, default: int) -> int:
    return _parsed(name, default, int, "an integer")


def _float(name: str, default: float) -> float:
    return _parsed(name, default, float, "a number")


def _date(name: str) -> date | None:
    return _parsed(name, None, date.fromisoformat, "a date YYYY-MM-DD")


def _str(name: str, default: str | None) -> str | None:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else raw


DEFAULT_LOG_RETENTION_DAYS = 365


def log_retention_days() -> int:
    """LOG_RETENTION_DAYS: how many days the turn log keeps a turn; 0 keeps every turn."""
    days = _int("LOG_RETENTION_DAYS", DEFAULT_LOG_RETENTION_DAYS)
    if days < 0:
        raise ConfigError(f"Config 'LOG_RETENTION_DAYS' must be 0 (keep forever) or a number of days, got {days}")
    return days


def _at_least(name: str, value: T, minimum: float, what: str) -> T:
    if value < minimum:  # type: ignore[operator]
        raise ConfigError(f"Config '{name}' must be {what}, got {value}")
    return value


def cors_allow_origins() -> tuple[str, ...]:
    """CORS_ALLOW_ORIGINS: `*` (any page may embed the widget; the default, for local use) or
    comma-separated origins, normalised as browsers send them (bot/operations/origins.py)."""
    raw = _str("CORS_ALLOW_ORIGINS", "*") or "*"
    items = [item.strip() for item in raw.split(",") if item.strip()] or ["*"]
    if "*" in items:
        if len(items) > 1:
            raise ConfigError(f"Config 'CORS_ALLOW_ORIGINS' is either * (any origin) or a list of origins, got {raw!r}")
        return ("*",)
    origins = []
    for item in items:
        try:
            origins.append(normalize_origin(item))
        except ValueError as exc:
            raise ConfigError(f"Config 'CORS_ALLOW_ORIGINS' must list origins such as https://www.city.example: {exc}") from None
    return tuple(dict.fromkeys(origins))


METRICS_TOKEN_MIN_CHARS = 16


def metrics_token() -> str | None:
    """METRICS_TOKEN: the bearer token /metrics asks for; unset, /metrics answers loopback clients only."""
    token = _str("METRICS_TOKEN", None)
    if token is None:
        return None
    if len(token) < METRICS_TOKEN_MIN_CHARS or not all("!" <= ch <= "~" for ch in token):
        raise ConfigError(f"Config 'METRICS_TOKEN' must be at least {METRICS_TOKEN_MIN_CHARS} printable ASCII "
                          "characters without spaces (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    db_path: str
    session_store: str  # "sqlite" | "memory" | "redis"
    redis_url: str | None
    session_idle_seconds: int
    log_retention_days: int  # the turn log forgets turns older than this; 0: never
    rate_limit_per_minute: int
    max_text_chars: int
    max_body_bytes: int
    intents_path: Path
    knowledge_dir: Path
    accept_threshold: float
    clarify_margin: float
    menu_below: float  # a close call is a "which of these?" menu only when the best score is below this
    domain_threshold: float | None  # the gate's threshold; None: the one cross-validation chose (bot/understanding/gate.py)
    model_path: Path  # the stored intent model (python -m bot train); a stale one is retrained at start-up
    line_channel_secret: str | None
    line_channel_access_token: str | None
    line_api_base: str
    line_municipality: str | None  # the local details LINE answers use
    line_reply_token_seconds: float  # a reply token older than this is not tried; push instead
    line_retry_tries: int  # attempts per outgoing LINE call, the first included
    line_retry_base_seconds: float  # backoff: base, 2*base, 4*base, ...
    line_http_timeout_seconds: float
    timezone: str
    log_level: str
    cors_allow_origins: tuple[str, ...]  # ("*",) or normalised origins, for HTTP and /ws alike
    metrics_token: str | None  # /metrics asks for it as a bearer token; None: loopback clients only
    fixed_today: date | None  # BOT_TODAY: pin the bot's today, for demos and reproducible tests

    @classmethod
    def from_env(cls) -> Settings:
        store = _str("SESSION_STORE", "sqlite") or "sqlite"
        if store not in {"sqlite", "memory", "redis"}:
            raise ConfigError(f"Config 'SESSION_STORE' must be sqlite, memory or redis, got {store!r}")
        redis_url = _str("REDIS_URL", None)
        if store == "redis" and not redis_url:
            raise ConfigError("Config 'REDIS_URL' is missing, and SESSION_STORE=redis needs it")
        return cls(
            host=_str("HOST", "127.0.0.1") or "127.0.0.1",
            port=_int("PORT", 8000),
            db_path=_str("BOT_DB", str(ROOT / "data" / "bot.sqlite3")) or "",
            session_store=store,
            redis_url=redis_url,
            session_idle_seconds=_int("SESSION_IDLE_SECONDS", 1800),
            log_retention_days=log_retention_days(),
            rate_limit_per_minute=_int("RATE_LIMIT_PER_MINUTE", 60),
            max_text_chars=_int("MAX_TEXT_CHARS", 1000),
            max_body_bytes=_int("MAX_BODY_BYTES", 16384),
            intents_path=Path(_str("INTENTS_FILE", str(ROOT / "intents.yaml")) or ""),
            knowledge_dir=Path(_str("KNOWLEDGE_DIR", str(ROOT / "knowledge")) or ""),
            accept_threshold=_float("MATCH_ACCEPT_THRESHOLD", 0.30),
            clarify_margin=_float("MATCH_CLARIFY_MARGIN", 0.06),
            menu_below=_float("DIALOGUE_MENU_BELOW", 0.5),
            domain_threshold=_parsed("MATCH_DOMAIN_THRESHOLD", None, float, "a number"),
            model_path=Path(_str("MODEL_FILE", str(ROOT / "model" / "intent_model.npz")) or ""),
            line_channel_secret=_str("LINE_CHANNEL_SECRET", None),
            line_channel_access_token=_str("LINE_CHANNEL_ACCESS_TOKEN", None),
            line_api_base=(_str("LINE_API_BASE", "https://api.line.me") or "").rstrip("/"),
            line_municipality=_str("LINE_MUNICIPALITY", None),
            line_reply_token_seconds=_at_least("LINE_REPLY_TOKEN_SECONDS", _float("LINE_REPLY_TOKEN_SECONDS", 20.0), 0,
                                               "0 or more"),
            line_retry_tries=_at_least("LINE_RETRY_TRIES", _int("LINE_RETRY_TRIES", 3), 1, "at least 1"),
            line_retry_base_seconds=_at_least("LINE_RETRY_BASE_SECONDS", _float("LINE_RETRY_BASE_SECONDS", 1.0), 0,
                                              "0 or more"),
            line_http_timeout_seconds=_at_least("LINE_HTTP_TIMEOUT_SECONDS", _float("LINE_HTTP_TIMEOUT_SECONDS", 10.0), 0,
                                                "0 or more"),
            timezone="Asia/Tokyo",
            cors_allow_origins=cors_allow_origins(),
            metrics_token=metrics_token(),
            log_level=(_str("LOG_LEVEL", "INFO") or "INFO").upper(),
            fixed_today=_date("BOT_TODAY"),
        )
