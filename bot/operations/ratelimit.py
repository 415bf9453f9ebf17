"""A per-client token bucket: `per_minute` requests in a burst, refilled evenly over a minute.

A bucket untouched for a minute is full again, which is exactly what a client we have
never seen gets; so idle clients are dropped without changing any answer, and memory
stays proportional to the clients active in the last minute (capped by `max_clients`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

RATE_LIMIT_MESSAGE_JA = "短い時間にたくさんのメッセージが送られました。少し時間をおいてから、もう一度お試しください。"

_WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, *, max_clients: int = 100_000
    ) -> None:
        if per_minute < 0:
            raise ValueError(f"RateLimiter: per_minute must be 0 (off) or positive, got {per_minute}")
        if max_clients < 1:
            raise ValueError(f"RateLimiter: max_clients must be positive, got {max_clients}")
        self.per_minute = per_minute
        self._clock = clock
        self._max_clients = max_clients
        self._rate = per_minute / _WINDOW_SECONDS  # tokens per second
        # client -> [tokens, last touched]; ordered by last touch, oldest first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client_key: str) -> tuple[bool, float]:
        """(allowed, retry_after): retry_after is 0.0 when allowed, else seconds until a request fits.

        Round retry_after up (math.ceil) for an HTTP Retry-After header.
        """
        if self.per_minute == 0:
            return True, 0.0
        now = self._clock()
        with self._lock:
            self._evict_idle(now)
            bucket = self._buckets.pop(client_key, None)
            if bucket is None:
                tokens = float(self.per_minute)
            else:
                tokens = min(float(self.per_minute), bucket[0] + (now - bucket[1]) * self._rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client_key] = [tokens, now]
            if len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return (True, 0.0) if allowed else (False, (1.0 - tokens) / self._rate)

    def __len__(self) -> int:
        """How many clients are tracked (for tests and diagnostics)."""
        with self._lock:
            return len(self._buckets)

    def _evict_idle(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest[1] < _WINDOW_SECONDS:
                break
            buckets.popitem(last=False)
