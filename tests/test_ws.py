"""The /ws protocol (hello → welcome, message → reply with the id echoed, error frames),
over real WebSocket connections to a real server, and a bounded load test of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot import rules
from bot.knowledge.yamlfile import parse
from conftest import ROOT, TLS, LiveServer

MESSAGES = parse((ROOT / "knowledge" / "messages.yaml").read_text(encoding="utf-8"))
ISSUED_ON = date(2021, 3, 1)
ISSUED_LATE = date(2023, 3, 1)  # a card from 2016 could end before these certificates: the card is asked
T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("ws") / "bot.sqlite3"
    live = LiveServer({"BOT_DB": str(db), "RATE_LIMIT_PER_MINUTE": "0", "BOT_TODAY": "2026-01-15"})
    live.start()
    yield live
    live.stop()


def run(coro: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro(), timeout)

    return asyncio.run(bounded())


async def ask(ws: ClientConnection, frame: Any, timeout: float = 20) -> dict[str, Any]:
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def hello(ws: ClientConnection, **extra: Any) -> str:
    welcome = await ask(ws, {"type": "hello", **extra})
    assert welcome["type"] == "welcome", welcome
    assert isinstance(welcome["session_id"], str) and welcome["session_id"]
    assert welcome["messages"] and all(isinstance(m["text"], str) for m in welcome["messages"])
    return welcome["session_id"]


def said(frame: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in frame["messages"])


def assert_error_frame(frame: dict[str, Any], code: str | None = None, frame_id: Any = None) -> None:
    assert frame["type"] == "error", frame
    assert frame["id"] == frame_id, frame
    assert isinstance(frame["error"]["code"], str) and frame["error"]["message"].strip(), frame
    if code is not None:
        assert frame["error"]["code"] == code, frame


def test_hello_welcome_and_message_reply_with_id_echo(server: LiveServer) -> None:
    async def scenario() -> None:
        async with connect(server.ws_url) as ws:
            session_id = await hello(ws)
            reply = await ask(ws, {"type": "message", "id": "m-1", "text": "暗証番号を忘れてしまいました",
                                   "session_id": session_id})
            assert reply["type"] == "reply"
            assert reply["id"] == "m-1"
            assert reply["session_id"] == session_id
            assert reply["intent"] == "forgot_pin"
            assert 0 <= reply["confidence"] <= 1 and reply["result"] is None
            numbered = await ask(ws, {"type": "message", "id": 7, "text": "手数料はいくら?", "session_id": session_id})
            assert numbered["id"] == 7 and numbered["type"] == "reply"

    run(scenario)


def test_a_session_resumes_on_a_new_connection(server: LiveServer) -> None:
    async def scenario() -> None:
        async with connect(server.ws_url) as first:
            session_id = await hello(first)
            started = await ask(first, {"type": "message", "id": 1, "text": "有効期限を計算して", "session_id": session_id})
            assert MESSAGES["ask_birth_date"] in said(started)
            birth = await ask(first, {"type": "message", "id": 2, "text": "1990年5月10日生まれ", "session_id": session_id})
            assert MESSAGES["ask_issued_on"] in said(birth)
        async with connect(server.ws_url) as second:
            assert await hello(second, session_id=session_id) == session_id
            issued = await ask(second, {"type": "message", "id": 3, "text": "2023年3月1日に発行", "session_id": session_id})
            assert MESSAGES["ask_card_issued_on"] in said(issued)
            done = await ask(second, {"type": "message", "id": 4, "text": "同じです", "session_id": session_id})
            assert done["result"] == rules.to_json(rules.expiry(date(1990, 5, 10), ISSUED_LATE))

    run(scenario)


BAD_FRAMES: list[tuple[str, Any, str | None, Any]] = [
    # (name, frame sent, expected error code, expected id echo)
    ("invalid_json", "{not json", "invalid_json", None),
    ("truncated_json", '{"type": "message", "text": "暗証', "invalid_json", None),
    ("empty_string", "", "invalid_json", None),
    ("list", "[1, 2]", "invalid_frame", None),
    ("number", "5", "invalid_frame", None),
    ("null", "null", "invalid_frame", None),
    ("string", '"hello"', "invalid_frame", None),
    ("unknown_type", {"type": "shout", "id": "u1"}, "unknown_type", "u1"),
    ("missing_type", {"id": "u2", "text": "暗証番号"}, "unknown_type", "u2"),
    ("missing_text", {"type": "message", "id": "u3"}, "invalid_text", "u3"),
    ("text_int", {"type": "message", "id": "u4", "text": 5}, "invalid_text", "u4"),
    ("text_null", {"type": "message", "id": "u5", "text": None}, "invalid_text", "u5"),
    ("text_empty", {"type": "message", "id": "u6", "text": ""}, "empty_text", "u6"),
    ("text_spaces", {"type": "message", "id": "u7", "text": " \u3000 "}, "empty_text", "u7"),
    ("text_too_long", {"type": "message", "id": "u8", "text": "あ" * 1001}, "text_too_long", "u8"),
    ("bad_session", {"type": "message", "id": "u9", "text": "こんにちは", "session_id": "../x"}, "invalid_session_id", "u9"),
    ("unicode_session", {"type": "message", "id": 10, "text": "こんにちは", "session_id": "日本"}, "invalid_session_id", 10),
    ("hello_bad_session", {"type": "hello", "session_id": 5}, "invalid_session_id", None),
    ("line_session", {"type": "message", "id": 12, "text": "こんにちは", "session_id": "line:" + "a" * 64},
     "invalid_session_id", 12),
    ("hello_line_session", {"type": "hello", "session_id": "line:abc"}, "invalid_session_id", None),
    ("bad_municipality", {"type": "message", "id": 11, "text": "こんにちは", "municipality": [1]}, "invalid_municipality", 11),
    ("object_id_is_not_echoed", {"type": "message", "id": {"x": 1}, "text": ""}, "empty_text", None),
    ("frame_too_large", json.dumps({"type": "message", "id": "big", "text": "a" * 20_000}), "too_large", None),
]


@pytest.mark.parametrize(("name", "frame", "code", "frame_id"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_bad_frames_get_an_error_frame_and_the_connection_stays_usable(
    server: LiveServer, name: str, frame: Any, code: str | None, frame_id: Any
) -> None:
    async def scenario() -> None:
        async with connect(server.ws_url) as ws:
            session_id = await hello(ws)
            started = await ask(ws, {"type": "message", "id": "s", "text": "有効期限を計算して", "session_id": session_id})
            assert MESSAGES["ask_birth_date"] in said(started)
            assert_error_frame(await ask(ws, frame), code, frame_id)
            # The same socket answers the next frame, and the dialogue is where it was.
            after = await ask(ws, {"type": "message", "id": "n", "text": "1990年5月10日生まれ", "session_id": session_id})
            assert after["type"] == "reply" and after["id"] == "n"
            assert MESSAGES["ask_issued_on"] in said(after)

    run(scenario)


def test_a_binary_frame_closes_only_its_own_connection(server: LiveServer) -> None:
    async def scenario() -> None:
        async with connect(server.ws_url) as good, connect(server.ws_url) as bad:
            session_id = await hello(good)
            await hello(bad)
            started = await ask(good, {"type": "message", "id": 1, "text": "有効期限を計算して", "session_id": session_id})
            assert MESSAGES["ask_birth_date"] in said(started)
            await bad.send(b"\x00\x01\xffbinary")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(bad.recv(), 10)
            # Closed on purpose with "unsupported data", not dropped by a crash.
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003, closed.value
            after = await ask(good, {"type": "message", "id": 2, "text": "1990年5月10日生まれ", "session_id": session_id})
            assert after["id"] == 2 and MESSAGES["ask_issued_on"] in said(after)
        async with connect(server.ws_url) as fresh:
            await hello(fresh)

    run(scenario)


def test_chat_over_http_and_ws_share_one_session(server: LiveServer) -> None:
    import httpx

    async def scenario() -> None:
        async with connect(server.ws_url) as ws:
            session_id = await hello(ws)
            await ask(ws, {"type": "message", "id": 1, "text": "有効期限を計算して", "session_id": session_id})
            async with httpx.AsyncClient(base_url=server.url, verify=TLS) as http:
                response = await http.post("/api/chat", json={"text": "1990年5月10日生まれ", "session_id": session_id})
                assert MESSAGES["ask_issued_on"] in said(response.json())
            issued = await ask(ws, {"type": "message", "id": 2, "text": "2023年3月1日に発行", "session_id": session_id})
            assert MESSAGES["ask_card_issued_on"] in said(issued)

    run(scenario)


# --- load: many conversations at once, each with its own dialogue state ------------------------------

CONVERSATIONS = 200
TURNS = 20
LOAD_DEADLINE = 120.0


def birth_date(conversation: int, cycle: int) -> date:
    """A different birth date for every (conversation, cycle), all before ISSUED_ON."""
    return date(1940, 1, 1) + timedelta(days=conversation * 61 + cycle * 7)


def script(conversation: int) -> list[tuple[str, date | None]]:
    """TURNS user texts: calc_expiry dialogues of 4 turns each; the third carries the birth date to check.

    The card came with the certificates (said so), so the result comes on the third turn; a
    second dialogue in the same conversation reuses nothing it must not: its birth date is new.
    """
    turns: list[tuple[str, date | None]] = []
    cycle = 0
    while len(turns) < TURNS:
        birth = birth_date(conversation, cycle)
        turns += [
            ("有効期限を計算して", None),
            (f"{birth.year}年{birth.month}月{birth.day}日生まれです", None),
            (f"{ISSUED_ON.year}年{ISSUED_ON.month}月{ISSUED_ON.day}日にカードと一緒に発行しました", birth),
            ("ありがとう", None),
        ]
        cycle += 1
    return turns[:TURNS]


async def converse(url: str, conversation: int, problems: list[str]) -> int:
    """One conversation on its own socket; every reply is checked. Returns the replies received."""
    received = 0
    async with connect(url, open_timeout=30, max_queue=None) as ws:
        session_id = await hello(ws)
        for turn, (text, birth) in enumerate(script(conversation)):
            frame_id = f"c{conversation}-t{turn}"
            await ws.send(json.dumps({"type": "message", "id": frame_id, "text": text, "session_id": session_id}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
            received += 1
            if reply.get("type") != "reply":
                problems.append(f"{frame_id}: not a reply: {reply}")
                continue
            if reply.get("id") != frame_id:
                problems.append(f"{frame_id}: reply carries id {reply.get('id')!r} (lost, duplicated or crossed)")
            if reply.get("session_id") != session_id:
                problems.append(f"{frame_id}: reply for session {reply.get('session_id')} (crossed)")
            if birth is not None:
                expected = rules.to_json(rules.expiry(birth, ISSUED_ON))
                if reply.get("result") != expected:
                    problems.append(f"{frame_id}: result {reply.get('result')} is not the one for birth {birth}")
        try:
            extra = await asyncio.wait_for(ws.recv(), 0.05)
            problems.append(f"c{conversation}: an unasked-for frame arrived: {extra[:200]}")
        except TimeoutError:
            pass
    return received


def test_load_200_conversations_of_20_turns_lose_duplicate_and_cross_nothing(server: LiveServer) -> None:
    problems: list[str] = []

    async def scenario() -> list[int]:
        return await asyncio.gather(*(converse(server.ws_url, i, problems) for i in range(CONVERSATIONS)))

    started = time.perf_counter()
    counts = run(scenario, timeout=LOAD_DEADLINE)
    elapsed = time.perf_counter() - started
    assert not problems, f"{len(problems)} problems, e.g. {problems[:5]}"
    assert counts == [TURNS] * CONVERSATIONS
    print(f"\nws load: {CONVERSATIONS}x{TURNS} turns in {elapsed:.1f}s ({CONVERSATIONS * TURNS / elapsed:.0f} turns/s)")
