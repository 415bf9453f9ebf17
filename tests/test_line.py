"""The LINE channel end to end: signed webhooks into a real bot server, its calls into a fake LINE API.

Most tests share one server (starting one takes seconds); those that need their own
settings or a restart use `server_factory`. Every conversation uses its own user id.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.line import signature
from bot.channels.line_messages import MAX_LABEL_CHARS, MAX_QUICK_REPLIES, MAX_TEXT_CHARS, line_messages
from bot.engine import valid_session_id
from bot.knowledge.message import Message
from bot.operations.settings import ConfigError
from conftest import LiveServer, loopback, start_redis
from fake_line_api import PUSH, REPLY, Call, FakeLineApi

SECRET = "test-channel-secret"
TOKEN = "test-access-token"


def line_env(fake: FakeLineApi, **extra: str) -> dict[str, str]:
    return {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE": fake.url,
            "LINE_RETRY_BASE_SECONDS": "0.05", "BOT_TODAY": "2026-01-15", "LINE_MUNICIPALITY": "", **extra}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLineApi]:
    with FakeLineApi(TOKEN) as api:
        yield api


@pytest.fixture(scope="module")
def shared_server(fake: FakeLineApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("line") / "bot.sqlite3"
    server = LiveServer({"BOT_DB": str(db), "RATE_LIMIT_PER_MINUTE": "0", **line_env(fake)})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def line(fake: FakeLineApi, shared_server: LiveServer) -> Iterator[FakeLineApi]:
    fake.reset()
    yield fake
    fake.reset()


# --- webhook bodies -----------------------------------------------------------


def new_user() -> str:
    return "U" + uuid.uuid4().hex


def event(kind: str, user: str, *, source: dict[str, str] | None = None, event_id: str | None = None,
          redelivery: bool = False, mode: str = "active", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "mode": mode, "timestamp": 1767225600000,
            "source": source or {"type": "user", "userId": user},
            "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": redelivery},
            "replyToken": uuid.uuid4().hex, **fields}


def text(user: str, said: str, **kw: Any) -> dict[str, Any]:
    return event("message", user, message={"id": "1", "type": "text", "quoteToken": "q", "text": said}, **kw)


def post(server: LiveServer, events: list[dict[str, Any]], *, body: bytes | None = None,
         secret: str | None = SECRET, sig: str | bytes | None = None) -> httpx.Response:
    raw = body if body is not None else json.dumps({"destination": "Ubot", "events": events}, ensure_ascii=False).encode()
    headers: dict[str, str | bytes] = {"content-type": "application/json"}
    if sig is not None:
        headers["x-line-signature"] = sig
    elif secret is not None:
        headers["x-line-signature"] = signature(secret, raw)
    return loopback.post(server.url + "/webhook/line", content=raw, headers=headers, timeout=10)


def say(server: LiveServer, fake: FakeLineApi, user: str, said: str) -> Call:
    """Send one text message and wait for the one call that answers it."""
    before = len(fake.calls)
    ev = text(user, said)
    assert post(server, [ev]).status_code == 200
    call = fake.wait_for(before + 1)[before]
    assert call.path == REPLY and call.body["replyToken"] == ev["replyToken"]
    return call


def assert_error(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    assert response.status_code in (status if isinstance(status, tuple) else (status,)), response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["message"]
    return error


# --- the webhook's front door ------------------------------------------------------


BAD_SIGNATURES = [
    pytest.param({"secret": None}, id="missing"),
    pytest.param({"secret": "another-secret"}, id="other-secret"),
    pytest.param({"sig": "not base64 at all"}, id="garbage"),
    pytest.param({"sig": "ＡＢＣ==".encode()}, id="non-ascii-bytes"),
    pytest.param({"sig": signature(SECRET, b'{"events":[]}')}, id="signature-of-another-body"),
]


@pytest.mark.parametrize("how", BAD_SIGNATURES)
def test_unsigned_or_badly_signed_webhooks_are_refused_and_not_processed(
    shared_server: LiveServer, line: FakeLineApi, how: dict[str, Any]
) -> None:
    user = new_user()
    refused = post(shared_server, [text(user, "暗証番号を忘れた")], **how)
    assert_error(refused, (401, 403))
    # A signed message afterwards is the barrier: once it is answered, the refused one would have been too.
    ok = text(user, "手数料はいくら?")
    assert post(shared_server, [ok]).status_code == 200
    calls = line.wait_for(1, settle=0.3)
    assert [c.body["replyToken"] for c in calls] == [ok["replyToken"]]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[]", b'{"events": 3}', b'"events"'])
def test_a_signed_but_malformed_body_is_a_400(shared_server: LiveServer, line: FakeLineApi, body: bytes) -> None:
    assert_error(post(shared_server, [], body=body), 400)


def test_an_empty_event_list_is_answered_200_as_in_lines_url_check(shared_server: LiveServer, line: FakeLineApi) -> None:
    response = post(shared_server, [])
    assert response.status_code == 200
    assert line.wait_for(0, settle=0.2) == []


def test_the_channel_takes_its_settings_from_the_app_it_is_built_for(app_factory: Any) -> None:
    with pytest.raises(ConfigError, match="LINE_MUNICIPALITY"):
        app_factory(line_municipality="どこにもない市")
    app_factory(line_municipality="zama")


def test_without_a_channel_secret_the_route_says_why(app_factory: Any, fake: FakeLineApi) -> None:
    # Refused before any call to LINE, so the app in process (LINE_CHANNEL_SECRET="" reads as unset).
    app = app_factory(line_channel_secret=None, line_channel_access_token=TOKEN, line_api_base=fake.url)
    raw = json.dumps({"destination": "Ubot", "events": [text(new_user(), "暗証番号を忘れた")]}).encode()
    response = app.post("/webhook/line", content=raw,
                        headers={"content-type": "application/json", "x-line-signature": signature(SECRET, raw)})
    error = assert_error(response, 503)
    assert "LINE_CHANNEL_SECRET" in error["message"]


# --- turns ----------------------------------------------------------------------


def test_a_text_message_gets_one_reply_with_the_same_answer_as_the_web(shared_server: LiveServer, line: FakeLineApi) -> None:
    call = say(shared_server, line, new_user(), "暗証番号を忘れた")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-line-retry-key" not in call.headers  # LINE refuses the retry key on replies
    assert "再設定" in call.text()
    web = loopback.post(shared_server.url + "/api/chat", json={"text": "暗証番号を忘れた"}).json()
    # The same words; LINE adds the official pages as a line each, since it shows no link list.
    assert call.texts() == [m["text"] + "".join(f"\n出典:{link['title']} {link['url']}" for link in m["links"])
                            for m in web["messages"]]
    assert any(m["links"] for m in web["messages"])
    buttons = [q for m in web["messages"] for q in m["quick_replies"]]
    assert [i["action"]["text"] for i in call.body["messages"][-1]["quickReply"]["items"]] == buttons
    assert all("quickReply" not in m for m in call.body["messages"][:-1])
    assert line.wait_for(1, settle=0.2) == [call]


def test_tapping_a_quick_reply_continues_the_conversation(shared_server: LiveServer, line: FakeLineApi) -> None:
    user = new_user()
    first = say(shared_server, line, user, "暗証番号を忘れた")
    items = first.body["messages"][-1]["quickReply"]["items"]
    assert items and len(items) <= MAX_QUICK_REPLIES
    for item in items:
        assert item["type"] == "action" and item["action"]["type"] == "message"
        assert 0 < len(item["action"]["label"]) <= MAX_LABEL_CHARS
    tapped = next(i["action"]["text"] for i in items if "変更" in i["action"]["text"])
    second = say(shared_server, line, user, tapped)
    assert "変更" in second.text() and second.text() != first.text()


def test_a_postback_is_read_as_what_it_displays(shared_server: LiveServer, line: FakeLineApi) -> None:
    ev = event("postback", new_user(), postback={"data": "menu=pin", "displayText": "暗証番号を忘れた"})
    assert post(shared_server, [ev]).status_code == 200
    [call] = line.wait_for(1)
    assert call.path == REPLY and call.body["replyToken"] == ev["replyToken"]
    assert "再設定" in call.text()


def test_a_follow_event_gets_the_greeting_and_topic_buttons(shared_server: LiveServer, line: FakeLineApi) -> None:
    ev = event("follow", new_user(), follow={"isUnblocked": False})
    assert post(shared_server, [ev]).status_code == 200
    [call] = line.wait_for(1)
    welcome = loopback.get(shared_server.url + "/api/welcome").json()
    assert call.texts() == [m["text"] for m in welcome["messages"]]
    labels = [i["action"]["label"] for i in call.body["messages"][-1]["quickReply"]["items"]]
    assert labels == welcome["messages"][-1]["quick_replies"] and len(labels) >= 4


def test_a_sticker_gets_a_note_that_only_text_is_read(shared_server: LiveServer, line: FakeLineApi) -> None:
    ev = event("message", new_user(), message={"id": "2", "type": "sticker", "packageId": "1", "stickerId": "1"})
    assert post(shared_server, [ev]).status_code == 200
    [call] = line.wait_for(1)
    assert "文字" in call.text() and call.body["messages"][-1]["quickReply"]["items"]


def test_too_long_a_message_gets_the_japanese_limit_message(shared_server: LiveServer, line: FakeLineApi) -> None:
    call = say(shared_server, line, new_user(), "あ" * 1001)
    assert "長すぎます" in call.text()


IGNORED = [
    pytest.param(lambda u: event("unfollow", u), id="unfollow"),
    pytest.param(lambda u: event("join", u, source={"type": "group", "groupId": "C" + u[1:]}), id="join"),
    pytest.param(lambda u: event("leave", u, source={"type": "group", "groupId": "C" + u[1:]}), id="leave"),
    pytest.param(lambda u: event("unsend", u, unsend={"messageId": "1"}), id="unsend"),
    pytest.param(lambda u: event("somethingNew", u, surprise={"x": 1}), id="unknown-type"),
    pytest.param(lambda u: text(u, "暗証番号を忘れた", mode="standby"), id="standby"),
    pytest.param(lambda u: {"type": "message", "message": {"type": "text", "text": "x"}}, id="no-source"),
    pytest.param(lambda u: "not an event", id="not-an-object"),
]


@pytest.mark.parametrize("make", IGNORED)
def test_events_the_bot_does_not_answer_are_ignored_without_error(
    shared_server: LiveServer, line: FakeLineApi, make: Any
) -> None:
    user = new_user()
    ok = text(user, "手数料はいくら?")
    assert post(shared_server, [make(user), ok]).status_code == 200
    calls = line.wait_for(1, settle=0.3)
    assert [c.body["replyToken"] for c in calls] == [ok["replyToken"]]


def test_a_full_expiry_calculation_over_line(shared_server: LiveServer, line: FakeLineApi) -> None:
    user = new_user()
    assert "生年月日" in say(shared_server, line, user, "有効期限を計算したい").text()
    assert "発行" in say(shared_server, line, user, "1990年5月10日").text()
    asked = say(shared_server, line, user, "2023年3月1日")
    assert "同じ日" in [i["action"]["text"] for i in asked.body["messages"][-1]["quickReply"]["items"]]
    result = say(shared_server, line, user, "同じ日").text()
    # rules.md: the 5th birthday strictly after the 2023-03-01 issue day; the rules route agrees.
    rules = loopback.post(shared_server.url + "/api/rules/expiry",
                          json={"birth_date": "1990-05-10", "issued_on": "2023-03-01"}).json()
    assert rules["user_certificate_expires_on"] == "2027-05-10"
    assert "利用者証明用電子証明書:2027年5月10日" in result
    assert "2032年5月10日" in result  # the card
    assert "まだ受付前" in result  # BOT_TODAY=2026-01-15 is before renewal opens


def test_one_users_messages_are_answered_in_order_and_users_apart(shared_server: LiveServer, line: FakeLineApi) -> None:
    alice, others = new_user(), [new_user() for _ in range(12)]
    mine = [text(alice, said) for said in ("有効期限を計算したい", "1990年5月10日", "2023年3月1日")]
    theirs = [text(u, "手数料はいくら?") for u in others]
    assert post(shared_server, [mine[0], *theirs[:6], mine[1], *theirs[6:], mine[2]]).status_code == 200
    calls = line.wait_for(15, settle=0.2)
    assert len(calls) == 15 and all(c.path == REPLY for c in calls)
    by_token = {c.body["replyToken"]: c for c in calls}
    assert {e["replyToken"] for e in mine + theirs} == set(by_token)
    answers = [by_token[e["replyToken"]].text() for e in mine]
    assert "生年月日" in answers[0] and "発行" in answers[1] and "カードを受け取った日" in answers[2]


def test_in_a_group_each_member_has_their_own_conversation(shared_server: LiveServer, line: FakeLineApi) -> None:
    alice, bob = new_user(), new_user()
    group = {"type": "group", "groupId": "C" + uuid.uuid4().hex}
    for said in ("有効期限を計算したい", "1990年5月10日", "2023年3月1日"):
        before = len(line.calls)
        assert post(shared_server, [text(alice, said, source={**group, "userId": alice})]).status_code == 200
        line.wait_for(before + 1)
    # Alice's group dialogue now waits for the card's issue day; nobody else's does.
    bob_in_group = text(bob, "同じ日", source={**group, "userId": bob})
    alice_alone = text(alice, "同じ日")
    alice_in_group = text(alice, "同じ日", source={**group, "userId": alice})
    assert post(shared_server, [bob_in_group, alice_alone, alice_in_group]).status_code == 200
    answers = {c.body["replyToken"]: c.text() for c in line.wait_for(6)}
    assert "2027年5月10日" in answers[alice_in_group["replyToken"]]
    assert "2027年5月10日" not in answers[bob_in_group["replyToken"]]
    assert "2027年5月10日" not in answers[alice_alone["replyToken"]]


def database_bytes(db: Path) -> bytes:
    """Everything SQLite keeps for this database: the file, its write-ahead log and shared memory."""
    return b"".join(path.read_bytes() for path in sorted(db.parent.glob(db.name + "*")))


def stored_session_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM sessions")]


def test_the_database_never_holds_a_raw_line_id(server_factory: Any, fake: FakeLineApi) -> None:
    fake.reset()
    server = server_factory(**line_env(fake))
    db = Path(server.env["BOT_DB"])
    alice, bob = new_user(), new_user()
    group, room = "C" + uuid.uuid4().hex, "R" + uuid.uuid4().hex
    assert "生年月日" in say(server, fake, alice, "有効期限を計算したい").text()
    assert "発行" in say(server, fake, alice, "1990年5月10日").text()
    for ev in (text(alice, "手数料はいくら?", source={"type": "group", "groupId": group, "userId": alice}),
               text(bob, "手数料はいくら?", source={"type": "room", "roomId": room, "userId": bob}),
               event("follow", bob, follow={"isUnblocked": False})):
        before = len(fake.calls)
        assert post(server, [ev]).status_code == 200
        fake.wait_for(before + 1)
    # The push fallback still knows whom to push to: the raw id lives in the in-flight event only.
    fake.reject_reply_tokens = True
    before = len(fake.calls)
    assert post(server, [text(bob, "暗証番号を忘れた")]).status_code == 200
    push = fake.wait_for(before + 2)[before + 1]
    assert push.path == PUSH and push.body["to"] == bob and "再設定" in push.text()
    fake.reject_reply_tokens = False
    # What a conversation stores (its topic, a dialogue) is stored under the HMAC key.
    assert "生年月日" in say(server, fake, bob, "有効期限を計算したい").text()

    # Alice's dialogue goes on after a restart: her key is stable, not a per-process secret.
    server.restart()
    asked = say(server, fake, alice, "2023年3月1日")
    assert "同じ日" in [i["action"]["text"] for i in asked.body["messages"][-1]["quickReply"]["items"]]

    ids = stored_session_ids(db)
    assert len(ids) == 4  # alice alone, alice in the group, bob in the room, bob alone
    assert all(valid_session_id(i) and i.startswith("line:") for i in ids)
    raw_ids = (alice, bob, group, room)
    assert [i for i in raw_ids if i.encode() in database_bytes(db)] == []
    server.stop()  # the last connection's checkpoint moves the write-ahead log into the file
    everything = database_bytes(db)
    assert all(i.encode() in everything for i in ids)  # the scan does find what is stored
    assert [i for i in raw_ids if i.encode() in everything] == []


# --- delivery: retries, expired tokens, redelivery ---------------------------------


@pytest.mark.parametrize("failures", [[500], [429, 503], [0]], ids=["500", "429-then-503", "dropped-connection"])
def test_transient_errors_are_retried_until_the_reply_goes_through(
    shared_server: LiveServer, line: FakeLineApi, failures: list[int]
) -> None:
    line.fail_next(*failures)
    ev = text(new_user(), "暗証番号を忘れた")
    assert post(shared_server, [ev]).status_code == 200
    calls = line.wait_for(len(failures) + 1, settle=0.3)
    assert [c.status for c in calls] == [*failures, 200]
    assert all(c.path == REPLY and c.body["replyToken"] == ev["replyToken"] for c in calls)


def test_retries_are_bounded_and_the_server_carries_on(shared_server: LiveServer, line: FakeLineApi) -> None:
    line.fail_next(503, 503, 503, 503)
    assert post(shared_server, [text(new_user(), "暗証番号を忘れた")]).status_code == 200
    assert [c.status for c in line.wait_for(3, settle=0.5)] == [503, 503, 503]
    line.reset()
    assert "再設定" in say(shared_server, line, new_user(), "暗証番号を忘れた").text()


def test_a_refused_reply_token_falls_back_to_a_push_with_a_retry_key(shared_server: LiveServer, line: FakeLineApi) -> None:
    line.reject_reply_tokens = True
    user = new_user()
    assert post(shared_server, [text(user, "暗証番号を忘れた")]).status_code == 200
    reply, push = line.wait_for(2, settle=0.3)
    assert (reply.path, reply.status) == (REPLY, 400)
    assert push.path == PUSH and push.status == 200 and push.body["to"] == user
    assert uuid.UUID(push.headers["x-line-retry-key"])
    assert push.body["messages"] == reply.body["messages"] and "再設定" in push.text()


def test_a_push_retry_keeps_its_retry_key(shared_server: LiveServer, line: FakeLineApi) -> None:
    line.reject_reply_tokens = True
    line.fail_next(500, path=PUSH)
    group = "C" + uuid.uuid4().hex
    ev = text(new_user(), "暗証番号を忘れた", source={"type": "group", "groupId": group, "userId": new_user()})
    assert post(shared_server, [ev]).status_code == 200
    reply, first, second = line.wait_for(3, settle=0.3)
    assert (first.path, first.status, second.path, second.status) == (PUSH, 500, PUSH, 200)
    assert first.headers["x-line-retry-key"] == second.headers["x-line-retry-key"]
    assert second.body["to"] == group  # a group is pushed to as a group


def test_an_expired_reply_token_is_not_tried_and_the_answer_is_pushed(server_factory: Any, fake: FakeLineApi) -> None:
    fake.reset()
    server = server_factory(**line_env(fake, LINE_REPLY_TOKEN_SECONDS="0"))
    user = new_user()
    assert post(server, [text(user, "暗証番号を忘れた")]).status_code == 200
    [push] = fake.wait_for(1, settle=0.3)
    assert push.path == PUSH and push.body["to"] == user and "再設定" in push.text()
    assert push.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_redelivered_event_is_answered_once_also_after_a_restart(server_factory: Any, fake: FakeLineApi) -> None:
    fake.reset()
    server = server_factory(**line_env(fake))
    user = new_user()
    ev = text(user, "暗証番号を忘れた")
    again = {**ev, "deliveryContext": {"isRedelivery": True}, "replyToken": uuid.uuid4().hex}
    assert post(server, [ev]).status_code == 200
    assert post(server, [again]).status_code == 200
    assert [c.body["replyToken"] for c in fake.wait_for(1, settle=0.4)] == [ev["replyToken"]]
    server.restart()
    assert post(server, [again]).status_code == 200
    fresh = text(user, "手数料はいくら?")
    assert post(server, [fresh]).status_code == 200
    calls = fake.wait_for(2, settle=0.3)
    assert [c.body["replyToken"] for c in calls] == [ev["replyToken"], fresh["replyToken"]]
    fake.reset()


# --- LINE's limits, on the translation itself -------------------------------------


def test_more_than_five_messages_are_merged_into_the_fifth() -> None:
    out = line_messages([Message(f"本文{i}") for i in range(1, 8)])
    assert [m["text"] for m in out] == ["本文1", "本文2", "本文3", "本文4", "本文5\n\n本文6\n\n本文7"]


def test_text_over_5000_characters_is_split_without_losing_any() -> None:
    long_text = "\n".join(f"{i:04d}" + "あ" * 95 for i in range(120))  # 12,000 characters
    out = line_messages([Message(long_text, ("やめる",))])
    assert len(out) == 3 and all(len(m["text"]) <= MAX_TEXT_CHARS for m in out)
    assert "\n".join(m["text"] for m in out) == long_text
    assert "quickReply" in out[-1] and all("quickReply" not in m for m in out[:-1])


def test_a_huge_turn_still_fits_one_reply() -> None:
    out = line_messages([Message("い" * 9000) for _ in range(4)])
    assert len(out) == 5 and all(len(m["text"]) <= MAX_TEXT_CHARS for m in out)
    assert "省略" in out[-1]["text"]


def test_quick_replies_keep_to_lines_limits() -> None:
    long_label = "電子証明書の有効期限を自分で計算してみたいのですが"
    earlier = Message("もしかして", tuple(f"話題{i}" for i in range(12)))
    last = Message("どうしますか", (long_label, "話題1", "やめる", "問い合わせ先", "  ", "x" * 301))
    items = line_messages([earlier, last])[-1]["quickReply"]["items"]
    texts = [i["action"]["text"] for i in items]
    assert len(items) == MAX_QUICK_REPLIES and len(set(texts)) == len(texts)
    assert all(len(i["action"]["label"]) <= MAX_LABEL_CHARS for i in items)
    assert {long_label, "やめる", "問い合わせ先"} <= set(texts) and "話題11" not in texts  # the last message's win
    assert next(i for i in items if i["action"]["text"] == long_label)["action"]["label"] == long_label[:19] + "…"
    assert "  " not in texts and "x" * 301 not in texts


def test_empty_messages_make_no_bubbles() -> None:
    assert line_messages([Message("  "), Message("")]) == []


def test_a_store_that_is_down_still_gets_the_user_an_answer(server_factory: Any, fake: FakeLineApi) -> None:
    fake.reset()
    proc, url = start_redis()
    try:
        server = server_factory(**line_env(fake, SESSION_STORE="redis", REDIS_URL=url))
        user = new_user()
        assert "生年月日" in say(server, fake, user, "有効期限を計算したい").text()
        proc.terminate()
        proc.wait(timeout=10)
        # Neither the redelivery record nor the conversation can be read: the user is told to
        # try again instead of hearing nothing.
        assert "もう一度" in say(server, fake, user, "1990年5月10日").text()
    finally:
        if proc.poll() is None:
            proc.kill()

