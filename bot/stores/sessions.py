"""Where conversation state lives between turns: one interface, several stores.

A state is a JSON-serialisable dict owned by bot.conversation (State.to_json); stores never look inside.
`claim_event` is the channels' redelivery record (LINE webhookEventId): it answers
True exactly once per key, also across restarts for the persistent stores.

A state can hold a birth date, so a conversation idle for longer than the idle timeout
is not only unreadable but deleted: MemoryStore sweeps it out, SqliteStore deletes the
rows in a background thread, and Redis expires the key itself.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

State = dict[str, Any]
_T = TypeVar("_T")
log = logging.getLogger(__name__)

EVENT_TTL_SECONDS = 7 * 86400  # LINE redelivers for far less than a week
SWEEP_SECONDS = 60.0  # how often stale conversations and events are deleted
# How often the background thread moves the write-ahead log into the database. Left to SQLite,
# the save that crossed 1,000 pages did it on the request path: one save in a hundred took
# 1.5 ms or more instead of a tenth of that.
CHECKPOINT_SECONDS = 1.0
# How long a save waits for another writer (the turn log, the sweeper, another worker):
# they hold the lock for milliseconds, and a chat turn waits on the event loop, so past
# this the turn is a 503 to retry rather than a server frozen for everyone.
LOCK_WAIT_SECONDS = 2.0
# Between tries for a lock another writer holds. SQLite's own wait sleeps 1, 2, 5, 10 ms ...
# between its tries, while the turn log's writer holds the lock for well under a millisecond:
# a save that met it waited several times longer than needed (one save in forty, under load).
_LOCK_RETRY_SLEEPS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005)


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or written just now (Redis down, SQLite locked or failing).

    Channels answer 503 and a retry may succeed; the conversation is unchanged.
    """


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
        self._swept = clock()

    def load(self, session_id: str) -> State | None:
        now = self._clock()
        with self._lock:
            if now - self._swept >= SWEEP_SECONDS:
                # A sweep walks every conversation: at most once a minute, not once per turn.
                self._expire(now)
                self._swept = now
            item = self._states.get(session_id)
            if item is None or now - item[0] > self._idle:
                return None
            return _state(item[1])

    def save(self, session_id: str, state: State) -> None:
        text = json.dumps(state, ensure_ascii=False)
        with self._lock:
            self._states[session_id] = (self._clock(), text)

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._states.pop(session_id, None)

    def held(self) -> int:
        """Conversations held, stale ones not yet swept included. (Not __len__: an empty store must stay truthy.)"""
        return len(self._states)

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
        old_events = [k for k, at in self._events.items() if now - at > EVENT_TTL_SECONDS]
        for key in old_events:
            del self._events[key]


class SqliteStore:
    """Conversations in SQLite, so they survive a restart. One connection per thread.

    Stale rows are deleted once when the store opens, then every `sweep_seconds` by a
    daemon thread, so the request path never waits on a large DELETE. The same thread
    checkpoints the write-ahead log every `checkpoint_seconds`; saves never do.
    """

    def __init__(self, path: str, idle_seconds: int = 1800, *, sweep_seconds: float = SWEEP_SECONDS,
                 lock_wait_seconds: float = LOCK_WAIT_SECONDS, checkpoint_seconds: float = CHECKPOINT_SECONDS) -> None:
        self._path = path
        self._lock_wait = lock_wait_seconds
        self._idle = idle_seconds
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._retrying(lambda conn: conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS sessions (
                id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated);
            CREATE TABLE IF NOT EXISTS seen_events (
                key TEXT PRIMARY KEY, at REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS seen_events_at ON seen_events (at);
            """
        ))
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._sweep_or_log()  # before the first turn, so a restart never serves a stale row
        if path != ":memory:":  # a :memory: database is per connection: nothing to share with a thread
            self._sweeper = threading.Thread(
                target=self._sweep_loop, args=(sweep_seconds, checkpoint_seconds), name="sessions-sweeper", daemon=True
            )
            self._sweeper.start()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # close() closes every thread's connection, from whichever thread calls it.
            conn = sqlite3.connect(self._path, timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Overwrite what is deleted: a swept birth date must not linger in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA busy_timeout = 0")  # statements wait for locks in _execute, in finer steps
            if self._path != ":memory:":
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # the sweeper's thread checkpoints
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def sweep(self, now: float | None = None) -> int:
        """Delete conversations idle past the timeout and redelivery records past a week; return how many."""
        now = time.time() if now is None else now
        sessions = self._execute("DELETE FROM sessions WHERE updated < ?", (now - self._idle,)).rowcount
        events = self._execute("DELETE FROM seen_events WHERE at < ?", (now - EVENT_TTL_SECONDS,)).rowcount
        return sessions + events

    def _sweep_loop(self, every: float, checkpoint_every: float) -> None:
        next_sweep = time.monotonic() + every
        while not self._stop.wait(min(checkpoint_every, every)):
            self._checkpoint_or_log()
            if time.monotonic() >= next_sweep:
                self._sweep_or_log()
                next_sweep = time.monotonic() + every

    def _checkpoint_or_log(self) -> None:
        try:
            # PASSIVE: copies what no reader still needs and waits for no one.
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            log.exception("sessions: checkpointing the write-ahead log failed; trying again later")

    def _sweep_or_log(self) -> None:
        try:
            self.sweep()
        except sqlite3.Error:
            log.exception("sessions: sweeping stale conversations failed; trying again later")

    def load(self, session_id: str) -> State | None:
        with _sqlite_unavailable():
            row = self._execute(
                "SELECT state, updated FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None or time.time() - row[1] > self._idle:
            return None
        return _state(row[0])

    def save(self, session_id: str, state: State) -> None:
        with _sqlite_unavailable():
            self._execute(
                "INSERT INTO sessions (id, state, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                (session_id, json.dumps(state, ensure_ascii=False), time.time()),
            )

    def delete(self, session_id: str) -> None:
        with _sqlite_unavailable():
            self._execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def claim_event(self, key: str) -> bool:
        with _sqlite_unavailable():
            cur = self._execute(
                "INSERT OR IGNORE INTO seen_events (key, at) VALUES (?, ?)", (key, time.time())
            )
        return cur.rowcount == 1

    def _execute(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        return self._retrying(lambda conn: conn.execute(sql, params))

    def _retrying(self, run: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run on this thread's connection, trying again while another writer holds the lock, for up to the lock wait."""
        conn = self._conn()
        deadline = time.monotonic() + self._lock_wait
        for attempt in itertools.count():
            try:
                return run(conn)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
                time.sleep(_LOCK_RETRY_SLEEPS[min(attempt, len(_LOCK_RETRY_SLEEPS) - 1)])
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


@contextlib.contextmanager
def unavailable_on(errors: type[Exception] | tuple[type[Exception], ...], store: str) -> Iterator[None]:
    """Turn a store's own errors into StoreUnavailable: the store's trouble, not the request's."""
    try:
        yield
    except errors as exc:
        raise StoreUnavailable(f"{store}: {exc}") from exc


def _sqlite_unavailable() -> contextlib.AbstractContextManager[None]:
    # Locked past the timeout, disk full, I/O error (not a programming error in our SQL).
    return unavailable_on(sqlite3.OperationalError, "SQLite session store")


def _state(text: str) -> State:
    """A stored state read back: a JSON object, as State.to_json wrote it."""
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError("a stored conversation state is not a JSON object")
    return loaded
