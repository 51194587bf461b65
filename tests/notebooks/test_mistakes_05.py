"""Tests of the hidden tests of 05-visualization: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake.
A hint names a mistake only when that mistake is what happened: for every realistic mistake of
``tests/realistic/nb05.py`` the message names its own hint and no neighbour's
(``test_realistic_mistake_gets_its_own_hint``). ``top_k_activating`` builds on
``get_activations`` and is graded on its own (``test_top_k_graded_on_its_own``). The train/eval
mode that four functions promise to restore is checked by their public tests.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    graded_ids,
    run_public_part,
    run_test_cell,
)
from realistic import nb05

NB = "05-visualization"
ANSWERS, TEST_CELLS = graded_ids(NB)
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
# occlusion_map
# ------------------------------------------------------------------------------------------

OCC_BODY = """
def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0):
    was_training = model.training
    def score(x):
        model.{mode}()
        s = model.forward(x[None]).astype(float)[0]
        e = np.exp(s - s.max())
        return (e / e.sum())[label], s[label]
    c, h, w = image.shape
    oh, ow = {grid}
    p0, s0 = score(image)
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            x = {copy}
            x[{chan}, i * {step}:i * {step} + {size}, j * {step}:j * {step} + {size}] = {fill}
            p, s = score(x)
            out[i, j] = {value}
    {restore}
    return out
"""
OCC_OK = dict(
    mode="eval",
    grid="(h - patch) // stride + 1, (w - patch) // stride + 1",
    copy="image.copy()",
    chan=":",
    step="stride",
    size="patch",
    fill="fill",
    value="s0 - s",
    restore=RESTORE,
)


GRID = "OH = (H - patch) // stride + 1"


def test_occlusion_template_is_correct():
    source = OCC_BODY.format(**OCC_OK)
    assert_passes(NB, "test_occlusion_map", overrides={"occlusion_map": source})


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"value": "s"}, "occluded score"),
        ({"value": "s - s0"}, "sign"),
        ({"value": "p0 - p"}, "probability drops"),
        ({"grid": "(h - patch) // stride, (w - patch) // stride"}, GRID),
        ({"grid": "(h - patch) // stride + 2, (w - patch) // stride + 2"}, GRID),
        ({"copy": "image"}, "in place"),
        ({"fill": "0.0"}, "set it to `fill`"),
        ({"chan": "0"}, "only channel 0"),
        ({"step": "patch"}, "i*patch"),
        ({"size": "stride"}, "`patch` x `patch`"),
        ({"mode": "train"}, "eval mode"),
        ({"restore": "pass"}, "left"),
    ],
    ids=["occluded_score", "sign", "probability", "grid_short", "grid_long", "in_place", "fill",
         "channel_0", "step_patch", "size_stride", "train_mode", "mode_not_restored"],
)  # fmt: skip
def test_occlusion_mistakes(change, needle):
    source = OCC_BODY.format(**{**OCC_OK, **change})
    # the hidden part's in-place message says "changed the input image in place"; the public
    # one "covered the patches of the image itself"
    public = change != {"copy": "image"}
    fails("test_occlusion_map", {"occlusion_map": source}, needle, public=public,
          visible=public)  # fmt: skip


# ------------------------------------------------------------------------------------------
# saliency_map
# ------------------------------------------------------------------------------------------

SAL_BODY = """
def saliency_map(model, x, label):
    was_training = model.training
    model.{mode}()
    scores = model.forward(np.asarray(x)[None]).astype(float)
    d = np.zeros_like(scores)
    d[0, label] = 1.0
    {softmax}
    dx = model.backward(d)[0]
    {restore}
    return {reduce}
