"""The intent matcher: a cascade of exact lookup, then a scored ranking, then "is this ours?".

Scoring mixes three kinds of evidence, each an array with one number per intent:
- lexical (bot/understanding/lexical.py): BM25 over words, character and reading n-grams plus
  rapidfuzz similarity of readings, for the whole message and for its asking sentences;
- the discriminative model (bot/understanding/model.py): logistic regression over the same features,
  synonym groups and the deciding concepts, trained on the examples;
- deciding concepts (bot/understanding/concepts.py): a boost to the intent whose deciding word is said.
"Which intent?" is the best in-domain intent by the mixed score. "Is this ours?" is
decided apart (bot/understanding/gate.py), so a long letter about our topic is never turned away
for being long. Nothing here knows our intents: it ranks any intents file.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np

from bot.understanding.analyzer import Analyzer, Features
from bot.understanding.concepts import ConceptFinder, concepts_of
from bot.understanding.gate import Evidence, Gate, GateConfig
from bot.understanding.intents import Intent
from bot.understanding.lexical import LexicalConfig, LexicalIndex
from bot.understanding.model import FIELDS, IntentModel, ModelConfig, fingerprint, terms, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatcherConfig:
    """Weights and thresholds; the thresholds may come from settings (environment).

    The weights were chosen by 5-fold cross-validation over intents.yaml
    (bench/cv_matcher.py), never on the FAQ suites.
    """

    lexical: LexicalConfig = field(default_factory=LexicalConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    model_weight: float = 0.5  # share of the model's probability in the mixed score; the rest is lexical
    # Added to an intent's score for each of its deciding concepts said. Off: the concepts
    # already weigh as the model's features (0.890 -> 0.901 top-1), and a boost on top only
    # lowered top-1 (0.9164 at 0, 0.9147 at 0.05, 0.9078 at 0.2).
    concept_boost: float = 0.0
    accept_threshold: float = 0.30  # the best in-domain score below which nothing is ours (bot/understanding/gate.py)
    clarify_margin: float = 0.06
    model_min_examples: float = 8.0  # mean examples per intent below which no model is trained
    model_max_intents: int = 300  # a model's weights grow with intents x features
    cache_size: int = 4096  # citizens ask the same questions; a match is a pure function of the text


# Named tuples, not dataclasses: the match cache holds thousands of results, and they were
# most of what each garbage collection walked. Named tuples are cheaper to walk (the longest
# collection pause over 20,000 questions halved, bench/README.md) and quicker to make.
class Candidate(NamedTuple):
    intent: str
    score: float


class MatchResult(NamedTuple):
    intent: str | None  # None: not ours (out of domain)
    score: float  # the mixed score of `intent`, or of the best in-domain intent when intent is None
    ranking: tuple[Candidate, ...]
    exact: bool = False
    ambiguous: bool = False  # the runner-up is too close to call
    names: tuple[str, ...] = ()  # personal names in the text (names.person_names), not our vocabulary
    ours: float = 1.0  # the gate's belief that the message is about our domain, 0..1
    in_domain_score: float = 1.0  # the best in-domain intent's confidence: low means "not ours" (api.md)


class Matcher:
    def __init__(
        self,
        intents: Sequence[Intent],
        analyzer: Analyzer,
        config: MatcherConfig | None = None,
        exact: Mapping[str, str] | None = None,
        model_path: Path | None = None,
    ) -> None:
        self.config = config or MatcherConfig()
        c = self.config
        self._analyzer = analyzer
        self._names = [i.name for i in intents]
        self._intents = {i.name: i for i in intents}
        self._in_domain = np.array([i.in_domain for i in intents], dtype=bool)
        self._any_in_domain = bool(self._in_domain.any())
        self._concepts = ConceptFinder(concepts_of({i.name: dict(i.deciding) for i in intents if i.deciding}),
                                       analyzer.normalize, analyzer.reading_of)
        self._concept_owner = {cn.name: self._names.index(cn.intent) for cn in self._concepts.concepts}
        answers = [analyzer.features(i.answer) if i.answer else None for i in intents]
        self.model = self._stored(intents, model_path)
        # Every example, normalised, leads straight to its intent (the first one to hold it).
        if self.model is not None:
            self._exact = dict(zip(self.model.exact_texts, self.model.exact_owners))
        else:
            self._exact = _exact_table(intents, analyzer)
        for phrase, name in (exact or {}).items():
            if name in self._intents:
                self._exact[analyzer.normalize(phrase)] = self._names.index(name)
        per_example = c.lexical.per_example if c.lexical.per_example is not None else not self._trainable(intents)
        examples: list[tuple[int, Features]] = []
        if self.model is None or per_example:
            # Tokenising every example is most of a cold start: a fresh stored model
            # carries what it would give, so this happens only without one.
            examples = [(n, analyzer.features(e)) for n, intent in enumerate(intents) for e in intent.examples]
        if self.model is None:
            self.model = self._train(intents, examples)
        # Character n-grams are made only when asked for (Features.chars): the model may weigh them 0.
        self._model_chars = self.model is not None and bool(self.model.vectorizer.vocabs[FIELDS.index("c")])
        if self.model is not None:
            intent_words, intent_readings = self.model.intent_words, self.model.intent_readings
            example_names = frozenset(self.model.not_names)
        else:
            intent_words, intent_readings, example_names = _documents(len(intents), examples)
        # A name the intents' own examples or answers use is vocabulary, not a resident's
        # name: a municipality's mascot, a counter named after a place that is also a surname.
        self._not_names = example_names | frozenset(name for f in answers if f for name in f.names)
        self._lexical = LexicalIndex(intent_words, intent_readings, answers, replace(c.lexical, per_example=per_example),
                                     examples)
        self._gate = Gate(c.gate, self._in_domain, has_model=self.model is not None,
                          accept_threshold=c.accept_threshold)
        self._match_cached = functools.lru_cache(maxsize=c.cache_size)(self._match)

    # --- the model: loaded when fresh, else trained ---------------------------------

    def _trainable(self, intents: Sequence[Intent]) -> bool:
        c = self.config
        owners = [i for i in intents if i.examples]
        n = sum(len(i.examples) for i in owners)
        return 2 <= len(owners) <= c.model_max_intents and n / len(owners) >= c.model_min_examples

    def _stamp(self, intents: Sequence[Intent]) -> str:
        return fingerprint(intents, self._analyzer.normalize.lexicon, self.config.model)

    def _stored(self, intents: Sequence[Intent], path: Path | None) -> IntentModel | None:
        if path is None or not path.exists() or not self._trainable(intents):
            return None
        try:
            stored = IntentModel.load(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("model %s is unreadable (%s); training one now", path, exc)
            return None
        if stored.fingerprint == self._stamp(intents) and stored.classes == tuple(self._names):
            return stored
        log.warning("model %s is stale: the examples, deciding words, lexicon or settings changed since it was "
                    "trained. Training one now; store it with: python -m bot train", path)
        return None

    def _train(self, intents: Sequence[Intent], examples: list[tuple[int, Features]]) -> IntentModel | None:
        if not self._trainable(intents):
            return None
        started = time.perf_counter()
        chars = bool(self.config.model.field_weights[FIELDS.index("c")])
        docs = [terms(f, self._find(f), chars) for _, f in examples]
        focus = [terms(f.focus, self._find(f.focus), chars) if f.focus else None for _, f in examples]
        intent_words, intent_readings, names = _documents(len(intents), examples)
        table = _exact_table(intents, self._analyzer)
        model = train(self._names, docs, focus, [i for i, _ in examples], self.config.model, self._stamp(intents),
                      out_of_domain=[not i.in_domain for i in intents],
                      intent_words=intent_words, intent_readings=intent_readings, not_names=tuple(sorted(names)),
                      exact_texts=tuple(table), exact_owners=tuple(table.values()))
        log.info("trained the intent model on %d examples in %.1f s", len(examples), time.perf_counter() - started)
        return model

    def _find(self, f: Features) -> tuple[str, ...]:
        return self._concepts.find(f.text, f.reading)

    # --- scoring ------------------------------------------------------------------

    @property
    def intent_names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def evidence(self, f: Features) -> Evidence:
        lexical = self._lexical.scores(f)
        found = self._find(f)
        proba = None
        if self.model is not None:
            chars = self._model_chars
            focus = terms(f.focus, self._find(f.focus), chars) if f.focus else None
            proba = self.model.proba(terms(f, found, chars), focus)
        concepts = np.zeros(len(self._names))
        against = 0
        for name in found:
            owner = self._concept_owner[name]
            concepts[owner] += 1.0
            against += not self._in_domain[owner]
        return Evidence(lexical, proba, concepts, against)

    def mix(self, e: Evidence) -> np.ndarray:
        """The mixed score of each intent, in [0, 1]."""
        c = self.config
        if e.model is None:
            scores = e.lexical.copy()
        else:
            scores = c.model_weight * e.model + (1 - c.model_weight) * e.lexical
        if c.concept_boost:
            scores += c.concept_boost * e.concepts
        return cast(np.ndarray, np.minimum(scores, 1.0, out=scores))

    def scores(self, text: str) -> tuple[np.ndarray, bool]:
        """One mixed score per intent (index order of the intents file), and whether it was an exact hit."""
        f = self._analyzer.features(text)
        hit = self._exact.get(f.text)
        if hit is not None:
            return self._one_hot(hit), True
        return self.mix(self.evidence(f)), False

    def lexical_scores(self, text: str) -> np.ndarray:
        """The lexical part alone, for the whole text (bot/understanding/lexical.py's formula)."""
        return self._lexical.plain(self._analyzer.features(text))

    def _one_hot(self, index: int) -> np.ndarray:
        out = np.zeros(len(self._names))
        out[index] = 1.0
        return out

    def rank(self, text: str, top: int = 5) -> list[Candidate]:
        return self.rank_from(self.scores(text)[0], top)

    def match(self, text: str) -> MatchResult:
        return self._match_cached(text)

    def _match(self, text: str) -> MatchResult:
        f = self._analyzer.features(text)
        names = tuple(n for n in f.names if n not in self._not_names) if f.names else ()
        hit = self._exact.get(f.text)
        if hit is not None:
            ranking = tuple(self.rank_from(self._one_hot(hit), 5))
            name = self._names[hit] if self._in_domain[hit] else None
            return MatchResult(name, 1.0, ranking, exact=True, names=names,
                               ours=float(name is not None), in_domain_score=float(name is not None))
        evidence = self.evidence(f)
        scores = self.mix(evidence)
        ranking = tuple(self.rank_from(scores, 5))
        inside = np.where(self._in_domain, scores, -1.0)
        best = int(inside.argmax())
        best_score = round(float(scores[best]), 4) if self._any_in_domain else 0.0
        ours = self._gate.ours(evidence, scores)
        in_domain_score = round(min(best_score, ours), 4)
        if not self._any_in_domain or not self._gate.accepts(ours, best_score):
            return MatchResult(None, best_score, ranking, names=names, ours=ours, in_domain_score=in_domain_score)
        runner_up = float(np.partition(inside, -2)[-2]) if len(inside) > 1 else -1.0
        ambiguous = best_score - runner_up < self.config.clarify_margin
        return MatchResult(self._names[best], best_score, ranking, ambiguous=ambiguous, names=names,
                           ours=ours, in_domain_score=in_domain_score)

    def rank_from(self, scores: np.ndarray, top: int) -> list[Candidate]:
        top = max(1, min(top, len(scores)))
        idx = (-scores).argpartition(top - 1)[:top].tolist() if top < len(scores) else list(range(len(scores)))
        values = scores.tolist()
        idx.sort(key=values.__getitem__, reverse=True)  # stable, as ties must keep argpartition's order
        return [Candidate(self._names[i], round(values[i], 4)) for i in idx]


def _documents(n: int, examples: Sequence[tuple[int, Features]]) -> tuple[tuple[Counter[str], ...], tuple[Counter[str], ...], frozenset[str]]:
    """Per intent, its examples' words and reading n-grams as one document each (term counts); and the names they use."""
    words: list[Counter[str]] = [Counter() for _ in range(n)]
    readings: list[Counter[str]] = [Counter() for _ in range(n)]
    for owner, f in examples:
        words[owner].update(f.words)
        readings[owner].update(f.readings)
    names = frozenset(name for _, f in examples for name in f.names)
    return tuple(words), tuple(readings), names


def _exact_table(intents: Sequence[Intent], analyzer: Analyzer) -> dict[str, int]:
    table: dict[str, int] = {}
    for index, intent in enumerate(intents):
        for example in intent.examples:
            table.setdefault(analyzer.normalize(example), index)
    return table
