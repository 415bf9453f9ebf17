"""The one normaliser (bot/text.py): every strength agrees with NFKC, and the mapped copy maps back."""

from __future__ import annotations

import itertools
import unicodedata

import neologdn
from hypothesis import given
from hypothesis import strategies as st

from bot.text import _CONTROL, basic, nfkc_folded, with_offsets


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


# The characters basic() trusts neologdn to leave alone, and a few it must not (blanks, ー doubled,
# half-width kana, tildes, hyphens), so that the fast path is tested at its edges.
_STABLE_SAMPLE = ("ぁあゖァアヺー一漢鿿azAZ09、。!?・「」()%/.,:")
_EDGES = " 　~〜-−ｰｯ\u200b"


def _reference(text: str) -> str:
    """basic() as it was before the fast path: neologdn on every message."""
    return str(neologdn.normalize(_CONTROL.sub(" ", unicodedata.normalize("NFKC", text)))).lower().strip()


@given(st.text(alphabet=st.sampled_from(_STABLE_SAMPLE + _EDGES), max_size=30))
def test_basic_agrees_with_neologdn_on_every_message(text: str) -> None:
    assert basic(text) == _reference(text)


def test_basic_agrees_with_neologdn_on_every_pair_and_triple_of_stable_characters() -> None:
    chars = _STABLE_SAMPLE + "".join(chr(c) for c in range(0x3041, 0x3097, 7)) + "".join(chr(c) for c in range(0x30A1, 0x30FB, 7))
    for text in ("".join(p) for n in (2, 3) for p in itertools.product(chars, repeat=n)):
        assert basic(text) == _reference(text), text
