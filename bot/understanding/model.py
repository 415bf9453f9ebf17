"""The discriminative layer: logistic regression over a message's words, characters and readings.

Features are a message's words (SudachiPy normalised forms and their parts), reading
n-grams (character n-grams too, when weighed), SudachiPy synonym groups and the deciding concepts found in it
(bot/understanding/concepts.py), each weighted by its IDF over the examples; the asking sentences of a
longer message count again, `focus_weight` times over; the vector is scaled to unit length,
so a long letter and a short question weigh alike.

A model is trained from the intents' examples (`python -m bot train` stores it) and
carries a fingerprint of everything it was trained from: the examples, the deciding
words, the lexicon, the dictionary version, the settings and FEATURE_VERSION. A stored
model whose fingerprint differs from the data's is stale and is never used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from itertools import chain, repeat
from pathlib import Path

import numpy as np

from bot.understanding.analyzer import Features
from bot.understanding.intents import Intent
from bot.understanding.logreg import LogReg, SparseRows, fit

FEATURE_VERSION = 1  # bump when the features change meaning: stored models become stale
FIELDS = ("w", "c", "r", "s", "k")  # words, characters, readings, synonyms, concepts


@dataclass(frozen=True)
class ModelConfig:
    """Chosen by 5-fold cross-validation over intents.yaml (bench/cv_matcher.py)."""

    l2: float = 2e-6  # 3e-4: 0.856 top-1 alone, 5e-5: 0.882, 1e-5: 0.890, 2e-6: 0.902 (with deciding words)
    # The asking sentences' features are added this many times again (top-1 0: 0.9164 with the
    # lexical part's asking share off too, 0.5: 0.9225, 1: 0.9221, 2: 0.9141; long 0.937 at 0.5).
    focus_weight: float = 0.5
    min_df: int = 2  # a term in fewer examples than this is left out (concepts always count)
    out_of_domain_weight: float = 1.0  # an out-of-domain intent weighs this many intents in the loss
    # In FIELDS order, by cross-validated top-1 (mixed): characters out (weight 1: 0.9168,
    # 0.3: 0.9214, 0: 0.9221: the words and readings carry them); readings in (without:
    # 0.9106); concepts at 1.5 (at 4: 0.9107).
    field_weights: tuple[float, ...] = (1.0, 0.0, 0.6, 0.5, 1.5)
    max_iter: int = 300


def terms(f: Features, concepts: Sequence[str], chars: bool = True) -> tuple[Sequence[str], ...]:
    """A message's terms, field by field, in FIELDS order (`chars` False: none for a field weighed 0)."""
    return (f.words, f.chars if chars else (), f.readings, f.synonyms, concepts)


