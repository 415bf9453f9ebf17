"""BM25 over a fixed set of documents, scored as a sparse matrix product.

Scores are normalised by the query's own information: the sum of the IDF of its
terms, unknown terms counted at the highest IDF. A score near 1 means the
document holds (nearly) everything the query says; words the collection has never
seen pull it down, which is what makes out-of-domain questions score low.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


class BM25:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.n_docs = len(docs)
        vocab: dict[str, int] = {}
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
            for term in doc:
                vocab.setdefault(term, len(vocab))
        self._vocab = vocab
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        avgdl = float(lengths.mean()) if len(docs) and lengths.mean() > 0 else 1.0
        n = max(self.n_docs, 1)
        self._idf = np.zeros(len(vocab), dtype=np.float64)
        for term, col in vocab.items():
            self._idf[col] = math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))
        self._unknown_idf = math.log(1.0 + (n + 0.5) / 0.5)
        # Postings per term: the documents holding it and their BM25 weights. Summing a
        # query's postings with bincount is much cheaper than slicing a sparse matrix.
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for row, doc in enumerate(docs):
            norm = k1 * (1.0 - b + b * lengths[row] / avgdl)
            for term, tf in Counter(doc).items():
                rows, weights = postings.setdefault(term, ([], []))
                rows.append(row)
                weights.append(self._idf[vocab[term]] * tf * (k1 + 1.0) / (tf + norm))
        self._postings = {
            term: (np.array(rows, dtype=np.intp), np.array(weights, dtype=np.float64), float(self._idf[vocab[term]]))
            for term, (rows, weights) in postings.items()
        }

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Normalised scores of every document for the query, in [0, ~1]."""
        terms = set(query)
        if not terms or self.n_docs == 0:
            return np.zeros(self.n_docs)
        found = [p for p in map(self._postings.get, terms) if p is not None]
        total = sum(p[2] for p in found) + self._unknown_idf * (len(terms) - len(found))
        if not found or total <= 0:
            return np.zeros(self.n_docs)
        rows = np.concatenate([p[0] for p in found])
        weights = np.concatenate([p[1] for p in found])
        raw = np.bincount(rows, weights=weights, minlength=self.n_docs)
        return np.minimum(raw / total, 1.0)
