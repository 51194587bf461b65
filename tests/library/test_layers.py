"""Tests for cnnlab.layers: sizes, im2col, convolution, dtypes (loops, gradients, PyTorch)."""

import numpy as np
import pytest
from layercases import check, conv_case, conv_naive

from cnnlab import layers as L

# ----------------------------------------------------------------------------- sizes, im2col


def test_conv_output_size():
    assert L.conv_output_size(32, 3, 1, 1) == 32
    assert L.conv_output_size(7, 3, 2, 0) == 3
    assert L.conv_output_size(8, 3, 2, 1) == 4  # floor
    for bad in [(0, 3, 1, 0), (5, 0, 1, 0), (5, 3, 0, 0), (5, 3, 1, -1), (2, 5, 1, 1)]:
        with pytest.raises(ValueError):
            L.conv_output_size(*bad)


def test_im2col_layout_and_col2im_adjoint():
    rng = np.random.default_rng(0)
    n, c, h, w, kh, kw, s, p = 2, 3, 6, 5, 3, 2, 2, 1
    x = rng.standard_normal((n, c, h, w))
    cols = L.im2col(x, kh, kw, stride=s, pad=p)
    oh, ow = L.conv_output_size(h, kh, s, p), L.conv_output_size(w, kw, s, p)
    assert cols.shape == (n * oh * ow, c * kh * kw)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    for ni, i, j, ci, pi, qi in [
        (1, 2, 1, 2, 1, 0),
        (0, 0, 0, 0, 0, 0),
        (1, oh - 1, ow - 1, 1, 2, 1),
    ]:
        row, col = ni * oh * ow + i * ow + j, ci * kh * kw + pi * kw + qi
        assert cols[row, col] == xp[ni, ci, i * s + pi, j * s + qi]
    # col2im is the adjoint (transpose) of im2col: <im2col(x), C> == <x, col2im(C)>
    cmat = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * cmat)
    rhs = np.sum(x * L.col2im(cmat, x.shape, kh, kw, stride=s, pad=p))
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))
    with pytest.raises(ValueError, match="N\\*OH\\*OW"):
        L.col2im(cmat[1:], x.shape, kh, kw, stride=s, pad=p)


# ----------------------------------------------------------------------------- convolution


@pytest.mark.parametrize("seed", range(8))
def test_conv_forward_matches_loops_and_cache(seed):
    _, x, w, b, stride, pad = conv_case(seed)
    out, cache = L.conv_forward(x, w, b, stride=stride, pad=pad)
    expected = conv_naive(x, w, b, stride, pad)
    assert out.shape == expected.shape, (
        f"output shape {out.shape} != expected {expected.shape} (stride={stride}, pad={pad})"
    )
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    x_, w_, b_, s_, p_ = cache[:5]
    assert x_ is x and w_ is w and b_ is b and (s_, p_) == (stride, pad)


