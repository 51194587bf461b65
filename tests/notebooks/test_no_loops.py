"""The exercises whose text says "no loops" fail a loop version, in the public self-check.

A loop version gives the same numbers, so ``T.assert_no_loops`` reads the learner's ``def``
(:mod:`cnnlab.sources`). Each loop answer below is correct: only the loop check can fail it.
"""

from __future__ import annotations

import pytest
from nbtools import answer_source, assert_fails, assert_passes, mutant

NB01, NB02, NB06 = "01-convolution", "02-layers", "06-beyond-classification"

PRODUCT = "    out = cols @ w.reshape(f, -1).T + b  # (N*OH*OW, F)"
CONV_IM2COL_LOOPS = {  # the solution with its one product replaced by a loop
    "over the windows": (
        "    out = np.empty((len(cols), f))\n"
        "    for r in range(len(cols)):\n"
        "        out[r] = w.reshape(f, -1) @ cols[r] + b"
    ),
    "over the filters, in a comprehension": (
        "    out = np.stack([cols @ w[k].ravel() + b[k] for k in range(f)], axis=1)"
    ),
}

CONV1X1_LOOPS = {
    "over the pixels": """
def conv1x1_as_matmul(x, w, b):
    n, c, h, wd = x.shape
    out = np.empty((n, len(w), h, wd))
    for r in range(h):
        for t in range(wd):
            out[:, :, r, t] = x[:, :, r, t] @ w[:, :, 0, 0].T + b
    return out
""",
    "a while loop over the images": """
def conv1x1_as_matmul(x, w, b):
    out, k = [], 0
    while k < len(x):
        out.append(np.einsum("fc,chw->fhw", w[:, :, 0, 0], x[k]) + b[:, None, None])
        k += 1
    return np.stack(out)
""",
}


@pytest.mark.parametrize("loop", sorted(CONV_IM2COL_LOOPS))
def test_conv_forward_im2col_loops_fail_the_self_check(loop):
    overrides = mutant(NB01, "conv_forward_im2col", (PRODUCT, CONV_IM2COL_LOOPS[loop]))
    assert_fails(NB01, "test_conv_forward_im2col", overrides, "without Python loops",
                 "loops over the data", "line ", public=True)  # fmt: skip


@pytest.mark.parametrize("loop", sorted(CONV1X1_LOOPS))
def test_conv1x1_loops_fail_the_self_check(loop):
    overrides = {"conv1x1_as_matmul": CONV1X1_LOOPS[loop]}
    assert_fails(NB02, "test_conv1x1_as_matmul", overrides, "without Python loops",
                 "loops over the data", public=True)  # fmt: skip


def test_a_fixed_loop_to_check_the_inputs_is_not_a_loop_over_the_data():
    checked = mutant(NB02, "conv1x1_as_matmul", (
        '    out = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x)',
        '    for name, a in (("x", x), ("w", w)):\n'
        '        assert a.ndim == 4, f"{name} must be 4-d"\n'
        '    out = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x)',
    ))  # fmt: skip
    assert_passes(NB02, "test_conv1x1_as_matmul", checked)


def test_a_function_without_def_is_told_the_check_reads_the_code():
    lam = {"conv1x1_as_matmul": (
        "conv1x1_as_matmul = lambda x, w, b: "
        'np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[None, :, None, None]\n'
    )}  # fmt: skip
    assert_fails(NB02, "test_conv1x1_as_matmul", lam, "no `def conv1x1_as_matmul(...)` ran")


def test_the_last_definition_is_the_one_read():
    """A loop version redefined loop-free in a later cell passes, as the later def is the one
    that runs; the reverse order fails."""
    good = answer_source(NB02, "conv1x1_as_matmul")
    loop = CONV1X1_LOOPS["over the pixels"]
    assert_passes(NB02, "test_conv1x1_as_matmul", {"conv1x1_as_matmul": loop + "\n" + good})
    assert_fails(NB02, "test_conv1x1_as_matmul", {"conv1x1_as_matmul": good + "\n" + loop},
                 "loops over the data")  # fmt: skip


IOU_LOOP = """
def iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 4 or b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {a.shape} and {b.shape}")
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            w = max(0.0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
            h = max(0.0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
            union = ((a[i, 2] - a[i, 0]) * (a[i, 3] - a[i, 1])
                     + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - w * h)
            out[i, j] = w * h / union if union > 0 else 0.0
    return out
"""

PIXEL_CE_LOOP = """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    n, k, h, w = scores.shape
    m = int((labels != ignore_index).sum())
    loss, dscores = 0.0, np.zeros(scores.shape)
    for i in range(n):
        for r in range(h):
            for t in range(w):
                if labels[i, r, t] == ignore_index:
                    continue
                s = scores[i, :, r, t] - scores[i, :, r, t].max()
                p = np.exp(s) / np.exp(s).sum()
                loss -= (s[labels[i, r, t]] - np.log(np.exp(s).sum())) / m
                p[labels[i, r, t]] -= 1
                dscores[i, :, r, t] = p / m
    return float(loss), dscores
"""


def test_iou_loops_fail_the_self_check():
    assert_fails(NB06, "test_iou", {"iou": IOU_LOOP}, "without Python loops",
                 "loops over the data", public=True)  # fmt: skip


def test_pixel_cross_entropy_loops_fail_the_self_check():
    assert_fails(NB06, "test_pixel_cross_entropy", {"pixel_cross_entropy": PIXEL_CE_LOOP},
                 "without Python loops", "loops over the data", public=True)  # fmt: skip
