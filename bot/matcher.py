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
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from bot.analyzer import Analyzer, Features
from bot.bm25 import BM25Fields
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


# Named tuples, not dataclasses: the match cache holds thousands of results, and they were
# most of what each garbage collection walked. Named tuples are cheaper to walk (the longest
# collection pause over 20,000 questions halved, bench/README.md) and quicker to make.
class Candidate(NamedTuple):
    intent: str
    score: float


class MatchResult(NamedTuple):
    intent: str | None  # None: below the threshold (out of domain)
    score: float
    ranking: tuple[Candidate, ...]
    exact: bool = False
    ambiguous: bool = False  # the runner-up is too close to call
    names: tuple[str, ...] = ()  # personal names in the text (privacy.person_names), not our vocabulary


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
        readings = [f.reading for f in feats]
        self._alphabet = _Alphabet(readings)
        self._readings = [r.translate(self._alphabet) for r in readings]
        grouped: list[list[Features]] = [[] for _ in intents]
        for owner, f in zip(self._owners, feats):
            grouped[owner].append(f)
        answers = [analyzer.features(i.answer) if i.answer else None for i in intents]
        self._has_answers = any(answers)
        # A name the intents' own examples or answers use is vocabulary, not a resident's
        # name: a municipality's mascot, a counter named after a place that is also a surname.
        self._not_names = frozenset(name for f in [*feats, *filter(None, answers)] for name in f.names)
        # (field, the query it is scored against): 0 words, 1 character n-grams, 2 reading
        # n-grams, 3 both 0 and 1. Three fields of examples, then two or three of intents.
        fields = [
            ([f.words for f in feats], 0),
            ([f.chars for f in feats], 1),
            ([f.readings for f in feats], 2),
            ([[w for f in g for w in f.words] for g in grouped], 0),
            ([[r for f in g for r in f.readings] for g in grouped], 2),
        ]
        if self._has_answers:
            fields.append(([a.words + a.chars if a else () for a in answers], 3))
        self._bm25 = BM25Fields([docs for docs, _ in fields], [q for _, q in fields], c.k1, c.b)
        self._match_cached = functools.lru_cache(maxsize=c.cache_size)(self._match)

    @property
    def intent_names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def scores(self, text: str) -> tuple[np.ndarray, bool]:
        """One score per intent (index order of the intents file), and whether it was an exact hit."""
        return self._scores(self._analyzer.features(text))

    def _scores(self, f: Features) -> tuple[np.ndarray, bool]:
        n = len(self._names)
        hit = self._exact.get(f.text)
        if hit is not None:
            out = np.zeros(n)
            out[hit] = 1.0
            return out, True
        c = self.config
        queries = [f.words, f.chars, f.readings]
        if self._has_answers:
            queries.append(f.words + f.chars)
        scores = self._bm25.scores(queries)
        word, char, reading, intent_word, intent_reading, *answer = (scores[s] for s in self._bm25.slices)
        # The arithmetic below keeps the order it always had, so that a score lands on the
        # same float: one ulp can flip a four-decimal rounding (0.05625 as 0.0562 or 0.0563).
        per_example = c.w_word * word + c.w_char * char + c.w_reading * reading
        if f.reading and c.w_fuzz:
            query = [f.reading.translate(self._alphabet)]
            sim = process.cdist(query, self._readings, scorer=fuzz.ratio, dtype=np.uint8, workers=1)[0]
            per_example += c.w_fuzz * (sim / 100.0)
        per_example /= c.w_word + c.w_char + c.w_reading + c.w_fuzz
        best = np.zeros(n)
        best[self._present] = np.maximum.reduceat(per_example, self._starts)
        whole = 0.5 * intent_word + 0.5 * intent_reading
        if answer:
            whole = (1 - c.answer_weight) * whole + c.answer_weight * answer[0]
        return c.example_share * best + (1 - c.example_share) * whole, False

    def rank(self, text: str, top: int = 5) -> list[Candidate]:
        return self.rank_from(self.scores(text)[0], top)

    def match(self, text: str) -> MatchResult:
        return self._match_cached(text)

    def _match(self, text: str) -> MatchResult:
        f = self._analyzer.features(text)
        scores, exact = self._scores(f)
        names = tuple(n for n in f.names if n not in self._not_names) if f.names else ()
        ranking = tuple(self.rank_from(scores, 5))
        best = ranking[0]
        c = self.config
        if exact:
            name = best.intent if self._intents[best.intent].in_domain else None
            return MatchResult(name, 1.0, ranking, exact=True, names=names)
        if best.score < c.accept_threshold or not self._intents[best.intent].in_domain:
            # An intent of kind out_of_scope is a learned "not ours": it answers like no match.
            return MatchResult(None, best.score, ranking, names=names)
        ambiguous = len(ranking) > 1 and best.score - ranking[1].score < c.clarify_margin
        return MatchResult(best.intent, best.score, ranking, ambiguous=ambiguous, names=names)

    def rank_from(self, scores: np.ndarray, top: int) -> list[Candidate]:
        top = max(1, min(top, len(scores)))
        idx = (-scores).argpartition(top - 1)[:top].tolist() if top < len(scores) else list(range(len(scores)))
        values = scores.tolist()
        idx.sort(key=values.__getitem__, reverse=True)  # stable, as ties must keep argpartition's order
        return [Candidate(self._names[i], round(values[i], 4)) for i in idx]