@pytest.mark.parametrize("seed", range(8))
def test_conv_backward_numerical(seed):
    rng, x, w, b, stride, pad = conv_case(seed)
    out, cache = L.conv_forward(x, w, b, stride=stride, pad=pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = L.conv_backward(dout, cache)
    conv = lambda x, w, b: L.conv_forward(x, w, b, stride=stride, pad=pad)[0]
    check("conv dx", dx, lambda v: conv(v, w, b), x, dout)
    check("conv dw", dw, lambda v: conv(x, v, b), w, dout)
    check("conv db", db, lambda v: conv(x, w, v), b, dout)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_large_batch_matches_im2col_reference(stride):
    """Many images (several internal chunks) against the public im2col / col2im formulas."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((70, 16, 12, 11))[:, :, :, ::-1]  # a non-contiguous view
    w, b = rng.standard_normal((8, 16, 3, 3)), rng.standard_normal(8)
    out, cache = L.conv_forward(x, w, b, stride=stride, pad=1)
    cols = L.im2col(x, 3, 3, stride=stride, pad=1)  # (N*OH*OW, C*9)
    n, f, oh, ow = out.shape
    ref = (cols @ w.reshape(f, -1).T + b).reshape(n, oh, ow, f).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = L.conv_backward(dout, cache)
    d2 = dout.transpose(0, 2, 3, 1).reshape(-1, f)  # rows in im2col order
    np.testing.assert_allclose(dw, (d2.T @ cols).reshape(w.shape), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), rtol=1e-10)
    dx_ref = L.col2im(d2 @ w.reshape(f, -1), x.shape, 3, 3, stride=stride, pad=1)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-9, atol=1e-9)
    assert L.conv_backward(dout, cache, need_dx=False)[0] is None


def test_conv_bad_input():
    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match="N, C, H, W"):
        L.conv_forward(x[0], np.zeros((4, 3, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="F, C, KH, KW"):
        L.conv_forward(x, np.zeros((4, 2, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="\\(F,\\)"):
        L.conv_forward(x, np.zeros((4, 3, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="stride"):
        L.conv_forward(x, np.zeros((4, 3, 3, 3)), np.zeros(4), stride=0)


# ----------------------------------------------------------------------------- dtypes


def test_float32_in_float32_out():
    rng = np.random.default_rng(9)
    f32 = np.float32
    x = rng.standard_normal((2, 3, 6, 6)).astype(f32)
    w, b = rng.standard_normal((4, 3, 3, 3)).astype(f32), np.zeros(4, f32)
    out, cache = L.conv_forward(x, w, b, stride=1, pad=1)
    assert out.dtype == f32 and all(g.dtype == f32 for g in L.conv_backward(out, cache))
    for fwd, bwd in [
        (L.maxpool_forward, L.maxpool_backward),
        (L.avgpool_forward, L.avgpool_backward),
    ]:
        o, c = fwd(x, 3, stride=2)
        assert o.dtype == f32 and bwd(o, c).dtype == f32
    o, c = L.global_avgpool_forward(x)
    assert o.dtype == f32 and L.global_avgpool_backward(o, c).dtype == f32
    o, c = L.relu_forward(x)
    assert o.dtype == f32 and L.relu_backward(o, c).dtype == f32
    o, c = L.dropout_forward(x, 0.5, rng=rng)
    assert o.dtype == f32 and L.dropout_backward(o, c).dtype == f32
    wa, ba = rng.standard_normal((108, 5)).astype(f32), np.zeros(5, f32)
    o, c = L.affine_forward(x, wa, ba)
    assert o.dtype == f32 and all(g.dtype == f32 for g in L.affine_backward(o, c))
    g1, b0 = np.ones(3, f32), np.zeros(3, f32)
    o, c = L.batchnorm2d_forward(x, g1, b0, np.zeros(3, f32), np.ones(3, f32))
    assert o.dtype == f32 and all(g.dtype == f32 for g in L.batchnorm2d_backward(o, c))
    loss, d = L.softmax_cross_entropy(o.reshape(2, -1), np.array([0, 1]))
    assert d.dtype == f32 and isinstance(loss, float)


def test_integer_images_become_float64():
    x = np.arange(2 * 1 * 4 * 4).reshape(2, 1, 4, 4)
    out, cache = L.conv_forward(x, np.ones((1, 1, 2, 2)), np.zeros(1), stride=2)
    assert out.dtype == np.float64 and out[0, 0, 0, 0] == 0 + 1 + 4 + 5
    for fwd, bwd in [
        (L.maxpool_forward, L.maxpool_backward),
        (L.avgpool_forward, L.avgpool_backward),
    ]:
        o, c = fwd(x, 2)
        assert o.dtype == np.float64 and bwd(np.ones_like(o), c).dtype == np.float64
    o, c = L.global_avgpool_forward(x)
    np.testing.assert_allclose(L.global_avgpool_backward(np.ones_like(o), c), 1 / 16)


# ----------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("seed", range(4))
def test_conv_matches_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng, x, w, b, stride, pad = conv_case(seed)
    out, cache = L.conv_forward(x, w, b, stride=stride, pad=pad)
    dout = rng.standard_normal(out.shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-9, atol=1e-10)
    for name, ours, t in zip("x w b".split(), L.conv_backward(dout, cache), (tx, tw, tb)):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=f"d{name}")
