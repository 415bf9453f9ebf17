"""Where conversation state lives between turns: one interface, several stores.

A state is a JSON-serialisable dict owned by bot.dialogue; stores never look inside.
`claim_event` is the channels' redelivery record (LINE webhookEventId): it answers
True exactly once per key, also across restarts for the persistent stores.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

State = dict[str, Any]


class SessionStore(Protocol):
    def load(self, session_id: str) -> State | None: ...

    def save(self, session_id: str, state: State) -> None: ...

    def delete(self, session_id: str) -> None: ...

    def claim_event(self, key: str) -> bool: ...

    def close(self) -> None: ...


class MemoryStore:
    """In-process store; a conversation idle for `idle_seconds` is forgotten."""

    def __init__(self, idle_seconds: int = 1800, clock: Any = time.monotonic) -> None:
        self._idle = idle_seconds
        self._clock = clock
        self._states: dict[str, tuple[float, str]] = {}
        self._events: dict[str, float] = {}
        self._lock = threading.Lock()

    def load(self, session_id: str) -> State | None:
        now = self._clock()
        with self._lock:
            self._expire(now)
            item = self._states.get(session_id)
            return None if item is None else json.loads(item[1])

    def save(self, session_id: str, state: State) -> None:
        text = json.dumps(state, ensure_ascii=False)
        with self._lock:
            self._states[session_id] = (self._clock(), text)

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._states.pop(session_id, None)

    def claim_event(self, key: str) -> bool:
        with self._lock:
            if key in self._events:
                return False
            self._events[key] = self._clock()
            return True

    def close(self) -> None:
        pass

    def _expire(self, now: float) -> None:
        stale = [k for k, (at, _) in self._states.items() if now - at > self._idle]
        for key in stale:
            del self._states[key]
        old_events = [k for k, at in self._events.items() if now - at > 86400]
        for key in old_events:
            del self._events[key]


class SqliteStore:
    """Conversations in SQLite, so they survive a restart. One connection per thread."""

    def __init__(self, path: str, idle_seconds: int = 1800) -> None:
        self._path = path
        self._idle = idle_seconds
        self._local = threading.local()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS sessions (
                    id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS seen_events (
                    key TEXT PRIMARY KEY, at REAL NOT NULL);
                """
            )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def load(self, session_id: str) -> State | None:
        row = self._conn().execute(
            "SELECT state, updated FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None or time.time() - row[1] > self._idle:
            return None
        return json.loads(row[0])

    def save(self, session_id: str, state: State) -> None:
        self._conn().execute(
            "INSERT INTO sessions (id, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (session_id, json.dumps(state, ensure_ascii=False), time.time()),
        )

    def delete(self, session_id: str) -> None:
        self._conn().execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def claim_event(self, key: str) -> bool:
        cur = self._conn().execute(
            "INSERT OR IGNORE INTO seen_events (key, at) VALUES (?, ?)", (key, time.time())
        )
        return cur.rowcount == 1

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
