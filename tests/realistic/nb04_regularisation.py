"""Realistic learner mistakes in 04-hyperparameters: l2_penalty, EarlyStopping (see __init__).

Each entry is a complete wrong answer cell as a learner writes it; ``core=True`` marks the
mistakes an exercise exists to teach. The rest of 04's catalogue sits in ``nb04*.py`` beside it.
"""

from __future__ import annotations

from realistic import Mistake, variant

# --------------------------------------------------------------------------------------------
# l2_penalty
# --------------------------------------------------------------------------------------------

L2_WITH_BIASES = """
def l2_penalty(params, reg):
    loss = 0.0
    grads = {}
    for name, p in params.items():
        loss += 0.5 * reg * np.sum(p ** 2)
        grads[name] = reg * p
    return float(loss), grads
"""

_ANSWER = """
def l2_penalty(params, reg):
    loss, grads = 0.0, {}
    for name, p in params.items():
        if p.ndim >= 2:
            loss += reg * np.sum(p * p)
            grads[name] = 2 * reg * p
        else:
            grads[name] = np.zeros_like(p)
    return float(loss), grads
"""


L2_NO_HALF = _ANSWER

_ANSWER_2 = variant(
    _ANSWER,
    ("reg * np.sum(p * p)", "0.5 * reg * np.sum(p ** 2)"),
    ("grads[name] = 2 * reg * p", "grads[name] = 2 * reg * p        # d/dw of w**2"),
)


L2_GRAD_TWICE = _ANSWER_2

L2_WEIGHT_KEYS_ONLY = """
def l2_penalty(params, reg):
    weights = {k: p for k, p in params.items() if p.ndim >= 2}
    loss = 0.5 * reg * sum(np.sum(w ** 2) for w in weights.values())
    grads = {k: reg * w for k, w in weights.items()}
    return float(loss), grads
"""

L2_IN_PLACE = variant(
    _ANSWER_2,
    (
        "grads[name] = 2 * reg * p        # d/dw of w**2\n",
        (
            "p *= reg                             # reuses the array as the gradient\n"
            "            grads[name] = p\n"
        ),
    ),
)

_ANSWER_3 = variant(
    _ANSWER_2,
    (">= 2:", "> 2:                           # conv filters only"),
    ("2 * reg * p        # d/dw of w**2", "reg * p"),
)


L2_CONV_ONLY = _ANSWER_3

L2_BY_NAME = variant(
    _ANSWER_3, ("p.ndim > 2:                           # conv filters only", 'name.endswith(".w"):')
)

# --------------------------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------------------------

EARLY = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("patience must be >= 1 and min_delta >= 0")
        PATIENCE = patience
        self.min_delta = min_delta
        self.best = np.inf
        self.best_epoch = None
        self.epoch = FIRST
        self.wait = 0

    def update(self, val_loss):
        self.epoch += 1
        if IMPROVED:
            self.best = val_loss
            self.best_epoch = self.epoch
            RESET
        else:
            self.wait += 1
        return STOP
"""
EARLY_GOOD = {
    "PATIENCE": "self.patience",
    "FIRST": "-1",
    "IMPROVED": "val_loss < self.best - self.min_delta",
    "RESET": "self.wait = 0",
    "STOP": "self.wait >= PAT",
    "PAT": "self.patience",
}


def early(**changes) -> str:
    source = EARLY
    for key, value in {**EARLY_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


_ANSWER_4 = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.epochs = np.inf, None, 0

    def update(self, val_loss):
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epochs
        self.epochs += 1
        return self.epochs > self.patience and val_loss >= self.best
"""


EARLY_FROM_START = _ANSWER_4

EARLY_VS_PREVIOUS = """
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        if patience < 1 or min_delta < 0:
            raise ValueError("bad arguments")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch = np.inf, None
        self.last, self.epoch, self.bad = np.inf, -1, 0

    def update(self, val_loss):
        self.epoch += 1
        if val_loss < self.last - self.min_delta:    # better than last epoch
            self.bad = 0
        else:
            self.bad += 1
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, self.epoch
        self.last = val_loss
        return self.bad >= self.patience
"""

EARLY_RETURNS_NONE = variant(
    _ANSWER_4,
    ("self.epochs = np.inf, None,", "self.epoch, self.bad = np.inf, None, -1,"),
    ("def update(self, val_loss):\n", ("def update(self, val_loss):\n        self.epoch += 1\n")),
    (
        (
            "self.best, self.best_epoch = val_loss, self.epochs\n"
            "        self.epochs += 1\n"
            "        return self.epochs > self.patience and val_loss >= self.best\n"
        ),
        (
            "self.best, self.best_epoch, self.bad = val_loss, self.epoch, 0\n"
            "        else:\n"
            "            self.bad += 1\n"
            "            if self.bad >= self.patience:\n"
            "                return True\n"
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------

MISTAKES = [
    # l2_penalty
    Mistake("test_l2_penalty", "biases penalised", {"l2_penalty": L2_WITH_BIASES}, core=True),
    Mistake("test_l2_penalty", "the 0.5 missing", {"l2_penalty": L2_NO_HALF}, core=True),
    Mistake("test_l2_penalty", "gradient 2 reg w", {"l2_penalty": L2_GRAD_TWICE}),
    Mistake("test_l2_penalty", "grads only for the weights", {"l2_penalty": L2_WEIGHT_KEYS_ONLY}),
    Mistake("test_l2_penalty", "params changed in place", {"l2_penalty": L2_IN_PLACE}),
    Mistake("test_l2_penalty", "only 4-D conv weights penalised", {"l2_penalty": L2_CONV_ONLY}),
    Mistake("test_l2_penalty", "weights chosen by name", {"l2_penalty": L2_BY_NAME}),
    # EarlyStopping
    Mistake(
        "test_EarlyStopping",
        "count not reset on improvement",
        {"EarlyStopping": early(RESET="pass")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "patience counted from the first epoch",
        {"EarlyStopping": EARLY_FROM_START},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "stops one epoch late",
        {"EarlyStopping": early(STOP="self.wait > PAT")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "stops one epoch early",
        {"EarlyStopping": early(STOP="self.wait >= PAT - 1")},
    ),
    Mistake(
        "test_EarlyStopping",
        "min_delta ignored",
        {"EarlyStopping": early(IMPROVED="val_loss < self.best")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "equal loss counts as improvement",
        {"EarlyStopping": early(IMPROVED="val_loss <= self.best - self.min_delta")},
    ),
    Mistake("test_EarlyStopping", "epochs counted from 1", {"EarlyStopping": early(FIRST="0")}),
    Mistake(
        "test_EarlyStopping",
        "patience stored as _patience",
        {"EarlyStopping": early(PATIENCE="self._patience", PAT="self._patience")},
        core=True,
    ),
    Mistake(
        "test_EarlyStopping",
        "compared with the previous epoch",
        {"EarlyStopping": EARLY_VS_PREVIOUS},
    ),
    Mistake("test_EarlyStopping", "update returns None", {"EarlyStopping": EARLY_RETURNS_NONE}),
]
