"""Lexical scores: how much of a message the examples of each intent hold.

BM25 over SudachiPy's normalised words, over character n-grams, and over katakana
readings (so hiragana-only and misconverted input still meets its kanji), with
rapidfuzz's character-level similarity of readings; per example (the best example of
each intent counts) and per intent (all its examples, and its answer text, as one
document). A BM25 score is divided by the query's own information, so background
sentences pull it down: for a message with an asking part, the score is mixed with
the asking part's own (`focus_share`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.understanding.analyzer import Features
from bot.understanding.bm25 import BM25Fields, FewDocsBM25


@dataclass(frozen=True)
class LexicalConfig:
    # Chosen by 5-fold cross-validation over intents.yaml (bench/tune_matcher.py);
    # they are relative: the per-example score is divided by their sum.
    w_word: float = 0.30
    w_char: float = 0.15
    w_reading: float = 0.10
    w_fuzz: float = 0.25
    example_share: float = 0.5  # the rest goes to the whole-intent document
    answer_weight: float = 0.15  # share of the intent-level part given to the answer text
    focus_share: float = 0.5  # for a message with an asking part: that part's share of the score
    # Score each example on its own too (the best one counting). None: only without a model.
    # Beside the model, cross-validation found the intents' documents alone as good (0.9164
    # against 0.9129 top-1), and per-example fields cost time and start-up in proportion to
    # the examples; without one (an FAQ file of one example per question) they are the ranker.
    per_example: bool | None = None
    k1: float = 1.2
    b: float = 0.75


class _Alphabet(dict[int, int]):
    """A str.translate table giving each character of the example readings a one-byte code.

    fuzz.ratio only tests characters for equality, so renaming them one-to-one keeps
    every score; a character no example holds matches nothing either way, so all of
    those can share one more code. Katakana strings then become one-byte strings,
    which rapidfuzz compares about 2.5 times faster (a flat table, not a hash map).
    """

    def __init__(self, texts: Sequence[str]) -> None:
        super().__init__((ord(ch), code) for code, ch in enumerate(sorted(set("".join(texts))), start=1))
        self._other = len(self) + 1

    def __missing__(self, key: int) -> int:
        return self._other


class LexicalIndex:
    """Per intent: its examples' words and readings as one document each (and its answer);
    with `per_example`, also every example on its own, the best example counting."""

    def __init__(
        self,
        intent_words: Sequence[Mapping[str, int]],
        intent_readings: Sequence[Mapping[str, int]],
        answers: Sequence[Features | None],
        config: LexicalConfig,
        examples: Sequence[tuple[int, Features]] = (),
    ) -> None:
        self.config = c = config
        self._n = len(intent_words)
        self._per_example = c.per_example and len(examples) > 0
        self._has_answers = any(answers) and c.answer_weight > 0
        self._few: tuple[FewDocsBM25, FewDocsBM25] | None = None
        if not self._per_example and not self._has_answers:
            # Our own intents: a few long documents, scored densely (bot/understanding/bm25.py).
            self._few = (FewDocsBM25(intent_words, c.k1, c.b), FewDocsBM25(intent_readings, c.k1, c.b))
            return
        fields: list[tuple[Sequence[Sequence[str]], int]] = []
        if self._per_example:
            owners = np.array([i for i, _ in examples], dtype=np.int64)
            order = np.argsort(owners, kind="stable")
            self._owners = owners[order]
            feats = [examples[i][1] for i in order]
            # Examples are grouped by intent, so a per-intent maximum is one reduceat.
            self._starts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
            self._present = self._owners[self._starts]
            readings = [f.reading for f in feats]
            self._alphabet = _Alphabet(readings)
            self._readings = [r.translate(self._alphabet) for r in readings]
            fields += [([f.words for f in feats], 0), ([f.chars for f in feats], 1), ([f.readings for f in feats], 2)]
        # (field, the query it is scored against): 0 words, 1 character n-grams, 2 reading
        # n-grams, 3 both 0 and 1. Maybe three fields of examples, then two or three of intents.
        fields += [(_spelled_out(intent_words), 0), (_spelled_out(intent_readings), 2)]
        if self._has_answers:
            fields.append(([a.words + a.chars if a else () for a in answers], 3))
        self._bm25 = BM25Fields([docs for docs, _ in fields], [q for _, q in fields], c.k1, c.b)

    def scores(self, f: Features) -> np.ndarray:
        """One score per intent in [0, 1]: the whole message's, mixed with its asking part's."""
        whole = self.plain(f)
        if f.focus is None or not self.config.focus_share:
            return whole
        share = self.config.focus_share
        return (1 - share) * whole + share * self.plain(f.focus)

    def plain(self, f: Features) -> np.ndarray:
        c = self.config
        if self._few is not None:
            return 0.5 * self._few[0].scores(f.words) + 0.5 * self._few[1].scores(f.readings)
        queries: list[Sequence[str]] = [f.words, f.chars, f.readings]
        if self._has_answers:
            queries.append(f.words + f.chars)
        scores = self._bm25.scores(queries)
        parts = [scores[s] for s in self._bm25.slices]
        if self._per_example:
            word, char, reading, *parts = parts
        intent_word, intent_reading, *answer = parts
        whole = 0.5 * intent_word + 0.5 * intent_reading
        if answer:
            whole = (1 - c.answer_weight) * whole + c.answer_weight * answer[0]
        if not self._per_example:
            return whole
        # The arithmetic below keeps the order it always had, so that a score lands on the
        # same float: one ulp can flip a four-decimal rounding (0.05625 as 0.0562 or 0.0563).
        per_example = c.w_word * word + c.w_char * char + c.w_reading * reading
        if f.reading and c.w_fuzz:
            query = [f.reading.translate(self._alphabet)]
            sim = process.cdist(query, self._readings, scorer=fuzz.ratio, dtype=np.uint8, workers=1)[0]
            per_example += c.w_fuzz * (sim / 100.0)
        per_example /= c.w_word + c.w_char + c.w_reading + c.w_fuzz
        best = np.zeros(self._n)
        best[self._present] = np.maximum.reduceat(per_example, self._starts)
        return c.example_share * best + (1 - c.example_share) * whole


def _spelled_out(counts: Sequence[Mapping[str, int]]) -> list[list[str]]:
    """Term counts as documents (BM25 reads only the counts and the length)."""
    return [[term for term, n in doc.items() for _ in range(n)] for doc in counts]
