"""Tests of the hidden tests of 01-convolution: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes, cells, graded_ids, run_test_cell

NB = "01-convolution"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


# ------------------------------------------------------------------------------------------
# The solution passes every test cell; the graded cells are the ones the issue asks for.
# ------------------------------------------------------------------------------------------


def test_graded_cells_are_the_issue_exercises():
    answers = set(ANSWERS)
    assert answers == {
        "conv_output_size", "zero_pad", "correlate2d", "convolve2d", "conv_forward_naive",
        "im2col", "conv_forward_im2col", "conv_param_count", "dense_param_count", "edge_kernels",
    }  # fmt: skip
    assert sorted(TEST_CELLS) == sorted(f"test_{a}" for a in answers)
    points = sum(m.get("points", 0) for _, m, _ in cells(NB) if m.get("grade"))
    assert points == 20


@pytest.mark.parametrize("test_id", TEST_CELLS)
def test_solution_passes(test_id):
    assert_passes(NB, test_id)


def test_references_agree_with_scipy():
    """The hidden tests use cnnlab.layers as reference; check it against scipy here."""
    import scipy.signal

    import cnnlab as cl

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 9, 8))
    w = rng.normal(size=(4, 3, 3, 2))
    b = rng.normal(size=4)
    for stride, pad in [(1, 0), (2, 1), (3, 2)]:
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        ref = np.array([[sum(scipy.signal.correlate2d(xp[n, c], w[f, c], mode="valid")
                             for c in range(3))[::stride, ::stride] + b[f]
                         for f in range(4)] for n in range(2)])  # fmt: skip
        out = cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
        cols = cl.layers.im2col(x, 3, 2, stride=stride, pad=pad)
        flat = ref.transpose(0, 2, 3, 1).reshape(-1, 4)
        np.testing.assert_allclose(cols @ w.reshape(4, -1).T + b, flat)


# ------------------------------------------------------------------------------------------
# conv_output_size
# ------------------------------------------------------------------------------------------

SIZE_BODY = """
def conv_output_size(n, k, stride=1, pad=0):
    if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:
        raise ValueError("bad arguments")
    return {expr}
"""


@pytest.mark.parametrize(
    "expr, needle",
    [
        ("(n + 2 * pad - k) // stride", "off-by-one"),
        ("n + 2 * pad - k + 1", "stride ignored"),
        ("(n + pad - k) // stride + 1", "both sides"),
        ("(n + 2 * pad - k) / stride + 1", "floor division"),
        ("-(-(n + 2 * pad - k) // stride) + 1", "round down"),
    ],
    ids=["off_by_one", "stride_ignored", "pad_once", "true_division", "ceil"],
)
def test_conv_output_size_mistakes(expr, needle):
    fails("test_conv_output_size", {"conv_output_size": SIZE_BODY.format(expr=expr)}, needle)


def test_conv_output_size_without_validation():
    fails("test_conv_output_size", {"conv_output_size": """
def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) // stride + 1
"""}, "ValueError")  # fmt: skip


def test_conv_output_size_accepts_kernel_larger_than_input():
    fails("test_conv_output_size", {"conv_output_size": """
