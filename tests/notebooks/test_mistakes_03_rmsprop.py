"""Tests of the tests of 03-training's ``rmsprop_step``: every named mistake is caught and named.

Each mistake is the solution's answer with a one-line textual edit (``mutant``). A hint names a
mistake only when that mistake happened: every other mistake's hint stays out of the message.
"""

from __future__ import annotations

import numpy as np
import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    mutant,
    namespace,
    run_test_cell,
)

import cnnlab as cl

NB = "03-training"
TEST = "test_rmsprop_step"
UPDATE = "s += (1 - decay) * g * g"
STEP = "p -= lr * g / (np.sqrt(s) + eps)"
STATE = "s = square_avg.setdefault(name, np.zeros_like(p))"

# (edits of the solution, needle of its own hint, public: the self-check names it too)
MISTAKES = {
    "no_square": ([(UPDATE, "s += (1 - decay) * g")], "g is not squared", True),
    "decay_swapped": (
        [("s *= decay", "s *= 1 - decay"), (UPDATE, "s += decay * g * g")],
        "wrong way round",
        True,
    ),
    "forgets_average": ([(STATE, "s = np.zeros_like(p)")], "forgets its average", True),
    "running_sum": ([(UPDATE, "s += g * g")], "not a running sum", True),
    "no_root": ([(STEP, "p -= lr * g / (s + eps)")], "square root missing", True),
    "fixed_decay": (
        [("s *= decay", "s *= 0.99"), (UPDATE, "s += (1 - 0.99) * g * g")],
        "decay argument",
        True,
    ),
    "plain_sgd": ([(STEP, "p -= lr * g")], "plain SGD", True),
    "eps_inside": ([(STEP, "p -= lr * g / np.sqrt(s + eps)")], "np.sqrt(s + eps)", True),
    "not_in_place": (
        [(STEP, "params[name] = p - lr * g / (np.sqrt(s) + eps)")],
        "put a new array into params",
        True,
    ),
}
OWN = {key: needle for key, (_, needle, _) in MISTAKES.items()}
OWN["bias_corrected"] = "no bias correction"  # its case keeps a step counter: see below


def test_solution_passes():
    assert_passes(NB, TEST)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sqrt of a negative mean of g, on purpose
@pytest.mark.parametrize("key", list(MISTAKES))
def test_named_mistakes_fail_the_self_check_and_name_only_themselves(key):
    edits, needle, public = MISTAKES[key]
    overrides = mutant(NB, "rmsprop_step", *edits)
    message = assert_fails(NB, TEST, overrides, needle, public=public)
    for other, other_needle in OWN.items():
        if other != key and other_needle.lower() not in needle.lower():
            assert other_needle.lower() not in message.lower(), f"{other} named for {key}"


def test_bias_correction_is_named():
    # A learner who brings Adam's correction keeps a counter: here in a separate dict.
    source = """
def rmsprop_step(params, grads, square_avg, lr, decay=0.99, eps=1e-8):
    square_avg.setdefault("__steps", {})
    steps = square_avg["__steps"]
    for name, p in params.items():
        g = grads[name]
        s = square_avg.setdefault(name, np.zeros_like(p))
        steps[name] = steps.get(name, 0) + 1
        s *= decay
        s += (1 - decay) * g * g
        s_hat = s / (1 - decay ** steps[name])
        p -= lr * g / (np.sqrt(s_hat) + eps)
"""
    message = assert_fails(NB, TEST, {"rmsprop_step": source}, "no bias correction", public=True)
    assert "running sum" not in message


@pytest.mark.parametrize(
    "key, needle",
    [
        ("eps_inside", "np.sqrt(s) + eps, not np.sqrt(s + eps)"),
        ("decay_swapped", "wrong way round"),
        ("forgets_average", "forgets its average"),
    ],
)
def test_hidden_part_names_the_mistake_on_its_own(key, needle):
    edits, _, _ = MISTAKES[key]
    assert_fails(NB, TEST, mutant(NB, "rmsprop_step", *edits), needle, hidden=True)


def test_gradients_changed_in_place_are_named():
    overrides = mutant(NB, "rmsprop_step", ("g = grads[name]", "g = grads[name]\n        g *= 1"))
    assert_passes(NB, TEST, overrides)  # multiplying by one changes nothing: no false alarm
    overrides = mutant(NB, "rmsprop_step", (STEP, "g /= np.sqrt(s) + eps\n        p -= lr * g"))
    assert_fails(NB, TEST, overrides, "not the gradients", hidden=True, visible=False)


def test_running_mean_dtype_is_checked():
    overrides = mutant(NB, "rmsprop_step", ("np.zeros_like(p)", "np.zeros(p.shape)"))
    assert_fails(NB, TEST, overrides, "dtype of the running mean", hidden=True)


def test_defaults_are_checked():
    overrides = mutant(NB, "rmsprop_step", ("decay=0.99", "decay=0.9"))
    assert_fails(NB, TEST, overrides, "defaults are decay=0.99", hidden=True)


def test_library_only():
    assert_forbidden(NB, TEST, "rmsprop_step", """
from cnnlab.optim import rmsprop_step
""", hidden=True, visible=False)  # fmt: skip


def test_library_twin_has_the_exercise_contract():
    """cl.optim.rmsprop_step passes the test cell and agrees with the solution step by step."""
    exc = run_test_cell(NB, TEST, {"rmsprop_step": "from cnnlab.optim import rmsprop_step\n"})
    assert "must be your own implementation" in str(exc)  # only the forbidden check fails
    mine = namespace(NB)["rmsprop_step"]
    rng = np.random.default_rng(0)
    start = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    a, b = {k: v.copy() for k, v in start.items()}, {k: v.copy() for k, v in start.items()}
    sa, sb = {}, {}
    for _ in range(4):
        grads = {k: rng.standard_normal(v.shape) for k, v in start.items()}
        mine(a, grads, sa, 0.01, 0.9, 0.05)
        cl.optim.rmsprop_step(b, grads, sb, 0.01, 0.9, 0.05)
    for k in start:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12)
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-12)
