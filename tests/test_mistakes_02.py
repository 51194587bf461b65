"""Every mistake the hidden tests of 02-layers claim to catch, as a buggy answer.

Each case replaces one answer cell of ``solutions/02-layers/layers.py`` with a buggy version and
checks that the test cell fails with a message naming the mistake. The library-only cases check
that an answer handing the work to ``cnnlab`` (or SciPy) earns nothing. The last test checks that
the solution passes every test cell.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    graded_ids,
    run_test_cell,
)

NB = "02-layers"
fails = partial(assert_fails, NB, match_case=True)
forbidden = partial(assert_forbidden, NB, match_case=True)


# --------------------------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------------------------


def test_numerical_gradient_forward_difference():
    fails(
        "test_numerical_gradient",
        {
            "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    fx = float(f(x))
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        grad[idx] = (float(f(x)) - fx) / h
        x[idx] = old
    return grad
"""
        },
        "centred difference",
        "forward difference",
    )


def test_numerical_gradient_not_restored():
    fails(
        "test_numerical_gradient",
        {
            "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
"""
        },
        "x after numerical_gradient",
        "old value",
    )


def test_numerical_gradient_ignores_h():
    fails(
        "test_numerical_gradient",
        {
            "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + 1e-5
        f_plus = float(f(x))
        x[idx] = old - 1e-5
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / 2e-5
    return grad
"""
        },
        "h=0.01",
    )


def test_numerical_gradient_flattened():
    fails(
        "test_numerical_gradient",
        {
            "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    grad = []
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old
        grad.append((f_plus - f_minus) / (2 * h))
    return np.array(grad)
"""
        },
        "shape",
    )


def test_numerical_gradient_library_only():
    fails(
        "test_numerical_gradient",
        {
            "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    return cl.gradcheck.numerical_gradient(f, x, h=h)
"""
        },
        "must be your own implementation",
        "cnnlab.gradcheck",
    )


# --------------------------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------------------------


def test_relu_forward_in_place():
    fails(
        "test_relu_forward",
        {
            "relu_forward": """
def relu_forward(x):
    x[x < 0] = 0
    return x, x
"""
        },
        "do not modify x in place",
    )


def test_relu_backward_passes_negative():
    fails(
        "test_relu_backward",
        {
            "relu_backward": """
def relu_backward(dout, cache):
    return dout * (cache != 0)
"""
        },
        "where x < 0",
    )


def test_relu_forward_library_only():
    forbidden(
        "test_relu_forward",
        "relu_forward",
        """
def relu_forward(x):
    return cl.layers.relu_forward(x)
""",
    )


def test_relu_backward_library_only():
    forbidden(
        "test_relu_backward",
        "relu_backward",
        """
def relu_backward(dout, cache):
    return cl.layers.relu_backward(dout, cache)
""",
    )


# --------------------------------------------------------------------------------------------
# affine
# --------------------------------------------------------------------------------------------


def test_affine_forward_caches_flat_x():
    fails(
        "test_affine_forward",
        {
            "affine_forward": """
def affine_forward(x, w, b):
    x = x.reshape(x.shape[0], -1)
    return x @ w + b, (x, w, b)
"""
        },
        "original shape",
    )


def test_affine_forward_no_flatten():
    exc = run_test_cell(
        NB,
        "test_affine_forward",
        overrides={
            "affine_forward": """
def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)
"""
        },
    )
    assert exc is not None  # a (2, 2, 2) @ (4, 3) product cannot work


AFFINE_BACKWARD = """
def affine_backward(dout, cache):
    x, w, b = cache
    x_flat = x.reshape(x.shape[0], -1)
    dx = {dx}
    dw = {dw}
    db = {db}
    return dx, dw, db
"""
AFFINE_OK = {
    "dx": "(dout @ w.T).reshape(x.shape)",
    "dw": "x_flat.T @ dout",
    "db": "dout.sum(axis=0)",
}


def test_affine_dx_not_reshaped():
    fails(
        "test_affine_backward",
        {"affine_backward": AFFINE_BACKWARD.format(**{**AFFINE_OK, "dx": "dout @ w.T"})},
        "not reshaped back",
    )


def test_affine_db_mean_not_sum():
    fails(
        "test_affine_backward",
        {"affine_backward": AFFINE_BACKWARD.format(**{**AFFINE_OK, "db": "dout.mean(axis=0)"})},
        "summed over the batch",
    )


def test_affine_dw_one_example():
    fails(
        "test_affine_backward",
        {
            "affine_backward": AFFINE_BACKWARD.format(
                **{**AFFINE_OK, "dw": "np.outer(x_flat[-1], dout[-1])"}
            )
        },
        "summed over the batch",
    )


