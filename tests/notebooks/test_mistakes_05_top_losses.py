"""Tests of the test cell of 05's `top_losses`: every mistake it names is caught and named.

Each mistake is the solution with a one-line textual edit (``nbtools.mutant``). ``public=True``:
the learner's self-check (the worked example) catches it too; ``hidden=True``: the hidden part
alone catches it and names it as well, so that its check is not dead code.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_passes, mutant

NB = "05-visualization"
TEST = "test_top_losses"
ORDER = 'idx = np.argsort(-losses, kind="stable")[:k]'
OUT = "return idx, losses[idx]"
SHIFT = "shifted = scores - scores.max(axis=1, keepdims=True)"
edit = partial(mutant, NB, "top_losses")

# (edit of the solution, words the message must contain, public part names it, hidden part too)
CASES = {
    "ascending": ((ORDER, ORDER.replace("-losses", "losses")), "sorted ascending", True, True),
    "smallest_first": ((ORDER, ORDER.replace("[:k]", "[:k][::-1]")), "smallest first", True,
                       True),
    "ties_reversed": ((ORDER, 'idx = np.argsort(losses, kind="stable")[::-1][:k]'),
                      "equal losses", True, True),
    "overflow": ((SHIFT, "shifted = scores"), "overflows", True, False),
    "probabilities": ((OUT, "return idx, np.exp(-losses[idx])"), "probabilities", True, False),
    "one_minus_p": ((OUT, "return idx, 1 - np.exp(-losses[idx])"), "1 - p", True, False),
    "all_losses": ((OUT, "return idx, losses"), "losses of ALL images", True, False),
    "no_value_error": (("raise ValueError", "print"), "must raise ValueError", False, True),
    "in_place": (("scores = np.asarray(scores, dtype=np.float64)",
                  "scores -= scores.max(axis=1, keepdims=True)"), "changed the scores", True,
                 False),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_top_losses_mistake_is_named(case):
    change, needle, public, hidden = CASES[case]
    assert_fails(NB, TEST, edit(change), needle, public=public, hidden=hidden)


def test_top_losses_first_errors_are_named():
    """The gallery this exercise replaces: the first errors in index order."""
    order = "idx = np.flatnonzero(scores.argmax(axis=1) != y)[:k]"
    assert_fails(NB, TEST, edit((ORDER, order)), "first errors", public=True)


def test_top_losses_equivalent_answer_passes():
    """scipy's logsumexp and a loop are fine."""
    assert_passes(NB, TEST, {"top_losses": """
from scipy.special import logsumexp
def top_losses(scores, y, k):
    s = np.array(scores, dtype=float)
    y = np.asarray(y)
    if s.ndim != 2 or y.ndim != 1 or len(y) != len(s):
        raise ValueError("shapes")
    losses = np.array([logsumexp(s[n]) - s[n, y[n]] for n in range(len(y))])
    idx = sorted(range(len(y)), key=lambda n: (-losses[n], n))[:k]
    return np.array(idx, dtype=int), losses[idx]
"""})  # fmt: skip
