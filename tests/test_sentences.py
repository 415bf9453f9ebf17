"""Which sentences of a message ask: a table, on normalised text."""

from __future__ import annotations

import pytest

from bot.understanding.sentences import asking, asking_part, asks, sentences


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("暗証番号を忘れた", ["暗証番号を忘れた"]),
        ("母が入院中です。代わりに行けますか?", ["母が入院中です。", "代わりに行けますか?"]),
        ("更新は?いつから?", ["更新は?", "いつから?"]),
        ("。。", []),
    ],
)
def test_sentences(text: str, parts: list[str]) -> None:
    assert sentences(text) == parts


@pytest.mark.parametrize(
    ("sentence", "asking_or_not"),
    [
        ("手数料はかかりますか。", True),
        ("代わりに手続きできるものでしょうか。", True),
        ("必要なものを教えてください。", True),
        ("受付の時間も知りたいです。", True),
        ("署名用の証明書、まだ使える?", True),
        ("どこに電話すればいいの", True),
        ("先月、夫が亡くなりました。", False),
        ("平日は仕事で役所に行けません。", False),  # ends in ん, but ません tells
        ("年金暮らしの一人暮らしです。", False),
    ],
)
def test_asks(sentence: str, asking_or_not: bool) -> None:
    assert asks(sentence) is asking_or_not


def test_the_asking_part_of_a_letter() -> None:
    letter = "八十になる母と二人暮らしです。母のカードの期限が近いと通知が来ました。母は足が悪く窓口に行けません。私が代わりに更新できますか。"
    assert asking_part(letter) == "私が代わりに更新できますか。"


def test_a_bare_request_takes_the_sentence_before_it() -> None:
    letter = ["孫が生まれました。", "赤ちゃんの電子証明書の扱いについて。", "教えてください。"]
    assert asking(letter) == [False, True, True]
    assert asking(["孫が生まれました。", "教えてください。"]) is None  # every sentence picked: no split


@pytest.mark.parametrize("text", ["手数料はいくら?", "カードを落とした。どうしよう。", "更新。持ち物。", "いつから?持ち物は?"])
def test_no_split_when_all_or_none_ask(text: str) -> None:
    assert asking(sentences(text)) is None
