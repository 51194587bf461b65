"""Tests of the hidden tests of 05-visualization: occlusion, saliency, class visualisation.

Each case edits the answer through a template (one field per mistake) and checks that the test
cell fails naming the mistake (``nbtools.assert_fails``); ``public=True`` when the learner's
self-check must catch it too.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes

NB = "05-visualization"
fails = partial(assert_fails, NB, hidden=True)
forbidden = partial(assert_forbidden, NB, hidden=True)
RESTORE = "model.train() if was_training else None"


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
