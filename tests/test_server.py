"""The public HTTP contract of /work/shared/spec/api.md, over real connections to a real server.

One server (uvicorn in a subprocess, on 127.0.0.1) serves most tests of this module; tests
that need a restart or the database file to themselves get their own from `server_factory`,
and tests that only need other settings build an app in process (`app_factory`).
"Today" is pinned (BOT_TODAY) so that dates in answers are stable.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot import rules
from bot.knowledge.yamlfile import parse
from bot.operations import privacy
from conftest import ROOT, TLS, LiveServer

TODAY = date(2026, 1, 15)
MESSAGES = parse((ROOT / "knowledge" / "messages.yaml").read_text(encoding="utf-8"))
INTENT_NAMES = {i["name"] for i in parse((ROOT / "intents.yaml").read_text(encoding="utf-8"))["intents"]}
POST_ROUTES = ("/api/chat", "/api/rules/expiry", "/api/rules/renewal-window", "/api/rules/fee")
GOOD_BODIES = {
    "/api/chat": {"text": "暗証番号を忘れてしまいました"},
    "/api/rules/expiry": {"birth_date": "1990-05-10", "issued_on": "2021-03-01"},
    "/api/rules/renewal-window": {"expires_on": "2027-07-15", "today": "2027-05-01"},
    "/api/rules/fee": {"reason": "renewal"},
}
JSON = {"content-type": "application/json"}
DATE_IN_TEXT = re.compile(r"(\d+)年(\d+)月(\d+)日")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("server") / "bot.sqlite3"
    live = LiveServer({"BOT_DB": str(db), "RATE_LIMIT_PER_MINUTE": "0", "BOT_TODAY": TODAY.isoformat()})
    live.start()
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, verify=TLS, timeout=30) as c:
        yield c


def assert_error(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A JSON 4xx of the documented shape; `statuses` narrows the code when given."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"].strip(), body
    return error


def assert_turn(body: dict[str, Any]) -> None:
    """The response shape of POST /api/chat, with types."""
    assert {"session_id", "intent", "confidence", "messages", "result"} <= set(body), body
    assert isinstance(body["session_id"], str) and body["session_id"]
    assert body["intent"] is None or body["intent"] in INTENT_NAMES, body["intent"]
    assert isinstance(body["confidence"], (int, float)) and 0.0 <= body["confidence"] <= 1.0
    assert isinstance(body["messages"], list) and body["messages"]
    for message in body["messages"]:
        assert set(message) == {"text", "quick_replies", "links"}, message
        assert isinstance(message["text"], str) and message["text"].strip()
        assert isinstance(message["quick_replies"], list)
        assert all(isinstance(q, str) and q for q in message["quick_replies"])
        assert all(set(link) == {"title", "url"} and link["url"].startswith("https://") for link in message["links"])
    assert body["result"] is None or isinstance(body["result"], dict)


def chat(client: httpx.Client, text: str, session_id: str | None = None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": text, **extra}
    if session_id is not None:
        payload["session_id"] = session_id
    response = client.post("/api/chat", json=payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_turn(body)
    if session_id is not None:
        assert body["session_id"] == session_id
    return body


def said(body: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in body["messages"])


def start_expiry_dialogue(client: httpx.Client, birth: str = "1990年5月10日生まれです", **extra: Any) -> str:
    """A calc_expiry dialogue left waiting for the certificate's issue date; returns its session id."""
    first = chat(client, "有効期限を計算して", **extra)
    assert first["intent"] == "calc_expiry", first
    assert MESSAGES["ask_birth_date"] in said(first)
    second = chat(client, birth, first["session_id"])
    assert MESSAGES["ask_issued_on"] in said(second), said(second)
    return first["session_id"]


def finish_expiry_dialogue(client: httpx.Client, session_id: str) -> dict[str, Any]:
    # Issued 2023: a card from 2016 would end before the certificates, so the card's day is asked.
    third = chat(client, "2023年3月1日に発行しました", session_id)
    assert MESSAGES["ask_card_issued_on"] in said(third), said(third)
    fourth = chat(client, "同じです", session_id)
    assert fourth["intent"] == "calc_expiry"
    return fourth


