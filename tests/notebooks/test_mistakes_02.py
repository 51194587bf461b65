"""Every mistake the hidden tests of 02-layers claim to catch, as a buggy answer.

Each case replaces one answer cell of ``solutions/02-layers/layers.py`` with a buggy version and
checks that the test cell fails with a message naming the mistake. The library-only cases check
that an answer handing the work to ``cnnlab`` (or SciPy) earns nothing.
That the solution passes every test cell is checked by ``test_every_notebook.py``.
"""

from __future__ import annotations

import warnings
from functools import partial

import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    run_test_cell,
)

NB = "02-layers"


def hint_of(message: str) -> str:
    """The hint line of a failure message (the name before it may mention 'stride' etc.)."""
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


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
        public=True,
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
        public=True,
    )


def test_numerical_gradient_restored_by_arithmetic():
    """x[i] += h; x[i] -= 2h; x[i] += h is back only up to rounding: named, and told apart."""
    message = fails(
        "test_numerical_gradient",
        {
            "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        x[idx] += h
        f_plus = float(f(x))
        x[idx] -= 2 * h
        f_minus = float(f(x))
        x[idx] += h
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
"""
        },
        "only up to rounding",
        public=True,
    )
    assert "was not restored" not in hint_of(message)


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
        "changed in place",
        public=True,
    )


RELU_BACKWARD = """
def relu_backward(dout, cache):
    return dout * ({gate})
"""


@pytest.mark.parametrize(
    "gate, needle",
    [
        ("cache != 0", "where x < 0"),
        ("cache >= 0", "at x = 0"),
        ("dout > 0", "sign of the INPUT x"),
        ("cache", "not dout times x"),
    ],
)
def test_relu_backward_mistakes_named_apart(gate, needle):
    """Each gate mistake gets its own hint, and no other relu hint."""
    hints = ["where x < 0", "at x = 0", "sign of the INPUT x", "not dout times x"]
    message = fails(
        "test_relu_backward",
        {"relu_backward": RELU_BACKWARD.format(gate=gate)},
        needle,
        public=True,
    )
    for other in hints:
        if other != needle:
            assert other not in hint_of(message), message


def test_relu_backward_zero_hidden_check():
    """The hidden part checks x == 0 on its own (not only the worked example)."""
    fails(
        "test_relu_backward",
        {"relu_backward": RELU_BACKWARD.format(gate="cache >= 0")},
        "at x = 0",
        hidden=True,
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
    # a (2, 2, 2) @ (4, 3) product cannot work: NumPy's own message says which dimensions clash
    assert isinstance(exc, ValueError) and "mismatch in its core dimension" in str(exc), exc


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
    message = fails(
        "test_affine_backward",
        {"affine_backward": AFFINE_BACKWARD.format(**{**AFFINE_OK, "db": "dout.mean(axis=0)"})},
        "db averaged over the batch",
        public=True,
    )
    assert "one example" not in hint_of(message)


def test_affine_dw_mean_not_sum():
    message = fails(
        "test_affine_backward",
        {
            "affine_backward": AFFINE_BACKWARD.format(
                **{**AFFINE_OK, "dw": "x_flat.T @ dout / len(x)"}
            )
        },
        "dw averaged over the batch",
        public=True,
    )
    assert "one example" not in hint_of(message)


def test_affine_dw_transposed():
    fails(
        "test_affine_backward",
        {"affine_backward": AFFINE_BACKWARD.format(**{**AFFINE_OK, "dw": "dout.T @ x_flat"})},
        "not dout.T @ x_flat",
        public=True,
    )


AFFINE_FORWARD = """
def affine_forward(x, w, b):
    out = {out}
    return out, (x, w, b)
"""


def test_affine_forward_without_bias_is_told_about_the_bias():
    message = fails(
        "test_affine_forward",
        {"affine_forward": AFFINE_FORWARD.format(out="x.reshape(x.shape[0], -1) @ w")},
        "bias missing",
        public=True,
    )
    assert "flatten" not in hint_of(message) and "order" not in hint_of(message), message


def test_affine_forward_channels_last_flatten_is_named():
    message = fails(
        "test_affine_forward",
        {
            "affine_forward": AFFINE_FORWARD.format(
                out="np.moveaxis(x, 1, -1).reshape(len(x), -1) @ w + b"
            )
        },
        "flattened in another order",
        public=True,
    )
    assert "bias" not in hint_of(message), message


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
        public=True,
    )


@pytest.mark.parametrize(
    "crop, needle",
    [
        ("dx_p[:, :, pad:-pad, pad:-pad]", "empty when pad = 0"),
        ("dx_p[:, :, :H, :W]", "cropped on one side only"),
        ("dx_p[:, :, pad:H, pad:W]", "cropped too much"),
    ],
)
def test_conv_dx_cropped_wrong(crop, needle):
    message = fails(
        "test_conv_backward_naive",
        {"conv_backward_naive": CONV_BACKWARD.format(**{**CONV_OK, "dx": crop})},
        needle,
        public=True,
    )
    assert "not cropped" not in hint_of(message) and "stride ignored" not in hint_of(message), (
        message
    )


def test_conv_dw_not_summed_over_batch():
    fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": CONV_BACKWARD.format(
                **{**CONV_OK, "reset": "dw = np.zeros(w.shape)"}
            )
        },
        "dw not summed over the batch",
        public=True,
    )


def test_conv_db_not_summed_over_batch():
    message = fails(
        "test_conv_backward_naive",
        {"conv_backward_naive": CONV_BACKWARD.format(**{**CONV_OK, "reset": "db = np.zeros(F)"})},
        "db not summed over the batch",
        public=True,
    )
    assert "stride" not in hint_of(message)


def test_conv_stride_ignored_is_not_told_about_the_batch():
    """The issue's example: ignoring the stride was told to sum over the batch."""
    message = fails(
        "test_conv_backward_naive",
        {"conv_backward_naive": CONV_BACKWARD.format(**{**CONV_OK, "stride": "1"})},
        "stride ignored",
        "i*stride",
        public=True,
    )
    assert "batch" not in hint_of(message), message


def test_conv_dw_batch_mistake_is_not_told_about_the_stride():
    message = fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": CONV_BACKWARD.format(
                **{**CONV_OK, "reset": "dw = np.zeros(w.shape)"}
            )
        },
        "summed over the batch",
    )
    assert "stride" not in hint_of(message), message


