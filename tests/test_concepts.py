"""Deciding words: found by text after the lexicon, and by reading; loaded from intents.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.knowledge.yamlfile import DataError
from bot.understanding.analyzer import Analyzer
from bot.understanding.concepts import ConceptFinder, _Words, concepts_of
from bot.understanding.intents import load_intents

DECIDING = {
    "fee": {"cost": ["手数料", "費用", "タダ", "無料", "いくら"]},
    "forgot_pin": {"locked": ["ロック", "何回も間違え"]},
    "out_of_scope": {"other_certificate": ["住民票", "印鑑登録"]},
}


@pytest.fixture(scope="module")
def finder(analyzer: Analyzer) -> ConceptFinder:
    return ConceptFinder(concepts_of(DECIDING), analyzer.normalize, analyzer.reading_of)


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("JPKIって無料で使えるの?", ("fee/cost",)),
        ("マイナの証明書、タダ?", ("fee/cost",)),
        ("てすうりょうは かかりますか", ("fee/cost",)),  # hiragana: by reading
        ("電子証明書の手数量はいくら", ("fee/cost",)),  # a misconversion: by reading, and いくら
        ("お金かかる?", ("fee/cost",)),  # the lexicon reads お金 as 手数料
        ("パスワードを何回も間違えてロックした", ("forgot_pin/locked",)),
        ("住民票の手数料", ("fee/cost", "out_of_scope/other_certificate")),
        ("有効期限はいつまで", ()),
    ],
)
def test_concepts_found(finder: ConceptFinder, analyzer: Analyzer, question: str, found: tuple[str, ...]) -> None:
    text = analyzer.normalize(question)
    assert finder.find(text, analyzer.reading_of(text)) == found


def test_deciding_words_load_from_the_intents_file(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text("intents:\n  - name: fee\n    deciding:\n      cost: [手数料, タダ]\n    examples: [いくら?]\n", encoding="utf-8")
    assert load_intents(path)[0].deciding == (("cost", ("手数料", "タダ")),)


@pytest.mark.parametrize("deciding", ["[手数料]", "{cost: []}", "{cost: 手数料}"])
def test_bad_deciding_words_name_the_file_and_line(tmp_path: Path, deciding: str) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(f"intents:\n  - name: a\n    examples: [x]\n  - name: fee\n    deciding: {deciding}\n    examples: [y]\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"intents.yaml:4: intent 'fee'"):
        load_intents(path)


def _leftmost_longest(words: list[str], text: str) -> list[str]:
    """The search as specified, by brute force: from the left, the longest word at each place, no overlaps."""
    found, i = [], 0
    while i < len(text):
        here = [w for w in words if text.startswith(w, i)]
        if here:
            word = max(here, key=len)
            found.append(word)
            i += len(word)
        else:
            i += 1
    return found


@given(st.lists(st.text(alphabet="アイウカキ", min_size=1, max_size=4), min_size=1, max_size=12, unique=True),
       st.text(alphabet="アイウカキエ", max_size=30))
def test_words_are_found_leftmost_longest_without_overlap(words: list[str], text: str) -> None:
    # A small alphabet makes words overlap and nest, where Aho-Corasick's failure links matter.
    assert _Words(words).finditer(text) == _leftmost_longest(words, text)


def test_no_words_find_nothing() -> None:
    assert _Words([]).finditer("手数料") == []
