"""The intent matcher: a cascade of exact lookup, then a scored ranking.

Scoring combines token-level relevance (BM25 over SudachiPy's normalised words,
over character n-grams, and over katakana readings, so hiragana-only and
misconverted input still meets its kanji) with rapidfuzz's character-level
similarity of readings. Nothing here knows our intents: it ranks any intents file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.analyzer import Analyzer, Features
from bot.bm25 import BM25
from bot.intents import Intent


@dataclass(frozen=True)
class MatcherConfig:
    """Weights and thresholds; the thresholds come from settings (environment)."""

    # Chosen by 5-fold cross-validation over intents.yaml (bench/tune_matcher.py);
    # they are relative: the per-example score is divided by their sum.
    w_word: float = 0.30
    w_char: float = 0.15
    w_reading: float = 0.10
    w_fuzz: float = 0.25
    example_share: float = 0.5  # the rest goes to the whole-intent document
    answer_weight: float = 0.15  # share of the intent-level part given to the answer text
    accept_threshold: float = 0.30
    clarify_margin: float = 0.06
    k1: float = 1.2
    b: float = 0.75
    cache_size: int = 4096  # citizens ask the same questions; a match is a pure function of the text


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    intent: str | None  # None: below the threshold (out of domain)
    score: float
    ranking: tuple[Candidate, ...]
    exact: bool = False
    ambiguous: bool = False  # the runner-up is too close to call


class Matcher:
    def __init__(
        self,
        intents: Sequence[Intent],
        analyzer: Analyzer,
        config: MatcherConfig | None = None,
        exact: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config or MatcherConfig()
        self._analyzer = analyzer
        self._names = [i.name for i in intents]
        self._intents = {i.name: i for i in intents}
        owners: list[int] = []
        feats: list[Features] = []
        self._exact: dict[str, int] = {}
        for index, intent in enumerate(intents):
            for example in intent.examples:
                f = analyzer.features(example)
                owners.append(index)
                feats.append(f)
                self._exact.setdefault(f.text, index)
        for phrase, name in (exact or {}).items():
            if name in self._intents:
                self._exact[analyzer.normalize(phrase)] = self._names.index(name)
        order = np.argsort(np.array(owners, dtype=np.int64), kind="stable")
        self._owners = np.array(owners, dtype=np.int64)[order]
        feats = [feats[i] for i in order]
        # Examples are grouped by intent, so a per-intent maximum is one reduceat.
        self._starts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
        self._present = self._owners[self._starts]
        c = self.config
        self._word = BM25([f.words for f in feats], c.k1, c.b)
        self._char = BM25([f.chars for f in feats], c.k1, c.b)
        self._reading = BM25([f.readings for f in feats], c.k1, c.b)
        self._readings = [f.reading for f in feats]
        grouped: list[list[Features]] = [[] for _ in intents]
        for owner, f in zip(self._owners, feats):
            grouped[owner].append(f)
        self._intent_word = BM25([[w for f in g for w in f.words] for g in grouped], c.k1, c.b)
        self._intent_reading = BM25([[r for f in g for r in f.readings] for g in grouped], c.k1, c.b)
        answers = [analyzer.features(i.answer) if i.answer else None for i in intents]
        self._has_answers = any(answers)
        self._match_cached = functools.lru_cache(maxsize=c.cache_size)(self._match)
        self._answer = BM25([a.words + a.chars if a else () for a in answers], c.k1, c.b)

    @property
    def intent_names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def scores(self, text: str) -> tuple[np.ndarray, bool]:
        """One score per intent (index order of the intents file), and whether it was an exact hit."""
        f = self._analyzer.features(text)
        n = len(self._names)
        hit = self._exact.get(f.text)
        if hit is not None:
            out = np.zeros(n)
            out[hit] = 1.0
            return out, True
        c = self.config
        per_example = (
            c.w_word * self._word.scores(f.words)
            + c.w_char * self._char.scores(f.chars)
            + c.w_reading * self._reading.scores(f.readings)
        )
        if f.reading and c.w_fuzz:
            sim = process.cdist([f.reading], self._readings, scorer=fuzz.ratio, dtype=np.uint8, workers=1)[0]
            per_example = per_example + c.w_fuzz * (sim.astype(np.float64) / 100.0)
        per_example = per_example / (c.w_word + c.w_char + c.w_reading + c.w_fuzz)
        best = np.zeros(n)
        best[self._present] = np.maximum.reduceat(per_example, self._starts)
        whole = 0.5 * self._intent_word.scores(f.words) + 0.5 * self._intent_reading.scores(f.readings)
        if self._has_answers:
            whole = (1 - c.answer_weight) * whole + c.answer_weight * self._answer.scores(f.words + f.chars)
        return c.example_share * best + (1 - c.example_share) * whole, False

    def rank(self, text: str, top: int = 5) -> list[Candidate]:
        return self.rank_from(self.scores(text)[0], top)

    def match(self, text: str) -> MatchResult:
        return self._match_cached(text)

    def _match(self, text: str) -> MatchResult:
        scores, exact = self.scores(text)
        ranking = tuple(self.rank_from(scores, 5))
        best = ranking[0]
        c = self.config
        if exact:
            name = best.intent if self._intents[best.intent].in_domain else None
            return MatchResult(name, 1.0, ranking, exact=True)
        if best.score < c.accept_threshold or not self._intents[best.intent].in_domain:
            # An intent of kind out_of_scope is a learned "not ours": it answers like no match.
            return MatchResult(None, best.score, ranking)
        ambiguous = len(ranking) > 1 and best.score - ranking[1].score < c.clarify_margin
        return MatchResult(best.intent, best.score, ranking, ambiguous=ambiguous)

    def rank_from(self, scores: np.ndarray, top: int) -> list[Candidate]:
        top = max(1, min(top, len(scores)))
        idx = np.argpartition(-scores, top - 1)[:top] if top < len(scores) else np.arange(len(scores))
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [Candidate(self._names[i], round(float(scores[i]), 4)) for i in idx]
