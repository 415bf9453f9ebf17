"""Text → the features the matcher indexes: words, character n-grams, reading n-grams.

A message of several sentences, some asking and some telling, also gets the features
of its asking sentences alone (`focus`), so that the matcher can weigh the question
without dropping the background (bot/understanding/sentences.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.understanding.names import person_names
from bot.understanding.normalize import Normalizer, to_katakana
from bot.understanding.sentences import asking, sentences
from bot.understanding.tokenizer import Token, Tokenizer

_SENTENCE_END = re.compile("[。!?]")
# Punctuation and blanks dropped before taking character n-grams, as a str.translate table.
_SKIP_CHARS = dict.fromkeys(map(ord, " 、。,.!?!?・「」『』()()[]【】〜~ー-:;…\"'"))


@dataclass(frozen=True)
class Features:
    text: str  # normalised text
    words: tuple[str, ...]
    readings: tuple[str, ...]
    reading: str  # the whole text read in katakana, for character-level similarity
    names: tuple[str, ...] = ()  # personal names in it, which the turn log must not keep
    synonyms: tuple[str, ...] = ()  # SudachiPy synonym groups of its words, as "~<id>"
    focus: Features | None = None  # the asking sentences, when others tell the background
    gram_sizes: tuple[int, ...] = (2, 3)

    @functools.cached_property
    def chars(self) -> tuple[str, ...]:
        """Character n-grams of the text, punctuation and blanks left out: made when first asked
        for, as only the lexical ranker without a model reads them (the model weighs them 0)."""
        return tuple(ngrams(self.text.translate(_SKIP_CHARS), self.gram_sizes))


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

    def reading_of(self, text: str) -> str:
        """A normalised text read in katakana."""
        return "".join([t.reading for t in self._tokenizer.tokenize(text)]) or to_katakana(text)

    def features(self, raw: str) -> Features:
        text = self.normalize(raw)
        # Most messages are one sentence: no end mark before their last characters.
        picked = asking(parts := sentences(text)) if _SENTENCE_END.search(text.rstrip("。!? ")) else None
        if picked is None:
            return self._features(text, self._tokenizer.tokenize(text))
        # Tokenised sentence by sentence: the same tokens as the whole, since every
        # sentence ends in punctuation, and the asking ones are then a slice away.
        split = [self._tokenizer.tokenize(p) for p in parts]
        focus_text = "".join(p for p, keep in zip(parts, picked) if keep)
        focus_tokens = [t for tokens, keep in zip(split, picked) if keep for t in tokens]
        focus = self._features(focus_text, focus_tokens)
        return self._features(text, [t for tokens in split for t in tokens], focus)

    def _features(self, text: str, tokens: Sequence[Token], focus: Features | None = None) -> Features:
        words: list[str] = []
        synonyms: list[str] = []
        for token in tokens:
            if token.is_content:
                words.append(token.normalized)
                if token.parts:
                    words.extend(p for p in token.parts if p != token.normalized)
                if token.synonyms:
                    synonyms += token.synonyms
        reading = "".join([t.reading for t in tokens]) or to_katakana(text)
        return Features(
            text=text,
            words=tuple(words),
            readings=tuple(ngrams(reading, self._sizes)),
            reading=reading,
            names=person_names(tokens) if any(t.name for t in tokens) else (),
            synonyms=tuple(synonyms),
            focus=focus,
            gram_sizes=self._sizes,
        )
