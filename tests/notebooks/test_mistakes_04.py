"""Every mistake the hidden tests of 04-hyperparameters claim to catch, as a buggy answer.

Each case replaces one answer cell of ``solutions/04-hyperparameters/hyperparameters.py`` with a
buggy version, runs the test cell in process and checks (``nbtools.assert_fails``) that it
fails with a message naming the mistake. The library-only cases check that an answer handing the
work to scikit-learn earns nothing and is told why.
That the solution passes every test cell is checked by ``test_every_notebook.py``.

This module holds train_val_split and the three diagnoses; the other exercises of 04 sit in
``test_mistakes_04_<topic>.py`` beside it (lr, search, regularisation, schedules, halving).
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes, graded_ids

NB = "04-hyperparameters"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


# ------------------------------------------------------------------------------------------
# train_val_split
# ------------------------------------------------------------------------------------------


def test_split_that_leaks_train_into_val():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx], y[idx], X[idx[:n_val]], y[idx[:n_val]]   # trains on everything
"""
        },
        "leaks samples between train and validation",
    )


def test_split_with_replacement_duplicates_samples():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    parts = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        parts.append(rng.choice(idx, size=int(round(val_fraction * len(idx)))))  # replace=True
    val_idx = np.concatenate(parts)
    train_idx = rng.permutation(np.setdiff1d(np.arange(len(y)), val_idx))
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]
"""
        },
        "without replacement",
    )


def test_split_that_ignores_stratify():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
"""
        },
        "stratify=True must keep each class's proportion",
    )


def test_split_without_shuffling():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    if stratify:
        val = np.concatenate([np.flatnonzero(y == c)[: int(round(val_fraction * np.sum(y == c)))]
                              for c in np.unique(y)])
    else:
        val = np.arange(len(y) - int(round(val_fraction * len(y))), len(y))  # the last block
    train = np.setdiff1d(np.arange(len(y)), val)
    return X[train], y[train], X[val], y[val]
"""
        },
        "shuffle",
    )


def test_split_with_a_fixed_seed_inside():
    fails(
        "test_train_val_split",
        {
            "train_val_split": """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    rng = np.random.default_rng(0)          # ignores the rng passed in
    X, y = np.asarray(X), np.asarray(y)
    parts = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        parts.append(idx[: int(round(val_fraction * len(idx)))])
    val = rng.permutation(np.concatenate(parts))
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    return X[train], y[train], X[val], y[val]
"""
        },
        "rng you are given",
    )


def test_split_library_only():
    forbidden(
        "test_train_val_split",
        "train_val_split",
        """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    from sklearn.model_selection import train_test_split
    X_tr, X_va, y_tr, y_va = train_test_split(
        X, y, test_size=val_fraction, random_state=int(rng.integers(2**31)),
        stratify=y if stratify else None)
    return X_tr, y_tr, X_va, y_va
""",
    )


# ------------------------------------------------------------------------------------------
# the three diagnoses
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, wrong, needle",
    [("q1", "B", "under-fits"), ("q2", "B", "over-fits"), ("q3", "A", "dropout")],
)
def test_wrong_diagnosis_explains_the_right_reading(question, wrong, needle):
    fails(f"test_{question}", {question: f'{question} = "{wrong}"\n'}, needle)


@pytest.mark.parametrize("question", ["q1", "q2", "q3"])
def test_diagnosis_must_be_a_letter(question):
    fails(
        f"test_{question}", {question: f"{question} = 'overfitting'\n"}, "one of 'A', 'B', 'C', 'D'"
    )


def test_diagnosis_accepts_lower_case():
    assert_passes(NB, "test_q2", overrides={"q2": 'q2 = "a"\n'})


# ------------------------------------------------------------------------------------------
# Each hint names a mistake only when that mistake happened: the nearest wrong variants of every
# named mistake get their own hint (or a neutral one), never the neighbour's.
# ------------------------------------------------------------------------------------------

SPLIT = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    X, y = np.asarray(X), np.asarray(y)
    if stratify:
        val = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:COUNT(np.sum(y == c))]
                              for c in np.unique(y)])
    else:
        val = rng.permutation(len(y))[:COUNT(len(y))]
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    val = rng.permutation(val)
    return X[train], y[train], X[val], y[val]
"""


@pytest.mark.parametrize(
    "count, own, others",
    [
        ("int(val_fraction * N)", "rounded down", ["rounded up"]),
        ("int(np.ceil(val_fraction * N))", "rounded up", ["rounded down"]),
    ],
)
def test_split_rounding_hints(count, own, others):
    source = SPLIT.replace("COUNT(", "(lambda N: " + count + ")(")
    message = fails("test_train_val_split", {"train_val_split": source}, own, public=True)
    assert not any(o in message for o in others), message


def test_unstratified_split_is_not_told_about_rounding():
    source = """
def train_val_split(X, y, val_fraction, rng, stratify=True):
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction")
    idx = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]
"""
    message = fails(
        "test_train_val_split",
        {"train_val_split": source},
        "keep each class's proportion",
        public=True,
    )
    assert "rounded" not in message
