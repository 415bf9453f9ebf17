"""The slot-filling dialogues, driven through a real Bot (real SudachiPy matcher) turn by turn.

Conversations are YAML transcripts in tests/conversations/: each turn says what the
user types and what must hold after the bot's reply (see TURN_CHECKS). The dates in
them were worked out by hand from /work/shared/spec/rules.md, not by running the code.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import conversation
from bot.conversation import context, policy
from bot.conversation.forms import FORMS
from bot.conversation.labels import label_spans
from bot.conversation.state import State
from bot.engine import Bot, Core, Turn
from bot.knowledge import base as knowledge
from bot.knowledge.yamlfile import parse
from bot.operations.settings import Settings
from bot.rules.dates import find_dates
from bot.stores.sessions import MemoryStore

CONVERSATIONS = sorted((Path(__file__).parent / "conversations").glob("*.yaml"))
TURN_CHECKS = {"user", "intent", "slots", "facts", "state", "says", "not_says", "quick_replies", "result"}
TRANSCRIPT_KEYS = {"name", "today", "municipality", "turns", "never_stored"}
# api.md: dates are said as 2027年7月15日, never with leading zeros nor as ISO strings.
BAD_DATE = re.compile(r"年0[0-9]月|月0[0-9]日|(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])")


@pytest.fixture(scope="module")
def core() -> Core:
    return Core.load(Settings.from_env())


def iso(value: Any) -> Any:
    """YAML reads 2026-05-10 as a date; the state and the result hold ISO strings."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


def load_transcript(path: Path) -> dict[str, Any]:
    data = parse(path.read_text(encoding="utf-8"))
    unknown = set(data) - TRANSCRIPT_KEYS
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    assert data.get("turns"), f"{path.name}: no turns"
    for number, turn in enumerate(data["turns"], 1):
        unknown = set(turn) - TURN_CHECKS
        assert not unknown, f"{path.name} turn {number}: unknown keys {sorted(unknown)}"
        assert "user" in turn and "intent" in turn, f"{path.name} turn {number}: needs user and intent"
    return data


def texts(turn: Turn) -> str:
    return "\n".join(m.text for m in turn.messages)


def check_turn(bot: Bot, sid: str, expected: dict[str, Any], turn: Turn, where: str, never: list[str]) -> None:
    said = texts(turn)
    context = f"{where}\n--- bot said ---\n{said}"
    assert turn.intent == expected["intent"], f"intent {turn.intent!r}, want {expected['intent']!r}\n{context}"
    # A turn that leaves the empty state stores nothing (test_engine checks that).
    state = bot.store.load(sid) or State().to_json()
    assert json.loads(json.dumps(state)) == state, f"state is not plain JSON\n{context}"
    stored = json.dumps(state, ensure_ascii=False)
    for secret in never:
        assert secret not in stored, f"{secret!r} was stored: {stored}\n{context}"
    if "slots" in expected:
        assert state["slots"] == iso(expected["slots"] or {}), f"slots {state['slots']}\n{context}"
    for key, value in iso(expected.get("facts") or {}).items():
        assert state["facts"].get(key) == value, f"fact {key}: {state['facts']}\n{context}"
    for key, value in iso(expected.get("state") or {}).items():
        assert state.get(key) == value, f"state[{key!r}] = {state.get(key)!r}, want {value!r}\n{context}"
    for text in expected.get("says", []):
        assert str(text) in said, f"missing {text!r}\n{context}"
    for text in expected.get("not_says", []):
        assert str(text) not in said, f"should not say {text!r}\n{context}"
    assert not BAD_DATE.search(said), f"a date not in the api.md format\n{context}"
    replies = [r for m in turn.messages for r in m.quick_replies]
    for reply in expected.get("quick_replies", []):
        assert reply in replies, f"quick reply {reply!r} missing from {replies}\n{context}"
    if "result" in expected:
        if expected["result"] is None:
            assert turn.result is None, f"result {turn.result}\n{context}"
        else:
            assert turn.result is not None, f"no result\n{context}"
            for key, value in iso(expected["result"]).items():
                assert turn.result.get(key) == value, f"result[{key!r}] = {turn.result.get(key)!r}\n{context}"


