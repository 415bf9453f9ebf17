from __future__ import annotations

import math
import threading

import pytest

from bot.operations.ratelimit import RATE_LIMIT_MESSAGE_JA, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.mark.parametrize("per_minute", [1, 5, 60, 600])
def test_burst_of_per_minute_then_refusal(clock: FakeClock, per_minute: int) -> None:
    limiter = RateLimiter(per_minute, clock)
    assert all(limiter.allow("ip-1") == (True, 0.0) for _ in range(per_minute))
    allowed, retry_after = limiter.allow("ip-1")
    assert allowed is False
    assert retry_after == pytest.approx(60 / per_minute)


def test_refused_client_is_allowed_after_retry_after(clock: FakeClock) -> None:
    limiter = RateLimiter(2, clock)
    limiter.allow("a")
    limiter.allow("a")
    clock.now += 10
    allowed, retry_after = limiter.allow("a")
    assert not allowed and retry_after == pytest.approx(20)  # one token every 30 s; 10 s already passed
    clock.now += retry_after - 0.01
    assert limiter.allow("a")[0] is False
    clock.now += 0.02
    assert limiter.allow("a") == (True, 0.0)
    assert math.ceil(limiter.allow("a")[1]) == 30


def test_refusals_do_not_cost_tokens(clock: FakeClock) -> None:
    limiter = RateLimiter(1, clock)
    limiter.allow("a")
    for _ in range(50):
        clock.now += 1
        limiter.allow("a")
    clock.now += 10
    assert limiter.allow("a")[0] is True  # 61 s after the only allowed request


def test_clients_are_independent(clock: FakeClock) -> None:
    limiter = RateLimiter(1, clock)
    assert limiter.allow("a")[0] and limiter.allow("b")[0]
    assert not limiter.allow("a")[0]
    assert limiter.allow("line:U1")[0]


@pytest.mark.parametrize(
    "per_minute,requests_per_second,seconds,expected",
    [
        (60, 2, 600, 60 + 600),  # the burst, then one a second
        (60, 1, 600, 600),  # never faster than the refill: nothing refused
        (30, 4, 120, 30 + 60),
        (10, 0.1, 600, 60),
    ],
)
def test_sustained_rate(clock: FakeClock, per_minute: int, requests_per_second: float, seconds: int, expected: int) -> None:
    limiter = RateLimiter(per_minute, clock)
    allowed = 0
    for _ in range(int(seconds * requests_per_second)):
        allowed += limiter.allow("steady")[0]
        clock.now += 1 / requests_per_second
    assert abs(allowed - expected) <= 1


def test_zero_disables_and_tracks_nobody(clock: FakeClock) -> None:
    limiter = RateLimiter(0, clock)
    assert all(limiter.allow(f"c{i % 3}") == (True, 0.0) for i in range(10_000))
    assert len(limiter) == 0


def test_negative_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        RateLimiter(-1)


def test_idle_clients_are_forgotten(clock: FakeClock) -> None:
    limiter = RateLimiter(5, clock)
    for i in range(1000):
        limiter.allow(f"ip-{i}")
    assert len(limiter) == 1000
    clock.now += 30
    limiter.allow("ip-0")  # touched again: stays
    clock.now += 30
    limiter.allow("new")
    assert len(limiter) == 2
    # Forgetting is invisible: a forgotten client had a full bucket again anyway.
    assert all(limiter.allow("ip-999")[0] for _ in range(5))


def test_memory_is_capped_under_many_keys(clock: FakeClock) -> None:
    limiter = RateLimiter(5, clock, max_clients=100)
    for i in range(10_000):
        limiter.allow(f"spoofed-{i}")
    assert len(limiter) == 100


def test_threads_share_one_budget(clock: FakeClock) -> None:
    limiter = RateLimiter(50, clock)
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(100):
            allowed = limiter.allow("shared")[0]
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 800
    assert sum(results) == 50


def test_message_is_japanese_and_asks_to_wait() -> None:
    assert "お試しください" in RATE_LIMIT_MESSAGE_JA
