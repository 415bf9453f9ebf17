"""The personal names among a message's tokens (SudachiPy's 人名), so that the turn log can leave them out.

Read from the tokens the matcher already has, at no extra tokenising; bot.operations.privacy
replaces them in the text that is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

__all__ = ["person_names"]

_KATAKANA = re.compile("[\u30a1-\u30faー]+")
# A name right after one of these is inside a longer word: a noun, or a suffix that itself
# follows one (有効期限痛知書, a typo of 通知書, reads 痛 as a suffix and 知書 as a name).
# After the name, a suffix is さん or 様: the name stands.
_JOINS_BEFORE = frozenset({"名詞", "接尾辞"})


class _NameToken(Protocol):
    @property
    def surface(self) -> str: ...
    @property
    def pos(self) -> str: ...
    @property
    def name(self) -> bool: ...


def person_names(tokens: Sequence[_NameToken]) -> tuple[str, ...]:
    """The personal names among a message's tokens (SudachiPy's 人名), for the turn log.

    A name written into a longer noun is a misreading, not a person: 有効期限通地書 (a typo
    of 通知書) holds the family name 通地. So a run of name tokens counts only when the
    words on either side of it are not nouns (nor, before it, a suffix); さん, 様 and particles are not. A foreign name
    goes on across ・ through katakana words the dictionary does not know as names
    (ジョン・スミス, グエン・ヴァン・ナム).
    """
    found: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        if not tokens[i].name:
            i += 1
            continue
        j = i
        while j < n:
            if tokens[j].name:
                j += 1
            elif tokens[j].surface == "・" and j + 1 < n and _KATAKANA.fullmatch(tokens[j + 1].surface):
                j += 2
            else:
                break
        if (i == 0 or tokens[i - 1].pos not in _JOINS_BEFORE) and (j == n or tokens[j].pos != "名詞"):
            found += [t.surface for t in tokens[i:j] if t.surface != "・"]
        i = j
    return tuple(found)
