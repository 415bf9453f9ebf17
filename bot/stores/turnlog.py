"""The conversation log: one row per user turn, append-only, and the staff report's figures.

(`bot/operations/report.py` lays the report out as text or CSV.)

`TurnLog.record` prepares the row on the caller's thread: it masks the text again (a
second line of defence behind the engine's masking) and replaces written dates, phone
numbers, e-mail and house addresses, and the personal names the matcher's tokens held,
with placeholders (the log is kept for months), then puts the row on a bounded queue.
A writer thread inserts batches, one transaction each. The Python work stays with the
request that caused it (tens of microseconds): done by the writer in batches, it held
the GIL for milliseconds at a time and doubled the p99 of the requests waiting behind it.
`flush()` waits for the queue to drain; `report()` flushes first so that a report sees
every turn recorded before it.

The session id is stored as a short SHA-256 digest: it still groups the turns of one
conversation, but the log cannot be used to continue someone's conversation, and a LINE
user id never reaches the table.

Retention: turns older than `retention_days` (LOG_RETENTION_DAYS, default 365; 0 keeps
them all) are deleted by the writer thread, once when it starts and then at most once an
hour, never on the request path. Deleted text is overwritten (`secure_delete`), not
left behind in the file's free pages.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.operations.privacy import mask, pseudonym, redact_contacts, redact_dates, redact_names
from bot.operations.settings import DEFAULT_LOG_RETENTION_DAYS
from bot.text import nfkc_folded

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turn_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    session TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    norm_text TEXT NOT NULL,
    intent TEXT,
    confidence REAL NOT NULL,
    answered INTEGER NOT NULL,
    municipality TEXT
);
CREATE INDEX IF NOT EXISTS turn_log_at ON turn_log (at);
"""

