"""Tests for cnnlab.layers: max, average and global pooling (loops, gradients, PyTorch)."""

import numpy as np
import pytest
from layercases import check, maxpool_naive, pool_case

from cnnlab import layers as L

# ----------------------------------------------------------------------------- pooling


@pytest.mark.parametrize("seed", range(10))
def test_maxpool_forward_backward(seed):
    rng, x, size, stride = pool_case(seed)
    out, cache = L.maxpool_forward(x, size, stride=stride)
    np.testing.assert_array_equal(out, maxpool_naive(x, size, stride))
    dout = rng.standard_normal(out.shape)
    dx = L.maxpool_backward(dout, cache)
    check(
        f"maxpool dx (size={size}, stride={stride})",
        dx,
        lambda v: L.maxpool_forward(v, size, stride=stride)[0],
        x,
        dout,
    )


def test_maxpool_first_max_and_overlap():
    x = np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0], [1.0, 3.0, 0.0]]]])
    out, cache = L.maxpool_forward(x, size=2, stride=1)
    np.testing.assert_array_equal(out[0, 0], [[3, 3], [3, 3]])
    dx = L.maxpool_backward(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), cache)
    # windows at (0,0) and (0,1) both pick x[0,0,0,1] (first max in row-major order);
    # window (1,0) picks x[1,0]; window (1,1) picks x[2,1].
    expected = [[0, 11, 0], [100, 0, 0], [0, 1000, 0]]
    np.testing.assert_array_equal(dx[0, 0], expected)
    # non-overlapping fast path with a tie
    out, cache = L.maxpool_forward(np.ones((1, 1, 2, 2)), 2)
    np.testing.assert_array_equal(
        L.maxpool_backward(np.ones((1, 1, 1, 1)), cache)[0, 0], [[1, 0], [0, 0]]
    )


@pytest.mark.parametrize("size", [1, 2, 3])
def test_maxpool_fast_path_matches_general_path_with_ties(size):
    """Many ties (small integers): the tiling fast path and the general path must agree."""
    rng = np.random.default_rng(size)
    x = rng.integers(0, 3, (3, 2, 2 * size * 3, size * 4)).astype(np.float64)
    strided = np.asfortranarray(x)  # not C-contiguous: takes the general path
    dout = rng.standard_normal((3, 2, 6, 4))
    out1, cache1 = L.maxpool_forward(x, size, stride=size)
    out2, cache2 = L.maxpool_forward(strided, size)
    assert cache1[4] is not None and cache2[4] is None, "expected the fast and the general path"
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(
        L.maxpool_backward(dout, cache1), L.maxpool_backward(dout, cache2)
    )
    assert np.count_nonzero(L.maxpool_backward(np.ones_like(dout), cache1)) == dout.size


@pytest.mark.parametrize("forward", [L.maxpool_forward, L.avgpool_forward])
def test_pool_stride_is_keyword_only_and_defaults_to_size(forward):
    x = np.random.default_rng(0).standard_normal((1, 2, 7, 7))
    with pytest.raises(TypeError, match="positional"):
        forward(x, 3, 1)
    out, cache = forward(x, 3)  # stride = size, as in PyTorch: 3x3 windows, no overlap
    assert out.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(out, forward(x, 3, stride=3)[0])
    assert forward(x, 3, stride=1)[0].shape == (1, 2, 5, 5)


@pytest.mark.parametrize("seed", range(6))
def test_avgpool_numerical(seed):
    rng, x, size, stride = pool_case(seed)
    out, cache = L.avgpool_forward(x, size, stride=stride)
    dout = rng.standard_normal(out.shape)
    check(
        "avgpool dx",
        L.avgpool_backward(dout, cache),
        lambda v: L.avgpool_forward(v, size, stride=stride)[0],
        x,
        dout,
    )


def test_global_avgpool_numerical():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5, 3))
    out, cache = L.global_avgpool_forward(x)
    np.testing.assert_allclose(out, x.mean(axis=(2, 3)))
    dout = rng.standard_normal(out.shape)
    check(
        "global avgpool dx",
        L.global_avgpool_backward(dout, cache),
        lambda v: L.global_avgpool_forward(v)[0],
        x,
        dout,
    )


# ----------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("seed", range(4))
def test_pools_match_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng, x, size, stride = pool_case(seed)
    for ours_f, ours_b, theirs in [
        (L.maxpool_forward, L.maxpool_backward, F.max_pool2d),
        (L.avgpool_forward, L.avgpool_backward, F.avg_pool2d),
    ]:
        out, cache = ours_f(x, size, stride=stride)
        dout = rng.standard_normal(out.shape)
        tx = torch.tensor(x, requires_grad=True)
        tout = theirs(tx, size, stride)
        tout.backward(torch.tensor(dout))
        np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours_b(dout, cache), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
