"""Realistic learner mistakes in 04-hyperparameters' ``successive_halving`` (see __init__.py)."""

from __future__ import annotations

from realistic import Mistake

KEEPS_WORST = """
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

EPOCHS_FROM_RUNG_INDEX = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, rungs, k = list(configs), [], 0
    while True:
        epochs = min_epochs * eta * k if k else min_epochs
        scored = [(c, train_for(c, epochs)) for c in alive]
        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)
        rungs.append(scored)
        if len(scored) == 1:
            return rungs
        alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]
        k += 1
"""

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

DROPS_A_THIRD = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, epochs, rungs = list(configs), min_epochs, []
    while True:
        scored = [(c, train_for(c, epochs)) for c in alive]
        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)
        rungs.append(scored)
        if len(scored) == 1:
            return rungs
        alive = [c for c, _ in scored[: max(1, len(scored) - len(scored) // eta)]]
        epochs *= eta
"""

NAIVE_NAN_SORT = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, epochs, rungs = list(configs), min_epochs, []
    while True:
        scored = [(c, train_for(c, epochs)) for c in alive]
        scored = sorted(scored, key=lambda r: r[1], reverse=True)
        rungs.append(scored)
        if len(scored) == 1:
            return rungs
        alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]
        epochs *= eta
"""

ONLY_THE_WINNER = """
def successive_halving(configs, train_for, *, min_epochs, eta=3):
    alive, epochs, rungs = list(configs), min_epochs, []
    while True:
        scored = [(c, train_for(c, epochs)) for c in alive]
        scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)
        alive = [c for c, _ in scored[: max(1, len(scored) // eta)]]
        rungs.append([(c, s) for c, s in scored if c in alive])
        if len(scored) == 1:
            return rungs
        epochs *= eta
"""

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
