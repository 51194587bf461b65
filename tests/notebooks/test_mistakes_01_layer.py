"""Tests of the hidden tests of 01-convolution, exercise 6: ``conv_forward_naive``.

Every named mistake is named (see test_mistakes_01); the exercise is graded on its own when its
helpers are buggy; other correct answers, slow scalar loops included, pass inside the 5 s budget.
"""

from __future__ import annotations

import pytest
from nbtools import assert_passes, mutant, run_test_cell
from test_mistakes_01 import (
    BUGGY_CORRELATE,
    BUGGY_PAD,
    BUGGY_SIZE,
    NB,
    fails,
    fails_naming_only,
    forbidden,
    independent,
)

# ------------------------------------------------------------------------------------------
# conv_forward_naive
# ------------------------------------------------------------------------------------------

NAIVE_BODY = """
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
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
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
    return cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
""",
        """
import scipy.signal
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
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


PER_CHANNEL_CONV = """
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
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
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
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
def conv_forward_naive(x, w, b, *, stride=1, pad=0):
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


def test_conv_forward_naive_positional_stride_and_pad():
    """stride and pad are keyword-only (the * of the signature): an answer without it is told."""
    overrides = mutant(NB, "conv_forward_naive", ("*, stride=1", "stride=1"))
    fails("test_conv_forward_naive", overrides, "keyword-only", "conv_forward_naive(x, w, b, *")
