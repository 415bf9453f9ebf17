"""Prometheus metrics for the bot, in a registry of its own (tests may create several).

Label values are bounded: the fallback and masking kinds are fixed sets (an unknown one
is a programming error), and any other label keeps at most `max_label_values` distinct
values before further ones are counted as "other", so a caller that passes a raw URL
path or user text cannot blow up the number of series. Masking is counted by kind only;
no text ever reaches a metric.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily

FALLBACK_KINDS = ("out_of_domain", "clarify", "gave_up")
MASKED_KINDS = ("pin", "signature_pin", "my_number")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OTHER = "other"


class _BoundedValues:
    """Remembers the label values seen so far and folds new ones into OTHER past a limit."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return OTHER


class Metrics:
    def __init__(self, *, max_label_values: int = 100, process: bool = True) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "chatbot_http_requests", "HTTP requests by route template and status code",
            ["route", "status"], registry=self.registry,
        )
        self._latency = Histogram(
            "chatbot_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self._intents = Counter(
            "chatbot_intents", "Turns by channel and matched intent ('none' when outside the domain)",
            ["channel", "intent"], registry=self.registry,
        )
        self._fallbacks = Counter(
            "chatbot_fallbacks", "Turns the bot could not answer directly, by kind",
            ["kind"], registry=self.registry,
        )
        self._masked = Counter(
            "chatbot_privacy_masked", "Secrets masked in user messages, by kind (never the text)",
            ["kind"], registry=self.registry,
        )
        for kind in FALLBACK_KINDS:
            self._fallbacks.labels(kind=kind)
        for kind in MASKED_KINDS:
            self._masked.labels(kind=kind)
        if process:
            ProcessCollector(registry=self.registry)
        self._routes = _BoundedValues(max_label_values)
        self._channels = _BoundedValues(max_label_values)
        self._intent_names = _BoundedValues(max_label_values)
        # labels() costs more than the increment: keep each series' child (prometheus_client
        # returns the same child for the same labels, so this changes no figure).
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._intent_children: dict[tuple[str, str | None], Any] = {}

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Pass the route template ("/api/chat"), not the raw path."""
        children = self._request_children.get((route, status))
        if children is None:
            label = self._routes(route)
            children = (self._requests.labels(route=label, status=str(int(status))), self._latency.labels(route=label))
            if label != OTHER:  # bounded like the label values themselves
                self._request_children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_intent(self, channel: str, intent: str | None) -> None:
        child = self._intent_children.get((channel, intent))
        if child is None:
            labels = (self._channels(channel), self._intent_names(intent or "none"))
            child = self._intents.labels(channel=labels[0], intent=labels[1])
            if OTHER not in labels:
                self._intent_children[(channel, intent)] = child
        child.inc()

    def count_fallback(self, kind: str) -> None:
        if kind not in FALLBACK_KINDS:
            raise ValueError(f"Metrics.count_fallback: kind must be one of {FALLBACK_KINDS}, got {kind!r}")
        self._fallbacks.labels(kind=kind).inc()

    def count_masked(self, kind: str) -> None:
        if kind not in MASKED_KINDS:
            raise ValueError(f"Metrics.count_masked: kind must be one of {MASKED_KINDS}, got {kind!r}")
        self._masked.labels(kind=kind).inc()

    def watch_turn_log(self, counts: Callable[[], tuple[int, int]]) -> None:
        """Show the turns the conversation log lost: `counts` gives (dropped, failed), read at scrape time."""
        self.registry.register(_TurnLogLosses(counts))

    def render(self) -> tuple[bytes, str]:
        """The body and Content-Type for GET /metrics."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _TurnLogLosses:
    """A collector over the turn log's own counters (they live in TurnLog, not here)."""

    def __init__(self, counts: Callable[[], tuple[int, int]]) -> None:
        self._counts = counts

    def describe(self) -> list[CounterMetricFamily]:
        return [self._family(0, 0)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield self._family(*self._counts())

    @staticmethod
    def _family(dropped: int, failed: int) -> CounterMetricFamily:
        family = CounterMetricFamily(
            "chatbot_turn_log_lost", "Turns the conversation log did not keep: its queue was full, or the write failed",
            labels=["reason"],
        )
        family.add_metric(["queue_full"], dropped)
        family.add_metric(["write_failed"], failed)
        return family