def test_affine_forward_library_only():
    forbidden(
        "test_affine_forward",
        "affine_forward",
        """
def affine_forward(x, w, b):
    return cl.layers.affine_forward(x, w, b)
""",
    )


def test_affine_backward_library_only():
    forbidden(
        "test_affine_backward",
        "affine_backward",
        """
def affine_backward(dout, cache):
    return cl.layers.affine_backward(dout, cache)
""",
    )


# --------------------------------------------------------------------------------------------
# conv_backward_naive
# --------------------------------------------------------------------------------------------

CONV_BACKWARD = """
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache[:5]
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    x_p = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_p = np.zeros(x_p.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        {reset}
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    r, c = i * {stride}, j * {stride}
                    g = dout[n, f, i, j]
                    dx_p[n, :, r : r + KH, c : c + KW] += g * w[f]
                    dw[f] += g * x_p[n, :, r : r + KH, c : c + KW]
                    db[f] += g
    dx = {dx}
    return dx, dw, db
"""
CONV_OK = {"reset": "pass", "stride": "stride", "dx": "dx_p[:, :, pad : pad + H, pad : pad + W]"}


def test_conv_backward_solution_template_passes():
    """The template above is a correct answer: the mistakes below differ in one place only."""
    assert_passes(
        NB,
        "test_conv_backward_naive",
        overrides={"conv_backward_naive": CONV_BACKWARD.format(**CONV_OK)},
    )


def test_conv_dx_not_cropped():
    fails(
        "test_conv_backward_naive",
        {"conv_backward_naive": CONV_BACKWARD.format(**{**CONV_OK, "dx": "dx_p"})},
        "not cropped",
    )


def test_conv_dw_not_summed_over_batch():
    fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": CONV_BACKWARD.format(
                **{**CONV_OK, "reset": "dw = np.zeros(w.shape)"}
            )
        },
        "dw",
        "summed over the batch",
    )


def test_conv_db_not_summed_over_batch():
    fails(
        "test_conv_backward_naive",
        {"conv_backward_naive": CONV_BACKWARD.format(**{**CONV_OK, "reset": "db = np.zeros(F)"})},
        "db",
        "summed over the batch",
    )


def test_conv_stride_ignored():
    fails(
        "test_conv_backward_naive",
        {"conv_backward_naive": CONV_BACKWARD.format(**{**CONV_OK, "stride": "1"})},
        "i*stride",
    )


def test_conv_backward_library_only():
    fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": """
def conv_backward_naive(dout, cache):
    return cl.layers.conv_backward(dout, cache)
"""
        },
        "must be your own implementation",
        "cnnlab.layers",
    )


def test_conv_backward_scipy_only():
    fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": """
import scipy.signal
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache[:5]
    assert stride == 1 and pad == 0
    N, C = x.shape[:2]
    F = w.shape[0]
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            for c in range(C):
                dx[n, c] += scipy.signal.convolve2d(dout[n, f], w[f, c], mode="full")
                dw[f, c] += scipy.signal.correlate2d(x[n, c], dout[n, f], mode="valid")
    return dx, dw, dout.sum(axis=(0, 2, 3))
"""
        },
        "must be your own implementation",
        "scipy.signal",
    )


# --------------------------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------------------------


def test_maxpool_forward_ignores_stride():
    fails(
        "test_maxpool_forward_naive",
        {
            "maxpool_forward_naive": """
def maxpool_forward_naive(x, size=2, stride=2):
    N, C, H, W = x.shape
    OH, OW = H // size, W // size
    out = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = x[:, :, i*size:(i+1)*size, j*size:(j+1)*size].max(axis=(2, 3))
    return out, (x, size, stride)
"""
        },
        "move the window by stride",
    )


def test_maxpool_forward_library_only():
    forbidden(
        "test_maxpool_forward_naive",
        "maxpool_forward_naive",
        """
def maxpool_forward_naive(x, size=2, stride=2):
    out, _ = cl.layers.maxpool_forward(x, size, stride)
    return out, (x, size, stride)
""",
    )


MAXPOOL_BACKWARD = """
def maxpool_backward_naive(dout, cache):
    x, size, stride = cache
    N, C, OH, OW = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r, s = i * stride, j * stride
                    window = x[n, c, r : r + size, s : s + size]
{route}
    return dx
"""


def _maxpool(route: str) -> dict[str, str]:
    body = "\n".join(" " * 20 + line for line in route.strip().splitlines())
    return {"maxpool_backward_naive": MAXPOOL_BACKWARD.format(route=body)}


def test_maxpool_template_passes():
    assert_passes(
        NB,
        "test_maxpool_backward_naive",
        overrides=_maxpool("""