EXPECTED_1990 = rules.to_json(rules.expiry(date(1990, 5, 10), date(2021, 3, 1)))
EXPECTED_DIALOGUE = rules.to_json(rules.expiry(date(1990, 5, 10), date(2023, 3, 1)))  # the card the same day


# --- the routes, when all goes well ------------------------------------------------------------


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_chat_new_session_has_the_documented_shape(client: httpx.Client) -> None:
    a = chat(client, "暗証番号を忘れてしまいました")
    b = chat(client, "暗証番号を忘れてしまいました")
    assert a["intent"] == "forgot_pin"
    assert a["result"] is None
    assert a["session_id"] != b["session_id"], "each request without session_id starts a new conversation"


def test_chat_continues_a_session_and_says_dates_in_the_documented_form(client: httpx.Client) -> None:
    session_id = start_expiry_dialogue(client)
    done = finish_expiry_dialogue(client, session_id)
    assert done["result"] == EXPECTED_DIALOGUE
    text = said(done)
    # 2027-05-10 is the certificates' expiry for this person: said as 2027年5月10日, era optional after it.
    assert "2027年5月10日" in text
    assert "2032年5月10日(令和14年5月10日)" in text
    found = DATE_IN_TEXT.findall(text)
    assert found
    for year, month, day in found:
        assert not month.startswith("0") and not day.startswith("0"), (year, month, day)
    # The dialogue is over: the same session now answers questions afresh.
    after = chat(client, "暗証番号を忘れてしまいました", session_id)
    assert after["intent"] == "forgot_pin"


