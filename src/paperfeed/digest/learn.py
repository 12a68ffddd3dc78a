"""Learning a focus area from the learner's reads. Pure: numpy arrays in, scores out.

Per area, a classifier on the embeddings: ridge regression with sample weights (reads 1, items
left unread 0, each class half the weight), whose one solve gives both the fit and the exact
leave-one-out prediction of every training row (the hat-matrix identity), with no refitting.

Those leave-one-out predictions say how well the classifier predicts this learner's own history:
the blend with the description's score is the one that ranks the history best (AUC of the reads
against what was left unread), shrunk towards the description while reads are few. Incoherent
reads predict nothing and fall back to the description; coherent ones take over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIAS_FEATURE = 3.0  # a constant feature of this size carries the bias (penalised 1/9 as much)
BLENDS = np.linspace(0.0, 1.0, 11)  # the classifier's shares tried on the history


@dataclass(frozen=True, slots=True)
class ReaderModel:
    coef: np.ndarray  # (d,)
    bias: float
    share: float  # 0..1: the classifier's share of the area's score
    history_auc: float  # the classifier's leave-one-out AUC on the learner's history
    description_auc: float  # the description's AUC on the same rows

    def score(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors @ self.coef + self.bias)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half (Mann-Whitney)."""
    if not len(positive) or not len(negative):
        return 0.5
    scores = np.concatenate([positive, negative])
    _values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse]  # 1-based, tied values share their mean rank
    top = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(top / (len(positive) * len(negative)))


def ridge(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float, *, leave_one_out: bool = True
) -> tuple[np.ndarray, float, np.ndarray]:
    """(coef, bias, leave-one-out predictions) of weighted ridge regression on rows x.

    Minimises sum_i w_i (y_i - f(x_i))^2 + l2 |coef|^2 in the primal: theta = A^-1 X^T W y with
    A = X^T W X + l2 I, d x d whatever the number of rows (a learner's unread items grow with
    every week; the dual's n x n system would grow with them). The hat matrix is
    H = X A^-1 X^T W, and the prediction for row i by the model fit without it is
    (f_i - H_ii y_i) / (1 - H_ii). Without `leave_one_out` one solve for theta does (no
    solve for every row) and no predictions are given."""
    rows = np.hstack([x.astype(np.float64), np.full((len(x), 1), BIAS_FEATURE)])
    scaled = rows * np.sqrt(weight)[:, None]
    system = scaled.T @ scaled + l2 * np.eye(rows.shape[1])  # one operand twice: BLAS syrk, 2x
    if leave_one_out:
        solved = np.linalg.solve(system, rows.T)  # A^-1 X^T
        theta = solved @ (weight * y)
        hat = weight * np.einsum("ij,ji->i", rows, solved)
        loo = (rows @ theta - hat * y) / np.clip(1.0 - hat, 1e-9, None)
    else:
        theta, loo = np.linalg.solve(system, rows.T @ (weight * y)), np.zeros(0)
    return theta[:-1], float(theta[-1] * BIAS_FEATURE), loo


def _standard(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-12 else np.zeros_like(values)


def best_share(loo: np.ndarray, description: np.ndarray, is_read: np.ndarray) -> float:
    """The classifier's share whose blend with the description ranks the history best (the
    smallest such share on ties: the description is the safer default)."""
    model, desc = _standard(loo), _standard(description)
    found = [auc(*_split(s * model + (1 - s) * desc, is_read)) for s in BLENDS]
    return float(BLENDS[int(np.argmax(found))])


def _split(scores: np.ndarray, is_read: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return scores[is_read], scores[~is_read]


def fit_linear(
    positives: np.ndarray,
    negatives: np.ndarray,
    negative_weight: np.ndarray,
    l2: float,
    *,
    leave_one_out: bool = True,
) -> tuple[np.ndarray, float, np.ndarray]:
    """(coef, bias, leave-one-out predictions of the rows, positives first) of the weighted
    ridge classifier of `positives` against `negatives`, each class half the weight."""
    x = np.vstack([positives, negatives])
    weight = np.concatenate(
        [
            np.full(len(positives), 0.5 / len(positives)),
            0.5 * negative_weight / negative_weight.sum(),
        ]
    ) * len(x)
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    return ridge(x, labels, weight, l2, leave_one_out=leave_one_out)


def fit_reader_model(
    positives: np.ndarray,
    negatives: np.ndarray,
    negative_weight: np.ndarray,
    query: np.ndarray,
    l2: float,
    shrink: float,
) -> ReaderModel:
    """The area's classifier and its share. `query`: the description's vector, scored by cosine
    on the same rows; `shrink`: with p reads the share is scaled by p / (p + shrink)."""
    coef, bias, loo = fit_linear(positives, negatives, negative_weight, l2)
    is_read = np.arange(len(loo)) < len(positives)
    description = np.concatenate([positives @ query, negatives @ query])
    share = best_share(loo, description, is_read) * len(positives) / (len(positives) + shrink)
    return ReaderModel(
        coef,
        bias,
        share,
        auc(*_split(loo, is_read)),
        auc(*_split(description, is_read)),
    )
