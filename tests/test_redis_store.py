"""One contract for every SessionStore: MemoryStore, SqliteStore and RedisStore.

The Redis cases run against a real redis-server (Debian's package) started on a free
127.0.0.1 port; they are skipped only when redis-server is not installed.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from bot.operations.settings import ConfigError
from bot.stores.redis_store import EVENT_TTL_SECONDS, RedisStore, _without_password
from bot.stores.sessions import MemoryStore, SqliteStore
from conftest import TLS, start_redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    proc, url = start_redis()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class Kit:
    """Makes stores of one kind that share their backing data, and lets time pass for them."""

    make: Callable[[int], Any]
    advance: Callable[[float], None]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "redis"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kit]:
    yield from _kit(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "redis"])
def shared_kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kit]:
    """Only the stores whose instances share data (across processes and restarts)."""
    yield from _kit(request.param, request, tmp_path)


def _kit(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kit]:
    stores: list[Any] = []

    def keep(store: Any) -> Any:
        stores.append(store)
        return store

    if kind == "memory":
        clock = FakeClock()
        shared: list[MemoryStore] = []

        def make_memory(idle: int) -> MemoryStore:
            # A memory store is private to its process: "another instance" is the same one.
            if not shared:
                shared.append(keep(MemoryStore(idle_seconds=idle, clock=clock)))
            return shared[0]

        def tick(seconds: float) -> None:
            clock.now += seconds

        yield Kit(make_memory, tick)
    elif kind == "sqlite":
        path = str(tmp_path / "sessions.sqlite3")
        yield Kit(lambda idle: keep(SqliteStore(path, idle_seconds=idle)), time.sleep)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"test-{uuid.uuid4().hex[:8]}:"
        yield Kit(lambda idle: keep(RedisStore(url, idle_seconds=idle, prefix=prefix)), time.sleep)
    for store in stores:
        store.close()


STATE = {"intent": "calc_expiry", "slots": {"birth_date": "1990-04-01"}, "asked": ["発行日"], "n": 3, "ok": True}


def test_missing_session_loads_as_none(kit: Kit) -> None:
    assert kit.make(60).load("nobody") is None


def test_save_then_load_round_trips_and_copies(kit: Kit) -> None:
    store = kit.make(60)
    store.save("a", STATE)
    loaded = store.load("a")
    assert loaded == STATE
    loaded["slots"]["birth_date"] = "changed"
    assert store.load("a") == STATE


def test_save_overwrites_and_sessions_are_separate(kit: Kit) -> None:
    store = kit.make(60)
    store.save("a", {"v": 1})
    store.save("b", {"v": 2})
    store.save("a", {"v": 3})
    assert store.load("a") == {"v": 3}
    assert store.load("b") == {"v": 2}


def test_delete(kit: Kit) -> None:
    store = kit.make(60)
    store.save("a", STATE)
    store.delete("a")
    store.delete("never-saved")
    assert store.load("a") is None


def test_idle_session_expires_and_saving_keeps_it_alive(kit: Kit) -> None:
    store = kit.make(1)
    store.save("a", {"v": 1})
    store.save("b", {"v": 2})
    kit.advance(0.7)
    store.save("a", {"v": 1})
    kit.advance(0.6)
    assert store.load("b") is None
    assert store.load("a") == {"v": 1}
    kit.advance(0.8)
    assert store.load("a") is None


def test_claim_event_answers_true_once(kit: Kit) -> None:
    store = kit.make(60)
    assert store.claim_event("evt-1") is True
    assert store.claim_event("evt-1") is False
    assert store.claim_event("evt-2") is True


def test_concurrent_claims_have_one_winner(kit: Kit) -> None:
    store = kit.make(60)
    others = [kit.make(60) for _ in range(3)]
    threads_per_key = 12
    for round_ in range(10):
        key = f"evt-race-{round_}"
        barrier = threading.Barrier(threads_per_key)
        wins: list[bool] = []
        lock = threading.Lock()

        def claim(index: int, barrier: threading.Barrier = barrier, key: str = key,
                  lock: threading.Lock = lock, wins: list[bool] = wins) -> None:
            target = ([store] + others)[index % 4]
            barrier.wait()
            won = target.claim_event(key)
            with lock:
                wins.append(won)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(threads_per_key)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False] * (threads_per_key - 1) + [True]


def test_another_instance_sees_state_and_claims(shared_kit: Kit) -> None:
    first, second = shared_kit.make(60), shared_kit.make(60)
    first.save("shared", STATE)
    assert second.load("shared") == STATE
    assert first.claim_event("evt") is True
    assert second.claim_event("evt") is False
    second.delete("shared")
    assert first.load("shared") is None


# RedisStore only


def test_redis_keys_carry_their_expiry(redis_url: str) -> None:
    store = RedisStore(redis_url, idle_seconds=1800, prefix="ttl:")
    client = redis.Redis.from_url(redis_url)
    store.save("s", {"v": 1})
    store.claim_event("e")
    assert 1790 <= client.ttl("ttl:session:s") <= 1800
    assert EVENT_TTL_SECONDS - 10 <= client.ttl("ttl:event:e") <= EVENT_TTL_SECONDS
    store.close()
    client.close()


def test_redis_prefixes_keep_deployments_apart(redis_url: str) -> None:
    one = RedisStore(redis_url, prefix="one:")
    two = RedisStore(redis_url, prefix="two:")
    one.save("s", {"v": 1})
    assert two.load("s") is None
    assert one.claim_event("e") and two.claim_event("e")
    one.close()
    two.close()


def test_unreachable_redis_fails_at_start_up_without_the_password() -> None:
    url = f"redis://:hunter2@127.0.0.1:{_free_port()}/0"
    with pytest.raises(ConfigError, match="REDIS_URL") as info:
        RedisStore(url)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "url,shown",
    [("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
     ("redis://user:pw@host:6379/0", "redis://***@host:6379/0"),
     ("rediss://:p@ss@host", "rediss://***@host")],
)
def test_urls_are_shown_without_passwords(url: str, shown: str) -> None:
    assert _without_password(url) == shown


def test_redis_going_down_is_a_503_the_widget_can_retry(server_factory: Any) -> None:
    proc, url = start_redis()
    try:
        server = server_factory(SESSION_STORE="redis", REDIS_URL=url)
        with httpx.Client(base_url=server.url, verify=TLS, timeout=20) as client:
            first = client.post("/api/chat", json={"text": "有効期限を計算したい"})
            assert first.status_code == 200 and "生年月日" in first.text
            proc.terminate()
            proc.wait(timeout=10)
            down = client.post("/api/chat", json={"text": "1990年5月10日", "session_id": first.json()["session_id"]})
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"].isdigit()
            error = down.json()["error"]
            assert error["code"] == "store_unavailable" and "時間をおいて" in error["message"]
            assert client.get("/healthz").status_code == 200  # the process stays up for when Redis is back
    finally:
        if proc.poll() is None:
            proc.kill()