class Vectorizer:
    def __init__(self, vocabs: Sequence[Mapping[str, int]], idf: np.ndarray, config: ModelConfig) -> None:
        self.vocabs = [dict(v) for v in vocabs]
        self.idf = idf.astype(np.float32)
        self.config = config
        self.size = len(idf)

    @classmethod
    def fit(cls, docs: Sequence[tuple[Sequence[str], ...]], config: ModelConfig) -> Vectorizer:
        n = len(docs)
        vocabs: list[dict[str, int]] = []
        idf: list[float] = []
        for field, weight in enumerate(config.field_weights):
            if not weight:  # a field weighed 0 is left out, and costs no look-up
                vocabs.append({})
                continue
            df: dict[str, int] = {}
            for doc in docs:
                for term in set(doc[field]):
                    df[term] = df.get(term, 0) + 1
            least = 1 if FIELDS[field] == "k" else config.min_df
            vocab: dict[str, int] = {}
            for term in sorted(df):
                if df[term] >= least:
                    vocab[term] = len(idf)
                    idf.append(weight * (np.log((n + 1) / (df[term] + 1)) + 1.0))
            vocabs.append(vocab)
        return cls(vocabs, np.array(idf), config)

    def _ids(self, doc: tuple[Sequence[str], ...]) -> np.ndarray:
        """The feature indices of a message's distinct terms that the vocabulary holds."""
        looked_up = chain.from_iterable(map(vocab.get, set(field_terms), repeat(-1))
                                        for vocab, field_terms in zip(self.vocabs, doc) if vocab)
        ids = np.fromiter(looked_up, np.int64)
        return ids[ids >= 0]

    def transform(self, doc: tuple[Sequence[str], ...], focus: tuple[Sequence[str], ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices and values, the vector scaled to unit length."""
        idx = self._ids(doc)
        values = self.idf[idx]
        if focus is not None and self.config.focus_weight:
            extra = self._ids(focus)
            if len(extra):
                both = np.concatenate([idx, extra])
                idx, inverse = np.unique(both, return_inverse=True)
                weights = np.ones(len(both), dtype=np.float32)
                weights[len(values) :] = self.config.focus_weight
                values = np.bincount(inverse, self.idf[both] * weights, minlength=len(idx)).astype(np.float32)
        norm = float(np.sqrt(values @ values))
        return idx, (values / norm if norm > 0 else values)


@dataclass(frozen=True)
class IntentModel:
    """The trained layer, and what start-up would otherwise tokenise every example for."""

    classes: tuple[str, ...]
    vectorizer: Vectorizer
    logreg: LogReg
    fingerprint: str
    intent_words: tuple[Mapping[str, int], ...] = ()  # per class, its examples' words, counted (lexical documents)
    intent_readings: tuple[Mapping[str, int], ...] = ()  # per class, its examples' reading n-grams, counted
    not_names: tuple[str, ...] = ()  # personal names the examples use (vocabulary, not residents)
    exact_texts: tuple[str, ...] = ()  # every example normalised, for the exact lookup ...
    exact_owners: tuple[int, ...] = ()  # ... and the class it leads to

    def proba(self, doc: tuple[Sequence[str], ...], focus: tuple[Sequence[str], ...] | None = None) -> np.ndarray:
        idx, values = self.vectorizer.transform(doc, focus)
        return self.logreg.proba(idx, values)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        vocab_terms = [t for v in self.vectorizer.vocabs for t in v]
        sizes = [len(v) for v in self.vectorizer.vocabs]
        counted = [*self.intent_words, *self.intent_readings]
        with path.open("wb") as out:
            np.savez_compressed(
                out,
                weights=self.logreg.weights.astype(np.float16),
                bias=self.logreg.bias,
                idf=self.vectorizer.idf,
                terms=np.array(vocab_terms, dtype=np.str_),
                sizes=np.array(sizes, dtype=np.int64),
                classes=np.array(self.classes, dtype=np.str_),
                fingerprint=np.array(self.fingerprint),
                config=np.array(json.dumps(asdict(self.vectorizer.config))),
                doc_terms=np.array([t for c in counted for t in c], dtype=np.str_),
                doc_counts=np.array([n for c in counted for n in c.values()], dtype=np.int32),
                doc_sizes=np.array([len(c) for c in counted], dtype=np.int64),
                not_names=np.array(self.not_names, dtype=np.str_),
                exact_texts=np.array(self.exact_texts, dtype=np.str_),
                exact_owners=np.array(self.exact_owners, dtype=np.int64),
            )

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            config["field_weights"] = tuple(config["field_weights"])
            terms_all = data["terms"].tolist()
            vocabs: list[dict[str, int]] = []
            at = 0
            for size in data["sizes"].tolist():
                vocabs.append({t: at + i for i, t in enumerate(terms_all[at : at + size])})
                at += size
            vectorizer = Vectorizer(vocabs, data["idf"], ModelConfig(**config))
            logreg = LogReg(data["weights"].astype(np.float32), data["bias"].astype(np.float32))
            doc_terms, doc_counts = data["doc_terms"].tolist(), data["doc_counts"].tolist()
            docs: list[dict[str, int]] = []
            at = 0
            for size in data["doc_sizes"].tolist():
                docs.append(dict(zip(doc_terms[at : at + size], doc_counts[at : at + size])))
                at += size
            half = len(docs) // 2
            return cls(tuple(data["classes"].tolist()), vectorizer, logreg, str(data["fingerprint"]),
                       tuple(docs[:half]), tuple(docs[half:]), tuple(data["not_names"].tolist()),
                       tuple(data["exact_texts"].tolist()), tuple(data["exact_owners"].tolist()))


def fingerprint(intents: Iterable[Intent], lexicon: Mapping[str, str], config: ModelConfig) -> str:
    """A digest of everything a model is trained from; a stored model with another one is stale."""
    payload = {
        "feature_version": FEATURE_VERSION,
        "config": asdict(config),
        "dictionary": [version("sudachipy"), version("sudachidict-core")],
        "lexicon": sorted(lexicon.items()),
        "intents": [[i.name, i.kind, list(i.examples), [[c, list(w)] for c, w in i.deciding]] for i in intents],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def train(
    classes: Sequence[str],
    docs: Sequence[tuple[Sequence[str], ...]],
    focus: Sequence[tuple[Sequence[str], ...] | None],
    labels: Sequence[int],
    config: ModelConfig,
    stamp: str = "",
    out_of_domain: Sequence[bool] = (),
    **extras: object,
) -> IntentModel:
    """Fit the vectorizer and the regression on labelled examples (label: index into classes)."""
    vectorizer = Vectorizer.fit(docs, config)
    rows = [vectorizer.transform(d, f) for d, f in zip(docs, focus)]
    y = np.asarray(labels, dtype=np.int64)
    # Each intent weighs the same in the loss, however many examples it has: the
    # conversation intents have a third as many as the knowledge ones.
    per_class = np.bincount(y, minlength=len(classes)).astype(np.float64)
    class_weight = np.ones(len(classes))
    if out_of_domain:
        class_weight[np.asarray(out_of_domain, dtype=bool)] = config.out_of_domain_weight
    sample_weight = class_weight[y] / per_class[y]
    logreg = fit(SparseRows.from_rows(rows), y, vectorizer.size, len(classes), config.l2, config.max_iter, sample_weight)
    return IntentModel(tuple(classes), vectorizer, logreg, stamp, **extras)  # type: ignore[arg-type]
