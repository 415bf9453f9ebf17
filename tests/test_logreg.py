"""Logistic regression on sparse rows: it learns a separable table, and predicts as numpy."""

from __future__ import annotations

import numpy as np

from bot.understanding.logreg import SparseRows, fit, softmax


def test_learns_and_predicts() -> None:
    rows = [(np.array([0, 2]), np.array([0.6, 0.8], np.float32)), (np.array([1, 2]), np.array([0.6, 0.8], np.float32))] * 5
    model = fit(SparseRows.from_rows(rows), np.array([0, 1] * 5), n_features=3, n_classes=2, l2=1e-3)
    assert model.proba(np.array([0]), np.array([1.0], np.float32)).argmax() == 0
    assert model.proba(np.array([1]), np.array([1.0], np.float32)).argmax() == 1


def test_one_row_and_many_agree() -> None:
    rows = [(np.array([0, 3]), np.array([1.0, 0.5], np.float32)), (np.array([1]), np.array([1.0], np.float32)),
            (np.array([2, 3]), np.array([0.7, 0.7], np.float32))]
    x = SparseRows.from_rows(rows)
    model = fit(x, np.array([0, 1, 2]), n_features=4, n_classes=3, l2=1e-2)
    many = model.proba_rows(x)
    for i in range(3):
        np.testing.assert_allclose(model.proba(*x.row(i)), many[i], rtol=1e-5)


def test_sample_weights_tip_a_tie() -> None:
    rows = [(np.array([0]), np.array([1.0], np.float32))] * 2
    model = fit(SparseRows.from_rows(rows), np.array([0, 1]), n_features=1, n_classes=2, l2=1e-2,
                sample_weight=np.array([1.0, 3.0]))
    assert model.proba(np.array([0]), np.array([1.0], np.float32)).argmax() == 1


def test_softmax_is_stable() -> None:
    np.testing.assert_allclose(softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
