"""The reader model: exact leave-one-out from one solve, and the share it earns."""

from __future__ import annotations

import numpy as np

from paperfeed.digest import learn


def test_leave_one_out_predictions_equal_refitting_without_the_row() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    y = (x[:, 0] > 0).astype(float)
    weight = rng.uniform(0.5, 2.0, size=40)
    _coef, _bias, loo = learn.ridge(x, y, weight, l2=0.7)
    rows = np.hstack([x, np.full((40, 1), learn.BIAS_FEATURE)])
    for i in (0, 17, 39):
        keep = np.arange(40) != i
        w = np.diag(weight[keep])
        theta = np.linalg.solve(
            rows[keep].T @ w @ rows[keep] + 0.7 * np.eye(7), rows[keep].T @ w @ y[keep]
        )
        assert abs(loo[i] - rows[i] @ theta) < 1e-9


def test_fit_coefficients_score_like_the_primal_solution() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5))
    y = (x[:, 1] > 0).astype(float)
    weight = np.ones(30)
    coef, bias, _loo = learn.ridge(x, y, weight, l2=0.5)
    rows = np.hstack([x, np.full((30, 1), learn.BIAS_FEATURE)])
    theta = np.linalg.solve(rows.T @ rows + 0.5 * np.eye(6), rows.T @ y)
    np.testing.assert_allclose(x @ coef + bias, rows @ theta, atol=1e-9)


def test_auc_counts_ties_half() -> None:
    assert learn.auc(np.array([3.0, 2.0, 2.0]), np.array([2.0, 1.0])) == 5 / 6
    assert learn.auc(np.array([1.0]), np.array([2.0])) == 0.0


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_coherent_reads_the_description_misses_earn_most_of_the_score() -> None:
    rng = np.random.default_rng(2)
    query, topic = np.eye(64)[0], np.eye(64)[1]
    reads = _unit_rows(topic + rng.normal(scale=0.1, size=(20, 64)))
    unread = _unit_rows(rng.normal(size=(300, 64)))
    model = learn.fit_reader_model(reads, unread, np.ones(300), query, l2=1.0, shrink=0.0)
    assert model.history_auc > 0.95 and model.description_auc < 0.7
    assert model.share >= 0.5


def test_reads_the_description_already_predicts_leave_it_in_charge() -> None:
    """Reads scattered around the description's own direction: the description ranks them best
    and the classifier, fit on 5 of them in 64 dimensions, adds nothing it can show."""
    rng = np.random.default_rng(3)
    query = np.eye(64)[0]
    reads = _unit_rows(query + rng.normal(scale=0.12, size=(5, 64)))
    unread = _unit_rows(rng.normal(size=(300, 64)))
    model = learn.fit_reader_model(reads, unread, np.ones(300), query, l2=1.0, shrink=0.0)
    assert model.description_auc == 1.0
    assert model.share == 0.0
