"""SudachiPy behind one small wrapper.

One Dictionary for the process; a Tokenizer per thread, because a SudachiPy
Tokenizer is not thread-safe ("Already borrowed"). Split mode C is fixed at
creation; each long unit also yields its mode-A parts, so 電子証明書 matches 証明書.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import jaconv
from sudachipy import Dictionary, SplitMode

# Parts of speech that carry no topic: particles, auxiliaries, punctuation, blanks.
_FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})
_KANJI_OR_KATAKANA = re.compile("[\u30a1-\u30fa\u3005\u3400-\u4dbf\u4e00-\u9fff]")
_KNOWN_LIMIT = 5_000  # tokens kept, about 1 KB each; 6,000 varied questions needed 1,400


@dataclass(frozen=True)
class Token:
    surface: str
    normalized: str
    reading: str
    pos: str
    parts: tuple[str, ...] = ()  # normalized forms of the mode-A split, when it differs
    name: bool = False  # a personal name (人名: family, given or foreign) with kanji or katakana in it
    synonyms: tuple[str, ...] = ()  # the dictionary's synonym groups, as "~<id>": 費用 and 料金 share 手数料's

    @property
    def is_content(self) -> bool:
        return self.pos not in _FUNCTION_POS


class Tokenizer:
    def __init__(self) -> None:
        self._dictionary = Dictionary(dict="core")
        self._local = threading.local()
        self._known: dict[tuple[int, str], Token] = {}

    def _tokenizer(self) -> Any:  # SudachiPy's Tokenizer has no type information
        tok = getattr(self._local, "tok", None)
        if tok is None:
            tok = self._dictionary.tokenizer(mode=SplitMode.C)
            self._local.tok = tok
        return tok

    def tokenize(self, text: str) -> list[Token]:
        if not text:
            return []
        tokens = []
        known = self._known
        for m in self._tokenizer().tokenize(text):
            if m.is_oov():
                tokens.append(_token(m))
                continue
            # A dictionary word's token depends only on its entry and its surface, and
            # building one costs more than SudachiPy's own tokenising: keep the ones seen.
            key = (m.word_id(), m.surface())
            token = known.get(key)
            if token is None:
                token = _token(m)
                if len(known) >= _KNOWN_LIMIT:
                    known.clear()  # a crude bound; questions reuse a small vocabulary
                known[key] = token
            tokens.append(token)
        return tokens


def _token(m: Any) -> Token:  # m: a SudachiPy Morpheme (no type information)
    pos_tags = m.part_of_speech()
    pos = pos_tags[0]
    surface = m.surface()
    reading = m.reading_form()
    if not reading or pos in {"補助記号", "空白"}:
        reading = ""
    elif m.is_oov() or reading == "キゴウ":
        reading = jaconv.hira2kata(surface)
    parts: tuple[str, ...] = ()
    if pos not in _FUNCTION_POS and len(surface) > 2:
        split = m.split(SplitMode.A)
        if len(split) > 1:
            parts = tuple(p.normalized_form() for p in split)
    # Only a name with kanji or katakana in it: in hiragana the dictionary reads too many
    # fragments as names (てすうりょう → りょう), and English words as well (page, may).
    name = pos_tags[2] == "人名" and _KANJI_OR_KATAKANA.search(surface) is not None
    synonyms = tuple(f"~{g}" for g in m.synonym_group_ids()) if pos not in _FUNCTION_POS else ()
    return Token(surface, m.normalized_form(), reading, pos, parts, name, synonyms)


_shared: Tokenizer | None = None
_shared_lock = threading.Lock()


def shared_tokenizer() -> Tokenizer:
    """The process-wide wrapper (the Dictionary is large; load it once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Tokenizer()
        return _shared
