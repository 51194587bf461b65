"""Tests for cnnlab.layers: ReLU, affine, dropout, softmax, batchnorm (gradients, PyTorch)."""

import numpy as np
import pytest
from layercases import away_from_zero, check

from cnnlab import layers as L

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


# ----------------------------------------------------------------------------- PyTorch


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
