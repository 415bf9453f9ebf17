"""A message that asks several things gets each of them answered (blind set E, tests/multi/).

The set was written blind and measured once before it came here (bench/README.md). The code
shipped gives 78 of 110 cases answered exactly, 176 of 210 asked topics answered and 1 topic
answered that was not asked (the measured code also answered the one question of ours in a
message it turned away, which answered out-of-domain letters in the other suites: removed).
These floors keep that from sliding back; they were not tuned, and no matching data came
from the set.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine import Bot, Core
from bot.operations.settings import Settings
from bot.stores.sessions import MemoryStore

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "multi" / "blind_2026_12_e.yaml").read_text())["cases"]


@pytest.fixture(scope="module")
def answered(core: Core) -> list[tuple[dict[str, Any], list[str | None]]]:
    bot = Bot(Settings.from_env(), core=core, store=MemoryStore(), today=lambda: date(2026, 12, 6))
    out = []
    for case in CASES:
        turn = bot.reply(case["text"], None)
        out.append((case, [turn.intent, *turn.extra.get("also", ())]))
    return out


def test_each_question_of_a_message_is_answered(answered: list[tuple[dict[str, Any], list[str | None]]]) -> None:
    exact = sum(set(got) == set(case["intents"]) for case, got in answered)
    asked = sum(len(case["intents"]) for case, _ in answered)
    found = sum(len(set(got) & set(case["intents"])) for case, got in answered)
    said = sum(len({g for g in got if g is not None}) for _, got in answered)
    assert exact >= 75, f"{exact}/{len(answered)} cases answered exactly (78 shipped)"
    assert found >= 170, f"{found}/{asked} asked topics answered (176 shipped)"
    assert said - found <= 3, f"{said - found} topics answered that were not asked (1 shipped)"


def test_a_question_alone_gets_one_answer(answered: list[tuple[dict[str, Any], list[str | None]]]) -> None:
    """A letter with background and one question, or with one question that is not ours: no
    answer to a topic it only mentions."""
    single = [(case, got) for case, got in answered if len(case["intents"]) == 1]
    extra = [(case["text"][:40], got) for case, got in single if len({g for g in got if g}) > 1]
    assert not extra, extra


def test_the_extra_answers_are_short_and_named(core: Core) -> None:
    bot = Bot(Settings.from_env(), core=core, store=MemoryStore(), today=lambda: date(2026, 12, 6))
    turn = bot.reply("更新に必要なものは？手数料は？代理人でもできる？", None)
    assert len(turn.extra["also"]) == 2
    named = [m for m in turn.messages if m.text.startswith("【")]
    assert len(named) == 2
    for message in named:
        assert len(message.quick_replies) == 1  # its own topic, for the rest of its answer
        assert message.text[1:message.text.index("】")] == message.quick_replies[0]