def test_conv_dx_overwritten():
    fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": CONV_BACKWARD.format(**CONV_OK).replace(
                "dx_p[n, :, r : r + KH, c : c + KW] += g * w[f]",
                "dx_p[n, :, r : r + KH, c : c + KW] = g * w[f]",
            )
        },
        "with +=",
        public=True,
    )


def test_conv_dx_flipped_kernel():
    fails(
        "test_conv_backward_naive",
        {
            "conv_backward_naive": CONV_BACKWARD.format(**CONV_OK).replace(
                "+= g * w[f]", "+= g * w[f, :, ::-1, ::-1]"
            )
        },
        "kernel was flipped",
        public=True,
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
def maxpool_forward_naive(x, size=2, *, stride=None):
    if stride is None:
        stride = size
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
def maxpool_forward_naive(x, size=2, *, stride=None):
    if stride is None:
        stride = size
    out, _ = cl.layers.maxpool_forward(x, size, stride=stride)
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
        public=True,
    )


def test_maxpool_overlap_overwritten_hidden_check():
    fails(
        "test_maxpool_backward_naive",
        _maxpool("""
p, q = np.unravel_index(np.argmax(window), window.shape)
dx[n, c, r + p, s + q] = dout[n, c, i, j]
"""),
        "overwritten instead of accumulated",
        hidden=True,
    )


def test_maxpool_backward_moved_by_size_is_not_told_overwritten():
    message = fails(
        "test_maxpool_backward_naive",
        {
            "maxpool_backward_naive": MAXPOOL_BACKWARD.format(
                route=" " * 20
                + "p, q = np.unravel_index(np.argmax(window), window.shape)\n"
                + " " * 20
                + "dx[n, c, r + p, s + q] += dout[n, c, i, j]"
            ).replace("r, s = i * stride, j * stride", "r, s = i * size, j * size")
        },
        "moved by size instead of stride",
        public=True,
    )
    assert "overwritten" not in hint_of(message), message