@pytest.mark.parametrize("path", CONVERSATIONS, ids=[p.stem for p in CONVERSATIONS])
def test_conversation(core: Core, path: Path) -> None:
    data = load_transcript(path)
    today = data.get("today") or date(2026, 1, 15)
    bot = Bot(Settings.from_env(), core=core, store=MemoryStore(), today=lambda: today)
    sid = f"t-{path.stem}"
    for number, expected in enumerate(data["turns"], 1):
        turn = bot.reply(str(expected["user"]), sid, municipality=data.get("municipality"))
        where = f"{path.name} turn {number}: {expected['user']}"
        check_turn(bot, sid, expected, turn, where, [str(s) for s in data.get("never_stored", [])])


def test_enough_transcripts() -> None:
    assert len(CONVERSATIONS) >= 25


# --- the pieces, as tables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("平成2年5月10日生まれで令和3年3月1日に発行した", ["birth_date", "issued_on"]),
        ("生年月日は平成2年5月10日で発行は令和3年3月1日", ["birth_date", "issued_on"]),
        ("令和3年3月1日に発行、生年月日は平成2年5月10日", ["issued_on", "birth_date"]),
        ("誕生日 H2.5.10 発行 R3.3.1", ["birth_date", "issued_on"]),
        ("H2.5.10生 R3.3.1発行", ["birth_date", "issued_on"]),
        ("平成2年5月10日、令和3年3月1日", [None, None]),
        ("2019年4月1日にカードを受け取り、2024年3月1日に証明書を更新", ["card_issued_on", "issued_on"]),
        ("カードの交付日は2019年4月1日", ["card_issued_on"]),
        ("在留期間の満了日は2026年6月30日", ["residence_expires_on"]),
        ("前の証明書の期限は2023年5月10日でした", ["previous_expires_on"]),
        ("2027年7月15日が期限ならいつから更新できる?", ["expires_on"]),
        ("2021年4月1日に更新したけど期限はいつまで?", ["issued_on"]),
        ("カードの有効期限は2030年5月10日", ["card_expires_on"]),
    ],
)
def test_labels(text: str, labels: list[str | None]) -> None:
    spans = [(s, e) for s, e, _ in find_dates(text, date(2026, 1, 15))]
    found = [label[0] if label else None for label in label_spans(text, spans)]
    assert found == labels


@pytest.mark.parametrize(
    ("text", "found"),
    [("座間市に住んでいます", "zama"), ("名古屋駅の近くに住んでる", "nagoya"), ("ざまに住んでます", "zama"),
     ("しながわく在住です", "shinagawa"), ("品川区から座間市へ引っ越しました", "shinagawa"), ("嘉麻", "kama"),
     ("さまざまな手続きがあって", None), ("かまわないです", None), ("暗証番号を忘れた", None)],
)
def test_a_municipality_named_in_the_text(core: Core, text: str, found: str | None) -> None:
    muni = context.municipality_in(text, core.knowledge, core.context.places)
    assert (muni.id if muni else None) == found


@pytest.mark.parametrize(
    ("text", "rest"),
    [("やめる", ""), ("キャンセル", ""), ("最初から。生年月日は平成2年5月10日", "生年月日は平成2年5月10日"),
     ("やめて、手数料は?", "手数料は?"), ("やっぱり発行日は2021年4月1日", None), ("やめたらどうなる?", None)],
)
def test_cancel_words(core: Core, text: str, rest: str | None) -> None:
    assert policy.cancel_rest(text, core.matcher.match(text)) == rest


