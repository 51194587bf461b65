"""Tests of the hidden tests of 05-visualization: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes, cells, graded_ids, run_test_cell

NB = "05-visualization"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB, hidden=True)
forbidden = partial(assert_forbidden, NB, hidden=True)


# ------------------------------------------------------------------------------------------
# The solution passes every test cell; the graded cells are the ones the issue asks for.
# ------------------------------------------------------------------------------------------


def test_graded_cells_are_the_issue_exercises():
    answers = set(ANSWERS)
    assert answers == {
        "normalize_for_display", "get_activations", "top_k_activating", "occlusion_map",
        "saliency_map", "class_visualization", "confusion_matrix",
    }  # fmt: skip
    assert sorted(TEST_CELLS) == sorted(f"test_{a}" for a in answers)
    points = sum(m.get("points", 0) for _, m, _ in cells(NB) if m.get("grade"))
    assert points == 20


@pytest.mark.parametrize("test_id", TEST_CELLS)
def test_solution_passes(test_id):
    assert_passes(NB, test_id)


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
    exc = run_test_cell(NB, "test_normalize_for_display", overrides={"normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    return (w - w.min()) / (w.max() - w.min())
"""})  # fmt: skip
    assert isinstance(exc, AssertionError)


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
"""}, "constant filter")  # fmt: skip


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
    {mode}
    out = x
    for layer in model.layers[:{stop}]:
        out = layer.forward(out)
    return out
"""


@pytest.mark.parametrize(
    "mode, stop, needles",
    [
        ("pass", "layer_index + 1", ("eval",)),
        ("model.train()", "layer_index + 1", ("eval",)),
        ("model.eval()", "layer_index", ("wrong layer",)),
        ("model.eval()", "layer_index + 2", ("wrong layer",)),
    ],
    ids=["train_mode", "forced_train_mode", "off_by_one_short", "off_by_one_long"],
)
def test_get_activations_mistakes(mode, stop, needles):
    fails(
        "test_get_activations", {"get_activations": ACT_BODY.format(mode=mode, stop=stop)}, *needles
    )


def test_get_activations_train_mode_hidden_messages():
    """With the visible part passed (dropout off by luck is impossible there), the hidden part
    names BatchNorm's batch statistics and dropout."""
    src = """
def get_activations(model, x, layer_index):
    out = x
    for i, layer in enumerate(model.layers[: layer_index + 1]):
        if len(model.layers) == 5:   # the visible hand-built model: behave correctly
            layer.eval()
        out = layer.forward(out)
    return out
"""
    fails("test_get_activations", {"get_activations": src}, "train mode", "BatchNorm")


# ------------------------------------------------------------------------------------------
# top_k_activating
# ------------------------------------------------------------------------------------------

TOPK_BODY = """
def top_k_activating(model, X, layer_index, channel, k):
    acts = get_activations(model, X, layer_index)
    {score}
    return {order}
"""
MEAN = "score = acts[:, channel].reshape(len(X), -1).mean(axis=1)"


@pytest.mark.parametrize(
    "score, order, needle",
    [
        (MEAN, "np.argsort(score)[:k]", "ascending"),
        (MEAN, "np.argsort(-score)[:k][::-1]", "ascending"),
        ("score = acts[:, channel].reshape(len(X), -1).max(axis=1)", "np.argsort(-score)[:k]",
         "max"),
        ("score = acts.reshape(len(X), -1).mean(axis=1)", "np.argsort(-score)[:k]", "channel"),
    ],
    ids=["ascending", "reversed_top_k", "by_max", "all_channels"],
)  # fmt: skip
def test_top_k_mistakes(score, order, needle):
    fails("test_top_k_activating", {"top_k_activating": TOPK_BODY.format(score=score, order=order)},
          needle)  # fmt: skip


# ------------------------------------------------------------------------------------------
# occlusion_map
# ------------------------------------------------------------------------------------------

OCC_BODY = """
def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0):
    def prob(x):
        model.{mode}()
        s = model.forward(x[None]).astype(float)[0]
        e = np.exp(s - s.max())
        return (e / e.sum())[label], s[label]
    c, h, w = image.shape
    oh, ow = {grid}
    p0, s0 = prob(image)
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            x = {copy}
            x[{chan}, i * stride:i * stride + patch, j * stride:j * stride + patch] = {fill}
            p, s = prob(x)
            out[i, j] = {value}
    return out
"""
OCC_OK = dict(
    mode="eval",
    grid="(h - patch) // stride + 1, (w - patch) // stride + 1",
    copy="image.copy()",
    chan=":",
    fill="fill",
    value="p0 - p",
)


def test_occlusion_template_is_correct():
    source = OCC_BODY.format(**OCC_OK)
    assert_passes(NB, "test_occlusion_map", overrides={"occlusion_map": source})


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"value": "p"}, "new probability"),
        ({"value": "p - p0"}, "sign"),
        ({"value": "s0 - s"}, "scores"),
        ({"grid": "(h - patch) // stride, (w - patch) // stride"}, "off-by-one grid"),
        ({"grid": "(h - patch) // stride + 2, (w - patch) // stride + 2"}, "off-by-one grid"),
        ({"copy": "image"}, "in place"),
        ({"fill": "0.0"}, "fill"),
        ({"chan": "0"}, "channel 0"),
        ({"mode": "train"}, "eval mode"),
    ],
    ids=["new_probability", "sign", "scores", "grid_short", "grid_long", "in_place", "fill",
         "channel_0", "train_mode"],
)  # fmt: skip
def test_occlusion_mistakes(change, needle):
    fails("test_occlusion_map", {"occlusion_map": OCC_BODY.format(**{**OCC_OK, **change})}, needle)


