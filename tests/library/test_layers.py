"""Tests for cnnlab.layers: shapes, reference loops, numerical gradients and PyTorch."""

import numpy as np
import pytest

from cnnlab import layers as L
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
    num = numerical_gradient(f, x, df=dout)
    err = rel_error(analytic, num)
    assert err < TOL, f"{name}: relative error {err:.2e} >= {TOL:.0e} against numerical gradient"


def conv_naive(x, w, b, stride, pad):
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


# ----------------------------------------------------------------------------- pooling


def pool_case(seed):
    rng = np.random.default_rng(100 + seed)
    size, stride = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = int(rng.integers(size, 9)), int(rng.integers(size, 9))
    x = distinct(rng, (2, 3, h, w))
    return rng, x, size, stride


def maxpool_naive(x, size, stride):
    n, c, h, w = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out


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


# ----------------------------------------------------------------------------- basic layers


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 5)])
def test_relu_numerical(shape):
    rng = np.random.default_rng(4)
    x = away_from_zero(rng, shape)
    out, cache = L.relu_forward(x)
    dout = rng.standard_normal(shape)
    check("relu dx", L.relu_backward(dout, cache), lambda v: L.relu_forward(v)[0], x, dout)


@pytest.mark.parametrize("seed", range(3))
def test_affine_numerical(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 2, 3, 2))
    w, b = rng.standard_normal((12, 5)), rng.standard_normal(5)
    out, cache = L.affine_forward(x, w, b)
    assert out.shape == (3, 5) and cache[0] is x
    dout = rng.standard_normal(out.shape)
    dx, dw, db = L.affine_backward(dout, cache)
    check("affine dx", dx, lambda v: L.affine_forward(v, w, b)[0], x, dout)
    check("affine dw", dw, lambda v: L.affine_forward(x, v, b)[0], w, dout)
    check("affine db", db, lambda v: L.affine_forward(x, w, v)[0], b, dout)
    with pytest.raises(ValueError, match="D, M"):
        L.affine_forward(x, w[1:], b)


def test_dropout():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 10, 10))
    out, cache = L.dropout_forward(x, 0.3, train=True, rng=np.random.default_rng(1))
    dropped = np.mean(out == 0)
    assert 0.25 < dropped < 0.35, f"dropped fraction {dropped} is far from p=0.3"
    np.testing.assert_allclose(out[out != 0], x[out != 0] / 0.7)
    dout = rng.standard_normal(x.shape)
    check(
        "dropout dx",
        L.dropout_backward(dout, cache),
        lambda v: L.dropout_forward(v, 0.3, rng=np.random.default_rng(1))[0],
        x,
        dout,
    )
    out, cache = L.dropout_forward(x, 0.3, train=False)
    assert out is x and L.dropout_backward(dout, cache) is dout
    with pytest.raises(ValueError):
        L.dropout_forward(x, 1.0)


def test_softmax_cross_entropy():
    rng = np.random.default_rng(6)
    scores, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    loss, dscores = L.softmax_cross_entropy(scores, y)
    p = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    assert abs(loss + np.mean(np.log(p[np.arange(5), y]))) < 1e-12
    check("softmax dscores", dscores, lambda v: L.softmax_cross_entropy(v, y)[0], scores, None)
    big, _ = L.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
    assert np.isfinite(big) and abs(big - 1000.0) < 1e-9, "not stable for large scores"
    with pytest.raises(ValueError, match="\\(N,\\)"):
        L.softmax_cross_entropy(scores, y[:3])


# ----------------------------------------------------------------------------- batchnorm


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_numerical(train):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 3, 2)) * 2 + 1
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.random(4) + 0.5

    def bn(x, gamma, beta):  # copies: the running stats must not drift while probing
        return L.batchnorm2d_forward(x, gamma, beta, rm.copy(), rv.copy(), train=train)[0]

    out, cache = L.batchnorm2d_forward(x, gamma, beta, rm.copy(), rv.copy(), train=train)
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = L.batchnorm2d_backward(dout, cache)
    check("batchnorm dx", dx, lambda v: bn(v, gamma, beta), x, dout)
    check("batchnorm dgamma", dgamma, lambda v: bn(x, v, beta), gamma, dout)
    check("batchnorm dbeta", dbeta, lambda v: bn(x, gamma, v), beta, dout)


def test_batchnorm_running_stats_in_place():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 2, 3, 3)) + 3
    rm, rv = np.zeros(2), np.ones(2)
    out, _ = L.batchnorm2d_forward(x, np.ones(2), np.zeros(2), rm, rv, momentum=0.9)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(rm, 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(rv, 0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1))
    before = rm.copy()
    L.batchnorm2d_forward(x, np.ones(2), np.zeros(2), rm, rv, train=False)
    np.testing.assert_array_equal(rm, before)


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


def test_batchnorm_affine_softmax_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 3, 5, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = np.zeros(3), np.ones(3)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    out, cache = L.batchnorm2d_forward(x, gamma, beta, rm, rv, momentum=0.9, eps=1e-5)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tout = F.batch_norm(tx, trm, trv, tg, tb, training=True, momentum=0.1, eps=1e-5)
    dout = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)
    for ours, t in zip(L.batchnorm2d_backward(dout, cache), (tx, tg, tb)):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-8, atol=1e-10)

    w, b = rng.standard_normal((45, 6)), rng.standard_normal(6)
    out, cache = L.affine_forward(x, w, b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = F.linear(tx.reshape(4, -1), tw.T, tb)
    y = rng.integers(0, 6, 4)
    loss, dscores = L.softmax_cross_entropy(out, y)
    tloss = F.cross_entropy(tout, torch.tensor(y))
    tloss.backward()
    assert abs(loss - tloss.item()) < 1e-12
    for ours, t in zip(L.affine_backward(dscores, cache), (tx, tw, tb)):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-9, atol=1e-12)


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