p, q = np.unravel_index(np.argmax(window), window.shape)
dx[n, c, r + p, s + q] += dout[n, c, i, j]
"""),
    )


def test_maxpool_gradient_to_every_element():
    fails(
        "test_maxpool_backward_naive",
        _maxpool("""
dx[n, c, r : r + size, s : s + size] += dout[n, c, i, j]
"""),
        "every element of the window",
    )


def test_maxpool_gradient_averaged_over_window():
    fails(
        "test_maxpool_backward_naive",
        _maxpool("""
dx[n, c, r : r + size, s : s + size] += dout[n, c, i, j] / size**2
"""),
        "every element of the window",
    )


def test_maxpool_gradient_to_last_maximum():
    fails(
        "test_maxpool_backward_naive",
        _maxpool("""
flat = window.ravel()
k = len(flat) - 1 - np.argmax(flat[::-1])
p, q = divmod(k, size)
dx[n, c, r + p, s + q] += dout[n, c, i, j]
"""),
        "FIRST maximum",
        "not the last",
    )


def test_maxpool_gradient_to_every_tied_maximum():
    fails(
        "test_maxpool_backward_naive",
        _maxpool("""
dx[n, c, r : r + size, s : s + size] += (window == window.max()) * dout[n, c, i, j]
"""),
        "sent to every maximum",
    )


def test_maxpool_overlap_overwritten():
    fails(
        "test_maxpool_backward_naive",
        _maxpool("""
p, q = np.unravel_index(np.argmax(window), window.shape)
dx[n, c, r + p, s + q] = dout[n, c, i, j]
"""),
        "overwritten instead of accumulated",
    )


def test_maxpool_backward_library_only():
    forbidden(
        "test_maxpool_backward_naive",
        "maxpool_backward_naive",
        """
def maxpool_backward_naive(dout, cache):
    x, size, stride = cache
    _, full_cache = cl.layers.maxpool_forward(x, size, stride)
    return cl.layers.maxpool_backward(dout, full_cache)
""",
    )


# --------------------------------------------------------------------------------------------
# global average pooling
# --------------------------------------------------------------------------------------------


def test_global_avgpool_wrong_axes():
    fails(
        "test_global_avgpool_forward",
        {
            "global_avgpool_forward": """
def global_avgpool_forward(x):
    return x.mean(axis=(1, 2)), x.shape
"""
        },
        "average",
    )


def test_global_avgpool_backward_not_divided():
    fails(
        "test_global_avgpool_backward",
        {
            "global_avgpool_backward": """
def global_avgpool_backward(dout, cache):
    return np.broadcast_to(dout[:, :, None, None], cache).copy()
"""
        },
        "H*W",
    )


def test_global_avgpool_forward_library_only():
    forbidden(
        "test_global_avgpool_forward",
        "global_avgpool_forward",
        """
def global_avgpool_forward(x):
    return cl.layers.global_avgpool_forward(x)
""",
    )


def test_global_avgpool_backward_library_only():
    forbidden(
        "test_global_avgpool_backward",
        "global_avgpool_backward",
        """
def global_avgpool_backward(dout, cache):
    return cl.layers.global_avgpool_backward(dout, (cache, np.dtype(np.float64)))
""",
    )


# --------------------------------------------------------------------------------------------
# softmax cross-entropy
# --------------------------------------------------------------------------------------------

SOFTMAX = """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = {shifted}
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).{reduce}()
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return float(loss), dscores / {scale}
"""
SOFTMAX_OK = {
    "shifted": "scores - scores.max(axis=1, keepdims=True)",
    "reduce": "mean",
    "scale": "N",
}


def test_softmax_no_max_shift():
    with pytest.warns(RuntimeWarning):  # the buggy answer overflows
        fails(
            "test_softmax_cross_entropy",
            {"softmax_cross_entropy": SOFTMAX.format(**{**SOFTMAX_OK, "shifted": "scores"})},
            "without the max shift",
        )


def test_softmax_loss_not_averaged():
    fails(
        "test_softmax_cross_entropy",
        {"softmax_cross_entropy": SOFTMAX.format(**{**SOFTMAX_OK, "reduce": "sum"})},
        "not averaged",
    )


def test_softmax_gradient_not_divided_by_n():
    fails(
        "test_softmax_cross_entropy",
        {"softmax_cross_entropy": SOFTMAX.format(**{**SOFTMAX_OK, "scale": "1"})},
        "/ N",
    )


def test_softmax_library_only():
    forbidden(
        "test_softmax_cross_entropy",
        "softmax_cross_entropy",
        """
def softmax_cross_entropy(scores, y):
    return cl.layers.softmax_cross_entropy(scores, y)
