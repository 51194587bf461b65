"""Tests of the hidden tests of 01-convolution: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake,
and that the hint of no neighbouring mistake of the same exercise fires instead (a hint names a
mistake only when that mistake is what happened). Exercises that build on earlier ones are graded
on their own: a buggy helper costs only the helper's exercise (``test_*_graded_on_its_own``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    graded_ids,
    run_public_part,
    run_test_cell,
)

NB = "01-convolution"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


def fails_naming_only(test_id, overrides, needle, others, **options):
    """The test cell fails naming ``needle``, and no needle of a neighbouring mistake."""
    message = fails(test_id, overrides, needle, **options)
    mine = needle.lower()
    wrong = [
        other
        for other in others
        if other.lower() not in mine
        and mine not in other.lower()
        and other.lower() in message.lower()
    ]
    assert not wrong, f"the message also names {wrong}:\n{message}"
    return message


def independent(test_id, overrides):
    """The test cell and its public part both pass with ``overrides`` (buggy earlier answers)."""
    assert_passes(NB, test_id, overrides)
    exc = run_public_part(NB, test_id, overrides)
    assert exc is None, f"the self-check of {test_id} failed: {type(exc).__name__}: {exc}"


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
SIZE_MISTAKES = {
    "off_by_one": ("(n + 2 * pad - k) // stride", "off-by-one"),
    "stride_ignored": ("n + 2 * pad - k + 1", "stride ignored"),
    "pad_once": ("(n + pad - k) // stride + 1", "both sides"),
    "pad_ignored": ("(n - k) // stride + 1", "padding ignored"),
    "true_division": ("(n + 2 * pad - k) / stride + 1", "floor division"),
    "ceil": ("-(-(n + 2 * pad - k) // stride) + 1", "round down"),
}


@pytest.mark.parametrize("mistake", sorted(SIZE_MISTAKES))
def test_conv_output_size_mistakes(mistake):
    expr, needle = SIZE_MISTAKES[mistake]
    others = [n for _, n in SIZE_MISTAKES.values()]
    source = SIZE_BODY.format(expr=expr)
    fails_naming_only("test_conv_output_size", {"conv_output_size": source}, needle, others,
                      public=True)  # fmt: skip


def test_conv_output_size_without_validation():
    fails("test_conv_output_size", {"conv_output_size": """
def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) // stride + 1
"""}, "ValueError", public=True)  # fmt: skip


def test_conv_output_size_accepts_kernel_larger_than_input():
    fails("test_conv_output_size", {"conv_output_size": """