"""
SAL_OK = dict(mode="eval", softmax="", reduce="np.abs(dx).max(axis=0)", restore=RESTORE)
SOFTMAX = "p = np.exp(scores - scores.max()); p /= p.sum(); d = p[0, label] * (d - p)"
LOG_SOFTMAX = "p = np.exp(scores - scores.max()); p /= p.sum(); d = d - p"


def test_saliency_template_is_correct():
    source = SAL_BODY.format(**SAL_OK)
    assert_passes(NB, "test_saliency_map", overrides={"saliency_map": source})


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"softmax": SOFTMAX}, "softmax probability"),
        ({"softmax": LOG_SOFTMAX}, "log-probability"),
        ({"reduce": "dx.max(axis=0)"}, "absolute value"),
        ({"reduce": "np.abs(dx.max(axis=0))"}, "absolute value"),
        ({"reduce": "np.abs(dx).sum(axis=0)"}, "summed over channels"),
        ({"reduce": "np.abs(dx).mean(axis=0)"}, "averaged over channels"),
        ({"reduce": "np.abs(dx[0])"}, "only channel 0"),
        ({"reduce": "np.abs(dx)"}, "max"),
        ({"mode": "train"}, "eval mode"),
        ({"restore": "pass"}, "left"),
    ],
    ids=["softmax_prob", "log_softmax", "no_abs", "abs_after_max", "sum_channels",
         "mean_channels", "channel_0", "no_reduction", "train_mode", "mode_not_restored"],
)  # fmt: skip
def test_saliency_mistakes(change, needle):
    source = SAL_BODY.format(**{**SAL_OK, **change})
    fails("test_saliency_map", {"saliency_map": source}, needle, public=True)


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
def class_visualization(model, label, shape, steps, lr, l2, rng, prior=None):
    x = {start}
    was_training = model.training
    model.{mode}()
    for _ in range(steps):
        {before}
        scores = model.forward(x[None]).astype(float)
        d = np.zeros_like(scores)
        d[0, label] = 1.0
        {softmax}
        g = model.backward(d)[0]
        x = x {sign} lr * (g - {reg} * l2 * x)
        {after}
    {restore}
    return x
"""
CV_OK = dict(
    start="0.1 * rng.standard_normal(shape)",
    mode="eval",
    before="",
    softmax="",
    sign="+",
    reg="2.0",
    after="x = x if prior is None else prior(x)",
    restore=RESTORE,
)


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
        ({"after": ""}, "prior was ignored"),
        ({"after": "", "before": "x = x if prior is None else prior(x)"}, "before each update"),
        ({"mode": "train"}, "eval mode"),
        ({"restore": "pass"}, "left"),
    ],
    ids=["descent", "l2_sign", "l2_factor", "no_l2", "softmax", "zero_start", "small_start",
         "prior_ignored", "prior_before", "train_mode", "mode_not_restored"],
)  # fmt: skip
def test_class_visualization_mistakes(change, needle):
    source = CV_BODY.format(**{**CV_OK, **change})
    fails("test_class_visualization", {"class_visualization": source}, needle, public=True)


