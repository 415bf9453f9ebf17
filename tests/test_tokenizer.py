"""Table tests pinned to one dictionary: sudachidict-core 20261015 (requirements.txt).

And the tokens the tokenizer keeps for dictionary words: a kept token equals a freshly built one.
"""

from __future__ import annotations

import threading
from importlib.metadata import version

import pytest

from bot.understanding import tokenizer as tokenizer_module
from bot.understanding.tokenizer import Tokenizer, _token, shared_tokenizer


def test_dictionary_version_is_the_one_the_tables_were_written_against() -> None:
    assert version("sudachidict-core") == "20261015"
    assert version("sudachipy") == "0.7.0"


@pytest.mark.parametrize(
    ("text", "normalized", "reading"),
    [
        ("電子証明書の有効期限", ["電子証明書", "の", "有効期限"], "デンシショウメイショノユウコウキゲン"),
        ("暗証番号を忘れた", ["暗証番号", "を", "忘れる", "た"], "アンショウバンゴウヲワスレタ"),
        ("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ", ["マイナンバーカード"], "マイナンバーカード"),
        ("e-Taxにログイン", ["e-Tax", "に", "ログイン"], "イータックスニログイン"),
    ],
)
def test_normalized_forms_and_readings(text: str, normalized: list[str], reading: str) -> None:
    tokens = shared_tokenizer().tokenize(text)
    assert [t.normalized for t in tokens] == normalized
    assert "".join(t.reading for t in tokens) == reading


def test_hiragana_input_reads_like_its_kanji() -> None:
    # SudachiPy mis-splits all-hiragana text (あんしょう → 鞍傷), but the reading is right,
    # which is why the matcher also indexes readings.
    tok = shared_tokenizer()
    kana = "".join(t.reading for t in tok.tokenize("あんしょうばんごうわすれた"))
    kanji = "".join(t.reading for t in tok.tokenize("暗証番号忘れた"))
    assert kana == kanji


def test_long_units_carry_their_short_parts() -> None:
    token = shared_tokenizer().tokenize("電子証明書")[0]
    assert token.parts == ("電子", "証明", "書")


def test_function_words_are_not_content() -> None:
    tokens = shared_tokenizer().tokenize("証明書を、更新した")
    assert [t.surface for t in tokens if t.is_content] == ["証明書", "更新", "し"]


def test_empty_text() -> None:
    assert shared_tokenizer().tokenize("") == []


def test_one_tokenizer_per_thread() -> None:
    tok = shared_tokenizer()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                assert tok.tokenize("電子証明書の更新はいつから")[0].normalized == "電子証明書"
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []


# --- kept tokens -------------------------------------------------------------------

KEPT_TEXTS = [
    "暗証番号を忘れた",
    "3月3日生まれ、その日は晴れ",  # one surface, two dictionary entries: 日 read カ, then ヒ
    "引っ越しで失効した、引っ越したばかり",  # a noun, then a verb
    "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞの電子証明書",
    "e-Taxにログイン",
    "ｶｰﾄﾞ カード かーど",
    "😀マイナぽーたる",  # out-of-vocabulary words are never kept
]


@pytest.fixture()
def fresh_tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize("text", KEPT_TEXTS)
def test_kept_tokens_equal_fresh_ones(fresh_tokenizer: Tokenizer, text: str) -> None:
    for text_first in (KEPT_TEXTS[::-1], KEPT_TEXTS):  # fill the cache in two orders
        for other in text_first:
            fresh_tokenizer.tokenize(other)
        fresh = [_token(m) for m in fresh_tokenizer._tokenizer().tokenize(text)]
        assert fresh_tokenizer.tokenize(text) == fresh


def test_the_cache_stays_bounded(fresh_tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokenizer_module, "_KNOWN_LIMIT", 3)
    for text in KEPT_TEXTS:
        fresh_tokenizer.tokenize(text)
        assert len(fresh_tokenizer._known) <= 3
    assert fresh_tokenizer.tokenize(KEPT_TEXTS[0]) == [_token(m) for m in fresh_tokenizer._tokenizer().tokenize(KEPT_TEXTS[0])]
