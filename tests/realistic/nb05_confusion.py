"""Realistic mistakes in 05-visualization (`confusion_matrix`).

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them, or the
docstring specifies the behaviour): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# confusion_matrix
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# confusion: transposed
_CONFUSION_TRANSPOSED = """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[p, t] += 1
    return cm
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# confusion: fancy-index += drops repeats
_CONFUSION_FANCY_INDEX_DROPS = """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    cm[np.asarray(y_true), np.asarray(y_pred)] += 1
    return cm
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# confusion: float counts
_CONFUSION_FLOAT_COUNTS = variant(
    _CONFUSION_TRANSPOSED, ("num_classes), dtype=int)", "num_classes))"), ("cm[p, t]", "cm[t, p]")
)


CONFUSION = [
    Mistake(
        "test_confusion_matrix",
        "confusion: transposed",
        {"confusion_matrix": _CONFUSION_TRANSPOSED},
        core=True,
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: fancy-index += drops repeats",
        {"confusion_matrix": _CONFUSION_FANCY_INDEX_DROPS},
        core=True,
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: float counts",
        {"confusion_matrix": _CONFUSION_FLOAT_COUNTS},
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: size from the largest label",
        {
            "confusion_matrix": variant(
                _CONFUSION_FLOAT_COUNTS,
                (
                    "cm = np.zeros((num_classes, num_classes))\n",
                    (
                        "k = max(max(y_true), max(y_pred)) + 1\n"
                        "    cm = np.zeros((k, k), dtype=int)\n"
                    ),
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: == on Python lists",
        {
            "confusion_matrix": variant(
                _CONFUSION_FANCY_INDEX_DROPS,
                (
                    "cm[np.asarray(y_true), np.asarray(y_pred)] += 1\n",
                    (
                        "for i in range(num_classes):\n"
                        "        for j in range(num_classes):\n"
                        "            cm[i, j] = np.sum((y_true == i) & (y_pred == j))\n"
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: counts only the correct predictions",
        {
            "confusion_matrix": variant(
                _CONFUSION_TRANSPOSED,
                ("cm[p, t] += 1\n", ("if t == p:\n            cm[t, p] += 1\n")),
            )
        },
    ),
]
MISTAKES = CONFUSION
