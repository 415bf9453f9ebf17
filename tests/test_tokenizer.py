"""Table tests pinned to one dictionary: sudachidict-core 20261015 (requirements.txt)."""

from __future__ import annotations

import threading
from importlib.metadata import version

import pytest

from bot.tokenizer import shared_tokenizer


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
