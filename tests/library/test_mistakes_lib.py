"""cnnlab.mistakes: every listed mistake is well formed and differs from the correct result."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import cnnlab as cl
import cnnlab.testing as T
from cnnlab.mistakes import (
    conv_forward_mistakes,
    convolve2d_mistakes,
    correlate2d_mistakes,
    im2col_mistakes,
)


def check_listed(mistakes, reference, at_least):
    """Each entry is (non-empty hint, array or int shape tuple) and differs from ``reference``."""
    assert len(mistakes) >= at_least
    for hint, wrong in mistakes:
        assert isinstance(hint, str) and hint
        if isinstance(wrong, tuple):
            assert all(isinstance(d, int) for d in wrong), (hint, wrong)
            assert wrong != reference.shape, hint
        else:
            assert isinstance(wrong, np.ndarray) and wrong.dtype.kind == "f", hint
            same = wrong.shape == reference.shape and np.allclose(wrong, reference)
            assert not same, hint
        # assert_allclose names exactly this mistake (or an earlier one with the same output)
        with pytest.raises(AssertionError) as info:
            T.assert_allclose(wrong if not isinstance(wrong, tuple) else np.zeros(wrong),
                              reference, mistakes=mistakes)  # fmt: skip
        assert "hint:" in str(info.value), hint


SHAPES_2D = [((11, 17), (3, 5)), ((7, 10), (3, 3)), ((6, 7), (1, 1)), ((5, 4), (5, 4))]


@pytest.mark.parametrize(("image_shape", "kernel_shape"), SHAPES_2D)
def test_correlate2d_mistakes(image_shape, kernel_shape):
    rng = np.random.default_rng(1)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=kernel_shape)
    ref = scipy.signal.correlate2d(image, kernel, mode="valid")
    check_listed(correlate2d_mistakes(image, kernel), ref, at_least=2)
    flipped = scipy.signal.convolve2d(image, kernel, mode="valid")
    if not np.allclose(flipped, ref):
        assert any("flipped kernel" in h for h, _ in correlate2d_mistakes(image, kernel))


@pytest.mark.parametrize(("image_shape", "kernel_shape"), SHAPES_2D)
def test_convolve2d_mistakes(image_shape, kernel_shape):
    rng = np.random.default_rng(2)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=kernel_shape)
    ref = scipy.signal.convolve2d(image, kernel, mode="valid")
    check_listed(convolve2d_mistakes(image, kernel), ref, at_least=int(kernel.size > 1))


def test_1x1_kernel_lists_no_mistake_with_the_correct_shape():
    """With a 1 x 1 kernel the 'same' output has the 'valid' shape: it must not be listed."""
    image, kernel = np.ones((6, 7)), np.full((1, 1), 2.0)
    shapes = [w for _, w in correlate2d_mistakes(image, kernel) if isinstance(w, tuple)]
    assert (6, 7) not in shapes


# N, C, H, W, F, KH, KW, stride, pad
CONV_CONFIGS = [(3, 2, 5, 6, 3, 3, 3, 2, 1), (2, 3, 7, 6, 4, 3, 2, 1, 0),
                (2, 1, 6, 5, 2, 1, 1, 1, 0)]  # fmt: skip


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv_forward_mistakes(config):
    n, c, h, wd, f, kh, kw, stride, pad = config
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(n, c, h, wd)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f)
    ref = cl.layers.conv_forward(x, w, b, stride=stride, pad=pad)[0]
    mistakes = conv_forward_mistakes(x, w, b, stride, pad)
    check_listed(mistakes, ref, at_least=6)
    hints = " ".join(h for h, _ in mistakes)
    assert "bias missing" in hints
    if f > 1 and ref.shape[0] == f == ref.shape[2]:
        assert "bias broadcast on the wrong axis" in hints


@pytest.mark.parametrize("config", [(2, 3, 8, 6, 3, 2, 1, 0), (2, 1, 10, 7, 4, 3, 3, 2)])
def test_im2col_mistakes(config):
    n, c, h, wd, kh, kw, stride, pad = config
    x = np.random.default_rng(4).normal(size=(n, c, h, wd))
    ref = cl.layers.im2col(x, kh, kw, stride=stride, pad=pad)
    check_listed(im2col_mistakes(x, kh, kw, stride, pad), ref, at_least=6)


def test_public_through_cnnlab():
    assert cl.mistakes.conv_forward_mistakes is conv_forward_mistakes
    assert "mistakes" in dir(cl)
