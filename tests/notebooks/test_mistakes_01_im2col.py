"""Tests of the hidden tests of 01-convolution, exercises 9 and 10: ``im2col`` and the layer on it.

Every named mistake is named (see test_mistakes_01); both exercises are graded on their own when
the helpers they call are buggy; wrappers around a library or the loop version earn nothing.
"""

from __future__ import annotations

import pytest
from nbtools import assert_passes, mutant, run_public_part, run_test_cell
from test_mistakes_01 import (
    BUGGY_PAD,
    BUGGY_SIZE,
    NB,
    fails,
    fails_naming_only,
    forbidden,
    independent,
)

# ------------------------------------------------------------------------------------------
# im2col
# ------------------------------------------------------------------------------------------

IM2COL_BODY = """
def im2col(x, kh, kw, *, stride=1, pad=0):
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(w, kw, stride, pad)
    xp = zero_pad(x, pad)
    rows = []
    for {loops}:
        win = {source}[:, :, {place}]  # (N, C, KH, KW)
        rows.append({flat})
    cols = np.stack(rows, axis=1)  # (N, OH*OW, K)
    return {ret}
"""
IM2COL = {
    "loops": "i, j in [(i, j) for i in range(oh) for j in range(ow)]",
    "source": "xp",
    "place": "i * stride : i * stride + kh, j * stride : j * stride + kw",
    "flat": "win.reshape(n, -1)",
    "ret": "cols.reshape(n * oh * ow, c * kh * kw)",
}
IM2COL_MISTAKES = {
    "columns_channels_last": ({"flat": "win.transpose(0, 2, 3, 1).reshape(n, -1)"},
                              "columns in another order"),
    "columns_kernel_transposed": ({"flat": "win.transpose(0, 1, 3, 2).reshape(n, -1)"},
                                  "columns in another order"),
    "rows_j_outer": ({"loops": "i, j in [(i, j) for j in range(ow) for i in range(oh)]"},
                     "rows in another order"),
    "rows_batch_last": ({"ret": "cols.transpose(1, 0, 2).reshape(n * oh * ow, c * kh * kw)"},
                        "rows in another order"),
    "transposed": ({"ret": "cols.reshape(n * oh * ow, c * kh * kw).T"}, "matrix transposed"),
    "stride_ignored": ({"place": "i : i + kh, j : j + kw"}, "stride ignored when placing"),
    "off_by_one": ({"loops": "i, j in [(i, j) for i in range(oh - 1) for j in range(ow - 1)]",
                    "ret": "cols.reshape(n * (oh - 1) * (ow - 1), c * kh * kw)"}, "off-by-one"),
    "padding_ignored": (
        {"loops": "i, j in [(i, j) for i in range((h - kh) // stride + 1)"
                  " for j in range((w - kw) // stride + 1)]",
         "ret": "cols.reshape(-1, c * kh * kw)"},
        "padding ignored",
    ),
    "unpadded_windows": ({"source": "x"}, "every window has shape"),
    "kh_kw_swapped": ({"place": "i * stride : i * stride + kw, j * stride : j * stride + kh"},
                      "kh and kw swapped"),
}  # fmt: skip
IM2COL_NEEDLES = [needle for _, needle in IM2COL_MISTAKES.values()]


@pytest.mark.parametrize("mistake", sorted(IM2COL_MISTAKES))
def test_im2col_mistakes(mistake):
    changes, needle = IM2COL_MISTAKES[mistake]
    source = IM2COL_BODY.format(**{**IM2COL, **changes})
    fails_naming_only("test_im2col", {"im2col": source}, needle, IM2COL_NEEDLES, public=True)


def test_im2col_loop_over_positions_passes():
    """The loop-over-windows version of the hint is a correct answer too."""
    src = IM2COL_BODY.format(**IM2COL)
    assert_passes(NB, "test_im2col", overrides={"im2col": src})


def test_im2col_library_only():
    forbidden("test_im2col", "im2col", """
import cnnlab as cl
def im2col(x, kh, kw, *, stride=1, pad=0):
    return cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)
""")  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [{"conv_output_size": BUGGY_SIZE}, {"zero_pad": BUGGY_PAD}],
    ids=["size_stride_ignored", "pad_all_axes"],
)
def test_im2col_graded_on_its_own(overrides):
    independent("test_im2col", overrides)


# ------------------------------------------------------------------------------------------
# conv_forward_im2col
# ------------------------------------------------------------------------------------------

