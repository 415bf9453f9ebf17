from __future__ import annotations

from pathlib import Path

import pytest

from bot.operations.settings import ROOT
from bot.text import basic
from bot.understanding.normalize import LexiconError, Normalizer, load_lexicon


@pytest.fixture(scope="module")
def normalize() -> Normalizer:
    return Normalizer(load_lexicon(ROOT / "knowledge" / "lexicon.yaml"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ", "マイナンバーカード"),
        ("ＰＩＮ　コード", "pinコード"),
        ("２０２１年４月１日", "2021年4月1日"),
        ("すごーーーい", "すごーい"),
        ("通知書　 紛失", "通知書紛失"),
        ("tab\tand\u200bzero", "tab and zero"),
    ],
)
def test_basic(raw: str, expected: str) -> None:
    assert basic(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("暗唱番号を忘れた", "暗証番号を忘れた"),
        ("パスワードがロックされた", "暗証番号がロックされた"),
        ("マイナの照明書", "マイナンバーカードの証明書"),
        ("マイナンバーを教えて", "マイナンバーを教えて"),  # the longer canonical word is protected
        ("マイナ保険証が使えない", "マイナ保険証が使えない"),
        ("有効期間はいつまで", "有効期限はいつまで"),
        ("ｅ－Ｔａｘにログインできない", "e-taxにログインできない"),
        ("JPKIのアプリ", "公的個人認証のアプリ"),
        ("更進したい", "更新したい"),
    ],
)
def test_lexicon_rewrites(normalize: Normalizer, raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_lexicon_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("暗証番号: [パスワード]\n証明書: [パスワード]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="lexicon.yaml.*パスワード"):
        load_lexicon(path)


def test_lexicon_must_be_lists(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("暗証番号: パスワード\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="list of strings"):
        load_lexicon(path)


def test_a_canonical_form_is_never_rewritten_by_a_shorter_variant(normalize: Normalizer) -> None:
    assert normalize("電子証明書の有効期限") == "電子証明書の有効期限"
    assert normalize("電子証明の期限") == "電子証明書の期限"
