"""Stale conversations are deleted, not only hidden: a state can hold a birth date.

The store contract shared with Redis (save, load, expiry, claims) is in test_redis_store.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.stores.sessions import EVENT_TTL_SECONDS, SWEEP_SECONDS, MemoryStore, SqliteStore, StoreUnavailable

BIRTH = {"form": "calc_expiry", "slots": {"birth_date": "1961-03-08"}}


def rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_sweep_deletes_idle_conversations_and_keeps_live_ones(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = SqliteStore(str(path), idle_seconds=600, sweep_seconds=3600)
    store.save("old", BIRTH)
    store.save("new", {"v": 1})
    store.sweep(now=time.time())  # nothing is stale yet
    assert rows(path, "sessions") == 2
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA secure_delete=ON")
    with conn:
        conn.execute("UPDATE sessions SET updated = updated - 601 WHERE id = 'old'")
    conn.close()
    assert store.sweep() == 1
    assert rows(path, "sessions") == 1
    assert store.load("new") == {"v": 1}
    store.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["bot.sqlite3"], files  # the last close checkpointed the WAL into the file
    assert b"1961-03-08" not in path.read_bytes()


def test_sweep_forgets_redelivery_records_after_a_week(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "bot.sqlite3"), sweep_seconds=3600)
    assert store.claim_event("evt")
    assert store.sweep(now=time.time() + EVENT_TTL_SECONDS - 60) == 0
    assert not store.claim_event("evt")
    assert store.sweep(now=time.time() + EVENT_TTL_SECONDS + 60) == 1
    assert store.claim_event("evt")
    store.close()


def test_the_background_sweeper_deletes_without_a_request(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = SqliteStore(str(path), idle_seconds=1, sweep_seconds=0.1)
    store.save("a", BIRTH)
    assert rows(path, "sessions") == 1
    deadline = time.monotonic() + 10
    while rows(path, "sessions") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rows(path, "sessions") == 0
    store.close()


def test_saves_leave_checkpoints_to_the_background_and_the_log_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    wal = Path(f"{path}-wal")
    quiet = SqliteStore(str(path), sweep_seconds=3600, checkpoint_seconds=3600)
    for i in range(1500):  # past SQLite's own 1,000-page threshold: no save checkpoints
        quiet.save(f"s{i}", {"i": i, "pad": "x" * 3000})
    grown = wal.stat().st_size
    assert grown > 1000 * 4096
    quiet.close()
    wal.unlink(missing_ok=True)
    Path(f"{path}-shm").unlink(missing_ok=True)
    path.unlink()

    store = SqliteStore(str(path), sweep_seconds=3600, checkpoint_seconds=0.05)
    for i in range(1500):
        store.save(f"s{i}", {"i": i, "pad": "x" * 3000})
        if i % 100 == 99:
            time.sleep(0.1)  # the background thread checkpoints; the next saves reuse the log
    assert wal.stat().st_size < grown / 3
    assert store.load("s1499") == {"i": 1499, "pad": "x" * 3000}
    store.close()


def test_close_from_another_thread_closes_every_connection(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "bot.sqlite3"), sweep_seconds=3600)
    threads = [threading.Thread(target=store.save, args=(f"s{i}", {"i": i})) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    reopened = SqliteStore(str(tmp_path / "bot.sqlite3"), sweep_seconds=3600)
    assert [reopened.load(f"s{i}") for i in range(4)] == [{"i": i} for i in range(4)]
    reopened.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_store_sweeps_at_most_once_a_minute() -> None:
    clock = Clock()
    store = MemoryStore(idle_seconds=30, clock=clock)
    for i in range(50):
        store.save(f"s{i}", BIRTH)
    clock.now += 31
    store.save("live", {"v": 1})
    assert store.load("s0") is None  # stale at once, whether swept or not
    assert store.held() == 51  # not swept yet: the last sweep was under a minute ago
    clock.now += SWEEP_SECONDS - 31
    assert store.load("live") == {"v": 1}
    assert store.held() == 1


def test_a_store_opening_while_another_writer_holds_the_lock_waits_for_it(tmp_path: Path) -> None:
    # The turn log opens the same file just before and prunes at once: the store's schema waits its turn.
    path = str(tmp_path / "s.db")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.2, lambda: other.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        store = SqliteStore(path, sweep_seconds=3600)
        assert time.monotonic() - started >= 0.15  # it waited for the lock rather than failing
        store.save("a", {"v": 1})
        assert store.load("a") == {"v": 1}
        store.close()
    finally:
        release.join()
        other.close()


def test_a_locked_database_is_store_unavailable_and_loses_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    store = SqliteStore(path, lock_wait_seconds=0.05)  # not the 2 s a request would wait
    store.save("a", {"v": 1})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.save("a", {"v": 2})
        assert store.load("a") == {"v": 1}  # write-ahead logging: reading goes on meanwhile
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.load("a") == {"v": 1}  # the conversation is as it was before the failure
    store.save("a", {"v": 2})
    assert store.load("a") == {"v": 2}
    store.close()