def test_maxpool_forward_moved_by_size_public():
    fails(
        "test_maxpool_forward_naive",
        {
            "maxpool_forward_naive": """
def maxpool_forward_naive(x, size=2, *, stride=None):
    if stride is None:
        stride = size
    N, C, H, W = x.shape
    OH, OW = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = x[:, :, i*size:i*size+size, j*size:j*size+size].max(axis=(2, 3))
    return out, (x, size, stride)
"""
        },
        "moved by size instead of stride",
        public=True,
    )


def test_maxpool_backward_library_only():
    forbidden(
        "test_maxpool_backward_naive",
        "maxpool_backward_naive",
        """
def maxpool_backward_naive(dout, cache):
    x, size, stride = cache
    _, full_cache = cl.layers.maxpool_forward(x, size, stride=stride)
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


GAP_BACKWARD = """
def global_avgpool_backward(dout, cache):
    N, C, H, W = cache
    return np.broadcast_to(dout[:, :, None, None] / ({div}), cache).copy()
"""


@pytest.mark.parametrize(
    "div, needle",
    [
        ("1", "not divided by H*W"),
        ("H", "H or W only"),
        ("W", "H or W only"),
        ("N * H * W", "N*H*W"),
    ],
)
def test_global_avgpool_backward_divisor_named(div, needle):
    hints = ["not divided by H*W", "H or W only", "N*H*W"]
    message = fails(
        "test_global_avgpool_backward", {"global_avgpool_backward": GAP_BACKWARD.format(div=div)},
        needle, public=True,
    )  # fmt: skip
    assert [h for h in hints if h in hint_of(message)] == [needle], message


def test_global_avgpool_backward_graded_on_its_own():
    """A wrong forward (and its cache) costs the forward only; the backward gets x.shape."""
    buggy = {
        "global_avgpool_forward": """
def global_avgpool_forward(x):
    return x.sum(axis=(2, 3)), x
"""
    }
    fails("test_global_avgpool_forward", buggy, "the mean, not the sum")
    assert_passes(NB, "test_global_avgpool_backward", buggy)


def test_global_avgpool_forward_cache_is_the_shape():
    fails(
        "test_global_avgpool_forward",
        {
            "global_avgpool_forward": """
def global_avgpool_forward(x):
    return x.mean(axis=(2, 3)), x
"""
        },
        "the cache is x.shape",
        public=True,
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
# the same with log-probabilities (the formulation the hints recommend)
SOFTMAX_LOG = """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = {shifted}
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(loss), dscores / N
"""
SOFTMAX_OK = {
    "shifted": "scores - scores.max(axis=1, keepdims=True)",
    "reduce": "mean",
    "scale": "N",
}


SOFTMAX_HINTS = ["without the max shift", "its OWN maximum", "log(0)", "per column"]


@pytest.mark.parametrize(
    "shifted, needle",
    [
        ("scores", "without the max shift"),
        ("scores - scores.max()", "its OWN maximum"),
        ("scores - scores.max(axis=0, keepdims=True)", "per column"),
    ],
)
@pytest.mark.parametrize("template", [SOFTMAX, SOFTMAX_LOG], ids=["probs", "log_probs"])
def test_softmax_shift_mistakes_named_apart(shifted, needle, template):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the buggy answers overflow
        source = template.format(**{**SOFTMAX_OK, "shifted": shifted})
        message = fails(
            "test_softmax_cross_entropy", {"softmax_cross_entropy": source}, needle, public=True
        )
    assert [h for h in SOFTMAX_HINTS if h in hint_of(message)] == [needle], message


def test_softmax_log_of_underflowed_probability():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0)
        message = fails(
            "test_softmax_cross_entropy",
            {
                "softmax_cross_entropy": """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return float(loss), dscores / N
"""
            },
            "log(0)",
            public=True,
        )
    assert [h for h in SOFTMAX_HINTS if h in hint_of(message)] == ["log(0)"], message


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
        public=True,
    )


def test_dropout_masked_at_test_time_is_not_told_scaled():
    message = fails(
        "test_dropout_forward",
        {
            "dropout_forward": DROPOUT.format(
                **{**DROPOUT_OK, "test_out": "x * (rng.random(x.shape) >= p)"}
            )
        },
        "identity",
        public=True,
    )
    assert "scaled at test time" not in hint_of(message), message


def test_dropout_not_scaled_at_train_time():
    fails(
        "test_dropout_forward",
        {"dropout_forward": DROPOUT.format(**{**DROPOUT_OK, "scale": "* 1.0"})},
        "not scaled at train time",
        public=True,
    )


def test_dropout_scaled_by_p_is_not_told_unscaled():
    message = fails(
        "test_dropout_forward",
        {"dropout_forward": DROPOUT.format(**{**DROPOUT_OK, "scale": "/ p"})},
        "x / (1 - p)",
        public=True,
    )
    assert "not scaled" not in hint_of(message), message


def test_dropout_backward_graded_on_its_own():
    """A wrong dropout_forward costs dropout_forward only: the backward test builds its masks."""
    buggy = {"dropout_forward": DROPOUT.format(**{**DROPOUT_OK, "scale": "* 1.0"})}
    fails("test_dropout_forward", buggy, "not scaled at train time")
    assert_passes(NB, "test_dropout_backward", buggy)


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
        public=True,
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
        "updated before the field",
        public=True,
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
        "strides ignored",
        public=True,
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
# conv1x1: the bias on the wrong axis is named (and told apart from a missing bias)
# --------------------------------------------------------------------------------------------


def test_conv1x1_bias_on_last_axis():
    message = fails(
        "test_conv1x1_as_matmul",
        {
            "conv1x1_as_matmul": """
def conv1x1_as_matmul(x, w, b):
    return np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b
"""
        },
        "wrong axis",
        public=True,
    )
    assert "bias missing" not in hint_of(message), message


def test_conv1x1_reshaped_without_transpose():
    fails(
        "test_conv1x1_as_matmul",
        {
            "conv1x1_as_matmul": """
def conv1x1_as_matmul(x, w, b):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C) @ w[:, :, 0, 0].T
    return rows.reshape(N, -1, H, W) + b[None, :, None, None]
