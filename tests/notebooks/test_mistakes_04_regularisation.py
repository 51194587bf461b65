"""Mistakes the hidden tests of 04-hyperparameters claim to catch: EarlyStopping, l2_penalty.

Each case replaces one answer cell of ``solutions/04-hyperparameters/hyperparameters.py`` with a
buggy version, runs the test cell in process and checks (``nbtools.assert_fails``) that it
fails with a message naming the mistake. The library-only cases check that an answer handing the
work to scikit-learn earns nothing and is told why. The other topics of 04 sit in the
``test_mistakes_04_*.py`` modules beside this one.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes

NB = "04-hyperparameters"
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)

# ------------------------------------------------------------------------------------------
# EarlyStopping
# ------------------------------------------------------------------------------------------

EARLY = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch, self.bad = float("inf"), None, -1, 0

    def update(self, val_loss):
        self.epoch += 1
        if IMPROVED:
            self.best, self.best_epoch = val_loss, self.epoch
            RESET
        else:
            self.bad += 1
        return self.bad >= self.patience
"""


def early(improved="val_loss < self.best - self.min_delta", reset="self.bad = 0"):
    return EARLY.replace("IMPROVED", improved).replace("RESET", reset)


def test_early_stopping_solution_template_passes():
    assert_passes(NB, "test_EarlyStopping", overrides={"EarlyStopping": early()})


def test_patience_counted_from_the_first_epoch():
    fails(
        "test_EarlyStopping",
        {
            "EarlyStopping": """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch = float("inf"), None, -1

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epoch
        return self.epoch + 1 > self.patience      # epochs since the START, not since the best
"""
        },
        "from the first epoch rather than from the best one",
        public=True,
    )


def test_patience_counter_never_reset():
    message = fails(
        "test_EarlyStopping", {"EarlyStopping": early(reset="pass")}, "not reset", public=True
    )
    assert "too early" not in message and "too late" not in message


def test_early_stopping_ignores_min_delta():
    fails(
        "test_EarlyStopping",
        {"EarlyStopping": early(improved="val_loss < self.best")},
        "not below best - min_delta = 1.0 - 0.05 = 0.95",
        public=True,
    )


def test_early_stopping_equal_loss_counts_as_improvement():
    source = early(improved="val_loss <= self.best - self.min_delta")
    fails("test_EarlyStopping", {"EarlyStopping": source}, "use <, not <=", public=True)


# ------------------------------------------------------------------------------------------
# l2_penalty
# ------------------------------------------------------------------------------------------


def test_l2_penalty_includes_biases():
    fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss = sum(0.5 * reg * float(np.sum(p ** 2)) for p in params.values())
    return loss, {k: reg * p for k, p in params.items()}
"""
        },
        "the penalty includes 1-D arrays",
        public=True,
    )


def test_l2_penalty_misses_one_half():
    message = fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss = sum(reg * float(np.sum(p ** 2)) for p in params.values() if p.ndim >= 2)
    grads = {k: (2 * reg * p if p.ndim >= 2 else np.zeros_like(p)) for k, p in params.items()}
    return loss, grads
"""
        },
        "the 0.5 is missing",
        public=True,
    )
    assert "1-D" not in message


def test_l2_penalty_misses_one_half_in_the_loss_only():
    # the hidden test knows the gradient reg * w; a loss without the 0.5 is named
    fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss = sum(reg * float(np.sum(p ** 2)) for p in params.values() if p.ndim >= 2)
    grads = {k: (reg * p if p.ndim >= 2 else np.zeros_like(p)) for k, p in params.items()}
    return loss, grads
"""
        },
        "0.5 is missing",
        public=True,
    )


def test_l2_penalty_changes_params_in_place():
    fails(
        "test_l2_penalty",
        {
            "l2_penalty": """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for k, p in params.items():
        if p.ndim >= 2:
            loss += 0.5 * reg * float(np.sum(p ** 2))
            grads[k] = reg * p
        else:
            grads[k] = np.zeros_like(p)
            p[...] = 0.0                      # "biases are not regularised" gone wrong
    return loss, grads
"""
        },
        "must not change the parameters",
        public=True,
    )


# ------------------------------------------------------------------------------------------
# Each hint names a mistake only when that mistake happened: the nearest wrong variants of every
# named mistake get their own hint (or a neutral one), never the neighbour's.
# ------------------------------------------------------------------------------------------

EARLY_VARIANTS = {
    "no reset": early(reset="pass"),
    "from start": """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epoch = float("inf"), None, -1

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epoch
        return self.epoch + 1 > self.patience
""",
    "late": EARLY.replace("IMPROVED", "val_loss < self.best - self.min_delta")
    .replace("RESET", "self.bad = 0")
    .replace("self.bad >= self.patience", "self.bad > self.patience"),
    "early": EARLY.replace("IMPROVED", "val_loss < self.best - self.min_delta")
    .replace("RESET", "self.bad = 0")
    .replace("self.bad >= self.patience", "self.bad >= self.patience - 1"),
    "best never updated": EARLY.replace("IMPROVED", "val_loss < self.best - self.min_delta")
    .replace("RESET", "self.bad = 0")
    .replace("self.best, self.best_epoch = val_loss, self.epoch", "self.best_epoch = self.epoch"),
}
EARLY_HINTS = {
    "no reset": "was not reset",
    "from start": "counted from the first epoch",
    "late": "one epoch too late",
    "early": "one epoch too early",
    "best never updated": "never stops",
}


@pytest.mark.parametrize("variant", list(EARLY_VARIANTS))
def test_early_stopping_hint_names_only_its_own_mistake(variant):
    message = fails(
        "test_EarlyStopping",
        {"EarlyStopping": EARLY_VARIANTS[variant]},
        EARLY_HINTS[variant],
        public=True,
    )
    others = [hint for name, hint in EARLY_HINTS.items() if name != variant]
    assert not any(o in message for o in others), message
    if variant == "late":  # issue 13: the late stopper was told it "stops too early"
        assert "early" not in message.replace("EarlyStopping", "")


def test_early_stopping_patience_attribute_is_checked():
    source = (
        early()
        .replace(
            "self.patience, self.min_delta = patience, min_delta",
            "self._patience, self.min_delta = patience, min_delta",
        )
        .replace("self.bad >= self.patience", "self.bad >= self._patience")
    )
    fails("test_EarlyStopping", {"EarlyStopping": source}, "attribute patience", public=True)


def test_early_stopping_best_epoch_none_before_update():
    source = early().replace('float("inf"), None, -1, 0', 'float("inf"), 0, -1, 0')
    assert source != early()
    fails(
        "test_EarlyStopping",
        {"EarlyStopping": source},
        "best_epoch before the first update",
        public=True,
    )
