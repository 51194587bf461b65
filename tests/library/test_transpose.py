"""Tests for transposed convolution and nearest upsampling (layers and modules) and their specs."""

import numpy as np
import pytest

from cnnlab import layers as L
from cnnlab import nn
from cnnlab import spec as S
from cnnlab.gradcheck import check_gradients, rel_error

TOL = 1e-7  # float64 gradient checks


def transpose_naive(x, w, b, stride, pad):
    """Loops: every input pixel stamps ``x * w[c_in]`` at stride steps; crop ``pad``."""
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    full = np.zeros((n, c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for i in range(h):
        for j in range(wd):
            stamp = np.tensordot(x[:, :, i, j], w, axes=([1], [0]))  # (N, C_out, KH, KW)
            full[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += stamp
    out = full[:, :, pad : full.shape[2] - pad, pad : full.shape[3] - pad]
    return out + np.reshape(b, (-1, 1, 1))


def case(seed):
    """Random problem: N, C_in, C_out > 1, non-square sizes and kernels, stride 1-3, pad 0-2."""
    rng = np.random.default_rng(seed)
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    kh, kw = int(rng.integers(max(1, pad), 5)), int(rng.integers(max(1, pad), 5))
    h, wd = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    n, c_in, c_out = int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 5))
    # keep the output at least one pixel wide after cropping
    kh, kw = max(kh, 2 * pad + 1 - (h - 1) * stride), max(kw, 2 * pad + 1 - (wd - 1) * stride)
    x = rng.standard_normal((n, c_in, h, wd))
    w = rng.standard_normal((c_in, c_out, kh, kw))
    b = rng.standard_normal(c_out)
    return rng, x, w, b, stride, pad


@pytest.mark.parametrize("seed", range(8))
def test_forward_matches_loops_and_output_size(seed):
    _, x, w, b, stride, pad = case(seed)
    out, cache = L.conv_transpose_forward(x, w, b, stride=stride, pad=pad)
    n, _, h, wd = x.shape
    oh, ow = (h - 1) * stride - 2 * pad + w.shape[2], (wd - 1) * stride - 2 * pad + w.shape[3]
    assert out.shape == (n, w.shape[1], oh, ow), f"stride={stride} pad={pad}"
    assert L.conv_transpose_output_size(h, w.shape[2], stride, pad) == oh
    np.testing.assert_allclose(out, transpose_naive(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    assert cache[0] is x and cache[1] is w and cache[3:5] == (stride, pad)


@pytest.mark.parametrize("seed", range(8))
def test_backward_numerical(seed):
    rng, x, w, b, stride, pad = case(seed)
    errors = check_gradients(
        lambda x, w, b: L.conv_transpose_forward(x, w, b, stride=stride, pad=pad),
        {"x": x, "w": w, "b": b},
        L.conv_transpose_backward,
        rng=rng,
    )
    assert max(errors.values()) < TOL, f"stride={stride} pad={pad}: {errors}"


@pytest.mark.parametrize("seed", range(8))
def test_is_the_input_gradient_of_a_convolution(seed):
    """forward == conv_backward's dx, and backward's dx == conv_forward, for the same w."""
    rng, x, w, b, stride, pad = case(seed)
    out, cache = L.conv_transpose_forward(x, w, 0, stride=stride, pad=pad)
    z = rng.standard_normal(out.shape)  # a conv input of the transposed conv's output shape
    y, conv_cache = L.conv_forward(z, w, np.zeros(w.shape[0]), stride=stride, pad=pad)
    assert y.shape == x.shape  # the convolution maps the output size back to the input size
    dz, _, _ = L.conv_backward(x, conv_cache)
    np.testing.assert_allclose(out, dz, rtol=1e-12, atol=1e-12)
    dx, _, db = L.conv_transpose_backward(z, cache)
    np.testing.assert_allclose(dx, y, rtol=1e-12, atol=1e-12)
    assert db.shape == () and np.isclose(db, z.sum())  # a scalar bias gets a scalar gradient


def test_known_values_stride_2_pad_1():
    """One input pixel stamps the kernel; pad crops a row/column of the output on every side."""
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = 2.0
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    out, _ = L.conv_transpose_forward(x, w, np.array([0.5]), stride=2, pad=1)
    assert out.shape == (1, 1, 3, 3)
    full = np.zeros((5, 5))
    full[2:5, 0:3] = 2.0 * w[0, 0]
    np.testing.assert_allclose(out[0, 0], full[1:4, 1:4] + 0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    rng, x, w, b, stride, pad = case(3)
    x = x.astype(dtype)
    out, cache = L.conv_transpose_forward(x, w, b, stride=stride, pad=pad)
    dx, dw, db = L.conv_transpose_backward(np.ones(out.shape), cache)
    assert out.dtype == dx.dtype == dtype
    assert dw.dtype == w.dtype and db.dtype == b.dtype
    up, c = L.upsample_nearest_forward(x, scale=3)
    assert up.dtype == dtype and L.upsample_nearest_backward(np.ones(up.shape), c).dtype == dtype
    ints, _ = L.conv_transpose_forward(np.ones((1, 2, 3, 3), int), w[:2], b, stride=2)
    assert ints.dtype == np.float64


def test_bad_input_names_the_expected_shape():
    x, w, b = np.ones((2, 3, 4, 4)), np.ones((3, 5, 2, 2)), np.zeros(5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        L.conv_transpose_forward(x[0], w, b)
    with pytest.raises(ValueError, match=r"\(C_in, C_out, KH, KW\) with C_in = 3"):
        L.conv_transpose_forward(x, np.ones((5, 3, 2, 2)), b)
    with pytest.raises(ValueError, match=r"\(C_out,\) = \(5,\)"):
        L.conv_transpose_forward(x, w, np.zeros(3))
    with pytest.raises(ValueError, match="stride"):
        L.conv_transpose_forward(x, w, b, stride=0)
    with pytest.raises(ValueError, match="crops the whole output"):
        L.conv_transpose_forward(x[:, :, :1, :1], w, b, pad=1)
    out, cache = L.conv_transpose_forward(x, w, b, stride=2)
    with pytest.raises(ValueError, match=r"\(N, C_out, OH, OW\) = \(2, 5, 8, 8\)"):
        L.conv_transpose_backward(np.ones((2, 5, 7, 7)), cache)
    with pytest.raises(ValueError, match="scale"):
        L.upsample_nearest_forward(x, scale=0)
    up, c = L.upsample_nearest_forward(x, scale=2)
    with pytest.raises(ValueError, match=r"\(N, C, H\*scale, W\*scale\) = \(2, 3, 8, 8\)"):
        L.upsample_nearest_backward(np.ones((2, 3, 4, 4)), c)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_upsample_values_and_gradient(scale):
    rng = np.random.default_rng(scale)
    x = rng.standard_normal((2, 3, 3, 5))
    out, _ = L.upsample_nearest_forward(x, scale=scale)
    assert out.shape == (2, 3, 3 * scale, 5 * scale)
    np.testing.assert_array_equal(out, x.repeat(scale, axis=2).repeat(scale, axis=3))
    errors = check_gradients(
        lambda x: L.upsample_nearest_forward(x, scale=scale),
        {"x": x},
        L.upsample_nearest_backward,
        rng=rng,
    )
    assert errors["x"] < TOL


# ----------------------------------------------------------------------------- modules, specs


def test_modules_forward_backward_and_init():
    up = nn.ConvTranspose2d(8, 4, 2, stride=2, seed=0)
    assert up.params["w"].shape == (8, 4, 2, 2) and up.params["b"].shape == (4,)
    assert up.params["w"].dtype == np.float32 and (up.params["b"] == 0).all()
    x = np.random.default_rng(0).standard_normal((3, 8, 5, 6)).astype(np.float32)
    out = up(x)
    assert out.shape == (3, 4, 10, 12) and out.dtype == np.float32
    dx = up.backward(np.ones_like(out))
    ref = L.conv_transpose_backward(np.ones_like(out), L.conv_transpose_forward(
        x, up.params["w"], up.params["b"], stride=2)[1])  # fmt: skip
    np.testing.assert_allclose(dx, ref[0], rtol=1e-6)
    np.testing.assert_allclose(up.grads["w"], ref[1], rtol=1e-6)
    assert up.backward(np.ones_like(out), need_dx=False) is None
    # He init with the fan-in an output pixel sees: C_in * (KH/stride) * (KW/stride) = 8 here
    big = nn.ConvTranspose2d(64, 64, 4, stride=2, seed=1).params["w"]
    assert abs(big.std() - np.sqrt(2 / (64 * 2 * 2))) < 0.02 * np.sqrt(2 / 256)
    assert abs(nn.ConvTranspose2d(50, 50, 3, seed=2).params["w"].std() - np.sqrt(2 / 450)) < 2e-3
    assert nn.Upsample(3)(x).shape == (3, 8, 15, 18)
    with pytest.raises(ValueError, match="scale"):
        nn.Upsample(1.5)


def test_encoder_decoder_gradient_through_modules():
    rng = np.random.default_rng(5)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, pad=1, seed=0, dtype="float64"),
        nn.ReLU(),
        nn.ConvTranspose2d(3, 2, 4, stride=2, pad=1, seed=1, dtype="float64"),
        nn.Upsample(2),
        nn.Conv2d(2, 2, 1, seed=2, dtype="float64"),
    )
    x = rng.standard_normal((2, 2, 6, 6))
    out = model(x)
    assert out.shape == (2, 2, 12, 12)
    dout = rng.standard_normal(out.shape)
    model.backward(dout)
    w = model.params["2.w"]
    analytic = model.grads["2.w"].copy()
    numeric = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        old = w[idx]
        w[idx] = old + 1e-5
        plus = np.sum(model(x) * dout)
        w[idx] = old - 1e-5
        minus = np.sum(model(x) * dout)
        w[idx] = old
        numeric[idx] = (plus - minus) / 2e-5
    assert rel_error(analytic, numeric) < TOL


def test_spec_and_npz_round_trip(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, pad=1, seed=0),
        nn.ConvTranspose2d(4, 2, (3, 2), stride=2, pad=1, seed=1),
        nn.Upsample(scale=3),
    )
    x = np.random.default_rng(1).random((2, 1, 5, 5)).astype(np.float32)
    expected = model(x)
    clone = S.from_spec(S.to_spec(model))
    np.testing.assert_array_equal(clone(x), expected)
    assert clone[1].config() == model[1].config() and clone[2].scale == 3
    S.save_model(model, tmp_path / "m.npz")
    loaded = S.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded(x), expected)
    other = nn.Sequential(
        nn.Conv2d(1, 4, 3, pad=1),
        nn.ConvTranspose2d(4, 2, (3, 2), stride=1, pad=1),
        nn.Upsample(scale=3),
    )
    with pytest.raises(ValueError, match="layer 1.*ConvTranspose2d.*stride=2"):
        S.load_into(other, tmp_path / "m.npz")


# ----------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("seed", range(6))
def test_matches_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng, x, w, b, stride, pad = case(seed)
    out, cache = L.conv_transpose_forward(x, w, b, stride=stride, pad=pad)
    dout = rng.standard_normal(out.shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = F.conv_transpose2d(tx, tw, tb, stride=stride, padding=pad)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-9, atol=1e-10)
    grads = L.conv_transpose_backward(dout, cache)
    for name, ours, t in zip("x w b".split(), grads, (tx, tw, tb)):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=f"d{name}")


def test_upsample_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    out, _ = L.upsample_nearest_forward(x, scale=2)
    theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2, mode="nearest")
    np.testing.assert_array_equal(out, theirs.numpy())