def conv_output_size(n, k, stride=1, pad=0):
    if stride < 1 or pad < 0 or k < 1:
        raise ValueError("bad arguments")
    return max(1, (n + 2 * pad - k) // stride + 1)
"""}, "ValueError", "does not fit", public=True)  # fmt: skip


# ------------------------------------------------------------------------------------------
# zero_pad
# ------------------------------------------------------------------------------------------

PAD_BODY = """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    return np.pad(x, {widths})
"""
PAD_MISTAKES = {
    "all_axes": ("ph", "batch and channel axes"),
    "batch_axis": ("((ph, ph), (0, 0), (ph, ph), (pw, pw))", "batch axis"),
    "channel_axis": ("((0, 0), (ph, ph), (ph, ph), (pw, pw))", "channel axis"),
    "pair_swapped": ("((0, 0), (0, 0), (pw, pw), (ph, ph))", "pad = (ph, pw)"),
    "one_side": ("((0, 0), (0, 0), (0, ph), (0, pw))", "BOTH sides"),
    "top_left": ("((0, 0), (0, 0), (0, 2 * ph), (0, 2 * pw))", "top-left corner"),
    "bottom_right": ("((0, 0), (0, 0), (2 * ph, 0), (2 * pw, 0))", "must sit in the middle"),
}
PAD_NEEDLES = [n for _, n in PAD_MISTAKES.values()] + ["as well as one int", "must not change"]


@pytest.mark.parametrize("mistake", sorted(PAD_MISTAKES))
def test_zero_pad_mistakes(mistake):
    widths, needle = PAD_MISTAKES[mistake]
    source = PAD_BODY.format(widths=widths)
    fails_naming_only("test_zero_pad", {"zero_pad": source}, needle, PAD_NEEDLES, public=True)


def test_zero_pad_int_only():
    """pad = (ph, pw) is part of the contract; an int-only zero_pad is told so."""
    source = (
        "def zero_pad(x, pad):\n    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
    )
    fails_naming_only("test_zero_pad", {"zero_pad": source}, "as well as one int", PAD_NEEDLES,
                      public=True)  # fmt: skip


def test_zero_pad_modifies_input():
    fails_naming_only("test_zero_pad", {"zero_pad": """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    out = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    x *= 0
    return out
"""}, "must not change its input", PAD_NEEDLES)  # fmt: skip


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
            out[i, j] = {value}
    return out
"""


WINDOW_SUM = "np.sum(image[i : i + kh, j : j + kw] * kernel)"


def corr_source(prep="", alloc="np.zeros((h - kh + 1, w - kw + 1))", rows="h - kh + 1",
                cols="w - kw + 1", value=WINDOW_SUM):  # fmt: skip
    return CORR_BODY.format(prep=prep or "pass", alloc=alloc, rows=rows, cols=cols, value=value)


CORR_MISTAKES = {
    "flipped": (corr_source(prep="kernel = kernel[::-1, ::-1]"), "flipped kernel"),
    "off_by_one": (corr_source(alloc="np.zeros((h - kh, w - kw))", rows="h - kh", cols="w - kw"),
                   "off-by-one"),
    "same_mode": (corr_source(alloc="np.zeros((h, w))"), "is not 'valid'"),
    "integer_output": (corr_source(alloc="np.zeros((h - kh + 1, w - kw + 1), dtype=image.dtype)"),
                       "truncated"),
    "matrix_product": (corr_source(value="np.sum(image[i : i + kh, j : j + kw] @ kernel.T)"),
                       "matrix product"),
}  # fmt: skip
# transposed only for square kernels, where it does not crash: the hidden 3 x 3 case names it
CORR_MISTAKES["transposed"] = (corr_source(prep="kernel = kernel.T if len(set(kernel.shape)) == 1 "
                                           "else kernel"), "kernel axes transposed")  # fmt: skip
CORR_HIDDEN_ONLY = {"transposed"}  # the worked examples' square kernel is its own transpose


@pytest.mark.parametrize("mistake", sorted(CORR_MISTAKES))
def test_correlate2d_mistakes(mistake):
    source, needle = CORR_MISTAKES[mistake]
    others = [n for _, n in CORR_MISTAKES.values()]
    public = mistake not in CORR_HIDDEN_ONLY
    fails_naming_only("test_correlate2d", {"correlate2d": source}, needle, others, public=public)


def test_correlate2d_crash_is_a_failed_check():
    """An answer that crashes on a non-square kernel fails the check, saying what to look at."""
    value = "sum(image[i + p, j + q] * kernel[q, p] for p in range(kh) for q in range(kw))"
    fails("test_correlate2d", {"correlate2d": corr_source(value=value)}, "raised IndexError",
          "kernel's shape", public=True)  # fmt: skip


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


CONV2D_MISTAKES = {
    "not_flipped": ("correlate2d(image, kernel)", "kernel not flipped"),
    "rows_only": ("correlate2d(image, np.asarray(kernel)[::-1, :])", "one axis only"),
    "columns_only": ("correlate2d(image, np.asarray(kernel)[:, ::-1])", "one axis only"),
    "transposed": ("correlate2d(image, np.asarray(kernel).T)", "transposed instead of flipped"),
    "rot90": ("correlate2d(image, np.rot90(kernel))", "rotated by 90 degrees"),
    "rot270": ("correlate2d(image, np.rot90(kernel, -1))", "rotated by 90 degrees"),
    "output_flipped": ("correlate2d(image, kernel)[::-1, ::-1]", "output was flipped"),
}


@pytest.mark.parametrize("mistake", sorted(CONV2D_MISTAKES))
def test_convolve2d_mistakes(mistake):
    body, needle = CONV2D_MISTAKES[mistake]
    others = [n for _, n in CONV2D_MISTAKES.values()]
    source = f"def convolve2d(image, kernel):\n    return {body}\n"
    fails_naming_only("test_convolve2d", {"convolve2d": source}, needle, others, public=True)


def test_convolve2d_rotation_of_a_non_square_kernel():
    """With a non-square kernel a transpose or a quarter turn changes the shape: named together."""
    source = """
def convolve2d(image, kernel):
    kh, kw = kernel.shape
    return correlate2d(image, np.rot90(kernel) if kh != kw else kernel[::-1, ::-1])
"""
    fails("test_convolve2d", {"convolve2d": source}, "axes swapped (transposed or rotated")


def test_convolve2d_library_only():
    forbidden("test_convolve2d", "convolve2d", """
import scipy.signal
def convolve2d(image, kernel):
    return scipy.signal.convolve2d(image, kernel, mode="valid")
""")  # fmt: skip


BUGGY_CORRELATE = {
    "scipy": "import scipy.signal\ndef correlate2d(image, kernel):\n"
    "    return scipy.signal.correlate2d(image, kernel, mode='valid')\n",
    "flipped": corr_source(prep="kernel = kernel[::-1, ::-1]"),
    "off_by_one": CORR_MISTAKES["off_by_one"][0],
}


@pytest.mark.parametrize("bug", sorted(BUGGY_CORRELATE))
def test_convolve2d_graded_on_its_own(bug):
    """A correct convolve2d on a buggy (or library-calling) correlate2d earns its point: the
    test runs it on a reference correlate2d, and the bug costs Exercise 1 only."""
    overrides = {"correlate2d": BUGGY_CORRELATE[bug]}
    independent("test_convolve2d", overrides)
    assert isinstance(run_test_cell(NB, "test_correlate2d", overrides), AssertionError)


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
EDGE_MISTAKES = {
    "swapped": (SOBEL_H, SOBEL_V, "Did you swap"),
    "not_zero_sum": (
        "[[0, 0, 1], [0, 0, 2], [0, 0, 1]]",
        SOBEL_H,
        "make the kernel's weights sum to 0",
    ),
    "diagonal": ("[[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]", SOBEL_H, "other orientation"),
    "zeros": ("np.zeros((3, 3))", SOBEL_H, "all zeros"),
    "blur": ("[[1, 1, 1], [1, 1, 1], [1, 1, 1]]", SOBEL_H, "make the kernel's weights sum to 0"),
}


@pytest.mark.parametrize("mistake", sorted(EDGE_MISTAKES))
def test_edge_kernels_mistakes(mistake):
    v, h, needle = EDGE_MISTAKES[mistake]
    others = [n for *_, n in EDGE_MISTAKES.values()]
    source = EDGE_BODY.format(v=v, h=h)
    fails_naming_only("test_edge_kernels", {"edge_kernels": source}, needle, others)


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
                    window = {window}
                    out[n, k, i, j] = {value}
    return {ret}
"""
NAIVE = {
    "oh": "conv_output_size(h, kh, stride, pad)",
    "ow": "conv_output_size(wid, kw, stride, pad)",
    "start": "i * stride, j * stride",
    "window": "xp[n, :, r : r + kh, s : s + kw]",
    "value": "np.sum(window * w[k]) + b[k]",
    "ret": "out",
}


def naive_source(**changes):
    return NAIVE_BODY.format(**{**NAIVE, **changes})


# label: (changes, needle, options for assert_fails)
NAIVE_MISTAKES = {
    "flipped_kernel": ({"value": "np.sum(window * w[k, :, ::-1, ::-1]) + b[k]"}, "flipped kernel",
                       {"public": True}),
    "bias_missing": ({"value": "np.sum(window * w[k])"}, "bias missing", {"public": True}),
    "bias_wrong_axis": ({"value": "np.sum(window * w[k])", "ret": "out + b"}, "wrong axis",
                        {"public": True}),
    "channel_0_only": ({"value": "np.sum(window[0] * w[k, 0]) + b[k]"}, "used only channel 0",
                       {"public": True}),
    "last_channel_only": (
        {"value": "[np.sum(window[cc] * w[k, cc]) + b[k] for cc in range(c)][-1]"},
        "only the last channel", {"public": True},
    ),
    "channels_averaged": (
        {"value": "np.mean(np.sum(window * w[k], axis=(1, 2))) + b[k]"}, "averaged them",
        {"public": True},
    ),
    "all_filters_summed": ({"value": "np.sum(window * w) + b[k]"}, "all filters summed",
                           {"public": True}),
    "kernel_transposed": (
        {"value": "np.sum(window * (w[k].transpose(0, 2, 1) if kh == kw else w[k])) + b[k]"},
        "kernel axes transposed", {"public": True},
    ),
    "stride_ignored_in_windows": ({"start": "i, j"}, "stride ignored when placing",
                                  {"public": True}),
    "stride_ignored_in_size": (
        {
            "oh": "h + 2 * pad - kh + 1",
            "ow": "wid + 2 * pad - kw + 1",
            "start": "min(i * stride, h + 2 * pad - kh), min(j * stride, wid + 2 * pad - kw)",
        },
        "stride ignored in the output size", {"public": True},
    ),
    "off_by_one_size": (
        {"oh": "(h + 2 * pad - kh) // stride", "ow": "(wid + 2 * pad - kw) // stride"},
        "off-by-one", {"public": True},
    ),
    "padding_ignored": (
        {
            "oh": "(h - kh) // stride + 1",
            "ow": "(wid - kw) // stride + 1",
            "start": "i * stride + pad, j * stride + pad",
        },
        "padding ignored", {"public": True},
    ),
    "windows_from_unpadded_x": (
        {"window": "x[n, :, r : r + kh, s : s + kw]"}, "cut every window from the padded input",
        {"public": True},
    ),
}  # fmt: skip
NAIVE_NEEDLES = [needle for _, needle, _ in NAIVE_MISTAKES.values()]


@pytest.mark.parametrize("mistake", sorted(NAIVE_MISTAKES))
def test_conv_forward_naive_mistakes(mistake):
    changes, needle, options = NAIVE_MISTAKES[mistake]
    source = naive_source(**changes)
    fails_naming_only("test_conv_forward_naive", {"conv_forward_naive": source}, needle,
                      NAIVE_NEEDLES, **options)  # fmt: skip


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


BUGGY_SIZE = SIZE_BODY.format(expr="n + 2 * pad - k + 1")  # stride ignored
BUGGY_PAD = PAD_BODY.format(widths="ph")  # pads every axis
PER_CHANNEL_CONV = """
def conv_forward_naive(x, w, b, stride=1, pad=0):
    xp = zero_pad(x, pad)
    n_img, f = x.shape[0], w.shape[0]
    oh = conv_output_size(x.shape[2], w.shape[2], stride, pad)
    ow = conv_output_size(x.shape[3], w.shape[3], stride, pad)
    out = np.zeros((n_img, f, oh, ow))
    for n in range(n_img):
        for k in range(f):
            full = sum(correlate2d(xp[n, c], w[k, c]) for c in range(x.shape[1]))
            out[n, k] = full[::stride, ::stride][:oh, :ow] + b[k]
    return out
"""


@pytest.mark.parametrize(
    "overrides",
    [
        {"conv_output_size": BUGGY_SIZE},
        {"zero_pad": BUGGY_PAD},
        {"conv_output_size": BUGGY_SIZE, "zero_pad": BUGGY_PAD},
        {"conv_forward_naive": PER_CHANNEL_CONV, "correlate2d": BUGGY_CORRELATE["flipped"]},
        {"conv_forward_naive": PER_CHANNEL_CONV, "correlate2d": BUGGY_CORRELATE["scipy"]},
    ],
    ids=["size_stride_ignored", "pad_all_axes", "both", "correlate_flipped", "correlate_scipy"],
)
def test_conv_forward_naive_graded_on_its_own(overrides):
    """A correct conv_forward_naive on buggy helpers earns its points; their own tests fail."""
    independent("test_conv_forward_naive", overrides)
    for helper in ("conv_output_size", "zero_pad", "correlate2d"):
        if helper in overrides:
            test_id = f"test_{helper}"
            assert isinstance(run_test_cell(NB, test_id, overrides), AssertionError), helper


def test_per_channel_conv_forward_naive_passes():
    assert_passes(NB, "test_conv_forward_naive", {"conv_forward_naive": PER_CHANNEL_CONV})


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
def im2col(x, kh, kw, stride=1, pad=0):
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
def conv_forward_im2col(x, w, b, stride=1, pad=0):
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
    "cols": "im2col(x, kh, kw, stride, pad)",
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
    "im2col_without_pad": ({"cols": "im2col(x, kh, kw, stride)"},
                           "im2col was called with stride=2, pad=0"),
    "im2col_kernel_swapped": ({"cols": "im2col(x, kw, kh, stride, pad)"},
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


BUGGY_IM2COL = {
    "rows_j_outer": IM2COL_BODY.format(**{**IM2COL, **IM2COL_MISTAKES["rows_j_outer"][0]}),
    "stride_ignored": IM2COL_BODY.format(**{**IM2COL, **IM2COL_MISTAKES["stride_ignored"][0]}),
    "library": "import cnnlab as cl\ndef im2col(x, kh, kw, stride=1, pad=0):\n"
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


# ------------------------------------------------------------------------------------------
# parameter counts
# ------------------------------------------------------------------------------------------

CONV_COUNT_MISTAKES = {
    "input_channels_forgotten": ("c_out * kh * kw + c_out", "spans all c_in"),
    "bias_missing": ("c_out * c_in * kh * kw", "bias missing"),
    "bias_flag_ignored": ("c_out * c_in * kh * kw + c_out", "bias=False means no bias"),
    "bias_per_weight": ("2 * c_out * c_in * kh * kw if bias else c_out * c_in * kh * kw",
                        "not one per weight"),
    "bias_per_input_channel": ("c_out * c_in * kh * kw + (c_in if bias else 0)",
                               "not one per input channel"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", sorted(CONV_COUNT_MISTAKES))
def test_conv_param_count_mistakes(mistake):
    expr, needle = CONV_COUNT_MISTAKES[mistake]
    others = [n for _, n in CONV_COUNT_MISTAKES.values()]
    source = f"def conv_param_count(c_in, c_out, kh, kw, bias=True):\n    return {expr}\n"
    fails_naming_only("test_conv_param_count", {"conv_param_count": source}, needle, others,
                      public=True)  # fmt: skip


DENSE_COUNT_MISTAKES = {
    "bias_missing": ("n_in * n_out", "bias missing"),
    "bias_per_input": ("n_in * n_out + (n_in if bias else 0)", "not n_in"),
    "bias_flag_ignored": ("n_in * n_out + n_out", "bias=False means no bias"),
}


@pytest.mark.parametrize("mistake", sorted(DENSE_COUNT_MISTAKES))
def test_dense_param_count_mistakes(mistake):
    expr, needle = DENSE_COUNT_MISTAKES[mistake]
    others = [n for _, n in DENSE_COUNT_MISTAKES.values()]
    source = f"def dense_param_count(n_in, n_out, bias=True):\n    return {expr}\n"
    fails_naming_only("test_dense_param_count", {"dense_param_count": source}, needle, others,
                      public=True)  # fmt: skip


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


def test_conv_output_size_from_the_library_earns_nothing():
    forbidden(
        "test_conv_output_size",
        "conv_output_size",
        "import cnnlab as cl\n\ndef conv_output_size(n, k, stride=1, pad=0):\n"
        "    return cl.layers.conv_output_size(n, k, stride, pad)\n",
    )