FAST_BODY = """
def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
    n, c, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(wid, kw, stride, pad)
    cols = {cols}
    w_mat = {w_mat}
    out = cols @ w_mat.T{bias}
    return {ret}
"""
FAST = {
    "cols": "im2col(x, kh, kw, stride=stride, pad=pad)",
    "w_mat": "w.reshape(f, -1)",
    "bias": " + b",
    "ret": "out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)",
}
FAST_MISTAKES = {
    "reshape_without_transpose": ({"ret": "out.reshape(n, f, oh, ow)"}, "reshaped straight"),
    # same memory layout as the straight reshape, so the visible example names that fix
    "axes_not_moved": ({"ret": "out.reshape(n, oh, ow, f)"}, "reshaped straight"),
    "rows_columns_swapped": ({"ret": "out.reshape(n, oh, ow, f).transpose(0, 3, 2, 1)"},
                             "rows and columns swapped"),
    "flipped_kernel": ({"w_mat": "w[:, :, ::-1, ::-1].reshape(f, -1)"}, "flipped kernel"),
    "bias_missing": ({"bias": ""}, "bias missing"),
    "bias_wrong_axis": (
        {"bias": "", "ret": "out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2) + b"},
        "wrong axis",
    ),
    "weights_channels_last": ({"w_mat": "w.transpose(0, 2, 3, 1).reshape(f, -1)"},
                              "weights reshaped in another order"),
    "weights_minus_one_first": ({"w_mat": "w.reshape(-1, f).T"}, "w.reshape(-1, F)"),
    "kernel_transposed": ({"w_mat": "w.transpose(0, 1, 3, 2).reshape(f, -1)"},
                          "kernel axes transposed"),
    "channel_0_only": (
        {"w_mat": "np.concatenate([w[:, :1], 0 * w[:, 1:]], axis=1).reshape(f, -1)"},
        "used only channel 0",
    ),
    "im2col_without_stride_and_pad": ({"cols": "im2col(x, kh, kw)"},
                                      "im2col was called with stride=1, pad=0"),
    "im2col_without_pad": ({"cols": "im2col(x, kh, kw, stride=stride)"},
                           "im2col was called with stride=2, pad=0"),
    "im2col_kernel_swapped": ({"cols": "im2col(x, kw, kh, stride=stride, pad=pad)"},
                              "im2col was called with a 2 x 3 window"),
}  # fmt: skip
FAST_NEEDLES = [needle for _, needle in FAST_MISTAKES.values()]
FAST_HIDDEN_ONLY = {"im2col_kernel_swapped"}  # the worked examples use square kernels


@pytest.mark.parametrize("mistake", sorted(FAST_MISTAKES))
def test_conv_forward_im2col_mistakes(mistake):
    changes, needle = FAST_MISTAKES[mistake]
    source = FAST_BODY.format(**{**FAST, **changes})
    options = {} if mistake in FAST_HIDDEN_ONLY else {"public": True}
    fails_naming_only("test_conv_forward_im2col", {"conv_forward_im2col": source}, needle,
                      FAST_NEEDLES, **options)  # fmt: skip


def test_conv_forward_im2col_without_stride_and_pad_lost_at_the_self_check():
    """Issue 13, section 1: the row of the table for this notebook, in words a learner reads."""
    source = FAST_BODY.format(**{**FAST, "cols": "im2col(x, kh, kw)"})
    message = str(run_public_part(NB, "test_conv_forward_im2col", {"conv_forward_im2col": source}))
    assert "stride=2, pad=1: pass both on to im2col" in message, message


def test_conv_forward_im2col_library_only():
    forbidden("test_conv_forward_im2col", "conv_forward_im2col", """
import cnnlab as cl
def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
    return cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
""")  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        "return conv_forward_naive(x, w, b, stride=stride, pad=pad)",
        "slow = conv_forward_naive\n    return slow(x, w, b, stride=stride, pad=pad)",
    ],
    ids=["direct", "alias"],
)
def test_conv_forward_im2col_wrapping_the_naive_version(body):
    """Exercise 10 asks for a new implementation: calling exercise 6's answer earns nothing."""
    source = f"def conv_forward_im2col(x, w, b, *, stride=1, pad=0):\n    {body}\n"
    needles = ("wrapper around an earlier exercise", "your conv_forward_naive", "im2col")
    fails("test_conv_forward_im2col", {"conv_forward_im2col": source}, *needles)


def test_conv_forward_im2col_with_library_im2col():
    """Handing im2col to cnnlab inside conv_forward_im2col is caught as well."""
    forbidden("test_conv_forward_im2col", "conv_forward_im2col", """
import cnnlab as cl
def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
    n, c, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(wid, kw, stride, pad)
    cols = cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)
    return (cols @ w.reshape(f, -1).T + b).reshape(n, oh, ow, f).transpose(0, 3, 1, 2)
""")  # fmt: skip


BUGGY_IM2COL = {
    "rows_j_outer": IM2COL_BODY.format(**{**IM2COL, **IM2COL_MISTAKES["rows_j_outer"][0]}),
    "stride_ignored": IM2COL_BODY.format(**{**IM2COL, **IM2COL_MISTAKES["stride_ignored"][0]}),
    "library": "import cnnlab as cl\ndef im2col(x, kh, kw, *, stride=1, pad=0):\n"
    "    return cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)\n",
}


@pytest.mark.parametrize(
    "overrides",
    [{"im2col": BUGGY_IM2COL[k]} for k in sorted(BUGGY_IM2COL)]
    + [{"conv_output_size": BUGGY_SIZE}, {"zero_pad": BUGGY_PAD}],
    ids=[*sorted(BUGGY_IM2COL), "size_stride_ignored", "pad_all_axes"],
)
def test_conv_forward_im2col_graded_on_its_own(overrides):
    """A correct conv_forward_im2col on a buggy (or library-calling) im2col earns its points, and
    im2col's own test fails: Exercise 9's bug costs Exercise 9 only."""
    independent("test_conv_forward_im2col", overrides)
    if "im2col" in overrides:
        assert isinstance(run_test_cell(NB, "test_im2col", overrides), AssertionError)


@pytest.mark.parametrize("name", ["im2col", "conv_forward_im2col"])
def test_positional_stride_and_pad(name):
    """stride and pad are keyword-only (the * of the signature): an answer without it is told."""
    overrides = mutant(NB, name, ("*, stride=1", "stride=1"))
    fails(f"test_{name}", overrides, "keyword-only", f"{name}(x, ")


def test_conv_forward_im2col_passes_stride_and_pad_positionally():
    """im2col takes them by keyword: the crash says so, in the self-check already."""
    overrides = mutant(
        NB, "conv_forward_im2col", ("kw, stride=stride, pad=pad)", "kw, stride, pad)")
    )
    fails("test_conv_forward_im2col", overrides, "keyword-only arguments", public=True)