def test_chat_municipality_selects_local_details_and_sticks_to_the_session(client: httpx.Client) -> None:
    national = chat(client, "窓口の受付時間を教えて")
    zama = chat(client, "窓口の受付時間を教えて", municipality="zama")
    assert national["intent"] == zama["intent"] == "office_hours"
    assert "座間市" not in said(national)
    assert "座間市" in said(zama)
    by_name = chat(client, "窓口の受付時間を教えて", municipality="座間市")
    assert "座間市" in said(by_name)
    again = chat(client, "受付時間は何時から何時まで?", zama["session_id"])
    assert "座間市" in said(again), "the municipality given once is kept for the conversation"
    # A municipality the bot has no profile for is a misconfigured widget: refused, not answered nationally.
    unknown = client.post("/api/chat", json={"text": "窓口の受付時間を教えて", "municipality": "どこか知らない市"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_municipality"
    assert "zama" in unknown.json()["error"]["message"]


def test_rules_expiry(client: httpx.Client) -> None:
    response = client.post("/api/rules/expiry", json={"birth_date": "1990-05-10", "issued_on": "2021-03-01"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == EXPECTED_1990
    assert body["user_certificate_expires_on"] == "2025-05-10"
    assert body["signature_certificate_expires_on"] == "2025-05-10"
    assert body["card_expires_on"] == "2030-05-10"
    assert body["renewal_opens_on"] == "2025-02-11"
    assert body["notes"] and all(isinstance(n, str) for n in body["notes"])


def test_rules_expiry_child_has_no_signature_certificate(client: httpx.Client) -> None:
    response = client.post("/api/rules/expiry", json={"birth_date": "2015-06-01", "issued_on": "2021-03-01"})
    assert response.status_code == 200, response.text
    assert response.json()["signature_certificate_expires_on"] is None


@pytest.mark.parametrize(
    ("today", "status"),
    [("2027-04-15", "not_yet"), ("2027-04-16", "open"), ("2027-07-15", "open"), ("2027-07-16", "expired")],
)
def test_rules_renewal_window_with_today(client: httpx.Client, today: str, status: str) -> None:
    response = client.post("/api/rules/renewal-window", json={"expires_on": "2027-07-15", "today": today})
    assert response.status_code == 200, response.text
    assert response.json() == {"opens_on": "2027-04-16", "status": status}


@pytest.mark.parametrize(
    ("expires_on", "opens_on", "status"),
    [("2026-03-01", "2025-12-02", "open"), ("2026-06-01", "2026-03-02", "not_yet"), ("2026-01-14", "2025-10-15", "expired")],
)
def test_rules_renewal_window_without_today_uses_the_servers_today(
    client: httpx.Client, expires_on: str, opens_on: str, status: str
) -> None:
    response = client.post("/api/rules/renewal-window", json={"expires_on": expires_on})
    assert response.status_code == 200, response.text
    assert response.json() == {"opens_on": opens_on, "status": status}


@pytest.mark.parametrize(
    ("reason", "certificate", "card", "total"),
    [
        ("first_issue", 0, 0, 0),
        ("renewal", 0, None, 0),
        ("reissue_after_expiry", 0, None, 0),
        ("reissue_after_invalidation", 0, None, 0),
        ("card_reissue_own_fault", 200, 800, 1000),
        ("card_reissue_not_own_fault", 0, 0, 0),
    ],
)
def test_rules_fee(client: httpx.Client, reason: str, certificate: int, card: int | None, total: int) -> None:
    response = client.post("/api/rules/fee", json={"reason": reason})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["certificate_fee_yen"], body["card_fee_yen"], body["total_yen"]) == (certificate, card, total)
    assert body["notes"] and all(isinstance(n, str) and n for n in body["notes"])


@pytest.mark.parametrize(
    ("route", "payload", "field"),
    [
        ("/api/rules/expiry", {"birth_date": "2000-01-01", "issued_on": "1999-12-31"}, "issued_on"),
        ("/api/rules/expiry", {"birth_date": "1990-05-10", "issued_on": "2021-02-30"}, "issued_on"),
        ("/api/rules/expiry", {"birth_date": "1990-02-30", "issued_on": "2021-03-01"}, "birth_date"),
        ("/api/rules/expiry", {"birth_date": "1990-05-10", "issued_on": "2021-13-01"}, "issued_on"),
        ("/api/rules/expiry", {"birth_date": "1990-05-10", "issued_on": "2021/03/01"}, "issued_on"),
        ("/api/rules/expiry", {"birth_date": "1990-05-10"}, "issued_on"),
        ("/api/rules/expiry", {"birth_date": "1990-05-10", "issued_on": "2021-03-01", "adult_ward": "yes"}, "adult_ward"),
        ("/api/rules/expiry", {"birth_date": "1990-05-10", "issued_on": "2021-03-01", "card_issued_on": "2022-01-01"},
         "issued_on"),
        ("/api/rules/expiry", {"birth_date": "0001-01-01", "issued_on": "9999-12-31"}, "birth_date"),
        ("/api/rules/expiry", {"birth_date": "9999-12-30", "issued_on": "9999-12-31"}, "birth_date"),
        ("/api/rules/renewal-window", {"expires_on": "2021-02-30"}, "expires_on"),
        ("/api/rules/renewal-window", {"expires_on": "0001-01-01"}, "expires_on"),
        ("/api/rules/renewal-window", {"expires_on": "9999-12-31", "today": "0001-01-01"}, "expires_on"),
        ("/api/rules/renewal-window", {"expires_on": "2027-07-15", "today": "tomorrow"}, "today"),
        ("/api/rules/expiry", {"birth_date": None, "issued_on": "2021-03-01"}, "birth_date"),
        ("/api/rules/expiry", {"birth_date": ["1990-05-10"], "issued_on": "2021-03-01"}, "birth_date"),
        ("/api/rules/renewal-window", {"expires_on": 20270715}, "expires_on"),
        ("/api/rules/renewal-window", {"expires_on": {"y": 2027}}, "expires_on"),
        ("/api/rules/fee", {"reason": None}, "reason"),
        ("/api/rules/fee", {"reason": ["renewal"]}, "reason"),
        ("/api/rules/fee", {"reason": "lost_it"}, "reason"),
        ("/api/rules/fee", {"reason": ""}, "reason"),
        ("/api/rules/fee", {"reason": 1}, "reason"),
        ("/api/rules/fee", {}, "reason"),
    ],
)
def test_rule_inputs_that_cannot_happen_get_422_naming_the_field(
    client: httpx.Client, route: str, payload: dict[str, Any], field: str
) -> None:
    error = assert_error(client.post(route, json=payload), 422)
    assert error.get("field") == field, error
    assert field in error["message"], error


# --- bad input: never a 500, always a JSON 4xx ------------------------------------------------------

DEEP = 10_000
BAD_BODIES: dict[str, bytes] = {
    "malformed": b'{"text": "abc"',
    "trailing_garbage": b'{"text": "abc"} x',
    "single_quotes": b"{'text': 'abc'}",
    "empty_body": b"",
    "not_an_object": b'["text"]',
    "number": b"5",
    "null": b"null",
    "string": b'"text"',
    "invalid_utf8": b'{"text": "\xff\xfe\xfd"}',
    "invalid_utf8_key": b'{"te\xc3xt": "a"}',
    "lone_surrogate": b'{"text": "\\ud800"}',
    "raw_control_char": b'{"text": "a\x01b"}',
    "nan": b'{"text": NaN}',
    "deep_list_10k": b"[" * DEEP + b"]" * DEEP,
    "deep_object_10k": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep_under_body_limit": b"[" * 8000 + b"]" * 8000,
    "deep_inside_text": b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}",
}


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_bodies_get_a_json_4xx(client: httpx.Client, route: str, case: str) -> None:
    error = assert_error(client.post(route, content=BAD_BODIES[case], headers=JSON))
    assert re.search("[ぁ-んァ-ン一-龥]", error["message"]), error  # said in Japanese first, like every error


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_wrong_content_type_gets_a_json_4xx(client: httpx.Client, route: str, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps(GOOD_BODIES[route]).encode() if content_type != "application/x-www-form-urlencoded" else b"text=a"
    assert_error(client.post(route, content=body, headers=headers))


@pytest.mark.parametrize("route", POST_ROUTES)
def test_get_on_a_post_route_is_405_with_allow(client: httpx.Client, route: str) -> None:
    response = client.get(route)
    assert_error(response, 405)
    assert "POST" in response.headers.get("allow", ""), response.headers


@pytest.mark.parametrize("route", POST_ROUTES)
def test_body_over_the_limit_is_413(client: httpx.Client, route: str) -> None:
    payload = {**GOOD_BODIES[route], "padding": "あ" * 20_000}
    assert_error(client.post(route, json=payload), 413)


@pytest.mark.parametrize("route", POST_ROUTES)
def test_chunked_body_over_the_limit_is_413_too(client: httpx.Client, route: str) -> None:
    """Without Content-Length the limit must still hold, or a client can stream megabytes in."""
    body = json.dumps({**GOOD_BODIES[route], "padding": "x" * 200_000}).encode()
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    assert_error(client.post(route, content=chunks, headers=JSON), 413)


@pytest.mark.parametrize("route", POST_ROUTES)
def test_chunked_body_under_the_limit_is_served(client: httpx.Client, route: str) -> None:
    body = json.dumps(GOOD_BODIES[route]).encode()
    response = client.post(route, content=iter([body[:5], body[5:]]), headers=JSON)
    assert response.status_code == 200, response.text


BAD_CHAT_PAYLOADS: dict[str, Any] = {
    "text_int": {"text": 5},
    "text_null": {"text": None},
    "text_list": {"text": ["暗証番号"]},
    "text_object": {"text": {"q": "暗証番号"}},
    "text_bool": {"text": True},
    "text_missing": {"session_id": "abc"},
    "text_empty": {"text": ""},
    "text_spaces": {"text": "   "},
    "text_ideographic_spaces": {"text": "\u3000\u3000"},
    "text_newlines_tabs": {"text": "\n\t\r\n"},
    "text_over_limit": {"text": "あ" * 1001},
    "text_far_over_limit": {"text": "a" * 5000},
    "session_too_long": {"text": "こんにちは", "session_id": "a" * 129},
    "session_far_too_long": {"text": "こんにちは", "session_id": "a" * 900},
    "session_space": {"text": "こんにちは", "session_id": "my session"},
    "session_dotdot": {"text": "こんにちは", "session_id": "../../etc/passwd"},
    "session_slash": {"text": "こんにちは", "session_id": "a/b"},
    "session_empty": {"text": "こんにちは", "session_id": ""},
    "session_int": {"text": "こんにちは", "session_id": 12},
    "session_list": {"text": "こんにちは", "session_id": ["a"]},
    "session_newline": {"text": "こんにちは", "session_id": "abc\n"},
    "session_nul": {"text": "こんにちは", "session_id": "abc\u0000"},
    "session_sql": {"text": "こんにちは", "session_id": "x' OR '1'='1"},
    "municipality_int": {"text": "こんにちは", "municipality": 5},
    "municipality_list": {"text": "こんにちは", "municipality": ["zama"]},
}


@pytest.mark.parametrize("case", sorted(BAD_CHAT_PAYLOADS))
def test_bad_chat_input_gets_a_json_4xx(client: httpx.Client, case: str) -> None:
    assert_error(client.post("/api/chat", json=BAD_CHAT_PAYLOADS[case]))


def test_text_at_the_limit_is_accepted(client: httpx.Client) -> None:
    chat(client, "暗証番号を忘れた" + "あ" * (1000 - len("暗証番号を忘れた")))


@pytest.mark.parametrize("session_id", ["日本語セッション", "ａｂｃ", "abc\u200b", "١٢٣"])
def test_unicode_session_id_gets_a_json_4xx(client: httpx.Client, session_id: str) -> None:
    assert_error(client.post("/api/chat", json={"text": "こんにちは", "session_id": session_id}))


CONTROL_TEXTS = ["\u0000", "\u0000\u0001\u001b", "暗証番号\u0000を忘れた", "\u001b[31m赤い文字\u001b[0m", "\u007f\u0085\u009b"]


@pytest.mark.parametrize("text", CONTROL_TEXTS)
def test_control_characters_never_cause_a_server_error(client: httpx.Client, text: str) -> None:
    response = client.post("/api/chat", json={"text": text})
    assert response.status_code < 500
    if response.status_code == 200:
        assert_turn(response.json())
    else:
        assert_error(response)


@pytest.mark.parametrize("text", CONTROL_TEXTS)
def test_control_characters_get_a_json_4xx(client: httpx.Client, text: str) -> None:
    assert_error(client.post("/api/chat", json={"text": text}))


def test_bad_input_on_the_welcome_route(client: httpx.Client) -> None:
    assert_error(client.get("/api/welcome", params={"session_id": "../x"}), 400)
    assert_error(client.get("/api/welcome", params={"session_id": "a" * 200}), 400)
    assert client.get("/api/welcome").status_code == 200


def test_unknown_paths_are_a_json_404(client: httpx.Client) -> None:
    assert_error(client.get("/api/nothing"), 404)
    assert_error(client.post("/api/nothing", json={}), 404, 405)
    assert_error(client.get("/..%2fserver.py"), 404)
    assert_error(client.get("/server.py"), 404)


def test_bad_requests_change_no_session(client: httpx.Client) -> None:
    session_id = start_expiry_dialogue(client)
    bad: list[Any] = [
        {"text": "", "session_id": session_id},
        {"text": "   ", "session_id": session_id},
        {"text": "あ" * 1001, "session_id": session_id},
        {"text": 5, "session_id": session_id},
        {"text": None, "session_id": session_id},
        {"text": ["2021年3月1日"], "session_id": session_id},
        {"text": "2021年3月1日", "session_id": session_id, "municipality": 5},
        {"text": "2021年3月1日", "session_id": session_id, "padding": "x" * 20_000},
    ]
    for payload in bad:
        assert_error(client.post("/api/chat", json=payload))
    raw = [
        b'{"text": "2021\xe5\xb9\xb43\xe6\x9c\x88", "session_id": "' + session_id.encode() + b'"',  # cut short
        b'{"text": "\xff\xfe", "session_id": "' + session_id.encode() + b'"}',
    ]
    for body in raw:
        assert_error(client.post("/api/chat", content=body, headers=JSON))
    assert_error(client.get("/api/chat", params={"session_id": session_id}), 405)
    # Still waiting for the issue date, with the birth date given before the bad requests.
    done = finish_expiry_dialogue(client, session_id)
    assert done["result"] == EXPECTED_DIALOGUE


def test_a_secret_never_reaches_the_metrics(client: httpx.Client) -> None:
    before = _samples(client.get("/metrics"))
    marker = "ゾウガメ秘密のしつもんQXZ"
    chat(client, f"{marker}を教えてください")
    chat(client, "暗証番号を忘れてしまいました")
    assert_error(client.post("/api/chat", json={"text": ""}))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert marker not in response.text and "QXZ" not in response.text
    after = _samples(response)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("chatbot_http_requests_total", route="/api/chat", status="200") == 2
    assert delta("chatbot_http_requests_total", route="/api/chat", status="400") == 1
    assert delta("chatbot_intents_total", channel="web", intent="forgot_pin") == 1
    assert delta("chatbot_http_request_duration_seconds_count", route="/api/chat") == 3
    assert after[("chatbot_turn_log_lost_total", (("reason", "queue_full"),))] == 0.0
    for (_name, labels), _ in after.items():
        for _, value in labels:
            assert marker not in value


def _samples(response: httpx.Response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


# --- settings, privacy and persistence: each on a server of its own ---------------------------------


def test_rate_limit_answers_429_in_japanese_with_retry_after(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(rate_limit_per_minute=5)
    for i in range(5):
        route = POST_ROUTES[i % len(POST_ROUTES)]
        assert c.post(route, json=GOOD_BODIES[route]).status_code == 200
    limited = c.post("/api/chat", json=GOOD_BODIES["/api/chat"])
    error = assert_error(limited, 429)
    assert error["code"] == "rate_limited"
    assert any(unicodedata.name(ch, "").startswith(("HIRAGANA", "CJK")) for ch in error["message"])
    retry_after = int(limited.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert_error(c.post("/api/rules/fee", json={"reason": "renewal"}), 429)
    # Health checks are not counted against the client.
    assert c.get("/healthz").status_code == 200


def test_input_limits_come_from_the_settings(app_factory: Callable[..., TestClient]) -> None:
    c = app_factory(max_text_chars=20, max_body_bytes=600)
    chat(c, "暗証番号を忘れた" + "あ" * 12)
    error = assert_error(c.post("/api/chat", json={"text": "暗証番号を忘れた" + "あ" * 13}), 400)
    assert error["code"] == "text_too_long" and "20" in error["message"], error
    assert_error(c.post("/api/chat", json={"text": "a", "padding": "x" * 600}), 413)


def test_rate_limit_zero_turns_it_off(client: httpx.Client) -> None:
    statuses = {client.post("/api/rules/fee", json={"reason": "renewal"}).status_code for _ in range(80)}
    assert statuses == {200}


def test_secrets_are_masked_in_the_reply_and_never_stored(server_factory: Callable[..., LiveServer]) -> None:
    live = server_factory()
    my_number = _individual_number("20250415731")
    grouped = f"{my_number[:4]} {my_number[4:8]} {my_number[8:]}"
    full_width = my_number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    session = "privacy-test-session"
    secrets = {
        "pin": ("暗証番号は4821です。忘れてしまいました", ["4821"]),
        "my_number": (f"私のマイナンバーは{my_number}です", [my_number]),
        "grouped": (f"個人番号 {grouped} で登録できますか", [my_number, grouped]),
        "full_width": (f"マイナンバー{full_width}", [full_width, my_number]),
        "signature_pin": ("署名用のパスワードはKQ7ZX93PLMです", ["KQ7ZX93PLM"]),
    }
    with httpx.Client(base_url=live.url, verify=TLS, timeout=30) as c:
        for text, _ in secrets.values():
            body = chat(c, text, session)
            assert body["messages"][0]["text"] == privacy.WARNING_TEXT, body
            for _, digits in secrets.values():
                assert all(d not in said(body) for d in digits)
        chat(c, "ありがとう", session)
    live.stop()  # the turn log flushes on shutdown; the file is read at rest
    db = Path(live.env["BOT_DB"])
    stored = b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))
    assert "[暗証番号]".encode() in stored, "the masked turns were written (so the check below means something)"
    assert "ありがとう".encode() in stored
    for _, forbidden in secrets.values():
        for secret in forbidden:
            assert secret.encode("utf-8") not in stored, secret
    assert my_number[:8].encode() not in stored


def test_names_typed_in_the_chat_never_reach_the_log(server_factory: Callable[..., LiveServer]) -> None:
    live = server_factory()
    typed = ["山田太郎です。暗証番号を忘れてしまいました", "母の佐藤花子の代わりに更新できますか", "ﾀｶﾊｼです、手数料は?",
             "ジョン・スミスと申します。在留期間が延びたら証明書はどうなりますか"]
    with httpx.Client(base_url=live.url, verify=TLS, timeout=30) as c:
        for text in typed:
            assert chat(c, text)["intent"] is not None, text  # a name does not hide the question
    live.stop()  # the turn log flushes on shutdown; the file is read at rest
    db = Path(live.env["BOT_DB"])
    stored = b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))
    assert "[氏名]です。暗証番号を忘れてしまいました".encode() in stored
    assert "母の[氏名]の代わりに更新できますか".encode() in stored
    for name in ["山田", "太郎", "佐藤", "花子", "ﾀｶﾊｼ", "タカハシ", "ジョン", "スミス"]:
        assert name.encode() not in stored, name


def _individual_number(eleven: str) -> str:
    number = next(eleven + d for d in "0123456789" if privacy.is_individual_number(eleven + d))
    assert privacy.is_individual_number(number)
    return number


def test_sessions_survive_a_restart(server_factory: Callable[..., LiveServer]) -> None:
    live = server_factory(BOT_TODAY=TODAY.isoformat())
    with httpx.Client(base_url=live.url, verify=TLS, timeout=30) as c:
        session_id = start_expiry_dialogue(c, municipality="zama")
    live.restart()
    with httpx.Client(base_url=live.url, verify=TLS, timeout=30) as c:
        done = finish_expiry_dialogue(c, session_id)
        assert done["result"] == EXPECTED_DIALOGUE
        assert "座間市" in said(chat(c, "窓口の受付時間を教えて", session_id))


def test_far_dates_in_a_dialogue_are_refused_not_a_server_error(client: httpx.Client) -> None:
    """A year the rules cannot compute with (9999年) is asked again, not a 500 that leaves the session stuck."""
    session_id = chat(client, "有効期限を計算して")["session_id"]
    refused = chat(client, "9999年12月30日生まれです", session_id)
    assert refused["result"] is None and MESSAGES["ask_birth_date"] in said(refused), said(refused)
    assert MESSAGES["ask_issued_on"] in said(chat(client, "1990年5月10日生まれです", session_id))
    refused = chat(client, "9999年12月31日に発行", session_id)
    assert refused["result"] is None and MESSAGES["ask_issued_on"] in said(refused), said(refused)
    assert finish_expiry_dialogue(client, session_id)["result"] == EXPECTED_DIALOGUE


def test_openapi_documents_the_error_body_integrators_get(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's `detail` shape
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert {"code", "message"} <= set(error["required"])
    for path, method in (("/api/chat", "post"), ("/api/welcome", "get"), ("/api/rules/expiry", "post"),
                         ("/api/rules/renewal-window", "post"), ("/api/rules/fee", "post")):
        responses = spec["paths"][path][method]["responses"]
        for status in ("400", "413", "422", "429"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
    # and what the server really sends for a 422 has that shape
    error = assert_error(client.post("/api/rules/fee", json={"reason": 3}), 422)
    assert error["field"] == "reason"


def test_web_clients_cannot_open_a_line_conversation(client: httpx.Client) -> None:
    # LINE sessions are keyed by a digest of the user; knowing one must not let a web page read it.
    key = "line:" + "0" * 64
    assert assert_error(client.post("/api/chat", json={"text": "こんにちは", "session_id": key}), 400)["code"] == \
        "invalid_session_id"
    assert assert_error(client.get("/api/welcome", params={"session_id": key}), 400)["code"] == "invalid_session_id"
    assert chat(client, "こんにちは", session_id="line-ish_but.not:line")["session_id"] == "line-ish_but.not:line"
