"""BM25 over fixed sets of documents, several fields scored in one numpy pass.

Scores are normalised by the query's own information: the sum of the IDF of its
terms, unknown terms counted at the highest IDF. A score near 1 means the
document holds (nearly) everything the query says; words the collection has never
seen pull it down, which is what makes out-of-domain questions score low.

The matcher scores six fields per question (words, character and reading n-grams
of the examples; words, readings and answer of each intent). Each field keeps its
own statistics, but all postings sit in one term-major table, and fields asked
with the same terms share their dictionary look-ups: a question costs one look-up
per distinct term and a fixed handful of numpy calls (per-term and per-field numpy
calls were most of the time when each field was scored on its own).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import pairwise, repeat
from typing import cast

import numpy as np


class BM25Fields:
    """Several BM25 indexes, each over its own documents.

    Field i is scored against query `query_of[i]` (by default query i); the
    scores of all fields come back in one array, field after field.
    """

    def __init__(
        self,
        fields: Sequence[Sequence[Sequence[str]]],
        query_of: Sequence[int] | None = None,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        query_of = list(range(len(fields))) if query_of is None else list(query_of)
        if len(query_of) != len(fields) or any(q < 0 for q in query_of):
            raise ValueError(f"query_of must give each of the {len(fields)} fields a query number, got {query_of}")
        self.sizes = tuple(len(docs) for docs in fields)
        built = [_postings(docs, k1, b) for docs in fields]
        unknown_idf = [math.log(1.0 + (max(len(docs), 1) + 0.5) / 0.5) for docs in fields]
        doc_base = np.cumsum((0, *self.sizes)).tolist()
        n_docs = doc_base[-1]
        # One row per distinct term of a query, then one for "a term none of its fields
        # has seen". Looking a query's terms up is then a C-level map over dict.get.
        self._vocabs: list[dict[str, int]] = []
        self._unknown: list[int] = []
        # The postings of row t are entries [stops[t] - counts[t], stops[t]), each a
        # bin and a weight: a document (numbered across all fields, field by field) and
        # its BM25 weight; and, for each field asked with this query, bin n_docs + field
        # and the term's IDF there (the unknown IDF if the field lacks it), so the same
        # bincount that scores the documents sums each field's normaliser.
        starts: list[int] = []
        bins: list[int] = []
        weights: list[float] = []
        for query in range(max(query_of, default=-1) + 1):
            members = [f for f, q in enumerate(query_of) if q == query]
            vocab: dict[str, int] = {}
            for f in members:
                for term in built[f][0]:
                    vocab.setdefault(term, len(starts) + len(vocab))
            terms: list[str | None] = [*vocab, None]
            for known in terms:
                starts.append(len(bins))
                for f in members:
                    field_vocab, field_idf, postings = built[f]
                    col = field_vocab.get(known) if known is not None else None
                    if col is None:
                        bins.append(n_docs + f)
                        weights.append(unknown_idf[f])
                        continue
                    bins.extend(doc_base[f] + r for r in postings[col][0])
                    weights.extend(postings[col][1])
                    bins.append(n_docs + f)
                    weights.append(field_idf[col])
            self._vocabs.append(vocab)
            self._unknown.append(len(starts) - 1)
        stops = np.array([*starts[1:], len(bins)], dtype=np.intp)
        self._counts = stops - np.array(starts, dtype=np.intp)
        self._stops = stops
        self._iota = np.arange(len(bins), dtype=np.intp)
        self._bins = np.array(bins, dtype=np.intp)
        self._weights = np.array(weights, dtype=np.float64)
        self._n_docs = n_docs
        self.slices = tuple(slice(start, end) for start, end in pairwise(doc_base))  # field i's part of scores()

    def scores(self, queries: Sequence[Sequence[str]]) -> np.ndarray:
        """Normalised scores in [0, ~1] of every document of each field for its query, field after field."""
        # Written for few numpy calls (each costs one or two microseconds, as much as a few
        # hundred postings): methods and ufuncs rather than their slower np.* wrappers.
        looked_up: list[int] = []
        for vocab, unknown, query in zip(self._vocabs, self._unknown, queries, strict=True):
            looked_up += map(vocab.get, set(query), repeat(unknown))
        ids = np.fromiter(looked_up, np.intp, len(looked_up))
        counts = self._counts.take(ids)
        ends = np.add.accumulate(counts)
        # The entries of every term at once: entry i of the gather, if it belongs to term t,
        # is i + (stops[t] - ends[t]), stops[t] being where t's postings end in the table.
        entries = (self._stops.take(ids) - ends).repeat(counts)
        entries += self._iota[: len(entries)]
        n_bins = self._n_docs + len(self.sizes)
        sums = np.bincount(self._bins.take(entries), self._weights.take(entries), minlength=n_bins)
        total = sums[self._n_docs :]
        if not all(queries):
            total[total <= 0] = 1.0  # an empty query has no postings: it scores 0, not 0/0
        out = sums[: self._n_docs] / total.repeat(self.sizes)
        return np.minimum(out, 1.0, out=out)


class BM25:
    """One field: a fixed set of documents."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.n_docs = len(docs)
        self._fields = BM25Fields([docs], k1=k1, b=b)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Normalised scores of every document for the query, in [0, ~1]."""
        return self._fields.scores([query])


def _postings(
    docs: Sequence[Sequence[str]], k1: float, b: float
) -> tuple[dict[str, int], list[float], list[tuple[list[int], list[float]]]]:
    """One field's vocabulary (term → column), the IDF and the postings of each column."""
    vocab: dict[str, int] = {}
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
        for term in doc:
            vocab.setdefault(term, len(vocab))
    n = max(len(docs), 1)
    idf = [math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5)) for term in vocab]
    lengths = np.array([len(d) for d in docs], dtype=np.float64)
    avgdl = float(lengths.mean()) if len(docs) and lengths.mean() > 0 else 1.0
    postings: list[tuple[list[int], list[float]]] = [([], []) for _ in vocab]
    for row, doc in enumerate(docs):
        norm = k1 * (1.0 - b + b * lengths[row] / avgdl)
        for term, tf in Counter(doc).items():
            col = vocab[term]
            postings[col][0].append(row)
            postings[col][1].append(idf[col] * tf * (k1 + 1.0) / (tf + norm))
    return vocab, idf, postings


