"""One turn through the real engine (SudachiPy, the real intents and knowledge)."""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from bot import engine
from bot.engine import Bot, Core, InputError
from bot.operations.privacy import mask
from bot.operations.settings import Settings
from bot.stores.sessions import MemoryStore


@pytest.fixture(scope="module")
def bot() -> Bot:
    return Bot(Settings.from_env(), store=MemoryStore(), today=lambda: date(2026, 1, 15))


def test_answer_names_its_topic_and_offers_next_steps(bot: Bot) -> None:
    turn = bot.reply("暗証番号をわすれちゃったんだけど")
    assert turn.intent == "forgot_pin"
    assert "再設定" in turn.messages[0].text
    assert turn.messages[0].quick_replies


def test_municipality_selects_local_details(bot: Bot) -> None:
    zama = bot.reply("窓口は何時まであいてますか", municipality="zama")
    assert zama.intent == "office_hours"
    assert "座間市" in zama.messages[-1].text and "17時15分" in zama.messages[-1].text
    by_name = bot.reply("窓口は何時まであいてますか", municipality="品川区")
    assert "品川区" in by_name.messages[-1].text


def test_without_municipality_the_answer_says_to_check_locally(bot: Bot) -> None:
    turn = bot.reply("窓口の受付時間を教えて")
    assert "お住まいの市区町村" in turn.messages[-1].text


def test_out_of_domain_is_null_with_contact_route(bot: Bot) -> None:
    turn = bot.reply("今日の天気はどうですか")
    assert turn.intent is None
    assert "お答えできません" in turn.messages[0].text
    assert any("問い合わせ" in r for m in turn.messages for r in m.quick_replies)


@pytest.mark.parametrize("text", ["今日の天気はどうですか", "印鑑登録証明書をコンビニで取りたい", "在留カードの更新に必要な書類は?"])
def test_out_of_domain_confidence_is_the_best_in_domain_intents(bot: Bot, text: str) -> None:
    # api.md: with no intent, the confidence is the best in-domain intent's, so low means "not ours".
    turn = bot.reply(text)
    match = bot.core.matcher.match(mask(text).text)
    assert turn.intent is None
    assert turn.confidence == match.in_domain_score < 0.5


def test_help_offers_a_menu(bot: Bot) -> None:
    turn = bot.reply("何ができるの?")
    assert turn.intent == "help"
    assert len(turn.messages[0].quick_replies) >= 6


def test_every_menu_button_lands_on_its_topic(bot: Bot) -> None:
    kb = bot.core.knowledge
    for intent, label in kb.messages["topics"].items():
        turn = bot.reply(label)
        assert turn.intent == intent, label


def test_every_quick_reply_of_every_answer_is_understood(bot: Bot) -> None:
    for answer in bot.core.knowledge.answers.values():
        for reply in answer.quick_replies:
            assert bot.reply(reply).intent is not None, (answer.intent, reply)


def test_pin_is_masked_and_the_user_warned(bot: Bot) -> None:
    turn = bot.reply("暗証番号は1234です。忘れたらどうなる?")
    assert "入力しないでください" in turn.messages[0].text
    # A dialogue is stored: the PIN in the same message must not be.
    turn = bot.reply("暗証番号は1234です。有効期限を計算して。生年月日は1980年5月10日")
    state = bot.store.load(turn.session_id)
    assert state is not None and state["slots"]["birth_date"] == "1980-05-10"
    assert "1234" not in repr(state)


def test_an_answer_stores_only_its_topic_and_a_dialogue_its_values() -> None:
    store = MemoryStore()
    bot = Bot(Settings.from_env(), store=store, today=lambda: date(2026, 1, 15))
    faq = bot.reply("暗証番号を忘れました")
    assert faq.intent == "forgot_pin"
    kept = store.load(faq.session_id)  # the topic, so that "コンビニは?" next is read in it; no text
    assert kept is not None and kept["topic"] == "forgot_pin" and kept["slots"] == {} and kept["known"] == {}
    calc = bot.reply("自分の電子証明書の有効期限を計算してほしい。生年月日は1980年5月10日です")
    assert store.load(calc.session_id)["slots"] == {"birth_date": "1980-05-10"}
    # Cancelling forgets the form's values in the store, not only in memory.
    bot.reply("やめます", calc.session_id)
    stored = store.load(calc.session_id)
    assert stored["form"] is None and stored["slots"] == {} and stored["facts"] == {}


def test_welcome_greets_with_topics(bot: Bot) -> None:
    turn = bot.welcome()
    assert turn.intent == "greeting"
    assert len(turn.messages[0].quick_replies) == len(bot.core.knowledge.messages["menu"])


@pytest.mark.parametrize("text", ["", "   \n", 5, None, "x" * 5000])
def test_bad_text_is_an_input_error(bot: Bot, text: object) -> None:
    with pytest.raises(InputError):
        bot.reply(text)


@pytest.mark.parametrize("session_id", ["", "a b", "../etc", "x" * 129, 7, "日本語"])
def test_bad_session_id_is_an_input_error(bot: Bot, session_id: object) -> None:
    with pytest.raises(InputError):
        bot.reply("こんにちは", session_id=session_id)


def test_knowledge_error_names_the_file(tmp_path: Path) -> None:
    import shutil

    from bot.knowledge.yamlfile import DataError

    settings = Settings.from_env()
    copy = tmp_path / "knowledge"
    shutil.copytree(settings.knowledge_dir, copy)
    (copy / "answers" / "fee.yaml").write_text("intent: fee\ntext: 無料です\nsources: [nowhere]\n", encoding="utf-8")
    from dataclasses import replace

    with pytest.raises(DataError, match=r"fee.yaml:1: answer 'fee' cites unknown source 'nowhere'"):
        Bot(replace(settings, knowledge_dir=copy), store=MemoryStore())


def test_a_core_is_shared_only_by_settings_that_would_load_the_same_one() -> None:
    """Core.SETTINGS_READ is what the tests' apps and servers compare to share one Core: a setting
    that loading reads and the list misses would give an app a Core built for other settings."""
    read = set()
    for function in (Core.load, engine.matcher_config):
        read |= set(re.findall(r"\bsettings\.(\w+)", inspect.getsource(function)))
    assert read == Core.SETTINGS_READ
    base = Settings.from_env()
    assert Core.shares(base, replace(base, db_path="elsewhere.sqlite3", rate_limit_per_minute=5))
    for name, value in [("menu_below", 0.123), ("domain_threshold", 0.5), ("model_path", Path("other.npz"))]:
        assert not Core.shares(base, replace(base, **{name: value})), name
