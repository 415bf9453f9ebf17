"""Multinomial logistic regression on sparse rows: trained with SciPy, applied with numpy.

Training minimises the mean (weighted) cross-entropy plus an L2 penalty on the weights
(not the intercepts) with SciPy's L-BFGS-B, from zeros: deterministic. SciPy is imported
only to train; applying a trained model to one message is a gather and a sum in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np


class SparseRows(NamedTuple):
    """Rows in CSR layout: row i's entries are indices/values[indptr[i]:indptr[i + 1]]."""

    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # (nnz,) int64
    values: np.ndarray  # (nnz,) float32

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_rows(cls, rows: list[tuple[np.ndarray, np.ndarray]]) -> SparseRows:
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(i) for i, _ in rows], out=indptr[1:])
        indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0)
        values = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
        return cls(indptr, indices.astype(np.int64), values.astype(np.float32))

    def take(self, rows: np.ndarray) -> SparseRows:
        return SparseRows.from_rows([self.row(int(r)) for r in rows])

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        start, stop = self.indptr[i], self.indptr[i + 1]
        return self.indices[start:stop], self.values[start:stop]


@dataclass(frozen=True)
class LogReg:
    weights: np.ndarray  # (n_features, n_classes) float32
    bias: np.ndarray  # (n_classes,) float32

    def logits(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, values @ self.weights[indices] + self.bias)

    def proba(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        z = self.logits(indices, values)
        e = np.exp(z - z.max())
        return cast(np.ndarray, e / e.sum())

    def proba_rows(self, x: SparseRows) -> np.ndarray:
        return softmax(_csr(x, self.weights.shape[0]) @ self.weights + self.bias)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return cast(np.ndarray, e / e.sum(axis=-1, keepdims=True))


def _csr(x: SparseRows, n_features: int) -> Any:  # a scipy.sparse matrix (no type information)
    from scipy.sparse import csr_matrix

    return csr_matrix((x.values.astype(np.float64), x.indices, x.indptr), shape=(x.n_rows, n_features))


def fit(
    x: SparseRows,
    y: np.ndarray,
    n_features: int,
    n_classes: int,
    l2: float = 1e-3,
    max_iter: int = 300,
    sample_weight: np.ndarray | None = None,
) -> LogReg:
    """Minimise mean weighted cross-entropy + l2/2 * |W|^2."""
    from scipy.optimize import minimize

    design = _csr(x, n_features)
    design_t = design.T.tocsr()
    n = x.n_rows
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    sw = sw / sw.sum()
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    size_w = n_features * n_classes

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[:size_w].reshape(n_features, n_classes)
        z = design @ w + theta[size_w:]
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float((sw * (logp * onehot).sum(axis=1)).sum()) + 0.5 * l2 * float((w * w).sum())
        g = (np.exp(logp) - onehot) * sw[:, None]
        grad_w = design_t @ g + l2 * w
        return loss, np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    result = minimize(loss_grad, np.zeros(size_w + n_classes), jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter})
    theta = result.x
    return LogReg(theta[:size_w].reshape(n_features, n_classes).astype(np.float32),
                  theta[size_w:].astype(np.float32))