def test_start_up_rejects_a_message_with_an_unknown_field(core: Core) -> None:
    messages = {**core.knowledge.messages, "ask_birth_date": "生年月日は? {name}"}
    broken = replace(core.knowledge, messages=messages)
    with pytest.raises(ValueError, match="ask_birth_date"):
        conversation.check(broken, [i.name for i in core.intents])


def test_start_up_rejects_choices_that_are_not_a_list(core: Core) -> None:
    broken = replace(core.knowledge, messages={**core.knowledge.messages, "card_issued_choices": "カードと同じ日"})
    with pytest.raises(ValueError, match="card_issued_choices"):
        conversation.check(broken, [i.name for i in core.intents])


def test_start_up_rejects_an_unknown_condition(core: Core) -> None:
    form = FORMS["calc_expiry"]
    slot = replace(form.slots[2], when="card_maters")
    FORMS["calc_expiry"] = replace(form, slots=(*form.slots[:2], slot, *form.slots[3:]))
    try:
        with pytest.raises(ValueError, match="card_maters"):
            conversation.check(core.knowledge, [i.name for i in core.intents])
    finally:
        FORMS["calc_expiry"] = form


def test_every_message_the_dialogue_says_is_declared() -> None:
    folder = Path(conversation.__file__).parent
    source = "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.py"))
    used = set(re.findall(r'kb\.message\(\s*"([a-z_]+)"', source))
    assert len(used) > 20, "too few message keys found: the pattern is out of date"
    declared = {*conversation.MESSAGE_FIELDS, *knowledge.REQUIRED_MESSAGES}
    assert used <= declared, sorted(used - declared)


def test_an_old_state_starts_over(core: Core) -> None:
    old = {"v": 2, "form": "calc_expiry", "slots": {"birth_date": "1990-05-10"}, "municipality": "zama"}
    state = State.from_json(old)
    assert state.form is None and dict(state.slots) == {} and state.municipality == "zama"


def test_a_state_survives_json_both_ways(core: Core) -> None:
    bot = Bot(Settings.from_env(), core=core, store=MemoryStore(), today=lambda: date(2026, 1, 15))
    for text in ("有効期限を計算して", "平成2年5月", "10日", "令和3年3月1日に発行"):
        bot.reply(text, "j")
        stored = bot.store.load("j")
        assert State.from_json(stored).to_json() == stored



# --- any sequence of messages keeps the state sound ------------------------------------------------

MESSAGES = (
    "有効期限を計算してほしい", "いつから更新できる?", "手数料は?", "平成2年5月10日", "令和5年3月1日に更新しました",
    "カードと同じ日", "わからない", "はい", "いいえ", "やめる", "最初から。生年月日は1985年1月20日", "今日の天気は?",
    "暗証番号を忘れた", "令和3年2月30日", "平成2年5月", "10日", "誕生日は11日でした", "やっぱり発行日は2021年4月1日",
    "在留期間は2026年6月30日まで", "カードをなくした", "期限は2027/7/15", "えーと", "5月10日", "2030年1月1日",
    "ありがとう", "以上です", "1989年1月1日", "外国籍です", "在留期間の定めはない(永住者など)",
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=8))
def test_any_conversation_keeps_the_state_sound(core: Core, said: list[str]) -> None:
    bot = Bot(Settings.from_env(), core=core, store=MemoryStore(), today=lambda: date(2026, 1, 15))
    names = {i.name for i in core.intents}
    for text in said:
        turn = bot.reply(text, "s")
        state = bot.store.load("s") or State().to_json()  # nothing stored: the empty state
        assert json.loads(json.dumps(state)) == state
        assert state["form"] in (None, *FORMS)
        assert 0 <= state["failures"] < core.dialogue.max_failures
        assert turn.intent is None or turn.intent in names
        assert turn.messages and all(m.text for m in turn.messages)
        assert not BAD_DATE.search(texts(turn))
        if turn.result is not None:
            assert turn.intent in FORMS
