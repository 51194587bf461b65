"""Realistic mistakes in 05-visualization (`top_losses`).

Each entry replaces the answer cell with a wrong answer in the style of a learner. ``core=True``
marks the mistakes the exercise exists to teach (rank by the loss, the largest first, equal losses
in index order, a loss that does not overflow): the public part of the test cell alone must catch
them.
"""

from __future__ import annotations

from realistic import Mistake

TOP_LOSSES = """
def top_losses(scores, y, k):
    scores = {scores}
    y = np.asarray(y)
    if scores.ndim != 2 or y.shape != (len(scores),):
        raise ValueError("scores (N, K), y (N,)")
    {softmax}
    losses = {loss}
    idx = {order}
    return {out}
"""
OK = dict(
    scores="np.array(scores, dtype=float)",
    softmax="z = scores - scores.max(axis=1, keepdims=True); "
    "p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)",
    loss="np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]",
    order='np.argsort(-losses, kind="stable")[:k]',
    out="idx, losses[idx]",
)
NEG_LOG_P = "-np.log(p[np.arange(len(y)), y])"


def _m(label, core=False, **change):
    source = TOP_LOSSES.format(**{**OK, **change})
    return Mistake("test_top_losses", label, {"top_losses": source}, core=core)


MISTAKES = [
    _m("top-losses: the first errors, in index order", True,
       order="np.flatnonzero(p.argmax(axis=1) != y)[:k]"),
    _m("top-losses: sorted ascending", True, order="np.argsort(losses)[:k]"),
    _m("top-losses: the largest k, smallest first", True, order="np.argsort(losses)[-k:]"),
    _m("top-losses: ties with the larger index first", True,
       order='np.argsort(losses, kind="stable")[::-1][:k]'),
    _m("top-losses: softmax without subtracting the max", True,
       softmax="p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)", loss=NEG_LOG_P),
    _m("top-losses: -log of the softmax, which underflows to 0", True, loss=NEG_LOG_P),
    _m("top-losses: the loss of the predicted class",
       loss="np.log(np.exp(z).sum(axis=1)) - z.max(axis=1)"),
    _m("top-losses: 1 - p as the loss", loss="1 - p[np.arange(len(y)), y]"),
    _m("top-losses: returns every image's loss", out="idx, losses"),
    _m("top-losses: returns (losses, idx)", out="losses[idx], idx"),
    _m("top-losses: log base 10",
       loss="(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]) / np.log(10)"),
    _m("top-losses: argpartition, the top k unsorted",
       order="np.argpartition(-losses, min(k, len(y)) - 1)[:k]"),
    _m("top-losses: shifts the caller's scores in place", scores="np.asarray(scores, dtype=float)",
       softmax="scores -= scores.max(axis=1, keepdims=True); z = scores; "
       "p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)"),
]  # fmt: skip
