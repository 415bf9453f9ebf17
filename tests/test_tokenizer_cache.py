"""The tokenizer keeps the tokens of dictionary words: a kept token equals a freshly built one."""

from __future__ import annotations

import pytest

from bot import tokenizer as tokenizer_module
from bot.tokenizer import Tokenizer, _token

TEXTS = [
    "暗証番号を忘れた",
    "3月3日生まれ、その日は晴れ",  # one surface, two dictionary entries: 日 read カ, then ヒ
    "引っ越しで失効した、引っ越したばかり",  # a noun, then a verb
    "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞの電子証明書",
    "e-Taxにログイン",
    "ｶｰﾄﾞ カード かーど",
    "😀マイナぽーたる",  # out-of-vocabulary words are never kept
]


@pytest.fixture()
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize("text", TEXTS)
def test_kept_tokens_equal_fresh_ones(tokenizer: Tokenizer, text: str) -> None:
    for text_first in (TEXTS[::-1], TEXTS):  # fill the cache in two orders
        for other in text_first:
            tokenizer.tokenize(other)
        fresh = [_token(m) for m in tokenizer._tokenizer().tokenize(text)]
        assert tokenizer.tokenize(text) == fresh


def test_the_cache_stays_bounded(tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokenizer_module, "_KNOWN_LIMIT", 3)
    for text in TEXTS:
        tokenizer.tokenize(text)
        assert len(tokenizer._known) <= 3
    assert tokenizer.tokenize(TEXTS[0]) == [_token(m) for m in tokenizer._tokenizer().tokenize(TEXTS[0])]
