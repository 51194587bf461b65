"""Sections 4 and 5 of 06-beyond-classification: every mistake its tests name, and neighbours.

Each named mistake replaces one answer cell of
``solutions/06-beyond-classification/beyond_classification.py`` and the test cell must fail
with a message naming it; its nearest wrong variants must fail WITHOUT that message (a hint
names a mistake only when that mistake is what happened). Library shortcuts earn nothing. That
the solution passes every test cell is checked by ``test_every_notebook.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    graded_ids,
    run_hidden_part,
    run_test_cell,
)

NB = "06-beyond-classification"

fails = partial(assert_fails, NB)


def hint_of(message: str) -> str:
    """The hint lines of a failure message (the name before them may mention anything)."""
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


# --------------------------------------------------------------------------------------------
# The buggy answers, built from the solution's shape with one thing changed
# --------------------------------------------------------------------------------------------
FORWARD = """
def conv_transpose_forward(x, w, b, *, stride=1, pad=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    OH = (H - 1) * stride - 2 * pad + KH
    OW = (W - 1) * stride - 2 * pad + KW
    canvas = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                r, c = i * stride, j * stride
                canvas[n, :, r : r + KH, c : c + KW] += np.tensordot(x[n, :, i, j], KERNEL, axes=1)
    out = CROP + b[None, :, None, None]
    return out, (x, w, b, stride, pad)
"""


def forward(crop="canvas[:, :, pad : pad + OH, pad : pad + OW]", kernel="w", edit=None):
    source = FORWARD.replace("CROP", crop).replace("KERNEL", kernel)
    if edit:
        source = source.replace(*edit)
    return {"conv_transpose_forward": source}


BACKWARD = """
def conv_transpose_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dcanvas = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                r, c = i * stride, j * stride
                window = dcanvas[n, :, r : r + KH, c : c + KW]
                dx[n, :, i, j] = np.tensordot(w, window, axes=3)
                dw += x[n, :, i, j][:, None, None, None] * window[None]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
"""


def backward(*edits):
    source = BACKWARD
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    return {"conv_transpose_backward": source}


PIXEL = """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    N = scores.shape[0]
    labelled = labels != ignore_index
    m = labelled.sum()
    safe = np.where(labelled, labels, 0)[:, None]
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    picked = np.take_along_axis(logp, safe, axis=1)[:, 0]
    loss = -float(picked[labelled].sum() / m)
    dscores = np.exp(logp)
    np.put_along_axis(dscores, safe, np.take_along_axis(dscores, safe, axis=1) - 1, axis=1)
    dscores *= labelled[:, None] / m
    return loss, dscores
"""


def pixel(*edits):
    source = PIXEL
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    return {"pixel_cross_entropy": source}


PER_IMAGE_LOSS = (
    "loss = -float(picked[labelled].sum() / m)",
    "loss = -float(np.mean([p[l].mean() for p, l in zip(picked, labelled)]))",
)
PER_IMAGE_GRAD = (
    "dscores *= labelled[:, None] / m",
    "dscores *= labelled[:, None] / (N * labelled.sum(axis=(1, 2))[:, None, None, None])",
)

IOU = """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in CLASSES:
        p, t = pred == c, truth == c
        union = UNION
        if union:
            ious.append(np.sum(p & t) / union)
        ABSENT
    return float(np.mean(ious))
"""


def iou(classes="range(num_classes)", union="np.sum(p | t)", absent=""):
    source = IOU.replace("CLASSES", classes).replace("UNION", union)
    source = source.replace("ABSENT", absent or "pass")
    return {"mean_iou": source}


IOU_PER_IMAGE = {
    "mean_iou": """
def mean_iou(pred, truth, num_classes):
    means = []
    for p_img, t_img in zip(pred, truth):
        ious = []
        for c in range(num_classes):
            union = np.sum((p_img == c) | (t_img == c))
            if union:
                ious.append(np.sum((p_img == c) & (t_img == c)) / union)
        means.append(np.mean(ious))
    return float(np.mean(means))
"""
}


def finetune(body):
    return {"finetune_lr_scale": f"def finetune_lr_scale(model, n_pretrained, scale):\n{body}\n"}


VARIANTS = {
    # conv_transpose_forward
    "fwd nothing cropped": forward(crop="canvas"),
    "fwd pad added": forward(crop="np.pad(canvas, ((0, 0), (0, 0), (pad, pad), (pad, pad)))"),
    "fwd cropped at the start only": forward(crop="canvas[:, :, pad:, pad:]"),
    "fwd cropped at the end only": forward(crop="canvas[:, :, :OH, :OW]"),
    "fwd cropped with pad:-pad": forward(crop="canvas[:, :, pad:-pad, pad:-pad]"),
    "fwd H * stride": forward(crop="canvas[:, :, pad : pad + H * stride, pad : pad + W * stride]"),
    "fwd conv formula": forward(
        crop="canvas[:, :, pad : pad + (H + 2 * pad - KH) // stride + 1, "
        "pad : pad + (W + 2 * pad - KW) // stride + 1]"
    ),
    "fwd stride ignored": forward(edit=("r, c = i * stride, j * stride", "r, c = i, j")),
    "fwd kernel flipped": forward(kernel="w[:, :, ::-1, ::-1]"),
    "fwd layout swapped": forward(kernel="w.transpose(1, 0, 2, 3)"),
    "fwd bias missing": forward(edit=(" + b[None, :, None, None]", "")),
    "fwd bias with every stamp": forward(edit=("axes=1)", "axes=1) + b[:, None, None]")),
    # conv_transpose_backward
    "bwd kernel flipped": backward(("= cache", "= cache\n    w = w[:, :, ::-1, ::-1]")),
    "bwd stride ignored": backward(("r, c = i * stride, j * stride", "r, c = i, j")),
    "bwd dw reset per image": backward(
        ("    for n in range(N):\n", "    for n in range(N):\n        dw = np.zeros(w.shape)\n")
    ),  # fmt: skip
    "bwd dw averaged": backward(("    db = dout", "    dw /= N\n    db = dout")),
    "bwd dw layout": backward(("return dx, dw, db", "return dx, dw.transpose(1, 0, 2, 3), db")),
    "bwd dx layout": backward(
        ("axes=3)", "axes=3) * 0 + np.tensordot(w.transpose(1, 0, 2, 3), window, axes=3)")
    ),  # fmt: skip
    "bwd db one image": backward(
        ("db = dout.sum(axis=(0, 2, 3))", "db = dout[-1].sum(axis=(1, 2))")
    ),
    "bwd db space only": backward(("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3))")),
    "bwd db batch only": backward(("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=0)")),
    "bwd db mean": backward(("db = dout.sum(axis=(0, 2, 3))", "db = dout.mean(axis=(0, 2, 3))")),
    "bwd db mean over batch": backward(
        ("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(0, 2, 3)) / N")
    ),  # fmt: skip
    # pixel_cross_entropy
    "ce per image": pixel(PER_IMAGE_LOSS, PER_IMAGE_GRAD),
    "ce ignored counted": pixel(("m = labelled.sum()", "m = labels.size")),
    "ce -1 as a class": pixel(
        ("labelled = labels != ignore_index", "labelled = np.ones(labels.shape, bool)"),
        (
            "safe = np.where(labelled, labels, 0)[:, None]",
            "safe = labels[:, None] % scores.shape[1]",
        ),
    ),
    "ce divided by N": pixel(
        ("picked[labelled].sum() / m", "picked[labelled].sum() / N"),
        ("labelled[:, None] / m", "labelled[:, None] / N"),
    ),  # fmt: skip
    "ce summed": pixel(
        ("picked[labelled].sum() / m", "picked[labelled].sum()"),
        ("labelled[:, None] / m", "labelled[:, None] * 1.0"),
    ),  # fmt: skip
    "ce grad not divided": pixel(("labelled[:, None] / m", "labelled[:, None] * 1.0")),
    "ce grad at ignored pixels": pixel(("dscores *= labelled[:, None] / m", "dscores /= m")),
    "ce no max shift": pixel(("scores - scores.max(axis=1, keepdims=True)", "scores")),
    "ce global max": pixel(("scores.max(axis=1, keepdims=True)", "scores.max()")),
    "ce ignore_index fixed": pixel(("labels != ignore_index", "labels != -1")),
    # mean_iou
    "iou absent as 0": iou(absent="else:\n            ious.append(0.0)"),
    "iou absent as nan": iou(absent="else:\n            ious.append(np.nan)"),
    "iou background left out": iou(classes="range(1, num_classes)"),
    "iou per image": IOU_PER_IMAGE,
    "iou truth classes only": iou(classes="np.unique(truth)"),
    "iou union as sum": iou(union="np.sum(p) + np.sum(t)"),
    # finetune_lr_scale
    "ft one too many": finetune(
        "    return {f'{i}.': scale for i in range(n_pretrained + 1) if model.layers[i].params}"
    ),
    "ft one too few": finetune(
        "    return {f'{i}.': scale for i in range(n_pretrained - 1) if model.layers[i].params}"
    ),
    "ft swapped": finetune(
        "    return {'': 1.0, **{f'{i}.': scale for i in range(n_pretrained, len(model.layers))"
        " if model.layers[i].params}}"
    ),
    "ft weights only": finetune(
        "    return {f'{i}.w': scale for i in range(n_pretrained) if model.layers[i].params}"
    ),
    "ft counted with params": finetune(
        "    idx = [i for i, layer in enumerate(model.layers) if layer.params]\n"
        "    return {f'{i}.': scale for i in idx[:n_pretrained]}"
    ),
    "ft no dot": finetune(
        "    return {str(i): scale for i in range(n_pretrained) if model.layers[i].params}"
    ),
    "ft key for every layer": finetune("    return {f'{i}.': scale for i in range(n_pretrained)}"),
}

TEST_OF = {
    "fwd": "test_conv_transpose_forward",
    "bwd": "test_conv_transpose_backward",
    "ce": "test_pixel_cross_entropy",
    "iou": "test_mean_iou",
    "ft": "test_finetune_lr_scale",
}

# (variant, the words its message must contain, must the public part alone catch it?)
NAMED = [
    ("fwd nothing cropped", "nothing cropped", True),
    ("fwd pad added", "pad added instead of cropped", True),
    ("fwd cropped at the start only", "cropped at the start only", True),
    ("fwd cropped at the end only", "cropped at the end only", True),
    ("fwd H * stride", "not H * stride", True),
    ("fwd conv formula", "shrinks the map", True),
    ("fwd stride ignored", "stride ignored", True),
    ("fwd kernel flipped", "kernel was flipped", True),
    ("fwd layout swapped", "w read as (C_out, C_in", True),
    ("fwd bias missing", "bias missing", True),
    ("bwd kernel flipped", "kernel was flipped", True),
    ("bwd stride ignored", "stride ignored", True),
    ("bwd dw reset per image", "dw not summed over the batch", True),
    ("bwd dw averaged", "dw averaged over the batch", True),
    ("bwd dw layout", "layout (C_in, C_out, KH, KW)", True),
    ("bwd dx layout", "layout (C_in, C_out, KH, KW)", True),
    ("bwd db one image", "db not summed over the batch", True),
    ("bwd db space only", "db not summed over the batch", True),
    ("bwd db batch only", "db not summed over the positions", True),
    ("bwd db mean", "db averaged: b[c_out] was ADDED", True),
    ("bwd db mean over batch", "db averaged over the batch", False),
    ("ce per image", "averaged inside each image", True),
    ("ce ignored counted", "counted in the mean", True),
    ("ce -1 as a class", "label -1 was used as a class", True),
    ("ce divided by N", "divided by N", True),
    ("ce summed", "summed, not averaged", True),
    ("ce grad not divided", "dscores not divided by M", True),
    ("ce grad at ignored pixels", "the ignored pixel got a gradient", True),
    ("ce no max shift", "max shift", True),
    ("ce global max", "not the maximum of the whole array", True),
    ("iou absent as 0", "counted as IoU 0", True),
    ("iou absent as nan", "0 / 0", True),
    ("iou background left out", "background (class 0) was left out", True),
    ("iou per image", "image by image", True),
    ("iou truth classes only", "only the classes of the truth", True),
    ("iou union as sum", "counts the intersection twice", True),
    ("ft one too many", "first NEW layer", True),
    ("ft one too few", "was left out", True),
    ("ft swapped", "not the other way round", True),
    ("ft weights only", "biases of a layer", True),
    ("ft counted with params", "counts every layer", True),
    ("ft no dot", "without its dot", True),
    ("ft key for every layer", "matches no parameter", True),
]

# (variant, words its message must NOT contain in the hint): the nearest wrong variants of a
# named mistake are not told that mistake.
NOT_NAMED = [
    ("fwd pad added", "nothing cropped"),
    ("fwd nothing cropped", "pad added"),
    ("fwd cropped at the start only", "nothing cropped"),
    ("fwd cropped at the start only", "end only"),
    ("fwd cropped at the end only", "start only"),
    ("fwd kernel flipped", "stride ignored"),
    ("fwd kernel flipped", "w read as"),
    ("fwd layout swapped", "flipped"),
    ("fwd stride ignored", "flipped"),
    ("fwd bias with every stamp", "bias missing"),
    ("bwd kernel flipped", "stride ignored"),
    ("bwd stride ignored", "flipped"),
    ("bwd dw averaged", "not summed"),
    ("bwd dw reset per image", "averaged"),
    ("bwd db mean", "not summed"),
    ("bwd db mean", "averaged over the batch"),
    ("bwd db mean over batch", "ADDED to every output pixel"),
    ("bwd db one image", "averaged"),
    ("bwd db space only", "positions"),
    ("bwd db batch only", "not summed over the batch"),
    ("ce per image", "counted in the mean"),
    ("ce ignored counted", "inside each image"),
    ("ce divided by N", "inside each image"),
    ("ce grad not divided", "ignored pixel got a gradient"),
    ("ce grad at ignored pixels", "not divided by M"),
    ("iou per image", "counted as IoU 0"),
    ("iou absent as 0", "image by image"),
    ("iou background left out", "counted as IoU 0"),
    ("iou truth classes only", "absent"),
    ("ft one too many", "was left out"),
    ("ft one too few", "first NEW layer"),
    ("ft weights only", "first NEW layer"),
    ("ft swapped", "first NEW layer"),
    ("ft no dot", "first NEW layer"),
]


def _test_id(variant: str) -> str:
    return TEST_OF[variant.split()[0]]


@pytest.mark.parametrize("variant, needle, public", NAMED, ids=[v for v, _, _ in NAMED])
def test_named_mistake(variant, needle, public):
    fails(_test_id(variant), VARIANTS[variant], needle, public=public)


@pytest.mark.parametrize("variant, needle", NOT_NAMED, ids=[f"{v}-not-{n}" for v, n in NOT_NAMED])
def test_neighbour_is_not_told_the_mistake(variant, needle):
    exc = run_test_cell(NB, _test_id(variant), VARIANTS[variant])
    assert isinstance(exc, AssertionError), f"{variant}: {exc!r}"
    assert needle.lower() not in hint_of(str(exc)).lower(), f"{variant} was told {needle!r}:\n{exc}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_fails(variant):
    assert run_test_cell(NB, _test_id(variant), VARIANTS[variant]) is not None


# --------------------------------------------------------------------------------------------
# Hidden checks that are alive on their own
# --------------------------------------------------------------------------------------------


def test_forward_pad_zero_crop_named_by_the_hidden_part():
    """canvas[:, :, pad:-pad] is right for pad >= 1 (the public examples) and empty for pad 0."""
    fails(
        "test_conv_transpose_forward",
        VARIANTS["fwd cropped with pad:-pad"],
        "empty when pad = 0",
        hidden=True,
    )


def test_pixel_ignore_index_argument_checked_by_the_hidden_part():
    exc = run_hidden_part(NB, "test_pixel_cross_entropy", VARIANTS["ce ignore_index fixed"])
    assert exc is not None


def test_iou_truth_only_caught_by_the_hidden_part():
    fails("test_mean_iou", VARIANTS["iou truth classes only"], "mean_iou", hidden=True)


@pytest.mark.parametrize("variant", ["bwd dw averaged", "bwd db mean over batch"])
def test_backward_batch_mistakes_caught_by_the_hidden_part(variant):
    fails(_test_id(variant), VARIANTS[variant], "averaged over the batch", hidden=True)


@pytest.mark.parametrize("variant", ["ft one too many", "ft no dot", "ft swapped"])
def test_finetune_mistakes_caught_by_the_hidden_part(variant):
    assert run_hidden_part(NB, _test_id(variant), VARIANTS[variant]) is not None


# --------------------------------------------------------------------------------------------
# Library shortcuts earn nothing
# --------------------------------------------------------------------------------------------


def test_conv_transpose_forward_library_only():
    assert_forbidden(
        NB,
        "test_conv_transpose_forward",
        "conv_transpose_forward",
        """
def conv_transpose_forward(x, w, b, *, stride=1, pad=0):
    out, _ = cl.layers.conv_transpose_forward(x, w, b, stride=stride, pad=pad)
    return out, (x, w, b, stride, pad)
""",
        public=True,
    )


def test_conv_transpose_forward_via_conv_backward():
    assert_forbidden(
        NB,
        "test_conv_transpose_forward",
        "conv_transpose_forward",
        """
def conv_transpose_forward(x, w, b, *, stride=1, pad=0):
    n, _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    big = np.zeros((n, c_out, (h - 1) * stride - 2 * pad + kh, (wd - 1) * stride - 2 * pad + kw))
    _, cache = cl.layers.conv_forward(big, w, np.zeros(len(w)), stride=stride, pad=pad)
    out = cl.layers.conv_backward(x, cache)[0] + b[None, :, None, None]
    return out, (x, w, b, stride, pad)
""",
    )


def test_conv_transpose_backward_library_only():
    assert_forbidden(
        NB,
        "test_conv_transpose_backward",
        "conv_transpose_backward",
        """
def conv_transpose_backward(dout, cache):
    x, w, b, stride, pad = cache
    _, lib_cache = cl.layers.conv_transpose_forward(x, w, b, stride=stride, pad=pad)
    return cl.layers.conv_transpose_backward(dout, lib_cache)
""",
        public=True,
    )


def test_pixel_cross_entropy_library_only():
    assert_forbidden(
        NB,
        "test_pixel_cross_entropy",
        "pixel_cross_entropy",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    rows = np.moveaxis(scores, 1, -1)
    keep = labels != ignore_index
    loss, d = cl.layers.softmax_cross_entropy(rows[keep], labels[keep])
    grad = np.zeros(rows.shape)
    grad[keep] = d
    return loss, np.moveaxis(grad, -1, 1)
""",
        public=True,
    )


def test_mean_iou_library_only():
    assert_forbidden(
        NB,
        "test_mean_iou",
        "mean_iou",
        """
def mean_iou(pred, truth, num_classes):
    from sklearn.metrics import jaccard_score
    present = np.union1d(np.unique(pred), np.unique(truth))
    return float(jaccard_score(truth.ravel(), pred.ravel(), labels=present, average="macro"))
""",
        public=True,
    )


# --------------------------------------------------------------------------------------------
# The solution passes every test cell; stubs fail every one
# --------------------------------------------------------------------------------------------


def test_no_exercise_calls_another():
    """No answer of sections 4-5 calls another answer, so none needs T.reference_helpers."""
    answers = graded_ids(NB)[0]
    mine = answers[answers.index("conv_transpose_forward") :]
    from nbtools import cells

    for _, meta, source in cells(NB):
        if meta.get("grade_id") in mine:
            body = source.split('"""', 2)[-1]
            called = [a for a in answers if a != meta["grade_id"] and f"{a}(" in body]
            assert not called, f"{meta['grade_id']} calls {called}: grade it with reference_helpers"