# ------------------------------------------------------------------------------------------
# saliency_map
# ------------------------------------------------------------------------------------------

SAL_BODY = """
def saliency_map(model, x, label):
    model.{mode}()
    scores = model.forward(np.asarray(x)[None]).astype(float)
    d = np.zeros_like(scores)
    d[0, label] = 1.0
    {softmax}
    dx = model.backward(d)[0]
    return {reduce}
"""
SAL_OK = dict(mode="eval", softmax="", reduce="np.abs(dx).max(axis=0)")
SOFTMAX = "p = np.exp(scores - scores.max()); p /= p.sum(); d = p[0, label] * (d - p)"
LOG_SOFTMAX = "p = np.exp(scores - scores.max()); p /= p.sum(); d = d - p"


def test_saliency_template_is_correct():
    source = SAL_BODY.format(**SAL_OK)
    assert_passes(NB, "test_saliency_map", overrides={"saliency_map": source})


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"softmax": SOFTMAX}, "after the softmax"),
        ({"softmax": LOG_SOFTMAX}, "after the softmax"),
        ({"reduce": "dx.max(axis=0)"}, "absolute value"),
        ({"reduce": "np.abs(dx.max(axis=0))"}, "absolute value"),
        ({"reduce": "np.abs(dx).sum(axis=0)"}, "summed over channels"),
        ({"reduce": "np.abs(dx).mean(axis=0)"}, "averaged over channels"),
        ({"reduce": "np.abs(dx)"}, "max over the channel axis"),
        ({"mode": "train"}, "eval mode"),
    ],
    ids=["softmax_prob", "log_softmax", "no_abs", "abs_after_max", "sum_channels",
         "mean_channels", "no_reduction", "train_mode"],
)  # fmt: skip
def test_saliency_mistakes(change, needle):
    fails("test_saliency_map", {"saliency_map": SAL_BODY.format(**{**SAL_OK, **change})}, needle)


def test_saliency_numerical_gradient_is_forbidden():
    forbidden("test_saliency_map", "saliency_map", """
import cnnlab as cl
def saliency_map(model, x, label):
    model.eval()
    x = np.asarray(x, dtype=float).copy()
    f = lambda z: float(model.forward(z[None])[0, label])
    return np.abs(cl.gradcheck.numerical_gradient(f, x)).max(axis=0)
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# class_visualization
# ------------------------------------------------------------------------------------------

CV_BODY = """
def class_visualization(model, label, shape, steps, lr, l2, rng):
    x = {start}
    model.{mode}()
    for _ in range(steps):
        scores = model.forward(x[None]).astype(float)
        d = np.zeros_like(scores)
        d[0, label] = 1.0
        {softmax}
        g = model.backward(d)[0]
        x = x {sign} lr * (g - {reg} * l2 * x)
    return x
"""
CV_OK = dict(start="0.1 * rng.standard_normal(shape)", mode="eval", softmax="", sign="+", reg="2.0")


def test_class_visualization_template_is_correct():
    source = CV_BODY.format(**CV_OK)
    assert_passes(NB, "test_class_visualization", overrides={"class_visualization": source})


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"sign": "-"}, "descent"),
        ({"reg": "-2.0"}, "sign of the l2 term"),
        ({"reg": "1.0"}, "factor 2"),
        ({"reg": "0.0"}, "l2 penalty missing"),
        ({"softmax": SOFTMAX}, "softmax"),
        ({"start": "np.zeros(shape)"}, "start from"),
        ({"start": "0.01 * rng.standard_normal(shape)"}, "start from"),
        ({"mode": "train"}, "eval mode"),
    ],
    ids=["descent", "l2_sign", "l2_factor", "no_l2", "softmax", "zero_start", "small_start",
         "train_mode"],
)  # fmt: skip
def test_class_visualization_mistakes(change, needle):
    # the visible hint lists the usual suspects; only a missing L2 term is named by the hidden part
    source = CV_BODY.format(**{**CV_OK, **change})
    visible = change != {"reg": "0.0"}
    fails("test_class_visualization", {"class_visualization": source}, needle, visible=visible)


def test_class_visualization_numerical_gradient_is_forbidden():
    forbidden("test_class_visualization", "class_visualization", """
import cnnlab as cl
def class_visualization(model, label, shape, steps, lr, l2, rng):
    model.eval()
    x = 0.1 * rng.standard_normal(shape)
    f = lambda z: float(model.forward(z[None])[0, label])
    for _ in range(steps):
        x = x + lr * (cl.gradcheck.numerical_gradient(f, x.copy()) - 2 * l2 * x)
    return x
""")  # fmt: skip


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
"""}, "repeated pairs")  # fmt: skip


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
