"""Tests of the test cell of 05's `fooling_image`: every mistake it names is caught and named.

Each mistake is the solution with a one-line textual edit (``nbtools.mutant``). ``public=True``:
the learner's self-check (the worked example) catches it too; ``hidden=True``: the hidden part
alone catches it and names it as well, so that its check is not dead code.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_passes, mutant

NB = "05-visualization"
TEST = "test_fooling_image"
STEP = "x = x + step * grad / np.linalg.norm(grad)"
FLAT = (
    "if not np.any(grad):  # a flat score: no direction to climb, and ||g|| = 0\n"
    + 16 * " "
    + "break"
)
CHECK = "if int(np.argmax(scores[0])) == target:\n                break"
ONE_HOT = "dscores[0, target] = 1.0"
EVAL = "    model.eval()\n"
LOG_P = "dscores = dscores - np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()"
edit = partial(mutant, NB, "fooling_image")

# (edits of the solution, words the message must contain, the hidden part names them too;
# None: only the hidden part has the case, a zero gradient)
CASES = {
    "true_class_score": (
        [(EVAL, EVAL + "    first = int(np.argmax(model.forward(x[None])[0]))\n"),
         (ONE_HOT, "dscores[0, first] = -1.0")], "TRUE class", False),
    "target_log_probability": ([(ONE_HOT, ONE_HOT + "; " + LOG_P)], "or log-probability", True),
    "not_normalised": ([(STEP, "x = x + step * grad")], "not normalised", True),
    "sign_step": ([(STEP, "x = x + step * np.sign(grad)")], "sign of the gradient", True),
    "descent": ([(STEP, STEP.replace("x + step", "x - step"))], "DESCENT", True),
    "never_stops": ([(CHECK, "pass")], "did not stop", True),
    "perturbation": ([("    return x\n", "    return x - x0\n"),
                      ("x = np.array(x, dtype=np.float64)", "x0 = x = np.array(x, dtype=float)")],
                     "perturbation", False),
    "in_place": ([("np.array(x, dtype=np.float64)", "np.asarray(x, dtype=np.float64)"),
                  (STEP, "x += step * grad / np.linalg.norm(grad)")], "changed the image", True),
    "train_mode": ([(EVAL, "    pass\n")], "eval mode", False),
    "mode_not_restored": ([("if was_training:\n            model.train()", "pass")], "left it",
                          False),
    "zero_norm": ([(FLAT, "pass")], "divided the gradient by its norm when the gradient was zero",
                  None),
    "zero_gradient_returns_original": (
        [("x = np.array(x, dtype=np.float64)", "x0 = x = np.array(x, dtype=np.float64)"),
         (FLAT, "if not np.any(grad):\n                return x0")], "not return the original",
        None),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_fooling_image_mistake_is_named(case):
    edits, needle, hidden = CASES[case]
    if hidden is None:  # only the hidden part has a zero gradient
        assert_fails(NB, TEST, edit(*edits), needle, hidden=True)
    else:
        assert_fails(NB, TEST, edit(*edits), needle, public=True, hidden=hidden)


def test_fooling_image_one_step_although_predicted():
    """A check after the step instead of before: only the 'already predicted' case shows it."""
    after = "\n            if model.forward(x[None])[0].argmax() == target:\n                break"
    source = edit((CHECK, "pass"), (STEP, STEP + after))
    assert_fails(NB, TEST, source, "BEFORE each step", public=True)


def test_fooling_image_template_edits_keep_a_correct_answer_passing():
    """An equivalent answer (a while loop, its own copy) earns the points."""
    assert_passes(NB, TEST, {"fooling_image": """
def fooling_image(model, x, target, *, step=0.1, max_iter=100):
    was_training = model.training
    model.eval()
    x = x.astype(np.float64).copy()
    n = 0
    while n < max_iter and model.forward(x[None])[0].argmax() != target:
        d = np.zeros((1, model.forward(x[None]).shape[1]))
        d[0, target] = 1
        g = model.backward(d)[0]
        if (g == 0).all():
            break
        x = x + step * g / np.sqrt((g ** 2).sum())
        n += 1
    if was_training:
        model.train()
    return x
"""})  # fmt: skip
