"""Realistic mistakes in 05-visualization (`confusion_matrix`).

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them, or the
docstring specifies the behaviour): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake

# ------------------------------------------------------------------------------------------
# confusion_matrix
# ------------------------------------------------------------------------------------------

CONFUSION = [
    Mistake(
        "test_confusion_matrix",
        "confusion: transposed",
        {
            "confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[p, t] += 1
    return cm
"""
        },
        core=True,
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: fancy-index += drops repeats",
        {
            "confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    cm[np.asarray(y_true), np.asarray(y_pred)] += 1
    return cm
"""
        },
        core=True,
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: float counts",
        {
            "confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes))
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    return cm
"""
        },
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: size from the largest label",
        {
            "confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    k = max(max(y_true), max(y_pred)) + 1
    cm = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    return cm
"""
        },
        core=True,
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: == on Python lists",
        {
            "confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for i in range(num_classes):
        for j in range(num_classes):
            cm[i, j] = np.sum((y_true == i) & (y_pred == j))
    return cm
"""
        },
    ),
    Mistake(
        "test_confusion_matrix",
        "confusion: counts only the correct predictions",
        {
            "confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        if t == p:
            cm[t, p] += 1
    return cm
"""
        },
    ),
]
MISTAKES = CONFUSION
