"""Sections 4 and 5 of 06-beyond-classification after the transposed convolution: the per-pixel
loss, mean IoU and the fine-tuning rates; every mistake their tests name, and neighbours.

As in ``test_mistakes_06_segmentation.py``: each named mistake must be named, its nearest wrong
variants must fail WITHOUT that message, and library shortcuts earn nothing.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
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

TEST_OF = {"ce": "test_pixel_cross_entropy", "iou": "test_mean_iou", "ft": "test_finetune_lr_scale"}

# (variant, the words its message must contain, must the public part alone catch it?)
NAMED = [
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


def test_pixel_ignore_index_argument_checked_by_the_hidden_part():
    exc = run_hidden_part(NB, "test_pixel_cross_entropy", VARIANTS["ce ignore_index fixed"])
    assert exc is not None


def test_iou_truth_only_caught_by_the_hidden_part():
    fails("test_mean_iou", VARIANTS["iou truth classes only"], "mean_iou", hidden=True)


@pytest.mark.parametrize("variant", ["ft one too many", "ft no dot", "ft swapped"])
def test_finetune_mistakes_caught_by_the_hidden_part(variant):
    assert run_hidden_part(NB, _test_id(variant), VARIANTS[variant]) is not None


# --------------------------------------------------------------------------------------------
# Library shortcuts earn nothing
# --------------------------------------------------------------------------------------------


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
