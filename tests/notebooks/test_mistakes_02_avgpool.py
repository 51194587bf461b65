"""The mistakes the tests of 02's average pooling (exercises 5c and 5d) name, as buggy answers.

Each case edits the solution's answer (``mutant``) or replaces it, and checks that the test cell
fails with a message naming the mistake (and not a neighbouring one); ``public=True`` where the
learner's self-check must catch it too. The realistic versions are in ``tests/realistic/
nb02_avgpool.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, mutant, run_test_cell

NB = "02-layers"
FWD, BWD = "test_avgpool_forward_naive", "test_avgpool_backward_naive"
fails = partial(assert_fails, NB)
fwd = partial(mutant, NB, "avgpool_forward_naive")
bwd = partial(mutant, NB, "avgpool_backward_naive")

REAL_PIXELS_ONLY = """
def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
    if stride is None:
        stride = size
    N, C, H, W = x.shape
    OH = (H + 2 * pad - size) // stride + 1
    OW = (W + 2 * pad - size) // stride + 1
    out = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r0, s0 = max(i * stride - pad, 0), max(j * stride - pad, 0)
                    r1, s1 = min(i * stride - pad + size, H), min(j * stride - pad + size, W)
                    out[n, c, i, j] = x[n, c, r0:r1, s0:s1].mean()
    return out, (x.shape, size, stride, pad)
"""


def test_forward_zeros_left_out_of_the_mean():
    fails(FWD, {"avgpool_forward_naive": REAL_PIXELS_ONLY}, "zeros were left out", public=True)


def test_forward_zeros_left_out_hidden_check():
    fails(FWD, {"avgpool_forward_naive": REAL_PIXELS_ONLY}, "zeros were left out", hidden=True)


def test_forward_pad_ignored():
    fails(FWD, fwd(("(pad, pad), (pad, pad)", "(0, 0), (0, 0)")), "pad ignored", public=True)


def test_forward_sum_not_mean():
    fails(FWD, fwd(("s : s + size].mean()", "s : s + size].sum()")), "the sum of each window",
          public=True)  # fmt: skip


def test_forward_sum_not_mean_hidden_check():
    fails(FWD, fwd(("s : s + size].mean()", "s : s + size].sum()")), "the sum of each window",
          hidden=True)  # fmt: skip


def test_forward_window_moved_by_size():
    message = fails(FWD, fwd(("r, s = i * stride, j * stride", "r, s = i * size, j * size")),
                    "stride", hidden=True, visible=False)  # fmt: skip
    assert "zeros were left out" not in message


def test_forward_cache_without_pad():
    fails(
        FWD,
        fwd(("stride, pad)\n", "stride)\n")),
        "cache",
    )


def test_forward_cache_padded_shape():
    fails(FWD, fwd(("return out, (x.shape,", "return out, (x_p.shape,")),
          "UNPADDED", hidden=True)  # fmt: skip


def test_forward_library_only():
    assert_forbidden(
        NB,
        FWD,
        "avgpool_forward_naive",
        """
def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
    stride = size if stride is None else stride
    x_p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return cl.layers.avgpool_forward(x_p, size, stride=stride)[0], (x.shape, size, stride, pad)
""",
    )


def test_forward_uniform_filter_only():
    assert_forbidden(
        NB,
        FWD,
        "avgpool_forward_naive",
        """
def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
    import scipy.ndimage
    stride = size if stride is None else stride
    x_p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    m = scipy.ndimage.uniform_filter(x_p, size=(1, 1, size, size), mode="constant")
    lo = (size - 1) // 2
    hi, wi = x_p.shape[2] - size + 1, x_p.shape[3] - size + 1
    out = m[:, :, lo : lo + hi : stride, lo : lo + wi : stride]
    return out, (x.shape, size, stride, pad)
""",
    )


# --------------------------------------------------------------------------------------------
# avgpool_backward_naive
# --------------------------------------------------------------------------------------------
CROP = "return dx_p[:, :, pad : pad + H, pad : pad + W]"
BACKWARD_MISTAKES = {
    "not cropped": (("return dx_p[:, :, pad : pad + H, pad : pad + W]", "return dx_p"),
                    "not cropped"),
    "overwritten": (("+= dout[n, c, i, j]", "= dout[n, c, i, j]"), "overwritten"),
    "no division": (("dout[n, c, i, j] / (size * size)", "dout[n, c, i, j]"),
                    "not divided by size * size"),
    "empty crop": ((CROP, "return dx_p[:, :, pad:-pad, pad:-pad]"), "is empty"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(BACKWARD_MISTAKES))
def test_backward_mistakes_named(mistake):
    edit, needle = BACKWARD_MISTAKES[mistake]
    fails(BWD, bwd(edit), needle, public=True)


@pytest.mark.parametrize("mistake", ["overwritten", "no division"])
def test_backward_mistakes_named_by_the_hidden_part(mistake):
    edit, needle = BACKWARD_MISTAKES[mistake]
    fails(BWD, bwd(edit), needle, hidden=True)


def test_backward_real_pixels_only():
    fails(
        BWD,
        {
            "avgpool_backward_naive": """
def avgpool_backward_naive(dout, cache):
    x_shape, size, stride, pad = cache
    N, C, H, W = x_shape
    _, _, OH, OW = dout.shape
    dx = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r0, s0 = max(i * stride - pad, 0), max(j * stride - pad, 0)
                    r1, s1 = min(i * stride - pad + size, H), min(j * stride - pad + size, W)
                    dx[n, c, r0:r1, s0:s1] += dout[n, c, i, j] / ((r1 - r0) * (s1 - s0))
    return dx
"""
        },
        "number of real pixels",
        public=True,
    )


def test_backward_overwrite_is_not_told_about_the_divisor():
    message = fails(BWD, bwd(BACKWARD_MISTAKES["overwritten"][0]), "overwritten")
    assert "not divided" not in message and "real pixels" not in message


def test_backward_is_graded_on_its_own():
    """A broken forward pass does not cost the backward exercise: its test builds the cache."""
    assert run_test_cell(NB, BWD, fwd(("s : s + size].mean()", "s : s + size].sum()"))) is None


def test_backward_library_only():
    assert_forbidden(
        NB,
        BWD,
        "avgpool_backward_naive",
        """
def avgpool_backward_naive(dout, cache):
    x_shape, size, stride, pad = cache
    n, c, h, w = x_shape
    _, lib = cl.layers.avgpool_forward(np.zeros((n, c, h + 2 * pad, w + 2 * pad)), size,
                                       stride=stride)
    return cl.layers.avgpool_backward(dout, lib)[:, :, pad : pad + h, pad : pad + w]
""",
    )