"""
        },
        "reshaped straight",
        public=True,
    )


# --------------------------------------------------------------------------------------------
# named apart: each hint fires for its own mistake only
# --------------------------------------------------------------------------------------------

NUMERICAL = """
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + {step}
        f_plus = float(f(x))
        x[idx] = old - {minus}
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / {denominator}
    return grad
"""
NUMERICAL_HINTS = [
    "forward difference:",
    "divided by h instead of 2h",
    "step argument h was ignored",
]


@pytest.mark.parametrize(
    "step, minus, denominator, needle",
    [
        ("h", "0", "h", "forward difference:"),
        ("h", "h", "h", "divided by h instead of 2h"),
        ("1e-5", "1e-5", "2e-5", "step argument h was ignored"),
    ],
)
def test_numerical_gradient_mistakes_named_apart(step, minus, denominator, needle):
    source = NUMERICAL.format(step=step, minus=minus, denominator=denominator)
    message = fails("test_numerical_gradient", {"numerical_gradient": source}, needle, public=True)
    assert [h for h in NUMERICAL_HINTS if h in hint_of(message)] == [needle], message


RECEPTIVE = """
def receptive_field(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        {body}
    return field
"""
RECEPTIVE_HINTS = ["updated before the field", "strides ignored", "OWN stride"]


@pytest.mark.parametrize(
    "body, needle",
    [
        ("jump *= stride\n        field += (kernel - 1) * jump", "updated before the field"),
        ("field += kernel - 1", "strides ignored"),
        ("field += (kernel - 1) * stride", "OWN stride"),
    ],
)
def test_receptive_field_mistakes_named_apart(body, needle):
    message = fails(
        "test_receptive_field",
        {"receptive_field": RECEPTIVE.format(body=body)},
        needle,
        public=True,
    )
    assert [h for h in RECEPTIVE_HINTS if h in hint_of(message)] == [needle], message


@pytest.mark.parametrize(
    "dscores, needle",
    [("probs", "not divided by N"), ("column", "whole columns")],
)
def test_softmax_gradient_mistakes_named_apart(dscores, needle):
    source = SOFTMAX.format(**SOFTMAX_OK)
    if dscores == "column":
        source = source.replace("dscores[np.arange(N), y] -= 1", "dscores[:, y] -= 1")
    else:
        source = source.replace("dscores / {scale}".format(scale="N"), "dscores")
    message = fails(
        "test_softmax_cross_entropy", {"softmax_cross_entropy": source}, needle, public=True
    )
    other = "whole columns" if needle == "not divided by N" else "not divided by N"
    assert other not in hint_of(message), message
