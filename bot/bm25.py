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
from scipy import sparse


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
        rows, cols, vals = [], [], []
        for row, doc in enumerate(docs):
            norm = k1 * (1.0 - b + b * lengths[row] / avgdl)
            for term, tf in Counter(doc).items():
                col = vocab[term]
                rows.append(row)
                cols.append(col)
                vals.append(self._idf[col] * tf * (k1 + 1.0) / (tf + norm))
        self._matrix = sparse.csc_matrix(
            (vals, (rows, cols)), shape=(self.n_docs, max(len(vocab), 1)), dtype=np.float64
        )

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Normalised scores of every document for the query, in [0, ~1]."""
        terms = set(query)
        if not terms or self.n_docs == 0:
            return np.zeros(self.n_docs)
        cols = [self._vocab[t] for t in terms if t in self._vocab]
        total = sum(self._idf[c] for c in cols) + self._unknown_idf * (len(terms) - len(cols))
        if not cols or total <= 0:
            return np.zeros(self.n_docs)
        raw = self._matrix[:, cols].sum(axis=1)
        return np.minimum(np.asarray(raw).ravel() / total, 1.0)
