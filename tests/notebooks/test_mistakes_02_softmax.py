"""Mistakes the tests of 02-layers claim to catch: softmax cross-entropy (section 8). The layout
is that of ``test_mistakes_02.py``. The buggy answers overflow, so their RuntimeWarnings are
ignored here.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import answer_source, assert_fails, assert_passes, mutant

NB = "02-layers"
ST = "test_softmax_cross_entropy"
fails = partial(assert_fails, NB, match_case=True)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def hint_of(message: str) -> str:
    """The hint line of a failure message (the name before it may mention 'stride' etc.)."""
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


def case(overrides, *needles, absent=(), id, **options):
    """One row: ``overrides`` make the softmax test fail naming ``needles``, none of ``absent``."""
    return pytest.param(overrides, needles, absent, options, id=id)


def softmax(*edits):
    return mutant(NB, "softmax_cross_entropy", *edits)


SHIFT = "shifted = scores - scores.max(axis=1, keepdims=True)"
# the same answer through probabilities: exp, divide, then the log of the true class's p
PROBS = (
    ("log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
     "probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)"),
    ("loss = -log_probs[rows, y].mean()", "loss = -np.log(probs[rows, y]).mean()"),
    ("dscores = np.exp(log_probs)", "dscores = probs.copy()"),
)  # fmt: skip
SHIFT_HINTS = ["without the max shift", "its OWN maximum", "log(0)", "per column"]
GRADIENT_HINTS = ["not divided by N", "whole columns"]
NOT_DIVIDED = ("    dscores /= N\n", "")
COLUMNS = ("dscores[rows, y] -= 1", "dscores[:, y] -= 1")

CASES = [
    *[case(softmax(*template, (SHIFT, f"shifted = {shifted}")), needle,
           absent=[h for h in SHIFT_HINTS if h != needle], public=True,
           id=f"softmax_shift_mistakes_named_apart-{name}-{needle}")
      for shifted, needle in [("scores", "without the max shift"),
                              ("scores - scores.max()", "its OWN maximum"),
                              ("scores - scores.max(axis=0, keepdims=True)", "per column")]
      for name, template in [("probs", PROBS), ("log_probs", ())]],
    case(softmax(*PROBS), "log(0)", absent=[h for h in SHIFT_HINTS if h != "log(0)"],
         public=True, id="softmax_log_of_underflowed_probability"),
    case(softmax(("-log_probs[rows, y].mean()", "-log_probs[rows, y].sum()")), "not averaged",
         id="softmax_loss_not_averaged"),
    case(softmax(NOT_DIVIDED), "/ N", id="softmax_gradient_not_divided_by_n"),
    *[case(softmax(edit), needle, absent=[h for h in GRADIENT_HINTS if h != needle], public=True,
           id=f"softmax_gradient_mistakes_named_apart-{needle}")
      for edit, needle in [(NOT_DIVIDED, "not divided by N"), (COLUMNS, "whole columns")]],
    case({"softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    return cl.layers.softmax_cross_entropy(scores, y)
"""}, "must be your own implementation", "softmax_cross_entropy", id="softmax_library_only"),
    case({"softmax_cross_entropy": """
import scipy.special
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    log_probs = scores - scipy.special.logsumexp(scores, axis=1, keepdims=True)
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dscores / N
"""}, "must be your own implementation", "scipy.special", id="softmax_scipy_logsumexp"),
]  # fmt: skip


@pytest.mark.parametrize("overrides, needles, absent, options", CASES)
def test_mistake_is_named(overrides, needles, absent, options):
    message = fails(ST, overrides, *needles, **options)
    assert not [a for a in absent if a in hint_of(message)], message


def test_unedited_answer_passes():
    """The answer the mutants above edit passes: each mistake differs from it in one place."""
    assert_passes(NB, ST, {"softmax_cross_entropy": answer_source(NB, "softmax_cross_entropy")})
