"""Named mistakes of 04-hyperparameters' ``successive_halving``.

Each case builds a buggy answer from the solution with ``mutant`` (textual edits) or writes it
out where the mistake changes the loop's shape, and checks that the test cell fails naming that
mistake; the public part (the learner's self-check) must name the ones the exercise exists to
teach: the budget per rung, keeping the best, and training the winner in a last rung.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, mutant

NB = "04-hyperparameters"
TEST = "test_successive_halving"
fails = partial(assert_fails, NB, TEST)
halving = partial(mutant, NB, "successive_halving")

SORT = "scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1], reverse=True)"

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


@pytest.mark.parametrize(
    "override, needle, others",
    [
        (halving(("reverse=True", "reverse=False")), "WORST", ["MULTIPLIED", "last rung"]),
        (halving(("epochs *= eta", "epochs += eta")), "MULTIPLIED", ["WORST", "min_epochs:"]),
        (halving(("epochs *= eta", "pass")), "trained for min_epochs", ["WORST", "MULTIPLIED"]),
        ({"successive_halving": NO_LAST_RUNG}, "last rung is missing", ["WORST", "MULTIPLIED"]),
    ],
    ids=["keeps-the-worst", "epochs-added", "epochs-constant", "no-last-rung"],
)
def test_halving_core_mistakes_named_by_the_public_part(override, needle, others):
    message = fails(override, needle, public=True)
    assert not any(other in message for other in others), message


@pytest.mark.parametrize(
    "new_sort",
    [
        "scored.sort(key=lambda r: r[1], reverse=True)",  # NaN breaks the order
        "scored.sort(key=lambda r: -np.inf if np.isnan(r[1]) else r[1]); scored.reverse()",
    ],
    ids=["nan-sorted-naively", "ties-reversed"],
)
def test_halving_sorting_mistakes_caught_by_the_hidden_part(new_sort):
    fails(halving((SORT, new_sort)), "stable sort", "NaN last", hidden=True)


def test_halving_calls_train_for_twice_per_config():
    source = halving(
        (SORT, "scored = [(c, float(train_for(c, epochs))) for c, _ in scored]\n        " + SORT)
    )
    fails(source, "epochs of the calls", public=True)


def test_halving_keeps_ceil_instead_of_floor():
    source = halving(("max(1, len(scored) // eta)", "-(-len(scored) // eta)"))
    fails(source, "max(1, m // eta)", hidden=True)


def test_halving_missing_validation():
    source = halving(("if min_epochs < 1 or eta < 2:", "if False:"))
    fails(source, "raise ValueError", hidden=True)