def conv_output_size(n, k, stride=1, pad=0):
    if stride < 1 or pad < 0 or k < 1:
        raise ValueError("bad arguments")
    return max(1, (n + 2 * pad - k) // stride + 1)
"""}, "ValueError", "does not fit")  # fmt: skip


# ------------------------------------------------------------------------------------------
# zero_pad
# ------------------------------------------------------------------------------------------

PAD_BODY = """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    return np.pad(x, {widths})
"""


@pytest.mark.parametrize(
    "widths, needle",
    [
        ("ph", "batch axis"),
        ("((0, 0), (ph, ph), (ph, ph), (pw, pw))", "channel axis"),
        ("((0, 0), (0, 0), (pw, pw), (ph, ph))", "(ph, pw)"),
        ("((0, 0), (0, 0), (0, ph), (0, pw))", "both sides"),
        ("((0, 0), (0, 0), (0, 2 * ph), (0, 2 * pw))", "middle"),
    ],
    ids=["batch_axis", "channel_axis", "pair_swapped", "one_side", "not_centred"],
)
def test_zero_pad_mistakes(widths, needle):
    fails("test_zero_pad", {"zero_pad": PAD_BODY.format(widths=widths)}, needle)


def test_zero_pad_modifies_input():
    fails("test_zero_pad", {"zero_pad": """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    out = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    x *= 0
    return out
"""}, "must not change its input")  # fmt: skip


# ------------------------------------------------------------------------------------------
# correlate2d and convolve2d
# ------------------------------------------------------------------------------------------

CORR_BODY = """
def correlate2d(image, kernel):
    kernel = np.asarray(kernel, dtype=float)
    {prep}
    h, w = image.shape
    kh, kw = kernel.shape
    out = {alloc}
    for i in range({rows}):
        for j in range({cols}):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out
"""


def corr_source(prep="", alloc="np.zeros((h - kh + 1, w - kw + 1))", rows="h - kh + 1",
                cols="w - kw + 1"):  # fmt: skip
    return CORR_BODY.format(prep=prep or "pass", alloc=alloc, rows=rows, cols=cols)


@pytest.mark.parametrize(
    "source, needle",
    [
        (corr_source(prep="kernel = kernel[::-1, ::-1]"), "flipped kernel"),
        (corr_source(prep="kernel = kernel.T"), "kernel axes transposed"),
        (corr_source(alloc="np.zeros((h - kh, w - kw))", rows="h - kh", cols="w - kw"),
         "off-by-one"),
        (corr_source(alloc="np.zeros((h, w))"), "valid"),
        (corr_source(alloc="np.zeros_like(image)", rows="h - kh + 1", cols="w - kw + 1")
         .replace("out = np.zeros_like(image)",
                  "out = np.zeros_like(image)[: h - kh + 1, : w - kw + 1]"), "truncated"),
    ],
    ids=["flipped", "transposed", "off_by_one", "same_mode", "integer_output"],
)  # fmt: skip
def test_correlate2d_mistakes(source, needle):
    fails("test_correlate2d", {"correlate2d": source}, needle)


@pytest.mark.parametrize(
    "source",
    [
        """
import scipy.signal
def correlate2d(image, kernel):
    return scipy.signal.correlate2d(image, kernel, mode="valid")
""",
        """
from scipy.ndimage import correlate
def correlate2d(image, kernel):
    kh, kw = kernel.shape
    origin = (-(kh // 2), -(kw // 2))
    full = correlate(np.asarray(image, float), kernel, mode="constant", origin=origin)
    return full[: image.shape[0] - kh + 1, : image.shape[1] - kw + 1]
""",
        """
def correlate2d(image, kernel):
    kh, kw = kernel.shape
    rows = [sum(np.correlate(image[i + p], kernel[p], mode="valid") for p in range(kh))
            for i in range(image.shape[0] - kh + 1)]
    return np.array(rows, dtype=float)
""",
    ],
    ids=["scipy_signal", "scipy_ndimage", "numpy_correlate"],
)
def test_correlate2d_library_only(source):
    forbidden("test_correlate2d", "correlate2d", source)


@pytest.mark.parametrize(
    "body, needle",
    [
        ("correlate2d(image, kernel)", "not flipped"),
        ("correlate2d(image, np.asarray(kernel)[::-1, :])", "one axis"),
        ("correlate2d(image, np.asarray(kernel)[:, ::-1])", "one axis"),
        ("correlate2d(image, np.asarray(kernel).T)", "transposed instead of flipped"),
    ],
    ids=["not_flipped", "rows_only", "columns_only", "transposed"],
)
def test_convolve2d_mistakes(body, needle):
    fails("test_convolve2d", {"convolve2d": f"def convolve2d(image, kernel):\n    return {body}\n"},
          needle)  # fmt: skip


def test_convolve2d_library_only():
    forbidden("test_convolve2d", "convolve2d", """
import scipy.signal
def convolve2d(image, kernel):
    return scipy.signal.convolve2d(image, kernel, mode="valid")
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# edge_kernels
# ------------------------------------------------------------------------------------------

EDGE_BODY = """
def edge_kernels():
    v = np.array({v}, dtype=float)
    h = np.array({h}, dtype=float)
    return {{"vertical": v, "horizontal": h}}
"""
SOBEL_V = "[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]"
SOBEL_H = "[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]"


@pytest.mark.parametrize(
    "v, h, needle",
    [
        (SOBEL_H, SOBEL_V, "swap"),
        ("[[0, 0, 1], [0, 0, 2], [0, 0, 1]]", SOBEL_H, "sum to 0"),
        ("[[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]", SOBEL_H, "other orientation"),
        ("np.zeros((3, 3))", SOBEL_H, "barely responds"),
        ("[[1, 1, 1], [1, 1, 1], [1, 1, 1]]", SOBEL_H, "sum to 0"),
    ],
    ids=["swapped", "not_zero_sum", "diagonal", "zeros", "blur"],
)
def test_edge_kernels_mistakes(v, h, needle):
    fails("test_edge_kernels", {"edge_kernels": EDGE_BODY.format(v=v, h=h)}, needle)


def test_edge_kernels_other_variants_pass():
    """Prewitt kernels, opposite signs and scaled kernels are all fine edge detectors."""
    variants = [
        ("[[-1, 0, 1]] * 3", "[[-1] * 3, [0] * 3, [1] * 3]"),
        ("-np.array(" + SOBEL_V + ")", "0.125 * np.array(" + SOBEL_H + ")"),
        ("[[0, 0, 0], [0, -1, 1], [0, 0, 0]]", "[[0, 0, 0], [0, -1, 0], [0, 1, 0]]"),
    ]
    for v, h in variants:
        src = EDGE_BODY.format(v=v, h=h)
        assert run_test_cell(NB, "test_edge_kernels", overrides={"edge_kernels": src}) is None, v


def test_edge_kernels_wrong_type():
    source = "def edge_kernels():\n    return [np.zeros((3, 3)), np.zeros((3, 3))]\n"
    fails("test_edge_kernels", {"edge_kernels": source}, "dict with keys")


# ------------------------------------------------------------------------------------------
# conv_forward_naive
# ------------------------------------------------------------------------------------------

NAIVE_BODY = """
def conv_forward_naive(x, w, b, stride=1, pad=0):
    n_img, c, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh = {oh}
    ow = {ow}
    xp = zero_pad(x, pad)
    out = np.zeros((n_img, f, oh, ow))
    for n in range(n_img):
        for k in range(f):
            for i in range(oh):
                for j in range(ow):
                    r, s = {start}
                    window = xp[n, :, r : r + kh, s : s + kw]
                    out[n, k, i, j] = {value}
    return {ret}
"""
NAIVE = {
    "oh": "conv_output_size(h, kh, stride, pad)",
    "ow": "conv_output_size(wid, kw, stride, pad)",
    "start": "i * stride, j * stride",
    "value": "np.sum(window * w[k]) + b[k]",
    "ret": "out",
}


def naive_source(**changes):
    return NAIVE_BODY.format(**{**NAIVE, **changes})


NAIVE_MISTAKES = {
    "flipped_kernel": ({"value": "np.sum(window * w[k, :, ::-1, ::-1]) + b[k]"}, "flipped kernel"),
    "bias_missing": ({"value": "np.sum(window * w[k])"}, "bias missing"),
    "bias_wrong_axis": ({"value": "np.sum(window * w[k])", "ret": "out + b"}, "wrong axis"),
    "channel_0_only": ({"value": "np.sum(window[0] * w[k, 0]) + b[k]"}, "channels not summed"),
    "last_channel_only": (
        {"value": "[np.sum(window[cc] * w[k, cc]) + b[k] for cc in range(c)][-1]"},
        "channels not summed",
    ),
    "channels_averaged": (
        {"value": "np.mean(np.sum(window * w[k], axis=(1, 2))) + b[k]"},
        "channels not summed",
    ),
    "kernel_transposed": (
        {
            "value": "np.sum(window * w[k].transpose(0, 2, 1)) + b[k]"
            " if kh == kw else np.sum(window) * 0"
        },
        "kernel axes transposed",
    ),  # fmt: skip
    "stride_ignored_in_windows": ({"start": "i, j"}, "stride ignored when placing"),
    "stride_ignored_in_size": (
        {
            "oh": "h + 2 * pad - kh + 1",
            "ow": "wid + 2 * pad - kw + 1",
            "start": "min(i * stride, h + 2 * pad - kh), min(j * stride, wid + 2 * pad - kw)",
        },
        "stride ignored in the output size",
    ),  # fmt: skip
    "off_by_one_size": (
        {"oh": "(h + 2 * pad - kh) // stride", "ow": "(wid + 2 * pad - kw) // stride"},
        "off-by-one",
    ),
    "padding_ignored": (
        {
            "oh": "(h - kh) // stride + 1",
            "ow": "(wid - kw) // stride + 1",
            "start": "i * stride + pad, j * stride + pad",
        },
        "padding ignored",
    ),
}


@pytest.mark.parametrize("mistake", sorted(NAIVE_MISTAKES))
def test_conv_forward_naive_mistakes(mistake):
    changes, needle = NAIVE_MISTAKES[mistake]
    fails("test_conv_forward_naive", {"conv_forward_naive": naive_source(**changes)}, needle)


@pytest.mark.parametrize(
    "source",
    [
        """
import cnnlab as cl
def conv_forward_naive(x, w, b, stride=1, pad=0):
    return cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
""",
        """
import scipy.signal
def conv_forward_naive(x, w, b, stride=1, pad=0):
    xp = zero_pad(x, pad)
    return np.array([[sum(scipy.signal.correlate2d(xp[n, c], w[f, c], mode="valid")
                          for c in range(x.shape[1]))[::stride, ::stride] + b[f]
                      for f in range(w.shape[0])] for n in range(x.shape[0])])
""",
    ],
    ids=["cnnlab_layers", "scipy_per_channel"],
)
def test_conv_forward_naive_library_only(source):
    forbidden("test_conv_forward_naive", "conv_forward_naive", source)


# ------------------------------------------------------------------------------------------
# im2col
# ------------------------------------------------------------------------------------------

IM2COL_BODY = """
def im2col(x, kh, kw, stride=1, pad=0):
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(w, kw, stride, pad)
    xp = zero_pad(x, pad)
    rows = []
    for {loops}:
        win = xp[:, :, {place}]  # (N, C, KH, KW)
        rows.append({flat})
    cols = np.stack(rows, axis=1)  # (N, OH*OW, K)
    return {ret}
"""
IM2COL = {
    "loops": "i, j in [(i, j) for i in range(oh) for j in range(ow)]",
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
    "transposed": ({"ret": "cols.reshape(n * oh * ow, c * kh * kw).T"}, "transposed"),
    "stride_ignored": ({"place": "i : i + kh, j : j + kw"}, "stride ignored when placing"),
    "off_by_one": ({"loops": "i, j in [(i, j) for i in range(oh - 1) for j in range(ow - 1)]",
                    "ret": "cols.reshape(n * (oh - 1) * (ow - 1), c * kh * kw)"}, "off-by-one"),
    "padding_ignored": (
        {"loops": "i, j in [(i, j) for i in range((h - kh) // stride + 1)"
                  " for j in range((w - kw) // stride + 1)]",
         "ret": "cols.reshape(-1, c * kh * kw)"},
        "padding ignored",
    ),
}  # fmt: skip


@pytest.mark.parametrize("mistake", sorted(IM2COL_MISTAKES))
def test_im2col_mistakes(mistake):
    changes, needle = IM2COL_MISTAKES[mistake]
    fails("test_im2col", {"im2col": IM2COL_BODY.format(**{**IM2COL, **changes})}, needle)


def test_im2col_loop_over_positions_passes():
    """The loop-over-windows version of the hint is a correct answer too."""
    src = IM2COL_BODY.format(**IM2COL)
    assert_passes(NB, "test_im2col", overrides={"im2col": src})


def test_im2col_library_only():
    forbidden("test_im2col", "im2col", """
import cnnlab as cl
def im2col(x, kh, kw, stride=1, pad=0):
    return cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# conv_forward_im2col
# ------------------------------------------------------------------------------------------

FAST_BODY = """
def conv_forward_im2col(x, w, b, stride=1, pad=0):
    n, c, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(wid, kw, stride, pad)
    cols = im2col(x, kh, kw, stride, pad)
    w_mat = {w_mat}
    out = cols @ w_mat.T{bias}
    return {ret}
"""
FAST = {
    "w_mat": "w.reshape(f, -1)",
    "bias": " + b",
    "ret": "out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)",
}
FAST_MISTAKES = {
    "reshape_without_transpose": ({"ret": "out.reshape(n, f, oh, ow)"}, "reshaped straight"),
    # same memory layout as the straight reshape, so the visible example names that fix
    "axes_not_moved": ({"ret": "out.reshape(n, oh, ow, f)"}, "transpose(0, 3, 1, 2)"),
    "flipped_kernel": ({"w_mat": "w[:, :, ::-1, ::-1].reshape(f, -1)"}, "flipped kernel"),
    "bias_missing": ({"bias": ""}, "bias missing"),
    "bias_wrong_axis": (
        {"bias": "", "ret": "out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2) + b"},
        "wrong axis",
    ),
    "weights_channels_last": ({"w_mat": "w.transpose(0, 2, 3, 1).reshape(f, -1)"},
                              "weights reshaped in another order"),
    "kernel_transposed": ({"w_mat": "w.transpose(0, 1, 3, 2).reshape(f, -1)"},
                          "kernel axes transposed"),
    "channel_0_only": (
        {"w_mat": "np.concatenate([w[:, :1], 0 * w[:, 1:]], axis=1).reshape(f, -1)"},
        "channels not summed",
    ),
}  # fmt: skip


@pytest.mark.parametrize("mistake", sorted(FAST_MISTAKES))
def test_conv_forward_im2col_mistakes(mistake):
    changes, needle = FAST_MISTAKES[mistake]
    source = FAST_BODY.format(**{**FAST, **changes})
    fails("test_conv_forward_im2col", {"conv_forward_im2col": source}, needle)


def test_conv_forward_im2col_library_only():
    forbidden("test_conv_forward_im2col", "conv_forward_im2col", """
import cnnlab as cl
def conv_forward_im2col(x, w, b, stride=1, pad=0):
    return cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
""")  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        "return conv_forward_naive(x, w, b, stride=stride, pad=pad)",
        "slow = conv_forward_naive\n    return slow(x, w, b, stride, pad)",
    ],
    ids=["direct", "alias"],
)
def test_conv_forward_im2col_wrapping_the_naive_version(body):
    """Exercise 10 asks for a new implementation: calling exercise 6's answer earns nothing."""
    source = f"def conv_forward_im2col(x, w, b, stride=1, pad=0):\n    {body}\n"
    needles = ("wrapper around an earlier exercise", "your conv_forward_naive", "im2col")
    fails("test_conv_forward_im2col", {"conv_forward_im2col": source}, *needles)


def test_conv_forward_im2col_with_library_im2col():
    """Handing im2col to cnnlab inside conv_forward_im2col is caught as well."""
    forbidden("test_conv_forward_im2col", "conv_forward_im2col", """
import cnnlab as cl
def conv_forward_im2col(x, w, b, stride=1, pad=0):
    n, c, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(wid, kw, stride, pad)
    cols = cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)
    return (cols @ w.reshape(f, -1).T + b).reshape(n, oh, ow, f).transpose(0, 3, 1, 2)
""")  # fmt: skip


# ------------------------------------------------------------------------------------------
# parameter counts
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, needle",
    [
        ("c_out * kh * kw + c_out", "spans all c_in"),
        ("c_out * c_in * kh * kw", "bias missing"),
        ("c_out * c_in * kh * kw + c_out", "bias=False"),
        ("2 * c_out * c_in * kh * kw if bias else c_out * c_in * kh * kw", "not one per weight"),
    ],
    ids=["input_channels_forgotten", "bias_missing", "bias_flag_ignored", "bias_per_weight"],
)
def test_conv_param_count_mistakes(expr, needle):
    source = f"def conv_param_count(c_in, c_out, kh, kw, bias=True):\n    return {expr}\n"
    fails("test_conv_param_count", {"conv_param_count": source}, needle)


@pytest.mark.parametrize(
    "expr, needle",
    [
        ("n_in * n_out", "bias missing"),
        ("n_in * n_out + (n_in if bias else 0)", "OUTPUT"),
        ("n_in * n_out + n_out", "bias=False"),
    ],
    ids=["bias_missing", "bias_per_input", "bias_flag_ignored"],
)
def test_dense_param_count_mistakes(expr, needle):
    source = f"def dense_param_count(n_in, n_out, bias=True):\n    return {expr}\n"
    fails("test_dense_param_count", {"dense_param_count": source}, needle)


# ------------------------------------------------------------------------------------------
# Other correct answers pass, and slow loop answers stay inside the 5 s test-cell budget
# ------------------------------------------------------------------------------------------

SCALAR_CORRELATE = """
def correlate2d(image, kernel):
    h, w = len(image), len(image[0])
    kh, kw = len(kernel), len(kernel[0])
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            total = 0.0
            for p in range(kh):
                for q in range(kw):
                    total += image[i + p][j + q] * kernel[p][q]
            out[i, j] = total
    return out
"""

SCALAR_CONV = """
def conv_forward_naive(x, w, b, stride=1, pad=0):
    n_img, c, h, wid = x.shape
    f, _, kh, kw = w.shape
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wid + 2 * pad - kw) // stride + 1
    xp = np.zeros((n_img, c, h + 2 * pad, wid + 2 * pad))
    xp[:, :, pad : pad + h, pad : pad + wid] = x
    out = np.zeros((n_img, f, oh, ow))
    for n in range(n_img):
        for k in range(f):
            for i in range(oh):
                for j in range(ow):
                    total = b[k]
                    for cc in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                total += xp[n, cc, i * stride + p, j * stride + q] * w[k, cc, p, q]
                    out[n, k, i, j] = total
    return out
"""

VECTORISED_CONV = """
def conv_forward_naive(x, w, b, stride=1, pad=0):
    xp = zero_pad(x, pad)
    kh, kw = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    return np.einsum("nchwpq,fcpq->nfhw", win, w) + b[None, :, None, None]
"""


@pytest.mark.parametrize(
    "test_id, name, source",
    [
        ("test_correlate2d", "correlate2d", SCALAR_CORRELATE),
        ("test_conv_forward_naive", "conv_forward_naive", SCALAR_CONV),
        ("test_conv_forward_naive", "conv_forward_naive", VECTORISED_CONV),
    ],
    ids=["scalar_correlate2d", "scalar_conv_forward_naive", "einsum_conv_forward_naive"],
)
def test_other_correct_answers_pass_within_budget(test_id, name, source):
    import time

    start = time.perf_counter()
    exc = run_test_cell(NB, test_id, overrides={name: source})
    seconds = time.perf_counter() - start
    assert exc is None, f"{test_id} failed a correct answer: {exc}"
    assert seconds < 5, f"{test_id} took {seconds:.1f} s with a scalar-loop answer"
