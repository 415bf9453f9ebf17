"""Property-based fuzzing of every operation in the server's own OpenAPI schema (schemathesis).

Schemathesis generates valid (positive) and invalid (negative) requests from /openapi.json and sends them to a real
server on 127.0.0.1. Whatever it sends, the server never answers 5xx, every answer matches the schema's
body for its status, and every 4xx carries the documented `{"error": {"code", "message"}}` body. Bounded: max_examples per operation, no deadline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import LiveServer, loopback

# schemathesis (0.4 s of imports, 2 s on a fresh clone) is imported by the fixture and the test
# that use it, not here: every pytest worker collects this file, one runs it.

MAX_EXAMPLES = 50


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("fuzz") / "bot.sqlite3"
    live = LiveServer({
        "BOT_DB": str(db),
        "RATE_LIMIT_PER_MINUTE": "0",
        # With a secret the LINE webhook is live (503 without one): fuzz bodies must fail its
        # signature check with a 4xx; replies, were any sent, go nowhere but 127.0.0.1.
        "LINE_CHANNEL_SECRET": "fuzz-secret",
        "LINE_CHANNEL_ACCESS_TOKEN": "fuzz-token",
        "LINE_API_BASE": "http://127.0.0.1:9",
        # One try each: a fuzzed follow event's reply fails at once instead of being retried with
        # backoff, which the server's shutdown would wait out (5 s at the end of this file).
        "LINE_RETRY_TRIES": "1",
    })
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: LiveServer) -> Any:
    import schemathesis

    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


# Every operation of the schema, by label. (schemathesis' own pytest loader for a schema from a
# fixture does not run under this pytest, so operations are listed here and checked against
# the live schema below: a new route fails that test until it is added here and fuzzed.)
OPERATIONS = (
    "GET /healthz",
    "POST /api/chat",
    "GET /api/welcome",
    "POST /api/rules/expiry",
    "POST /api/rules/renewal-window",
    "POST /api/rules/fee",
    "GET /metrics",
    "POST /webhook/line",
)


def operations(api_schema: Any) -> dict[str, Any]:
    found = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    assert set(operations(api_schema)) == set(OPERATIONS)


# Nothing to make invalid: no parameters, and the webhook declares no body (it reads it raw to
# check the signature; test_line_webhook_bodies below fuzzes that).
WITHOUT_INPUTS = {"GET /healthz", "GET /metrics", "POST /webhook/line"}
# (label, schemathesis.GenerationMode's value)
CASES = [(label, "positive") for label in OPERATIONS] + [
    (label, "negative") for label in OPERATIONS if label not in WITHOUT_INPUTS
]


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label}-{mode}" for label, mode in CASES])
def test_no_server_errors_and_json_errors_for_4xx(api_schema: Any, label: str, mode: str) -> None:
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error, response_schema_conformance

    operation = operations(api_schema)[label]

    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        response = case.call(timeout=30)
        # Every answer, 200 or 4xx, must also match the body the schema documents for its status.
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        if 400 <= response.status_code < 500:
            assert_json_error(response)

    fuzz()


def assert_json_error(response: Any) -> None:
    """`response` is schemathesis' Response: headers map to lists of values."""
    where = (response.request.method, response.request.url, response.status_code, response.content[:300])
    content_type = ",".join(response.headers.get("content-type", []))
    assert content_type.startswith("application/json"), where
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"error"}, where
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], where
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"].strip(), where


SECRET = "fuzz-secret"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "follow", "unfollow", "postback", "x"]) | json_values},
    optional={
        "webhookEventId": st.text(max_size=20) | json_values,
        "source": st.fixed_dictionaries({}, optional={"type": st.just("user") | json_values,
                                                      "userId": st.text(max_size=40) | json_values}),
        "replyToken": json_values,
        "message": st.fixed_dictionaries({}, optional={"type": st.just("image") | json_values, "text": json_values}),
        "timestamp": json_values,
    },
)
bodies = (
    json_values
    | st.fixed_dictionaries({"events": json_values})
    | st.fixed_dictionaries({"destination": st.text(max_size=10), "events": st.lists(event_like, max_size=3)})
)


@given(body=bodies, signed=st.booleans(), raw=st.binary(max_size=64) | st.none())
@settings(max_examples=2 * MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_line_webhook_bodies(fuzz_server: LiveServer, body: Any, signed: bool, raw: bytes | None) -> None:
    """Signed or not, any body gets a JSON 4xx or a 200, never a 5xx (text messages are left out:
    they would be answered, and replies here go to a closed port)."""
    content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    digest = hmac.new(SECRET.encode(), content, hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode() if signed else "bm90IGEgc2lnbmF0dXJl"
    response = loopback.post(f"{fuzz_server.url}/webhook/line", content=content, timeout=30,
                             headers={"content-type": "application/json", "x-line-signature": signature})
    assert response.status_code < 500, (content[:300], response.status_code, response.text[:300])
    if not signed:
        assert response.status_code in (401, 403), response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
