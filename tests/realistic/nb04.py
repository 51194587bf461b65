"""Realistic learner mistakes in 04-hyperparameters (see ``tests/realistic/__init__.py``).

Each entry is a complete wrong answer cell as a learner writes it. ``core=True`` marks the
mistakes an exercise exists to teach (the cases its prose warns about, and the rows of issue 13):
the public part of the test cell alone must catch them. The multiple-choice answers q1-q3 are
listed only with the formatting mistakes the public check can see; a wrong letter can only be
caught by the hidden check without giving the answer away. This module holds train_val_split
and the diagnoses; the other exercises have their ``nb04_<topic>.py`` beside it.
"""

from __future__ import annotations

from realistic import Mistake, variant

# --------------------------------------------------------------------------------------------
# train_val_split
# --------------------------------------------------------------------------------------------

_ANSWER = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val_idx = idx[:n_val]
    return X[idx], y[idx], X[val_idx], y[val_idx]
"""


SPLIT_LEAKS = _ANSWER

SPLIT_TWO_PERMUTATIONS = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    val_idx, train_idx = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_val = int(round(val_fraction * len(idx)))
        val_idx.extend(rng.permutation(idx)[:n_val])
        train_idx.extend(rng.permutation(idx)[n_val:])   # a second, different shuffle
    val_idx, train_idx = rng.permutation(val_idx), rng.permutation(train_idx)
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]
"""

SPLIT_NOT_STRATIFIED = variant(
    _ANSWER,
    (
        ("val_idx = idx[:n_val]\n    return X[idx], y[idx], X[val_idx], y[val_idx]\n"),
        "return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]\n",
    ),
)

_ANSWER_2 = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    if stratify:
        val = []
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            val.extend(idx[: int(val_fraction * len(idx))])
        val = np.array(val)
    else:
        val = rng.permutation(len(y))[: int(val_fraction * len(y))]
    train = np.setdiff1d(np.arange(len(y)), val)
    train, val = rng.permutation(train), rng.permutation(val)
    return X[train], y[train], X[val], y[val]
"""


SPLIT_FLOOR = _ANSWER_2

_ANSWER_3 = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    val = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        val.extend(idx[: int(round(val_fraction * len(idx)))])
    val = np.array(val)
    train = np.setdiff1d(np.arange(len(y)), val)
    X_train, y_train = X[rng.permutation(train)], y[rng.permutation(train)]
    X_val, y_val = X[rng.permutation(val)], y[rng.permutation(val)]
    return X_train, y_train, X_val, y_val
"""


SPLIT_LABELS_SHUFFLED_APART = _ANSWER_3

SPLIT_TRAIN_SORTED = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    if not stratify:
        idx = rng.permutation(len(y))
        n_val = int(round(val_fraction * len(y)))
        return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(val_fraction * len(idx)))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    train, val = np.concatenate(train), np.concatenate(val)   # still grouped by class
    return X[train], y[train], X[val], y[val]
"""

SPLIT_GLOBAL_RNG = variant(
    _ANSWER_3,
    ("rng.permutation(np.flatnonzero(y", "np.random.permutation(np.flatnonzero(y"),
    (
        (
            "val = np.array(val)\n"
            "    train = np.setdiff1d(np.arange(len(y)), val)\n"
            "    X_train, y_train = X[rng.permutation(train)], y[rng.permutation(train)]\n"
            "    X_val, y_val = X[rng.permutation(val)], y[rng.permutation(val)]\n"
            "    return X_train, y_train, X_val, y_val\n"
        ),
        (
            "if not stratify:\n"
            "        val = np.random.permutation(len(y))[: int(round(val_fraction * len(y)))]\n"
            "    val = np.random.permutation(val)\n"
            "    train = np.random.permutation(np.setdiff1d(np.arange(len(y)), val))\n"
            "    return X[train], y[train], X[val], y[val]\n"
        ),
    ),
)

SPLIT_LAST_BLOCK = variant(
    _ANSWER_2,
    ("int(val_fraction * len(idx))])", "int(round(val_fraction * len(idx)))])"),
    ("np.array(val)", "rng.permutation(val)"),
    (
        "val = rng.permutation(len(y))[: int(val_fraction * len(y))]",
        "n_val = int(round(val_fraction * len(y)))",
    ),
    (
        "train = np.setdiff1d(np.arange(len(y)), val)",
        '    val = np.arange(len(y) - n_val, len(y))          # "the last 20 %"',
    ),
    (
        "train, val = rng.permutation(train), rng.permutation(val)",
        "train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))",
    ),
)

SPLIT_LABELS_ARE_0_TO_K = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    n_classes = len(np.unique(y))
    val = []
    for c in range(n_classes):                  # assumes the labels are 0..K-1
        idx = rng.permutation(np.flatnonzero(y == c))
        val.extend(idx[: int(round(val_fraction * len(idx)))])
    val = rng.permutation(np.array(val, dtype=int))
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], y[train], X[val], y[val]
"""

# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------

MISTAKES = [
    # train_val_split
    Mistake(
        "test_train_val_split",
        "split trains on every sample",
        {"train_val_split": SPLIT_LEAKS},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "train and val from two different shuffles",
        {"train_val_split": SPLIT_TWO_PERMUTATIONS},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "stratify ignored",
        {"train_val_split": SPLIT_NOT_STRATIFIED},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "int() rounds the class share down",
        {"train_val_split": SPLIT_FLOOR},
    ),
    Mistake(
        "test_train_val_split",
        "X and y shuffled apart",
        {"train_val_split": SPLIT_LABELS_SHUFFLED_APART},
        core=True,
    ),
    Mistake(
        "test_train_val_split",
        "training part left sorted by class",
        {"train_val_split": SPLIT_TRAIN_SORTED},
    ),
    Mistake(
        "test_train_val_split",
        "global np.random instead of rng",
        {"train_val_split": SPLIT_GLOBAL_RNG},
    ),
    Mistake(
        "test_train_val_split",
        "unstratified split takes the last block",
        {"train_val_split": SPLIT_LAST_BLOCK},
    ),
    Mistake(
        "test_train_val_split",
        "labels assumed to be 0..K-1",
        {"train_val_split": SPLIT_LABELS_ARE_0_TO_K},
    ),
    # the diagnoses: formatting mistakes (a wrong letter is only for the hidden check)
    Mistake("test_q1", "q1 answered 'C)'", {"q1": 'q1 = "C)"\n'}),
    Mistake("test_q2", "q2 answered 'over-fitting'", {"q2": 'q2 = "over-fitting"\n'}),
    Mistake("test_q3", "q3 answered with the option text", {"q3": 'q3 = "B. dropout"\n'}),
]
