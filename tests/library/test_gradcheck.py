"""Tests for cnnlab.gradcheck: numerical gradients, rel_error and check_gradients."""

import numpy as np
import pytest

from cnnlab.gradcheck import check_gradients, numerical_gradient, rel_error


def affine_forward(x, w, b):
    """Tiny reference layer: (N, D) @ (D, M) + (M,) -> (N, M)."""
    out = x @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def affine_backward_wrong(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout * 1.1, dout.mean(axis=0)  # dw scaled, db averaged


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4, 2)])
def test_numerical_gradient_of_sum_of_squares_is_2x(shape):
    x = np.random.default_rng(0).normal(size=shape)
    grad = numerical_gradient(lambda z: np.sum(z**2), x)
    assert grad.shape == shape
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_with_upstream_df():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    df = rng.normal(size=(3, 4))
    # f(x) = sin(x) elementwise -> grad of <sin(x), df> is cos(x) * df
    grad = numerical_gradient(np.sin, x, df=df)
    np.testing.assert_allclose(grad, np.cos(x) * df, rtol=1e-6, atol=1e-9)


def test_numerical_gradient_with_df_and_different_output_shape():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4,))
    A = rng.normal(size=(3, 4))
    df = rng.normal(size=(3,))
    grad = numerical_gradient(lambda z: A @ z, x, df=df)
    np.testing.assert_allclose(grad, A.T @ df, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_restores_x_exactly():
    x = np.random.default_rng(3).normal(size=(2, 3, 3)) * 1e3 + 0.1
    before = x.copy()
    seen = []

    def f(z):
        seen.append(z.copy())
        return np.sum(np.tanh(z))

    numerical_gradient(f, x)
    assert np.array_equal(x, before)
    # every probe changes exactly one element
    assert all(np.count_nonzero(s != before) == 1 for s in seen)
    assert len(seen) == 2 * x.size


def test_numerical_gradient_float32_uses_actual_step():
    x = np.array([1000.0, -3.0], dtype=np.float32)
    grad = numerical_gradient(lambda z: np.sum(z.astype(np.float64) ** 2), x, h=1e-3)
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=1e-4)
    assert x.dtype == np.float32 and x[0] == 1000.0


def test_numerical_gradient_rejects_bad_input():
    with pytest.raises(ValueError, match="floating-point ndarray"):
        numerical_gradient(lambda z: z.sum(), np.arange(3))
    with pytest.raises(ValueError, match="expected a scalar"):
        numerical_gradient(lambda z: z * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"expected the shape of f\(x\), \(3,\)"):
        numerical_gradient(lambda z: z * 2, np.ones(3), df=np.ones(4))


def test_rel_error_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    # tiny values are compared against the 1e-8 floor, not blown up
    assert rel_error(1e-12, 0.0) == pytest.approx(1e-4)
    assert isinstance(rel_error(np.ones(3), np.ones(3)), float)


def test_rel_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(3, 2\)"):
        rel_error(np.ones((2, 3)), np.ones((3, 2)))


def _affine_inputs(seed):
    rng = np.random.default_rng(seed)
    return rng, {
        "x": rng.normal(size=(4, 5)),
        "w": rng.normal(size=(5, 3)),
        "b": rng.normal(size=3),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_check_gradients_correct_affine_layer_is_tiny(seed):
    rng, inputs = _affine_inputs(seed)
    before = {k: v.copy() for k, v in inputs.items()}
    errors = check_gradients(affine_forward, inputs, affine_backward, rng=rng)
    assert set(errors) == {"x", "w", "b"}
    assert max(errors.values()) < 1e-7, errors
    for k in inputs:  # the caller's arrays are untouched
        assert np.array_equal(inputs[k], before[k])


def test_check_gradients_backward_second_is_a_clear_error():
    rng, inputs = _affine_inputs(0)
    with pytest.raises(ValueError, match=r"takes \(forward, inputs, backward\).*affine_backward"):
        check_gradients(affine_forward, affine_backward, inputs, rng=rng)
    with pytest.raises(ValueError, match="backward must be a callable"):
        check_gradients(affine_forward, inputs, {"x": inputs["x"]})


def test_check_gradients_wrong_backward_is_large():
    rng, inputs = _affine_inputs(0)
    errors = check_gradients(affine_forward, inputs, affine_backward_wrong, rng=rng)
    assert errors["x"] < 1e-7
    assert errors["w"] > 1e-2
    assert errors["b"] > 1e-2


def test_check_gradients_is_deterministic_and_uses_given_dout():
    _, inputs = _affine_inputs(0)
    a = check_gradients(affine_forward, inputs, affine_backward, seed=5)
    b = check_gradients(affine_forward, inputs, affine_backward, seed=5)
    assert a == b
    errors = check_gradients(affine_forward, inputs, affine_backward, dout=np.ones((4, 3)))
    assert max(errors.values()) < 1e-7
    with pytest.raises(ValueError, match=r"expected the output shape \(4, 3\)"):
        check_gradients(affine_forward, inputs, affine_backward, dout=np.ones((3, 4)))


def test_check_gradients_loss_style_skips_labels():
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, size=6)

    def softmax_loss(s, y):
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(p[np.arange(len(y)), y]))
        ds = p.copy()
        ds[np.arange(len(y)), y] -= 1
        return loss, ds / len(y)

    errors = check_gradients(softmax_loss, {"scores": scores, "y": y})
    assert list(errors) == ["scores"]
    assert errors["scores"] < 1e-7


def test_check_gradients_bad_gradient_shape_names_expected():
    _, inputs = _affine_inputs(0)

    def bad_backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw.T, db

    with pytest.raises(ValueError, match=r"'w' has shape \(3, 5\), expected \(5, 3\)"):
        check_gradients(affine_forward, inputs, bad_backward)


def test_check_gradients_array_output_without_backward_is_an_error():
    with pytest.raises(ValueError, match="expected a scalar loss"):
        check_gradients(lambda x: (x * 2, None), {"x": np.ones(3)})


def test_check_gradients_on_cnnlab_conv_layer():
    layers = pytest.importorskip("cnnlab.layers")
    rng = np.random.default_rng(0)
    inputs = {
        "x": rng.normal(size=(2, 3, 5, 5)),
        "w": rng.normal(size=(4, 3, 3, 3)),
        "b": rng.normal(size=4),
    }
    errors = check_gradients(
        lambda x, w, b: layers.conv_forward(x, w, b, stride=2, pad=1),
        inputs,
        layers.conv_backward,
        rng=rng,
    )
    assert max(errors.values()) < 1e-7, errors
