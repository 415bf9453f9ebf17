"""The LINE channel's pure translation, as tables: events in, message objects out."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.line_messages import (
    CUT_JA,
    MAX_LABEL_CHARS,
    MAX_MESSAGES,
    MAX_QUICK_REPLIES,
    MAX_TEXT_CHARS,
    button_label,
    event_action,
    event_text,
    fit_bubbles,
    line_messages,
    push_target,
    quick_reply_items,
    session_key,
    session_secret,
    split_text,
)
from bot.engine import valid_session_id
from bot.knowledge.message import Message

# --- events in ------------------------------------------------------------------

EVENTS = [
    # (event, what the user said, what the bot does)
    ({"type": "message", "message": {"type": "text", "text": "手数料は?"}}, "手数料は?", "turn"),
    ({"type": "message", "message": {"type": "text", "text": ""}}, "", "turn"),  # the engine refuses it in Japanese
    ({"type": "message", "message": {"type": "sticker", "stickerId": "1"}}, None, "only_text"),
    ({"type": "message", "message": {"type": "text", "text": 3}}, None, "only_text"),
    ({"type": "message", "message": "text"}, None, "only_text"),
    ({"type": "postback", "postback": {"data": "d", "displayText": "暗証番号を忘れた"}}, "暗証番号を忘れた", "turn"),
    ({"type": "postback", "postback": {"data": "menu=pin", "displayText": "  "}}, "menu=pin", "turn"),
    ({"type": "postback", "postback": {"data": " "}}, None, None),
    ({"type": "postback", "postback": "menu"}, None, None),
    ({"type": "follow", "follow": {"isUnblocked": False}}, None, "welcome"),
    ({"type": "unfollow"}, None, None),
    ({"type": "join"}, None, None),
    ({"type": "somethingNew"}, None, None),
    ({}, None, None),
]


@pytest.mark.parametrize(("event", "said", "action"), EVENTS)
def test_what_an_event_says_and_asks(event: dict[str, Any], said: str | None, action: str | None) -> None:
    assert event_text(event) == said
    assert event_action(event) == action


SECRET = session_secret("channel-secret")
USER = "U4af4980629e4f5b8c8d1a2b3c4d5e6f7"

SOURCES = [
    # (source, who it stands for; None: nobody)
    ({"type": "user", "userId": USER}, "alice"),
    ({"userId": USER}, "alice"),  # no type: a user still
    ({"type": "user", "userId": "U" + "f" * 32}, "bob"),
    ({"type": "group", "groupId": "Ca56f9463", "userId": USER}, "alice in the group"),
    ({"type": "group", "groupId": "Ca56f9463"}, "the group"),
    ({"type": "room", "roomId": "Ca56f9463", "userId": USER}, "alice in the room"),  # same id, another kind
    ({"type": "group", "groupId": "U4af4980629e4f5b8c8d1a2b3c4d5e6f7"}, "a group named like alice"),
    ({"type": "user", "userId": "あ" * 500}, "a very long, non-ASCII id"),
    ({"type": "user"}, None),
    ({"type": "user", "userId": ""}, None),
    ({"type": "group", "userId": USER}, None),
    ({"type": "room", "roomId": 7, "userId": USER}, None),
    (None, None),
]


def test_session_keys_are_valid_distinct_digests_that_hold_no_line_id() -> None:
    keys = {who: session_key(source, SECRET) for source, who in SOURCES}
    assert keys.pop(None) is None
    named = {who: key for who, key in keys.items() if key is not None}
    assert len(set(named.values())) == len(named) == 7
    for source, who in SOURCES:
        key = session_key(source, SECRET)
        assert key == named.get(who)  # the same source always gives the same key
        if key is not None:
            assert valid_session_id(key) and key.startswith("line:") and len(key) == 69
            assert not any(isinstance(v, str) and v in key for v in source.values())


def test_session_keys_depend_on_the_channel_secret() -> None:
    source = {"type": "user", "userId": USER}
    assert session_key(source, session_secret("another-secret")) != session_key(source, SECRET)
    assert session_secret("channel-secret") == SECRET


PUSH_TARGETS = [
    ({"type": "user", "userId": "U1"}, "U1"),
    ({"type": "group", "groupId": "C1", "userId": "U1"}, "C1"),
    ({"type": "room", "roomId": "R1", "userId": "U1"}, "R1"),
    ({"type": "group", "userId": "U1"}, None),  # a group event without its group cannot be pushed to
    ({"type": "user", "userId": ""}, None),
    ({"type": "user"}, None),
    ("U1", None),
]


@pytest.mark.parametrize(("source", "to"), PUSH_TARGETS)
def test_push_target(source: object, to: str | None) -> None:
    assert push_target(source) == to


# --- messages out ---------------------------------------------------------------

SPLITS = [
    # (text, limit, pieces)
    ("", 5, []),
    ("abcde", 5, ["abcde"]),
    ("abcdef", 5, ["abcde", "f"]),
    ("ab\ncdef", 5, ["ab", "cdef"]),  # a line break at or past half the limit is used
    ("a\nbcdefg", 5, ["a\nbcd", "efg"]),  # one too early is not: the piece would be too short
    ("abcde\nfg", 5, ["abcde", "fg"]),  # a break just past the limit is consumed
    ("あいうえおかきくけこ", 4, ["あいうえ", "おかきく", "けこ"]),
]


@pytest.mark.parametrize(("text", "limit", "pieces"), SPLITS)
def test_split_text(text: str, limit: int, pieces: list[str]) -> None:
    assert split_text(text, limit) == pieces
    assert all(len(piece) <= limit for piece in pieces)


LABELS = [
    ("やめる", "やめる"),
    ("あ" * MAX_LABEL_CHARS, "あ" * MAX_LABEL_CHARS),
    ("あ" * (MAX_LABEL_CHARS + 1), "あ" * (MAX_LABEL_CHARS - 1) + "…"),
]


@pytest.mark.parametrize(("text", "label"), LABELS)
def test_button_label(text: str, label: str) -> None:
    assert button_label(text) == label and len(label) <= MAX_LABEL_CHARS


def test_fit_bubbles_keeps_short_turns_as_they_are() -> None:
    assert fit_bubbles(["a", "b"]) == ["a", "b"]
    assert len(fit_bubbles(["x"] * MAX_MESSAGES)) == MAX_MESSAGES


def test_fit_bubbles_cuts_an_overlong_tail_and_says_so() -> None:
    bubbles = fit_bubbles(["う" * MAX_TEXT_CHARS] * 7)
    assert len(bubbles) == MAX_MESSAGES and bubbles[-1].endswith(CUT_JA)
    assert all(len(b) <= MAX_TEXT_CHARS for b in bubbles)


QUICK_REPLIES = [
    # (each message's buttons, the texts LINE gets)
    ([("a", "b"), ("b", "c")], ["a", "b", "c"]),  # in order, once each
    ([(" a ", "", "  ")], ["a"]),  # trimmed, blanks dropped
    ([("x" * 300, "y" * 301)], ["x" * 300]),  # LINE refuses an action text over 300
    ([tuple(f"e{i}" for i in range(10)), tuple(f"l{i}" for i in range(5))],
     [f"e{i}" for i in range(8)] + [f"l{i}" for i in range(5)]),  # past 13 the last message's win
    ([()], []),
]


@pytest.mark.parametrize(("buttons", "texts"), QUICK_REPLIES)
def test_quick_reply_items(buttons: list[tuple[str, ...]], texts: list[str]) -> None:
    items = quick_reply_items([Message(f"m{i}", b) for i, b in enumerate(buttons)])
    assert [i["action"]["text"] for i in items] == texts
    assert len(items) <= MAX_QUICK_REPLIES
    assert all(i["type"] == "action" and i["action"]["type"] == "message" for i in items)


def test_buttons_without_any_text_are_dropped_with_the_bubble() -> None:
    assert line_messages([Message("  ", ("やめる",))]) == []