_INSERT = (
    "INSERT INTO turn_log (at, session, channel, text, norm_text, intent, confidence, answered, municipality) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_memory_names = itertools.count()

PRUNE_EVERY_SECONDS = 3600.0
_DAY_SECONDS = 86400

_Row = tuple[float, str, str, str, str, "str | None", float, int, "str | None"]  # in _INSERT's order
_STOP = object()


def normalise_question(text: str) -> str:
    """The grouping key for unanswered questions.

    >>> normalise_question("  ＰＩＮを忘れた ")
    'pinを忘れた'
    """
    return nfkc_folded(text).strip()


def prune_turns(conn: sqlite3.Connection, before: float, chunk: int = 5000) -> int:
    """Delete the turns logged before `before` (a Unix time); return how many.

    A chunk per transaction (the connection is in autocommit mode): the session store
    writes to the same file, and one long DELETE would keep its saves waiting.
    """
    deleted = 0
    while True:
        count = conn.execute(
            "DELETE FROM turn_log WHERE id IN (SELECT id FROM turn_log WHERE at < ? LIMIT ?)", (before, chunk)
        ).rowcount
        deleted += count
        if count < chunk:
            return deleted


class TurnLog:
    def __init__(
        self, path: str, *, queue_size: int = 10_000, batch_size: int = 500,
        linger: float = 0.2, retention_days: int = DEFAULT_LOG_RETENTION_DAYS, now: Callable[[], float] = time.time,
        prune_every: float = PRUNE_EVERY_SECONDS,
    ) -> None:
        """`retention_days` comes from settings (LOG_RETENTION_DAYS); `now` is the clock pruning measures age by."""
        self._retention_days = retention_days
        if self._retention_days < 0:
            raise ValueError(f"TurnLog: retention_days must be 0 (keep forever) or more, got {self._retention_days}")
        self._now = now
        self._prune_every = prune_every
        if path == ":memory:":
            # Writer and readers are different connections; a named shared-cache database
            # lets them see one another.
            self._target, self._uri = f"file:turnlog{next(_memory_names)}?mode=memory&cache=shared", True
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._target, self._uri = path, False
        self._batch_size = batch_size
        # Wait this long for more turns before committing: the session store writes to the
        # same file, and a commit per turn made every session save wait on SQLite's lock.
        self._linger = linger
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._counts_lock = threading.Lock()
        self.dropped = 0  # turns not logged because the queue stayed full
        self.failed = 0  # turns lost to a database error
        self.pruned = 0  # turns deleted for being older than the retention period
        self._started = threading.Event()  # the writer's first pruning is over
        self._hurry = threading.Event()  # flush() or close(): write what is queued without lingering
        # Holding one connection open keeps a shared-cache memory database alive.
        self._keeper = self._connect()
        self._keeper.executescript(_SCHEMA)
        self._writer = threading.Thread(target=self._write_loop, name="turnlog-writer", daemon=True)
        self._writer.start()

    def record(
        self,
        *,
        session_id: str,
        channel: str,
        text: str,
        intent: str | None,
        confidence: float,
        answered: bool,
        municipality: str | None,
        at: datetime,
        names: Iterable[str] = (),
        today: date | None = None,
    ) -> None:
        """`today`: the day the dialogue read the turn's dates against (default: `at`'s UTC day).
        Finding the dates again with the same day is a cache hit (bot/rules/dates.py)."""
        if at.tzinfo is None:
            raise ValueError("TurnLog.record: 'at' must be timezone-aware")
        if self._closed:
            raise RuntimeError("TurnLog.record called after close()")
        # The log is kept for months: no PIN, no individual number, no written date (a birth
        # date with a municipality points at a person), no phone number, e-mail or house address,
        # and none of the personal names the matcher found in it (`names`).
        text = redact_contacts(redact_dates(mask(text).text, today or at.astimezone(UTC).date()))
        if names:
            text = redact_names(text, names)
        row: _Row = (at.timestamp(), pseudonym(session_id), channel, text, normalise_question(text),
                     intent, float(confidence), int(bool(answered)), municipality)
        try:
            # Never wait: record runs on the event loop, and a writer stuck on the disk must
            # cost log rows (counted, and shown in /metrics), not every citizen's answer.
            self._queue.put_nowait(row)
        except queue.Full:
            with self._counts_lock:
                self.dropped += 1
                dropped = self.dropped
            if dropped == 1 or dropped % 1000 == 0:  # one line per thousand, not one per turn
                log.warning("turn log queue full; %d turns dropped so far", dropped)

    def flush(self) -> None:
        """Return once every turn recorded so far is written (or counted as failed), and old ones pruned."""
        self._started.wait()
        self._hurry.set()
        self._queue.join()

    def report(self, since: datetime, until: datetime, limit: int = 20) -> dict[str, Any]:
        """Turns in [since, until): how many, by intent, and the most frequent unanswered questions.

        `last_seen` is an ISO 8601 time in `since`'s time zone.
        """
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("TurnLog.report: 'since' and 'until' must be timezone-aware")
        if since > until:
            raise ValueError(f"TurnLog.report: since {since.isoformat()} is after until {until.isoformat()}")
        self.flush()
        conn = self._reader()
        window = (since.timestamp(), until.timestamp())
        turns, unanswered_turns = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(answered = 0), 0) FROM turn_log WHERE at >= ? AND at < ?", window
        ).fetchone()
        intents = conn.execute(
            "SELECT intent, COUNT(*) AS n FROM turn_log WHERE at >= ? AND at < ? "
            "GROUP BY intent ORDER BY n DESC, intent IS NULL, intent",
            window,
        ).fetchall()
        # SQLite takes the bare column `text` from the row holding MAX(at): the latest wording.
        unanswered = conn.execute(
            "SELECT text, COUNT(*) AS n, MAX(at) AS last FROM turn_log "
            "WHERE at >= ? AND at < ? AND answered = 0 "
            "GROUP BY norm_text ORDER BY n DESC, last DESC LIMIT ?",
            (*window, limit),
        ).fetchall()
        tz = since.tzinfo
        return {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "turns": turns,
            "unanswered_turns": unanswered_turns,
            "intents": [{"intent": intent, "count": n} for intent, n in intents],
            "unanswered": [
                {"text": text, "count": n, "last_seen": datetime.fromtimestamp(last, UTC).astimezone(tz).isoformat()}
                for text, n, last in unanswered
            ],
        }

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._hurry.set()
        self._queue.put(_STOP)
        self._writer.join()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._keeper.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._target, uri=self._uri, timeout=10, isolation_level=None, check_same_thread=False)
        if not self._uri:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _write_loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            # Overwrite what pruning deletes: an old question must not linger in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            next_prune = self._prune(conn) if self._retention_days else math.inf
            self._started.set()
            while True:
                wait = None if next_prune == math.inf else max(0.0, next_prune - time.monotonic())
                try:
                    first = self._queue.get(timeout=wait)
                except queue.Empty:
                    first = None
                if first is not None and not self._write_batch(conn, first):
                    return
                if time.monotonic() >= next_prune:
                    next_prune = self._prune(conn)
        finally:
            self._started.set()
            if conn is not None:
                conn.close()

    def _write_batch(self, conn: sqlite3.Connection, first: Any) -> bool:
        """Write `first` and what is queued within the linger time; False once told to stop.

        The writer waits out the linger on an event, not on the queue: taking each row as it
        came woke this thread for every turn, and every wake-up took the GIL from a request.
        """
        if first is not _STOP and self._queue.qsize() < self._batch_size:
            self._hurry.wait(self._linger)  # more turns gather meanwhile; flush() and close() cut it short
        self._hurry.clear()
        items = [first]
        while items[-1] is not _STOP and len(items) < self._batch_size:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        turns = [item for item in items if item is not _STOP]
        try:
            if turns:
                self._write(conn, turns)
        except sqlite3.Error:
            self.failed += len(turns)
            log.exception("turn log: %d turns not written", len(turns))
        finally:
            for _ in items:
                self._queue.task_done()
        return len(turns) == len(items)

    def _prune(self, conn: sqlite3.Connection) -> float:
        """Delete the turns past the retention period; return when (time.monotonic) to prune next."""
        try:
            deleted = prune_turns(conn, self._now() - self._retention_days * _DAY_SECONDS)
        except sqlite3.Error:
            log.exception("turn log: pruning turns older than %d days failed; trying again later", self._retention_days)
        else:
            self.pruned += deleted
            if deleted:
                log.info("turn log: deleted %d turns older than %d days", deleted, self._retention_days)
        return time.monotonic() + self._prune_every

    @staticmethod
    def _write(conn: sqlite3.Connection, rows: list[_Row]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
