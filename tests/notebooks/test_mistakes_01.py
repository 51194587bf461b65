"""Tests of the hidden tests of 01-convolution: every mistake they claim to catch is caught.

Each case replaces one answer cell with a buggy (or library-only) answer, runs the test cell in
process and checks (``nbtools.assert_fails``) that it fails with a message naming the mistake,
and that the hint of no neighbouring mistake of the same exercise fires instead (a hint names a
mistake only when that mistake is what happened). Exercises that build on earlier ones are graded
on their own: a buggy helper costs only the helper's exercise (``test_*_graded_on_its_own``).

This module holds the helpers the other ``test_mistakes_01_*`` modules import, and exercises 1-3
(``correlate2d``, ``convolve2d``, ``edge_kernels``); ``test_mistakes_01_sizes`` has exercises 4,
5, 7 and 8, ``test_mistakes_01_layer`` exercise 6, ``test_mistakes_01_im2col`` exercises 9 and 10.
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
# Buggy helpers, shared by the tests that grade an exercise on its own
# ------------------------------------------------------------------------------------------
SIZE_BODY = """
def conv_output_size(n, k, stride=1, pad=0):
    if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:
        raise ValueError("bad arguments")
    return {expr}
"""
PAD_BODY = """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    return np.pad(x, {widths})
"""
BUGGY_SIZE = SIZE_BODY.format(expr="n + 2 * pad - k + 1")  # stride ignored
BUGGY_PAD = PAD_BODY.format(widths="ph")  # pads every axis


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
