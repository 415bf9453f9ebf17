"""The one normaliser (bot/text.py): every strength agrees with NFKC, and the mapped copy maps back."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.text import basic, nfkc_folded, with_offsets


@given(st.text(alphabet=st.sampled_from("０１９ＡＺａｚ－＠　 12aZ-ｱｶﾞﾊﾟﾟﾞ゛暗証番号ア\u0301\u3099e")))
def test_the_normalised_copy_is_nfkc_and_maps_back(text: str) -> None:
    norm, starts, ends = with_offsets(text)
    assert norm == unicodedata.normalize("NFKC", text)
    assert len(starts) == len(ends) == len(norm)
    # each normalised character comes from the span of the text it maps to
    assert all(norm[i] in unicodedata.normalize("NFKC", text[starts[i]:ends[i]]) for i in range(len(norm)))


@given(st.text(max_size=40))
def test_the_folded_form_is_nfkc_lower_case(text: str) -> None:
    assert nfkc_folded(text) == unicodedata.normalize("NFKC", text).lower()


def test_basic_is_the_form_the_matcher_starts_from() -> None:
    assert basic("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞの　ＰＩＮ！！") == "マイナンバーカードのpin!!"
    assert basic("  暗証番号\u200bを  忘れた ") == "暗証番号を忘れた"