def test_class_visualization_numerical_gradient_is_forbidden():
    forbidden("test_class_visualization", "class_visualization", """
import cnnlab as cl
def class_visualization(model, label, shape, steps, lr, l2, rng, prior=None):
    model.eval()
    x = 0.1 * rng.standard_normal(shape)
    f = lambda z: float(model.forward(z[None])[0, label])
    for _ in range(steps):
        x = x + lr * (cl.gradcheck.numerical_gradient(f, x.copy()) - 2 * l2 * x)
        if prior is not None:
            x = prior(x)
    return x
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# Realistic mistakes (tests/realistic/nb05.py): each gets its own hint and no neighbour's
# ------------------------------------------------------------------------------------------

# The words of the hint each realistic mistake must get (None: the formula or a neutral
# description, no named mistake).
OWN_HINT = {
    "normalize: one min and max for all filters": "all filters at once",
    "normalize: each channel on its own": "per channel",
    "normalize: constant filter divides by zero": "max - min = 0",
    "normalize: nan_to_num makes constant filters 0": "became 0",
    "normalize: scales the filters in place": "in place",
    "normalize: min and max across filters (axis 0)": None,
    "normalize: divides by the max only": None,
    "activations: forgets model.eval()": "Dropout layer was active",
    "activations: eval mode never restored": "left it in eval mode",
    "activations: stops before layer_index": "this is the input x",
    "activations: one layer too many": "this is the output of layer 1",
    "activations: applies only layer layer_index to x": None,
    "activations: restores only the flag model.training": "not by setting model.training",
    "activations: always back to train mode": "left it in training mode",
    "activations: eval on the layers only, never restored": "not by setting model.training",
    "activations: the whole model's output": "output of the whole model",
    "top-k: sorted ascending": "sorted ascending",
    "top-k: the largest k, smallest first": "wrong order",
    "top-k: always ranks by the max": "ranked by the max",
    "top-k: always ranks by the mean": "ranked by the mean",
    "top-k: mean over all channels": "use channel `channel` only",
    "top-k: returns the scores, not the indices": "integer indices",
    "top-k: argpartition, top k unsorted": "wrong order",
    "top-k: accepts any `by` as the mean": "must raise ValueError",
    # Dropout (train mode) happened to swap the two images: the message says what came out
    "top-k: own forward pass in training mode": "wrong order",
    "occlusion: probability drop, not score drop": "probability drops",
    "occlusion: patch placed at i * patch": "i*patch",
    "occlusion: patch of size stride": "`patch` x `patch`",
    "occlusion: fill value ignored (zeros)": "set it to `fill`",
    "occlusion: only the first channel covered": "only channel 0",
    "occlusion: forgets model.eval()": None,
    "occlusion: eval mode never restored": "left it",
    "occlusion: last position missing (range stops short)": "OH = (H - patch) // stride + 1",
    "occlusion: grid h // stride (patches past the edge)": "OH = (H - patch) // stride + 1",
    "occlusion: covers the image itself": "image itself",
    "occlusion: returns the occluded score": "occluded score",
    "occlusion: sign reversed": "sign",
    "occlusion: relative drop": None,
    "occlusion: watches the predicted class, not label": "map of class 0",
    "saliency: no absolute value": "absolute value",
    "saliency: absolute value after the max": "absolute value",
    "saliency: sums |dx| over channels": "summed over channels",
    "saliency: mean of |dx| over channels": "averaged over channels",
    "saliency: first channel only": "only channel 0",
    "saliency: gradient of the softmax probability": "softmax probability",
    "saliency: gradient of the cross-entropy loss": "log-probability",
    "saliency: backward of all scores (ones)": "sum of all scores",
    "saliency: forgets model.eval()": None,
    "saliency: eval mode never restored": "left it",
    "saliency: backward of the score itself": None,
    "class vis: forgets model.eval()": None,
    "class vis: eval mode never restored": "left it",
    "class vis: gradient descent": "DESCENT",
    "class vis: L2 term with the wrong sign": "sign of the L2 term",
    "class vis: L2 gradient without the factor 2": "factor 2 missing",
    "class vis: no L2 term": "L2 penalty missing",
    "class vis: ascends the softmax probability": "softmax probability",
    "class vis: starts from zeros": "start from",
    "class vis: start without the factor 0.1": "start from",
    "class vis: prior ignored": "prior was ignored",
    "class vis: prior before each update": "before each update",
    "class vis: fresh noise added at every step": None,
    "confusion: transposed": "transposed",
    "confusion: fancy-index += drops repeats": "counted once",
    "confusion: float counts": "integers",
    "confusion: size from the largest label": "also when some classes never occur",
    "confusion: == on Python lists": "Python list",
    "confusion: counts only the correct predictions": None,
}


def test_every_realistic_mistake_has_an_expected_hint():
    assert sorted(OWN_HINT) == sorted(m.label for m in nb05.MISTAKES)


@pytest.mark.parametrize("mistake", nb05.MISTAKES, ids=[m.label for m in nb05.MISTAKES])
def test_realistic_mistake_gets_its_own_hint(mistake):
    """The graded cell's message names this mistake's hint, and no other named hint of the same
    exercise (a hint names a mistake only when that mistake is what happened)."""
    exc = run_test_cell(NB, mistake.test_id, mistake.overrides())
    assert isinstance(exc, AssertionError), f"{mistake.label}: {exc!r}"
    message = str(exc).lower()
    own = OWN_HINT[mistake.label]
    if own is not None:
        assert own.lower() in message, f"{own!r} not in the message:\n{exc}"
    others = {
        OWN_HINT[m.label]
        for m in nb05.MISTAKES
        if m.test_id == mistake.test_id and OWN_HINT[m.label] not in (None, own)
    }
    wrong = [o for o in others if o.lower() in message and (own is None or o not in own)]
    assert not wrong, f"{mistake.label} is told about {wrong}:\n{exc}"


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
