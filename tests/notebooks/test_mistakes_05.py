"""Tests of the hidden tests of 05-visualization: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake.
This module: `normalize_for_display`, `get_activations`, `top_k_activating`, `confusion_matrix`;
beside it ``test_mistakes_05_maps.py`` (occlusion, saliency, class visualisation),
``test_mistakes_05_fooling.py``, ``test_mistakes_05_top_losses.py``, and
``test_mistakes_05_realistic.py`` (each realistic mistake of ``tests/realistic/nb05*.py`` gets its
own hint and no neighbour's). ``top_k_activating`` builds on ``get_activations`` and is graded on
its own (``test_top_k_graded_on_its_own``). The train/eval mode that the functions promise to
restore is checked by their public tests.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes, run_public_part, run_test_cell

NB = "05-visualization"
fails = partial(assert_fails, NB, hidden=True)
forbidden = partial(assert_forbidden, NB, hidden=True)


# ------------------------------------------------------------------------------------------
# normalize_for_display
# ------------------------------------------------------------------------------------------


def test_normalize_over_all_filters_at_once():
    fails("test_normalize_for_display", {"normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    span = w.max() - w.min()
    return (w - w.min()) / span if span > 0 else np.full(w.shape, 0.5)
"""}, "all filters at once")  # fmt: skip


def test_normalize_over_all_filters_passes_no_hand_example_by_luck():
    """The same mistake is caught by the visible example already (a learner sees it at once)."""
    fails("test_normalize_for_display", {"normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    return (w - w.min()) / (w.max() - w.min())
"""}, "all filters at once", public=True)  # fmt: skip


def test_normalize_per_channel():
    fails("test_normalize_for_display", {"normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    if w.ndim < 3:
        flat = w.reshape(w.shape[0], 1, -1)
    else:
        flat = w.reshape(w.shape[0], w.shape[1], -1)
    lo = flat.min(-1, keepdims=True)
    span = flat.max(-1, keepdims=True) - lo
    return np.where(span == 0, 0.5, (flat - lo) / np.where(span == 0, 1, span)).reshape(w.shape)
"""}, "per channel")  # fmt: skip


