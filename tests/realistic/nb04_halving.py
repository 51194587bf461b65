"""Realistic learner mistakes in 04-hyperparameters' ``successive_halving`` (see __init__.py)."""

from __future__ import annotations

from realistic import Mistake, variant

_ANSWER = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, epochs, rungs = list(configs), min_epochs, []
    while True:
        scored = sorted(((c, train_for(c, epochs)) for c in alive), key=lambda r: r[1])
        rungs.append(scored)
        if len(scored) == 1:
            return rungs
        alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]
        epochs *= eta
"""


KEEPS_WORST = _ANSWER

SAME_EPOCHS_EVERY_RUNG = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, rungs = list(configs), []
    while True:
        scored = [(c, train_for(c, min_epochs)) for c in alive]
        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)
        rungs.append(scored)
        if len(scored) == 1:
            return rungs
        alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]
"""

EPOCHS_FROM_RUNG_INDEX = variant(
    _ANSWER,
    ("epochs, rungs = list(configs), min_epochs, []", "rungs, k = list(configs), [], 0"),
    (
        ("scored = sorted(((c, train_for(c, epochs)) for c in alive), key=lambda r: r[1])\n"),
        (
            "epochs = min_epochs * eta * k if k else min_epochs\n"
            "        scored = [(c, train_for(c, epochs)) for c in alive]\n"
            "        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], "
            "reverse=True)\n"
        ),
    ),
    ("epochs *= eta", "k += 1"),
)

NO_LAST_RUNG = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, epochs, rungs = list(configs), min_epochs, []
    while len(alive) > 1:
        scored = [(c, train_for(c, epochs)) for c in alive]
        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)
        rungs.append(scored)
        alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]
        epochs *= eta
    return rungs
"""

_ANSWER_2 = variant(
    _ANSWER,
    (
        ("scored = sorted(((c, train_for(c, epochs)) for c in alive), key=lambda r: r[1])\n"),
        (
            "scored = [(c, train_for(c, epochs)) for c in alive]\n"
            "        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], "
            "reverse=True)\n"
        ),
    ),
    (
        "alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]",
        "alive = [c for c, _ in scored[: max(1, len(scored) - len(scored) // eta)]]",
    ),
)


DROPS_A_THIRD = _ANSWER_2

NAIVE_NAN_SORT = variant(
    _ANSWER,
    (
        ("scored = sorted(((c, train_for(c, epochs)) for c in alive), key=lambda r: r[1])\n"),
        (
            "scored = [(c, train_for(c, epochs)) for c in alive]\n"
            "        scored = sorted(scored, key=lambda r: r[1], reverse=True)\n"
        ),
    ),
)

ONLY_THE_WINNER = variant(
    _ANSWER_2,
    (
        "rungs.append(scored)\n",
        (
            "alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]\n"
            "        rungs.append([(c, s) for c, s in scored if c in alive])\n"
        ),
    ),
    (("        alive = [c for c, _ in scored[: max(1, len(scored) - len(scored) // eta)]]\n"), ""),
)

T = "test_successive_halving"
MISTAKES = [
    Mistake(T, "keeps the worst (ascending sort)", {"successive_halving": KEEPS_WORST}, core=True),
    Mistake(
        T, "same epochs in every rung", {"successive_halving": SAME_EPOCHS_EVERY_RUNG}, core=True
    ),
    Mistake(T, "epochs min * eta * k", {"successive_halving": EPOCHS_FROM_RUNG_INDEX}, core=True),
    Mistake(
        T, "winner never trained in a last rung", {"successive_halving": NO_LAST_RUNG}, core=True
    ),
    Mistake(T, "drops a third instead of keeping a third", {"successive_halving": DROPS_A_THIRD}),
    Mistake(T, "NaN scores sorted naively", {"successive_halving": NAIVE_NAN_SORT}),
    Mistake(T, "a rung lists only its survivors", {"successive_halving": ONLY_THE_WINNER}),
]
