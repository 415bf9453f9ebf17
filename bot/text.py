"""Text as every part of the bot compares it: one normaliser, in four strengths.

- `nfkc_folded`: NFKC and lower case; what patterns over citizens' words are written against.
- `with_offsets`: the same NFKC with each character's span in the original, so that what is
  found in the normalised copy (a date, a PIN) can be replaced in what the citizen typed.
- `basic`: NFKC, control characters out, neologdn's width and repetition rules, lower case,
  trimmed: the form the matcher, the lexicon and the municipality names start from.

Nothing here knows Japanese words; the layers above do.
"""

from __future__ import annotations

import re
import unicodedata

import neologdn

__all__ = ["basic", "nfkc_folded", "with_offsets"]

_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\ufeff]")
# ASCII, 、。, hiragana, katakana and the unified ideographs are their own NFKC form.
_NFKC_STABLE_RUN = re.compile("[\\x00-\\x7f\u3001\u3002\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff]+")
# Text neologdn gives back unchanged: kana, the unified ideographs, ASCII letters and digits and
# the punctuation citizens type, with no blank and no doubled ー (tests/test_text.py holds it to
# neologdn). neologdn costs about 1 µs a character, most of what normalising a message cost.
_NEOLOGDN_STABLE = re.compile("[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fffa-zA-Z0-9、。!?・「」()%/.,:]*")


def nfkc_folded(text: str) -> str:
    """NFKC and lower case.

    >>> nfkc_folded("ＰＩＮを忘れた")
    'pinを忘れた'
    """
    return unicodedata.normalize("NFKC", text).lower()


def basic(text: str) -> str:
    """Width, case and repetition only: the form every comparison of the matcher starts from.

    >>> basic("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞの　ＰＩＮ！！")
    'マイナンバーカードのpin!!'
    """
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    if _NEOLOGDN_STABLE.fullmatch(text) is None or "ーー" in text:
        text = str(neologdn.normalize(text))
    return text.lower().strip()


def with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """NFKC per character cluster, with each normalised character's span in `text` (start, end).

    A base character and the combining marks after it (ﾊﾟ) are normalised together so
    that half-width katakana compose as they would in whole-string NFKC.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text, list(range(len(text))), list(range(1, len(text) + 1))
    narrowed = text.translate(_FULL_WIDTH)  # one character for one: the map stays the identity
    if unicodedata.is_normalized("NFKC", narrowed):
        return narrowed, list(range(len(text))), list(range(1, len(text) + 1))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        run = _NFKC_STABLE_RUN.match(text, i)
        j = run.end() if run else i
        if j < n and j > i and _joins_previous(text[j]):
            j -= 1  # the run's last character composes with the mark after it (e + ´ → é)
        if j > i:  # the bulk of Japanese text maps onto itself, so copy it in one step
            out.append(text[i:j])
            starts.extend(range(i, j))
            ends.extend(range(i + 1, j + 1))
            i = j
            continue
        j = i + 1
        while j < n and _joins_previous(text[j]):
            j += 1
        normalised = unicodedata.normalize("NFKC", text[i:j])
        out.append(normalised)
        starts.extend([i] * len(normalised))
        ends.extend([j] * len(normalised))
        i = j
    return "".join(out), starts, ends


# Full-width ASCII (an IME's digits and letters) and the ideographic space: NFKC gives one
# character for each, so a message holding nothing else that NFKC changes needs no walk.
_FULL_WIDTH = {c: unicodedata.normalize("NFKC", chr(c)) for c in [*range(0xFF01, 0xFF5F), 0x3000]}


def _joins_previous(ch: str) -> bool:
    # Half-width (semi-)voiced marks are not combining characters themselves, but NFKC
    # turns them into combining marks that compose with the kana before them.
    return ch in "\uff9e\uff9f" or (not ch.isascii() and unicodedata.combining(ch) != 0)