""",
    )


def test_softmax_scipy_logsumexp():
    fails(
        "test_softmax_cross_entropy",
        {
            "softmax_cross_entropy": """
import scipy.special
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    log_probs = scores - scipy.special.logsumexp(scores, axis=1, keepdims=True)
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(-log_probs[np.arange(N), y].mean()), dscores / N
"""
        },
        "must be your own implementation",
        "scipy.special",
    )


# --------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------

DROPOUT = """
def dropout_forward(x, p, train=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if not train:
        return {test_out}, None
    mask = (rng.random(x.shape) {keep}) {scale}
    return x * mask, mask
"""
DROPOUT_OK = {"test_out": "x", "keep": ">= p", "scale": "/ (1 - p)"}


def test_dropout_scaled_at_test_time():
    fails(
        "test_dropout_forward",
        {"dropout_forward": DROPOUT.format(**{**DROPOUT_OK, "test_out": "x * (1 - p)"})},
        "scaled at test time",
    )


def test_dropout_not_scaled_at_train_time():
    fails(
        "test_dropout_forward",
        {"dropout_forward": DROPOUT.format(**{**DROPOUT_OK, "scale": "* 1.0"})},
        "not scaled at train time",
    )


def test_dropout_p_read_as_keep_probability():
    fails(
        "test_dropout_forward",
        {"dropout_forward": DROPOUT.format(**{**DROPOUT_OK, "keep": "< p", "scale": "/ p"})},
        "keep-probability",
    )


def test_dropout_ignores_rng():
    fails(
        "test_dropout_forward",
        {
            "dropout_forward": """
def dropout_forward(x, p, train=True, rng=None):
    if not train:
        return x, None
    mask = (np.random.default_rng().random(x.shape) >= p) / (1 - p)
    return x * mask, mask
"""
        },
        "rng argument",
    )


def test_dropout_backward_without_scaling():
    fails(
        "test_dropout_backward",
        {
            "dropout_backward": """
def dropout_backward(dout, cache):
    if cache is None:
        return dout
    return dout * (cache != 0)
"""
        },
        "1/(1-p)",
    )


def test_dropout_forward_library_only():
    forbidden(
        "test_dropout_forward",
        "dropout_forward",
        """
def dropout_forward(x, p, train=True, rng=None):
    return cl.layers.dropout_forward(x, p, train=train, rng=rng)
""",
    )


def test_dropout_backward_library_only():
    forbidden(
        "test_dropout_backward",
        "dropout_backward",
        """
def dropout_backward(dout, cache):
    return cl.layers.dropout_backward(dout, (cache, None, None))
""",
    )


# --------------------------------------------------------------------------------------------
# conv1x1_as_matmul
# --------------------------------------------------------------------------------------------


def test_conv1x1_weights_transposed():
    fails(
        "test_conv1x1_as_matmul",
        {
            "conv1x1_as_matmul": """
def conv1x1_as_matmul(x, w, b):
    W = w[:, :, 0, 0]
    if W.shape[0] == W.shape[1]:
        W = W.T
    return np.einsum("fc,nchw->nfhw", W, x) + b[None, :, None, None]
"""
        },
        "transposed",
    )


def test_conv1x1_no_bias():
    fails(
        "test_conv1x1_as_matmul",
        {
            "conv1x1_as_matmul": """
def conv1x1_as_matmul(x, w, b):
    return np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + (b[None, :, None, None] if
        x.shape[1] == 2 else 0)
"""
        },
        "bias",
    )


def test_conv1x1_library_only():
    forbidden(
        "test_conv1x1_as_matmul",
        "conv1x1_as_matmul",
        """
def conv1x1_as_matmul(x, w, b):
    return cl.layers.conv_forward(x, w, b)[0]
""",
    )


# --------------------------------------------------------------------------------------------
# receptive_field
# --------------------------------------------------------------------------------------------


def test_receptive_field_own_stride():
    fails(
        "test_receptive_field",
        {
            "receptive_field": """
def receptive_field(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        field += (kernel - 1) * jump
    return field
"""
        },
        "BEFORE it",
    )


def test_receptive_field_ignores_strides():
    fails(
        "test_receptive_field",
        {
            "receptive_field": """
def receptive_field(layers):
    return 1 + sum(k - 1 for k, s in layers)
"""
        },
        "receptive_field",
    )


def test_receptive_field_starts_at_zero():
    fails(
        "test_receptive_field",
        {
            "receptive_field": """
def receptive_field(layers):
    if not layers:
        return 0
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field
"""
        },
        "start from 1",
    )


# --------------------------------------------------------------------------------------------
# the solution passes everything
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "test_id",
    graded_ids(NB)[1],
)
def test_solution_passes(test_id):
    assert_passes(NB, test_id)
