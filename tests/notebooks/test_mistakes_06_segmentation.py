"""Section 4 of 06-beyond-classification, the transposed convolution: every mistake its tests
name, and neighbours.

Each named mistake replaces one answer cell of
``solutions/06-beyond-classification/beyond_classification.py`` and the test cell must fail
with a message naming it; its nearest wrong variants must fail WITHOUT that message (a hint
names a mistake only when that mistake is what happened). Library shortcuts earn nothing. That
the solution passes every test cell is checked by ``test_every_notebook.py``. The per-pixel loss,
mean IoU and section 5 are in ``test_mistakes_06_segmentation_loss.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    graded_ids,
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
}

TEST_OF = {"fwd": "test_conv_transpose_forward", "bwd": "test_conv_transpose_backward"}

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


@pytest.mark.parametrize("variant", ["bwd dw averaged", "bwd db mean over batch"])
def test_backward_batch_mistakes_caught_by_the_hidden_part(variant):
    fails(_test_id(variant), VARIANTS[variant], "averaged over the batch", hidden=True)


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