def test_normalize_constant_filter_divides_by_zero():
    fails("test_normalize_for_display", {"normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    flat = w.reshape(w.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((flat - lo) / (flat.max(axis=1, keepdims=True) - lo)).reshape(w.shape)
"""}, "constant")  # fmt: skip


def test_normalize_in_place():
    fails("test_normalize_for_display", {"normalize_for_display": """
def normalize_for_display(w):
    flat = w.reshape(w.shape[0], -1)
    for f in range(flat.shape[0]):
        lo, hi = flat[f].min(), flat[f].max()
        flat[f] = 0.5 if hi == lo else (flat[f] - lo) / (hi - lo)
    return w
"""}, "in place")  # fmt: skip


def test_normalize_library_only():
    forbidden("test_normalize_for_display", "normalize_for_display", """
import cnnlab.plot
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    return np.stack([cnnlab.plot._rescale(f) for f in w])
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# get_activations
# ------------------------------------------------------------------------------------------

ACT_BODY = """
def get_activations(model, x, layer_index):
    was_training = model.training
    {mode}
    out = x
    for layer in model.layers[:{stop}]:
        out = layer.forward(out)
    {restore}
    return out
"""
RESTORE = "model.train() if was_training else None"


@pytest.mark.parametrize(
    "mode, stop, restore, needles",
    [
        ("pass", "layer_index + 1", RESTORE, ("train mode", "dropout")),
        ("model.train()", "layer_index + 1", RESTORE, ("train mode", "dropout")),
        ("model.eval()", "layer_index", RESTORE, ("wrong layer",)),
        ("model.eval()", "layer_index + 2", RESTORE, ("wrong layer",)),
        ("model.eval()", "layer_index + 1", "pass", ("left it in eval mode",)),
        ("model.eval()", "layer_index + 1", "model.train()", ("left it in training mode",)),
        ("model.eval()", "layer_index + 1", "model.training = was_training", ("model.train()",)),
    ],
    ids=["train_mode", "forced_train_mode", "off_by_one_short", "off_by_one_long",
         "mode_not_restored", "always_train_after", "flag_only_restored"],
)  # fmt: skip
def test_get_activations_mistakes(mode, stop, restore, needles):
    source = ACT_BODY.format(mode=mode, stop=stop, restore=restore)
    assert_fails(NB, "test_get_activations", {"get_activations": source}, *needles, public=True)


def test_get_activations_train_mode_hidden_messages():
    """With the visible part passed, the hidden part names BatchNorm's batch statistics."""
    src = """
def get_activations(model, x, layer_index):
    visible = len(model.layers) == 5   # the visible hand-built model: behave correctly
    was_training = model.training
    if visible:
        model.eval()
    out = x
    for layer in model.layers[: layer_index + 1]:
        out = layer.forward(out)
    if visible and was_training:
        model.train()
    return out
"""
    fails("test_get_activations", {"get_activations": src}, "train mode", "BatchNorm")


def test_get_activations_mode_restored_hidden():
    """The hidden part checks the mode too (a model with BatchNorm and Dropout)."""
    src = ACT_BODY.format(mode="model.eval()", stop="layer_index + 1", restore="pass")
    fails("test_get_activations", {"get_activations": src}, "layer modes", visible=False)


def test_get_activations_try_finally_passes():
    assert_passes(NB, "test_get_activations", {"get_activations": """
def get_activations(model, x, layer_index):
    mode = model.training
    model.eval()
    try:
        out = x
        for i in range(layer_index + 1):
            out = model[i].forward(out)
        return out
    finally:
        if mode:
            model.train()
"""})  # fmt: skip


# ------------------------------------------------------------------------------------------
# top_k_activating
# ------------------------------------------------------------------------------------------

TOPK_BODY = """
def top_k_activating(model, X, layer_index, channel, k, by="mean"):
    if by not in ("mean", "max"):
        raise ValueError(by)
    acts = get_activations(model, X, layer_index)
    {score}
    return {order}
"""
SCORE = (
    "a = acts[:, channel].reshape(len(X), -1); "
    "score = a.mean(axis=1) if by == 'mean' else a.max(axis=1)"
)


@pytest.mark.parametrize(
    "score, order, needle",
    [
        (SCORE, "np.argsort(score)[:k]", "ascending"),
        (SCORE, "np.argsort(-score)[:k][::-1]", "wrong order"),
        ("score = acts[:, channel].reshape(len(X), -1).max(axis=1)", "np.argsort(-score)[:k]",
         "ranked by the max"),
        ("score = acts[:, channel].reshape(len(X), -1).mean(axis=1)", "np.argsort(-score)[:k]",
         "ranked by the mean"),
        ("score = acts.reshape(len(X), -1).mean(axis=1)", "np.argsort(-score)[:k]", "channel"),
    ],
    ids=["ascending", "reversed_top_k", "always_max", "always_mean", "all_channels"],
)  # fmt: skip
def test_top_k_mistakes(score, order, needle):
    source = TOPK_BODY.format(score=score, order=order)
    fails("test_top_k_activating", {"top_k_activating": source}, needle, public=True)


def test_top_k_without_get_activations_passes():
    """An answer with its own eval-mode forward pass is fine too."""
    assert_passes(NB, "test_top_k_activating", {"top_k_activating": """
def top_k_activating(model, X, layer_index, channel, k, by="mean"):
    if by not in ("mean", "max"):
        raise ValueError("by")
    model.eval()
    acts = X
    for layer in model.layers[: layer_index + 1]:
        acts = layer.forward(acts)
    model.train()
    a = acts[:, channel].reshape(len(X), -1)
    score = a.mean(axis=1) if by == "mean" else a.max(axis=1)
    return np.argsort(-score)[:k]
"""})  # fmt: skip


BUGGY_GET_ACTIVATIONS = {
    "off by one": ACT_BODY.format(mode="model.eval()", stop="layer_index", restore=RESTORE),
    "train mode": ACT_BODY.format(mode="pass", stop="layer_index + 1", restore=RESTORE),
    "not restored": ACT_BODY.format(mode="model.eval()", stop="layer_index + 1", restore="pass"),
}


@pytest.mark.parametrize("bug", list(BUGGY_GET_ACTIVATIONS))
def test_top_k_graded_on_its_own(bug):
    """A correct top_k_activating earns its points on a buggy get_activations (which fails)."""
    overrides = {"get_activations": BUGGY_GET_ACTIVATIONS[bug]}
    assert_passes(NB, "test_top_k_activating", overrides)
    assert run_public_part(NB, "test_top_k_activating", overrides) is None
    assert isinstance(run_test_cell(NB, "test_get_activations", overrides), AssertionError)


# ------------------------------------------------------------------------------------------
# confusion_matrix
# ------------------------------------------------------------------------------------------


def test_confusion_matrix_transposed():
    fails("test_confusion_matrix", {"confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_pred), np.asarray(y_true)), 1)
    return cm
"""}, "transposed")  # fmt: skip


def test_confusion_matrix_sized_from_labels():
    fails("test_confusion_matrix", {"confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = int(max(y_true.max(), y_pred.max())) + 1
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm
"""}, "num_classes")  # fmt: skip


def test_confusion_matrix_fancy_index_drops_repeats():
    fails("test_confusion_matrix", {"confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    cm[np.asarray(y_true), np.asarray(y_pred)] += 1
    return cm
"""}, "counted once")  # fmt: skip


def test_confusion_matrix_float_counts():
    fails("test_confusion_matrix", {"confusion_matrix": """
def confusion_matrix(y_true, y_pred, num_classes):
    cm = np.zeros((num_classes, num_classes))
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm
"""}, "integer")  # fmt: skip


def test_confusion_matrix_library_only():
    forbidden("test_confusion_matrix", "confusion_matrix", """
from sklearn.metrics import confusion_matrix as _sk_cm
def confusion_matrix(y_true, y_pred, num_classes):
    return _sk_cm(y_true, y_pred, labels=list(range(num_classes)))
""")  # fmt: skip