class FewDocsBM25:
    """BM25 for a few long documents (an intents file's intents): one dense row per term.

    When every term occurs in most documents, postings save nothing; a query is then a
    gather of its terms' rows and one sum (a tenth of the numpy calls of BM25Fields).
    Scores equal BM25's, normalised the same way. Built from term counts, so a stored
    model's documents need not be spelled out term by term at start-up.
    """

    def __init__(self, counts: Sequence[Mapping[str, int]], k1: float = 1.2, b: float = 0.75) -> None:
        n = len(counts)
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        tfs: list[int] = []
        owners: list[int] = []
        for doc, doc_counts in enumerate(counts):
            term_ids += [vocab.setdefault(term, len(vocab)) for term in doc_counts]
            tfs += doc_counts.values()
            owners += [doc] * len(doc_counts)
        ids, tf, docs = np.array(term_ids, dtype=np.intp), np.array(tfs, dtype=np.float64), np.array(owners, dtype=np.intp)
        df = np.bincount(ids, minlength=len(vocab)).astype(np.float64)
        idf = np.log(1.0 + (max(n, 1) - df + 0.5) / (df + 0.5))
        lengths = np.bincount(docs, weights=tf, minlength=n)
        avgdl = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        norm = k1 * (1.0 - b + b * lengths / avgdl)
        rows = np.zeros((len(vocab) + 1, n))
        rows[ids, docs] = idf[ids] * tf * (k1 + 1.0) / (tf + norm[docs])
        self._vocab = vocab
        self._unknown = len(vocab)
        self._rows = rows
        self._idf = np.append(idf, math.log(1.0 + (max(n, 1) + 0.5) / 0.5))
        self.n_docs = n

    @classmethod
    def from_docs(cls, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> FewDocsBM25:
        return cls([Counter(doc) for doc in docs], k1, b)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Normalised scores of every document for the query, in [0, ~1]."""
        ids = np.fromiter(map(self._vocab.get, set(query), repeat(self._unknown)), np.intp)
        total = float(self._idf.take(ids).sum())
        if total <= 0:
            return np.zeros(self.n_docs)
        out = self._rows.take(ids, axis=0).sum(axis=0)
        out /= total
        return cast(np.ndarray, np.minimum(out, 1.0, out=out))
