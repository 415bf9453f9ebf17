"""BM25 scores equal a straightforward implementation of the formula, field by field."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from bot.understanding.bm25 import BM25, BM25Fields, FewDocsBM25

K1, B = 1.2, 0.75


def reference(docs: list[list[str]], query: list[str]) -> list[float]:
    """Per document: sum over the query's distinct terms of IDF x saturated tf, over the query's total IDF."""
    n = max(len(docs), 1)
    avgdl = sum(map(len, docs)) / len(docs) if docs and any(docs) else 1.0
    df = Counter(term for doc in docs for term in set(doc))

    def idf(term: str) -> float:
        return math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))

    terms = set(query)
    total = sum(idf(t) for t in terms)  # an unknown term has df 0: the highest IDF
    out = []
    for doc in docs:
        tf = Counter(doc)
        norm = K1 * (1 - B + B * len(doc) / avgdl)
        raw = sum(idf(t) * tf[t] * (K1 + 1) / (tf[t] + norm) for t in terms if tf[t])
        out.append(min(raw / total, 1.0) if total > 0 else 0.0)
    return out


CORPORA = {
    "pin": [["暗証", "番号"], ["更新", "手続き"], ["番号", "更新"], ["暗証", "暗証", "番号", "忘れ", "た"]],
    "one": [["a"]],
    "with an empty document": [["a", "b"], [], ["b", "c", "c"]],
    "long and short": [["x"], ["x", "y", "z", "w", "v", "u", "t", "s"], ["y", "y", "y"]],
}
QUERIES = [
    ["暗証", "番号"],
    ["暗証", "番号", "未知語"],
    ["番号", "番号", "番号"],  # repeated terms count once
    ["未知語"],
    [],
    ["a"],
    ["b", "c", "z"],
    ["x"],  # a short document holding the term scores above 1 before the cap
    ["y", "q"],
]


@pytest.mark.parametrize("corpus", CORPORA)
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "+".join(q) or "empty")
def test_one_field_matches_the_formula(corpus: str, query: list[str]) -> None:
    docs = CORPORA[corpus]
    np.testing.assert_allclose(BM25(docs, K1, B).scores(query), reference(docs, query), rtol=0, atol=1e-12)


def test_fields_sharing_a_query_keep_their_own_statistics() -> None:
    # Fields 0 and 2 share query 0 but not their vocabulary: "c" is unknown to field 0 only.
    fields = [CORPORA["with an empty document"][:1], CORPORA["pin"], CORPORA["with an empty document"], []]
    index = BM25Fields(fields, query_of=[0, 1, 0, 1], k1=K1, b=B)
    queries = [["b", "c", "zz"], ["暗証", "番号", "更新"]]
    scores = index.scores(queries)
    assert len(scores) == sum(index.sizes) == 1 + 4 + 3 + 0
    for docs, query, part in zip(fields, [0, 1, 0, 1], index.slices, strict=True):
        np.testing.assert_allclose(scores[part], reference(docs, queries[query]), rtol=0, atol=1e-12)


def test_an_empty_query_scores_zero_beside_a_non_empty_one() -> None:
    index = BM25Fields([CORPORA["pin"], CORPORA["pin"]], k1=K1, b=B)
    scores = index.scores([[], ["更新"]])
    assert not scores[index.slices[0]].any()
    np.testing.assert_allclose(scores[index.slices[1]], reference(CORPORA["pin"], ["更新"]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("query_of", [[0], [0, 1, 2], [-1, 0]])
def test_each_field_needs_a_query(query_of: list[int]) -> None:
    with pytest.raises(ValueError, match="query_of"):
        BM25Fields([[["a"]], [["b"]]], query_of=query_of)


def test_the_number_of_queries_must_match() -> None:
    with pytest.raises(ValueError):
        BM25Fields([[["a"]], [["b"]]]).scores([["a"]])


@pytest.mark.parametrize("corpus", CORPORA)
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "+".join(q) or "empty")
def test_few_docs_matches_the_formula(corpus: str, query: list[str]) -> None:
    docs = CORPORA[corpus]
    np.testing.assert_allclose(FewDocsBM25.from_docs(docs, K1, B).scores(query), reference(docs, query), rtol=0, atol=1e-12)
