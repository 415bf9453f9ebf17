"""Conversation state in Redis, so that several server processes share conversations.

Implements bot.sessions.SessionStore. Each save sets the key's expiry to the idle
timeout (SET ... EX), so Redis itself forgets a conversation nobody touched for that
long, the same rule as MemoryStore and SqliteStore. `claim_event` is one SET NX EX:
Redis decides atomically which process wins a redelivered LINE event.
"""

from __future__ import annotations

import contextlib
import json

import redis

from bot.operations.settings import ConfigError
from bot.stores.sessions import EVENT_TTL_SECONDS, State, unavailable_on


class RedisStore:
    def __init__(
        self,
        url: str,
        idle_seconds: int = 1800,
        *,
        prefix: str = "mnbot:",
        event_ttl_seconds: int = EVENT_TTL_SECONDS,
    ) -> None:
        if idle_seconds <= 0:
            raise ConfigError(f"Config 'SESSION_IDLE_SECONDS' must be positive for Redis, got {idle_seconds}")
        self._idle = idle_seconds
        self._event_ttl = event_ttl_seconds
        self._sessions = prefix + "session:"
        self._events = prefix + "event:"
        self._client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        try:
            self._client.ping()
        except redis.RedisError as exc:
            self._client.close()
            raise ConfigError(f"Config 'REDIS_URL' points at {_without_password(url)}, which does not answer: {exc}") from exc

    def load(self, session_id: str) -> State | None:
        with _redis_unavailable():
            raw = self._client.get(self._sessions + session_id)
        return None if raw is None else json.loads(raw)

    def save(self, session_id: str, state: State) -> None:
        with _redis_unavailable():
            self._client.set(self._sessions + session_id, json.dumps(state, ensure_ascii=False), ex=self._idle)

    def delete(self, session_id: str) -> None:
        with _redis_unavailable():
            self._client.delete(self._sessions + session_id)

    def claim_event(self, key: str) -> bool:
        with _redis_unavailable():
            return bool(self._client.set(self._events + key, "1", nx=True, ex=self._event_ttl))

    def close(self) -> None:
        self._client.close()


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"


def _redis_unavailable() -> contextlib.AbstractContextManager[None]:
    # Connection refused or lost, a timeout, a server error: the store's trouble, not the request's.
    return unavailable_on(redis.RedisError, "Redis session store")
