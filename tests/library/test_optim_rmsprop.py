"""cl.optim.rmsprop_step: the update of notebook 03's RMSProp exercise, and PyTorch's RMSprop."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab as cl


def reference(start, grad_seq, lr, decay, eps):
    """Parameters and running means after the steps, written out from the formula."""
    p = {k: v.copy() for k, v in start.items()}
    s = {k: np.zeros_like(v) for k, v in start.items()}
    for grads in grad_seq:
        for k in p:
            s[k] = decay * s[k] + (1 - decay) * grads[k] ** 2
            p[k] = p[k] - lr * grads[k] / (np.sqrt(s[k]) + eps)
    return p, s


@pytest.mark.parametrize("lr, decay, eps", [(1e-2, 0.99, 1e-8), (0.1, 0.9, 0.05)])
def test_matches_the_formula_in_place(lr, decay, eps):
    rng = np.random.default_rng(0)
    start = {"w": rng.standard_normal((4, 3, 3, 3)), "b": rng.standard_normal(4)}
    grad_seq = [{k: rng.standard_normal(v.shape) for k, v in start.items()} for _ in range(5)]
    params = {k: v.copy() for k, v in start.items()}
    held = dict(params)
    square_avg = {}
    for grads in grad_seq:
        copies = {k: g.copy() for k, g in grads.items()}
        cl.optim.rmsprop_step(params, grads, square_avg, lr, decay, eps)
        for k in grads:
            np.testing.assert_array_equal(grads[k], copies[k])  # gradients left unchanged
    want_p, want_s = reference(start, grad_seq, lr, decay, eps)
    assert sorted(square_avg) == ["b", "w"]
    for k in start:
        assert params[k] is held[k]  # updated in place
        np.testing.assert_allclose(params[k], want_p[k], rtol=1e-12)
        np.testing.assert_allclose(square_avg[k], want_s[k], rtol=1e-12)


def test_per_parameter_scale():
    """Gradients 100 times apart move their parameters equally far (the point of RMSProp)."""
    params, square_avg = {"w": np.zeros(2)}, {}
    for _ in range(3):
        cl.optim.rmsprop_step(params, {"w": np.array([0.01, 1.0])}, square_avg, 0.01, 0.9)
    np.testing.assert_allclose(params["w"][0], params["w"][1], rtol=1e-5)
    np.testing.assert_allclose(params["w"], -0.01 * sum(1 / np.sqrt(1 - 0.9**t) for t in (1, 2, 3)),
                               rtol=1e-5)  # fmt: skip


def test_float32_parameters_keep_their_dtype():
    params, square_avg = {"w": np.ones((2, 3), np.float32)}, {}
    cl.optim.rmsprop_step(params, {"w": np.ones((2, 3), np.float32)}, square_avg, 0.1)
    assert params["w"].dtype == np.float32 and square_avg["w"].dtype == np.float32


def test_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    start = rng.standard_normal((5, 4))
    grad_seq = [rng.standard_normal((5, 4)) for _ in range(6)]
    p = torch.tensor(start.copy(), requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=0.03, alpha=0.95, eps=1e-3)
    for g in grad_seq:
        p.grad = torch.tensor(g)
        opt.step()
    params, square_avg = {"p": start.copy()}, {}
    for g in grad_seq:
        cl.optim.rmsprop_step(params, {"p": g}, square_avg, 0.03, 0.95, 1e-3)
    np.testing.assert_allclose(params["p"], p.detach().numpy(), rtol=1e-10)
