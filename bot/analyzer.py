"""Text → the features the matcher indexes: words, character n-grams, reading n-grams."""

from __future__ import annotations

from dataclasses import dataclass

from bot.normalize import Normalizer, to_katakana
from bot.privacy import person_names
from bot.tokenizer import Tokenizer

# Punctuation and blanks dropped before taking character n-grams, as a str.translate table.
_SKIP_CHARS = dict.fromkeys(map(ord, " 、。,.!?!?・「」『』()()[]【】〜~ー-:;…\"'"))


@dataclass(frozen=True)
class Features:
    text: str  # normalised text
    words: tuple[str, ...]
    chars: tuple[str, ...]
    readings: tuple[str, ...]
    reading: str  # the whole text read in katakana, for character-level similarity
    names: tuple[str, ...] = ()  # personal names in it, which the turn log must not keep


def ngrams(text: str, sizes: tuple[int, ...]) -> list[str]:
    """Character n-grams; a text shorter than the smallest size is its own gram.

    >>> ngrams("暗証番号", (2, 3))
    ['暗証', '証番', '番号', '暗証番', '証番号']
    """
    grams = [text[i : i + n] for n in sizes for i in range(len(text) - n + 1)]
    if not grams and text:
        grams = [text]
    return grams


class Analyzer:
    def __init__(self, normalizer: Normalizer, tokenizer: Tokenizer, gram_sizes: tuple[int, ...] = (2, 3)) -> None:
        self.normalize = normalizer
        self._tokenizer = tokenizer
        self._sizes = gram_sizes

    def features(self, raw: str) -> Features:
        text = self.normalize(raw)
        tokens = self._tokenizer.tokenize(text)
        words: list[str] = []
        for token in tokens:
            if token.is_content:
                words.append(token.normalized)
                if token.parts:
                    words.extend(p for p in token.parts if p != token.normalized)
        reading = "".join([t.reading for t in tokens]) or to_katakana(text)
        compact = text.translate(_SKIP_CHARS)
        return Features(
            text=text,
            words=tuple(words),
            chars=tuple(ngrams(compact, self._sizes)),
            readings=tuple(ngrams(reading, self._sizes)),
            reading=reading,
            names=person_names(tokens) if any(t.name for t in tokens) else (),
        )
