from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.operations.metrics import FALLBACK_KINDS, MASKED_KINDS, Metrics


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def test_requests_are_counted_by_route_and_status() -> None:
    metrics = Metrics()
    metrics.observe_request("/api/chat", 200, 0.012)
    metrics.observe_request("/api/chat", 200, 0.3)
    metrics.observe_request("/api/chat", 429, 0.001)
    metrics.observe_request("/webhook/line", 401, 0.002)
    assert value(metrics, "chatbot_http_requests_total", route="/api/chat", status="200") == 2
    assert value(metrics, "chatbot_http_requests_total", route="/api/chat", status="429") == 1
    assert value(metrics, "chatbot_http_requests_total", route="/webhook/line", status="401") == 1


def test_latency_histogram_buckets() -> None:
    metrics = Metrics()
    for seconds in (0.004, 0.02, 0.02, 0.7, 12.0):
        metrics.observe_request("/api/chat", 200, seconds)
    name = "chatbot_http_request_duration_seconds"
    assert value(metrics, name + "_count", route="/api/chat") == 5
    assert value(metrics, name + "_sum", route="/api/chat") == pytest.approx(12.744)
    assert value(metrics, name + "_bucket", route="/api/chat", le="0.005") == 1
    assert value(metrics, name + "_bucket", route="/api/chat", le="0.025") == 3
    assert value(metrics, name + "_bucket", route="/api/chat", le="1.0") == 4
    assert value(metrics, name + "_bucket", route="/api/chat", le="+Inf") == 5


def test_intents_by_channel_with_none_for_out_of_domain() -> None:
    metrics = Metrics()
    metrics.count_intent("web", "renewal_window")
    metrics.count_intent("web", "renewal_window")
    metrics.count_intent("line", "renewal_window")
    metrics.count_intent("web", None)
    assert value(metrics, "chatbot_intents_total", channel="web", intent="renewal_window") == 2
    assert value(metrics, "chatbot_intents_total", channel="line", intent="renewal_window") == 1
    assert value(metrics, "chatbot_intents_total", channel="web", intent="none") == 1


def test_fallback_and_masking_kinds_start_at_zero_and_count() -> None:
    metrics = Metrics()
    for kind in FALLBACK_KINDS:
        assert value(metrics, "chatbot_fallbacks_total", kind=kind) == 0
    for kind in MASKED_KINDS:
        assert value(metrics, "chatbot_privacy_masked_total", kind=kind) == 0
    metrics.count_fallback("clarify")
    metrics.count_fallback("clarify")
    metrics.count_fallback("gave_up")
    metrics.count_masked("my_number")
    assert value(metrics, "chatbot_fallbacks_total", kind="clarify") == 2
    assert value(metrics, "chatbot_fallbacks_total", kind="gave_up") == 1
    assert value(metrics, "chatbot_fallbacks_total", kind="out_of_domain") == 0
    assert value(metrics, "chatbot_privacy_masked_total", kind="my_number") == 1


@pytest.mark.parametrize("method,kind", [("count_fallback", "weather"), ("count_masked", "暗証番号は1234")])
def test_unknown_kinds_are_programming_errors(method: str, kind: str) -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="must be one of"):
        getattr(metrics, method)(kind)
    labels = {value for _, pairs in samples(metrics) for _, value in pairs}
    assert kind not in labels


def test_open_ended_labels_are_bounded() -> None:
    metrics = Metrics(max_label_values=3)
    for i in range(50):
        metrics.observe_request(f"/session/{i}", 404, 0.001)
    routes = {dict(labels)["route"] for name, labels in samples(metrics) if name == "chatbot_http_requests_total"}
    assert routes == {"/session/0", "/session/1", "/session/2", "other"}
    assert value(metrics, "chatbot_http_requests_total", route="other", status="404") == 47


def test_instances_do_not_share_counts() -> None:
    first, second = Metrics(), Metrics()
    first.count_intent("web", "fee")
    assert value(first, "chatbot_intents_total", channel="web", intent="fee") == 1
    assert value(second, "chatbot_intents_total", channel="web", intent="fee") is None


def test_process_metrics_are_optional() -> None:
    names = {name for name, _ in samples(Metrics(process=False))}
    assert not any(name.startswith("process_") for name in names)


def test_counting_from_threads_loses_nothing() -> None:
    metrics = Metrics()

    def work() -> None:
        for _ in range(1000):
            metrics.count_intent("web", "fee")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert value(metrics, "chatbot_intents_total", channel="web", intent="fee") == 8000


def test_turn_log_losses_are_read_when_scraped() -> None:
    losses = {"dropped": 0, "failed": 0}
    metrics = Metrics(process=False)
    metrics.watch_turn_log(lambda: (losses["dropped"], losses["failed"]))
    assert 'chatbot_turn_log_lost_total{reason="queue_full"} 0.0' in metrics.render()[0].decode()
    losses.update(dropped=3, failed=2)
    text = metrics.render()[0].decode()
    assert 'chatbot_turn_log_lost_total{reason="queue_full"} 3.0' in text
    assert 'chatbot_turn_log_lost_total{reason="write_failed"} 2.0' in text

