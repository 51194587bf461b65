"""Named mistakes of 04-hyperparameters' ``warmup_cosine`` (learning-rate schedule).

Each case builds a buggy answer from the solution with ``mutant`` (a one-line textual edit) and
checks that the test cell fails naming that mistake, and that the public part (the learner's
self-check) names the mistakes the exercise exists to teach: the two off-by-one ends.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_passes, mutant

NB = "04-hyperparameters"
TEST = "test_warmup_cosine"
fails = partial(assert_fails, NB, TEST)
schedule = partial(mutant, NB, "warmup_cosine")

WARMUP = ("base_lr * (step + 1) / warmup_steps", "base_lr * step / warmup_steps")
SPAN = ("(total_steps - 1 - warmup_steps)", "(total_steps - warmup_steps)")
NO_FLOOR = ("min_lr + 0.5 * (base_lr - min_lr)", "0.5 * base_lr")
FLOOR_ON_TOP = ("min_lr + 0.5 * (base_lr - min_lr)", "min_lr + 0.5 * base_lr")


@pytest.mark.parametrize(
    "edit, needle, others",
    [
        (WARMUP, "step / W", ["T - W", "ends at 0", "on top"]),
        (SPAN, "divided by T - W", ["step / W", "ends at 0", "on top"]),
        (NO_FLOOR, "ends at 0", ["step / W", "T - W", "on top"]),
        (FLOOR_ON_TOP, "on top", ["step / W", "T - W", "ends at 0"]),
    ],
    ids=["warmup-s-over-W", "decay-over-T-minus-W", "decay-to-zero", "floor-added-on-top"],
)
def test_schedule_mistake_is_named_in_public_and_hidden_parts(edit, needle, others):
    message = fails(schedule(edit), needle, public=True, hidden=True)
    assert not any(other in message for other in others), message


def test_schedule_float_check():
    fails(schedule(("return float(base_lr * (step + 1) / warmup_steps)",
                    "return np.float32(base_lr * (step + 1) / warmup_steps)")),
          "Python floats", public=True)  # fmt: skip


def test_schedule_degrees_instead_of_radians():
    fails(schedule(("np.cos(np.pi * t)", "np.cos(180 * t)")), "learning rates of steps 0-9")


def test_schedule_without_warmup_zero_guard_is_fine():
    # warmup_steps=0 never enters the warm-up branch: a solution without special-casing it passes
    assert_passes(NB, TEST)


def test_schedule_missing_validation():
    source = schedule(("    if not 0 <= step < total_steps:\n", "    if False:\n"))
    fails(source, "raise ValueError unless 0 <= step < total_steps", public=True)


def test_schedule_missing_min_lr_validation():
    fails(schedule(("if not 0 <= min_lr <= base_lr:", "if False:")), "min_lr", hidden=True)
