"""Shared cases and checks for the cnnlab.layers tests (tests/library/test_layers*.py)."""

import numpy as np

from cnnlab.gradcheck import numerical_gradient, rel_error

TOL = 1e-7  # float64 gradient checks


def distinct(rng, shape, spacing=1e-2):
    """Values all at least ``spacing`` apart (no max ties), shuffled, roughly in [-1, 1]."""
    n = int(np.prod(shape))
    vals = (np.arange(n) - n / 2) * spacing + 0.25 * spacing  # never exactly 0
    return rng.permutation(vals).reshape(shape) / max(1.0, n * spacing / 2)


def away_from_zero(rng, shape, margin=0.1):
    """Normal-ish values with |x| >= margin (no ReLU kinks within a probe step)."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (margin + np.abs(x))


def check(name, analytic, f, x, dout):
    """Assert ``analytic`` is the gradient of ``sum(f(x) * dout)`` to :data:`TOL`."""
    num = numerical_gradient(f, x, df=dout)
    err = rel_error(analytic, num)
    assert err < TOL, f"{name}: relative error {err:.2e} >= {TOL:.0e} against numerical gradient"


def conv_naive(x, w, b, stride, pad):
    """The convolution by loops over the output positions (the reference of the tests)."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv_case(seed):
    """Random conv problem: N, C, F > 1, odd / non-square sizes, stride 1-3, pad 0-2."""
    rng = np.random.default_rng(seed)
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = int(rng.integers(max(kh, 3), 8)), int(rng.integers(max(kw, 3), 8))
    n, c, f = int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 5))
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((f, c, kh, kw))
    b = rng.standard_normal(f)
    return rng, x, wt, b, stride, pad


def pool_case(seed):
    """Random pooling problem: window 1-3, stride 1-3, distinct values (no max ties)."""
    rng = np.random.default_rng(100 + seed)
    size, stride = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = int(rng.integers(size, 9)), int(rng.integers(size, 9))
    x = distinct(rng, (2, 3, h, w))
    return rng, x, size, stride


def maxpool_naive(x, size, stride):
    """Max pooling by loops over the output positions."""
    n, c, h, w = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out
