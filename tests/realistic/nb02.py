"""Realistic mistakes for 02-layers: what learners write for each exercise, as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about, and the
rows of issue 13's table: softmax without the max shift, max-pool backward with ``=`` on
overlapping windows, conv backward without cropping the padding).
"""

from realistic import Mistake

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------------------------
NUMERICAL = [
    _m(
        "numerical_gradient",
        "forward difference",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x, dtype=float)
            fx = float(f(x))
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                grad[idx] = (float(f(x)) - fx) / h
                x[idx] = old
            return grad
        """,
        core=True,
    ),
    _m(
        "numerical_gradient",
        "x not restored",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                fp = f(x)
                x[idx] = old - h
                fm = f(x)
                grad[idx] = (fp - fm) / (2 * h)
            return grad
        """,
        core=True,
    ),
    _m(
        "numerical_gradient",
        "restored by adding h back",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                x[idx] += h
                fp = float(f(x))
                x[idx] -= 2 * h
                fm = float(f(x))
                x[idx] += h
                grad[idx] = (fp - fm) / (2 * h)
            return grad
        """,
    ),
    _m(
        "numerical_gradient",
        "divides by h instead of 2h",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                fp = float(f(x))
                x[idx] = old - h
                fm = float(f(x))
                x[idx] = old
                grad[idx] = (fp - fm) / h
            return grad
        """,
    ),
    _m(
        "numerical_gradient",
        "fixed step instead of h",
        """
        def numerical_gradient(f, x, h=1e-5):
            eps = 1e-5
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + eps
                fp = float(f(x))
                x[idx] = old - eps
                fm = float(f(x))
                x[idx] = old
                grad[idx] = (fp - fm) / (2 * eps)
            return grad
        """,
    ),
]

# --------------------------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------------------------
RELU = [
    _m(
        "relu_forward",
        "relu forward in place",
        """
        def relu_forward(x):
            x[x < 0] = 0
            return x, x
        """,
        core=True,
    ),
    _m(
        "relu_forward",
        "np.maximum with out=x",
        """
        def relu_forward(x):
            out = np.maximum(x, 0, out=x)
            return out, x
        """,
        core=True,
    ),
    _m(
        "relu_forward",
        "caches the output",
        """
        def relu_forward(x):
            out = np.maximum(x, 0)
            return out, out
        """,
    ),
    _m(
        "relu_forward",
        "np.max instead of np.maximum",
        """
        def relu_forward(x):
            return np.max(x, 0), x
        """,
    ),
    _m(
        "relu_backward",
        "gradient passes at x == 0",
        """
        def relu_backward(dout, cache):
            return dout * (cache >= 0)
        """,
        core=True,
    ),
    _m(
        "relu_backward",
        "copy then zero where x < 0",
        """
        def relu_backward(dout, cache):
            dx = dout.copy()
            dx[cache < 0] = 0
            return dx
        """,
        core=True,
    ),
    _m(
        "relu_backward",
        "gated by the sign of dout",
        """
        def relu_backward(dout, cache):
            return np.maximum(dout, 0)
        """,
    ),
    _m(
        "relu_backward",
        "returns the gate only",
        """
        def relu_backward(dout, cache):
            return (cache > 0).astype(float)
        """,
    ),
    _m(
        "relu_backward",
        "dout times x",
        """
        def relu_backward(dout, cache):
            return dout * np.maximum(cache, 0)
        """,
    ),
]

# --------------------------------------------------------------------------------------------
# affine
# --------------------------------------------------------------------------------------------
AFFINE = [
    _m(
        "affine_forward",
        "bias forgotten",
        """
        def affine_forward(x, w, b):
            out = x.reshape(x.shape[0], -1) @ w
            return out, (x, w, b)
        """,
        core=True,
    ),
    _m(
        "affine_forward",
        "channels-last flatten",
        """
        def affine_forward(x, w, b):
            x_flat = np.moveaxis(x, 1, -1).reshape(x.shape[0], -1)
            return x_flat @ w + b, (x, w, b)
        """,
    ),
    _m(
        "affine_forward",
        "caches the flattened x",
        """
        def affine_forward(x, w, b):
            x = x.reshape(x.shape[0], -1)
            return x.dot(w) + b, (x, w, b)
        """,
        core=True,
    ),
    _m(
        "affine_backward",
        "dx not reshaped",
        """
        def affine_backward(dout, cache):
            x, w, b = cache
            x2 = x.reshape(x.shape[0], -1)
            return dout @ w.T, x2.T @ dout, dout.sum(axis=0)
        """,
        core=True,
    ),
    _m(
        "affine_backward",
        "db averaged",
        """
        def affine_backward(dout, cache):
            x, w, b = cache
            x2 = x.reshape(x.shape[0], -1)
            return (dout @ w.T).reshape(x.shape), x2.T @ dout, np.mean(dout, axis=0)
        """,
    ),
    _m(
        "affine_backward",
        "dw averaged",
        """
        def affine_backward(dout, cache):
            x, w, b = cache
            N = x.shape[0]
            x2 = x.reshape(N, -1)
            return (dout @ w.T).reshape(x.shape), x2.T @ dout / N, dout.sum(axis=0)
        """,
    ),
    _m(
        "affine_backward",
        "dw transposed",
        """
        def affine_backward(dout, cache):
            x, w, b = cache
            x2 = x.reshape(x.shape[0], -1)
            return (dout @ w.T).reshape(x.shape), dout.T @ x2, dout.sum(axis=0)
        """,
    ),
    _m(
        "affine_backward",
        "dw overwritten in a loop over examples",
        """
        def affine_backward(dout, cache):
            x, w, b = cache
            N = x.shape[0]
            x2 = x.reshape(N, -1)
            for n in range(N):
                dw = np.outer(x2[n], dout[n])
            return (dout @ w.T).reshape(x.shape), dw, dout.sum(axis=0)
        """,
        core=True,
    ),
    _m(
        "affine_backward",
        "db summed over outputs",
        """
        def affine_backward(dout, cache):
            x, w, b = cache
            x2 = x.reshape(x.shape[0], -1)
            return (dout @ w.T).reshape(x.shape), x2.T @ dout, dout.sum(axis=1)
        """,
    ),
]

# --------------------------------------------------------------------------------------------
# conv_backward_naive
# --------------------------------------------------------------------------------------------
CONV = """
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache[:5]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Hout, Wout = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    hs = i * stride
                    ws = j * stride
                    dxp[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]
                    dw[f] += xp[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
"""


def _conv(label, old, new, core=False):
    assert old in CONV, old
    return _m("conv_backward_naive", label, CONV.replace(old, new), core=core)


CONV_MISTAKES = [
    _conv("dx not cropped", "dx = dxp[:, :, pad:pad + H, pad:pad + W]", "dx = dxp", core=True),
    _conv("stride ignored", "hs = i * stride\n                    ws = j * stride",
          "hs = i\n                    ws = j", core=True),
    _conv("dx overwritten with =", "dxp[n, :, hs:hs + HH, ws:ws + WW] += w[f]",
          "dxp[n, :, hs:hs + HH, ws:ws + WW] = w[f]", core=True),
    _conv("dw and db reset for every image", "    for n in range(N):\n",
          "    for n in range(N):\n        dw = np.zeros_like(w)\n        db = np.zeros_like(b)\n",
          core=True),
    _conv("dx stamps the flipped kernel", "+= w[f] * dout", "+= w[f, :, ::-1, ::-1] * dout"),
    _conv("crop pad:-pad", "dx = dxp[:, :, pad:pad + H, pad:pad + W]",
          "dx = dxp[:, :, pad:-pad, pad:-pad]"),
    _conv("crop on one side only", "dx = dxp[:, :, pad:pad + H, pad:pad + W]",
          "dx = dxp[:, :, :H, :W]"),
    _conv("crop off by pad", "dx = dxp[:, :, pad:pad + H, pad:pad + W]",
          "dx = dxp[:, :, pad:H, pad:W]"),
    _conv("db summed per position", "db[f] += dout[n, f, i, j]", "db[f] += dout[n, f].sum()"),
    _conv("dw from the unpadded input", "dw[f] += xp[n, :, hs:hs + HH, ws:ws + WW]",
          "dw[f] += np.pad(x[n], ((0, 0), (0, pad), (0, pad)))[:, hs:hs + HH, ws:ws + WW]"),
    _conv("dw and db averaged over the batch", "    dx = dxp[:, :, pad:pad + H, pad:pad + W]\n",
          "    dw /= N\n    db /= N\n    dx = dxp[:, :, pad:pad + H, pad:pad + W]\n"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------------------------
MAXPOOL_FORWARD = [
    _m(
        "maxpool_forward_naive",
        "window moved by size",
        """
        def maxpool_forward_naive(x, size=2, *, stride=None):
            if stride is None:
                stride = size
            N, C, H, W = x.shape
            OH = (H - size) // stride + 1
            OW = (W - size) // stride + 1
            out = np.zeros((N, C, OH, OW))
            for i in range(OH):
                for j in range(OW):
                    win = x[:, :, i * size:(i + 1) * size, j * size:(j + 1) * size]
                    out[:, :, i, j] = win.max(axis=(2, 3))
            return out, (x, size, stride)
        """,
        core=True,
    ),
    _m(
        "maxpool_forward_naive",
        "output size H // size",
        """
        def maxpool_forward_naive(x, size=2, *, stride=None):
            if stride is None:
                stride = size
            N, C, H, W = x.shape
            out = np.zeros((N, C, H // size, W // size))
            for i in range(H // size):
                for j in range(W // size):
                    win = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
                    out[:, :, i, j] = win.max(axis=(2, 3))
            return out, (x, size, stride)
        """,
        core=True,
    ),
    _m(
        "maxpool_forward_naive",
        "cache without size and stride",
        """
        def maxpool_forward_naive(x, size=2, *, stride=None):
            if stride is None:
                stride = size
            N, C, H, W = x.shape
            OH, OW = (H - size) // stride + 1, (W - size) // stride + 1
            out = np.zeros((N, C, OH, OW))
            for i in range(OH):
                for j in range(OW):
                    win = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
                    out[:, :, i, j] = win.max(axis=(2, 3))
            return out, x
        """,
    ),
    _m(
        "maxpool_forward_naive",
        "average instead of max",
        """
        def maxpool_forward_naive(x, size=2, *, stride=None):
            if stride is None:
                stride = size
            N, C, H, W = x.shape
            OH, OW = (H - size) // stride + 1, (W - size) // stride + 1
            out = np.zeros((N, C, OH, OW))
            for i in range(OH):
                for j in range(OW):
                    win = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
                    out[:, :, i, j] = win.mean(axis=(2, 3))
            return out, (x, size, stride)
        """,
    ),
]

MAXPOOL_BACKWARD = """
def maxpool_backward_naive(dout, cache):
    x, size, stride = cache
    N, C, OH, OW = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    r0, c0 = i * stride, j * stride
                    window = x[n, c, r0:r0 + size, c0:c0 + size]
                    k = np.argmax(window)
                    p, q = np.unravel_index(k, window.shape)
                    dx[n, c, r0 + p, c0 + q] += dout[n, c, i, j]
    return dx
"""


def _pool(label, old, new, core=False):
    assert old in MAXPOOL_BACKWARD, old
    return _m("maxpool_backward_naive", label, MAXPOOL_BACKWARD.replace(old, new), core=core)


MAXPOOL_BACKWARD_MISTAKES = [
    _pool("= instead of +=", "dx[n, c, r0 + p, c0 + q] += dout", "dx[n, c, r0 + p, c0 + q] = dout",
          core=True),
    _pool("window moved by size", "r0, c0 = i * stride, j * stride", "r0, c0 = i * size, j * size",
          core=True),
    _pool("gradient to the whole window",
          "dx[n, c, r0 + p, c0 + q] += dout[n, c, i, j]",
          "dx[n, c, r0:r0 + size, c0:c0 + size] += dout[n, c, i, j]"),
    _pool("gradient to every tied maximum",
          "dx[n, c, r0 + p, c0 + q] += dout[n, c, i, j]",
          "dx[n, c, r0:r0 + size, c0:c0 + size] += (window == window.max()) * dout[n, c, i, j]"),
    _pool("last maximum on ties", "k = np.argmax(window)",
          "k = window.size - 1 - np.argmax(window.ravel()[::-1])"),
    _pool("dout indices swapped", "+= dout[n, c, i, j]", "+= dout[n, c, j, i]"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# global average pooling
# --------------------------------------------------------------------------------------------
GAP = [
    _m(
        "global_avgpool_forward",
        "sum instead of mean",
        """
        def global_avgpool_forward(x):
            return x.sum(axis=(2, 3)), x.shape
        """,
    ),
    _m(
        "global_avgpool_forward",
        "cache is x",
        """
        def global_avgpool_forward(x):
            return x.mean(axis=(2, 3)), x
        """,
    ),
    _m(
        "global_avgpool_forward",
        "mean over the wrong axes",
        """
        def global_avgpool_forward(x):
            return x.mean(axis=(1, 2)), x.shape
        """,
    ),
    _m(
        "global_avgpool_backward",
        "not divided by H*W",
        """
        def global_avgpool_backward(dout, cache):
            N, C, H, W = cache
            return np.ones(cache) * dout[:, :, None, None]
        """,
        core=True,
    ),
    _m(
        "global_avgpool_backward",
        "divided by H only",
        """
        def global_avgpool_backward(dout, cache):
            N, C, H, W = cache
            return np.ones(cache) * dout[:, :, None, None] / H
        """,
    ),
    _m(
        "global_avgpool_backward",
        "divided by N*H*W",
        """
        def global_avgpool_backward(dout, cache):
            N, C, H, W = cache
            return np.ones(cache) * dout[:, :, None, None] / (N * H * W)
        """,
    ),
]

# --------------------------------------------------------------------------------------------
# softmax cross-entropy
# --------------------------------------------------------------------------------------------
SOFTMAX = """
def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(N), y])
    probs = np.exp(log_probs)
    probs[np.arange(N), y] -= 1
    dscores = probs / N
    return float(loss), dscores
"""


def _softmax(label, old, new, core=False):
    assert old in SOFTMAX, old
    return _m("softmax_cross_entropy", label, SOFTMAX.replace(old, new), core=core)


SOFTMAX_MISTAKES = [
    _m("softmax_cross_entropy", "no max shift", """
        def softmax_cross_entropy(scores, y):
            N = scores.shape[0]
            e = np.exp(scores)
            probs = e / e.sum(axis=1, keepdims=True)
            loss = -np.log(probs[range(N), y]).mean()
            d = probs.copy()
            d[range(N), y] -= 1
            return float(loss), d / N
        """, core=True),
    _softmax("no max shift (log-probabilities)",
             "shifted = scores - np.max(scores, axis=1, keepdims=True)", "shifted = scores",
             core=True),
    _softmax("shift by the batch maximum", "np.max(scores, axis=1, keepdims=True)",
             "np.max(scores)", core=True),
    _softmax("shift by the column maximum", "np.max(scores, axis=1, keepdims=True)",
             "np.max(scores, axis=0, keepdims=True)"),
    _m("softmax_cross_entropy", "log of an underflowed probability", """
        def softmax_cross_entropy(scores, y):
            N = scores.shape[0]
            s = scores - scores.max(axis=1, keepdims=True)
            p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
            loss = -np.mean(np.log(p[np.arange(N), y]))
            dscores = p.copy()
            dscores[np.arange(N), y] -= 1
            return float(loss), dscores / N
        """, core=True),
    _softmax("loss summed", "loss = -np.mean(log_probs[np.arange(N), y])",
             "loss = -np.sum(log_probs[np.arange(N), y])"),
    _softmax("dscores not divided by N", "dscores = probs / N", "dscores = probs"),
    _softmax("one-hot subtracted in whole columns", "probs[np.arange(N), y] -= 1",
             "probs[:, y] -= 1"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------
DROPOUT = [
    _m(
        "dropout_forward",
        "not scaled at train time",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            mask = rng.random(x.shape) >= p
            return x * mask, mask
        """,
        core=True,
    ),
    _m(
        "dropout_forward",
        "scaled at test time",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x * (1 - p), None
            if rng is None:
                rng = np.random.default_rng()
            mask = (rng.random(x.shape) >= p) / (1 - p)
            return x * mask, mask
        """,
        core=True,
    ),
    _m(
        "dropout_forward",
        "p read as keep-probability",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            mask = (rng.random(x.shape) < p) / p
            return x * mask, mask
        """,
    ),
    _m(
        "dropout_forward",
        "global numpy random state",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            mask = (np.random.rand(*x.shape) >= p) / (1 - p)
            return x * mask, mask
        """,
    ),
    _m(
        "dropout_forward",
        "cache is the unscaled mask",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            keep = rng.random(x.shape) >= p
            return x * keep / (1 - p), keep
        """,
    ),
    _m(
        "dropout_forward",
        "mask applied at test time",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if rng is None:
                rng = np.random.default_rng()
            mask = rng.random(x.shape) >= p
            if not train:
                return x * mask, None
            mask = mask / (1 - p)
            return x * mask, mask
        """,
        core=True,
    ),
    _m(
        "dropout_backward",
        "without the scaling",
        """
        def dropout_backward(dout, cache):
            if cache is None:
                return dout
            return dout * (cache > 0)
        """,
        core=True,
    ),
    _m(
        "dropout_backward",
        "zero gradient at test time",
        """
        def dropout_backward(dout, cache):
            if cache is None:
                return np.zeros_like(dout)
            return dout * cache
        """,
    ),
    _m(
        "dropout_backward",
        "scaled twice",
        """
        def dropout_backward(dout, cache):
            if cache is None:
                return dout
            return dout * cache * cache.max()
        """,
    ),
]

# --------------------------------------------------------------------------------------------
# conv1x1_as_matmul
# --------------------------------------------------------------------------------------------
CONV1X1 = [
    _m(
        "conv1x1_as_matmul",
        "bias on the last axis",
        """
        def conv1x1_as_matmul(x, w, b):
            return np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b
        """,
    ),
    _m(
        "conv1x1_as_matmul",
        "bias forgotten",
        """
        def conv1x1_as_matmul(x, w, b):
            N, C, H, W = x.shape
            out = w[:, :, 0, 0] @ x.reshape(N, C, H * W)
            return out.reshape(N, -1, H, W)
        """,
    ),
    _m(
        "conv1x1_as_matmul",
        "pixels-by-filters reshaped straight",
        """
        def conv1x1_as_matmul(x, w, b):
            N, C, H, W = x.shape
            cols = x.transpose(0, 2, 3, 1).reshape(-1, C)
            out = cols @ w[:, :, 0, 0].T + b
            return out.reshape(N, -1, H, W)
        """,
        core=True,
    ),
    _m(
        "conv1x1_as_matmul",
        "batch folded into the pixels",
        """
        def conv1x1_as_matmul(x, w, b):
            N, C, H, W = x.shape
            out = w[:, :, 0, 0] @ x.reshape(C, -1)
            return out.reshape(N, -1, H, W) + b[None, :, None, None]
        """,
    ),
]

# --------------------------------------------------------------------------------------------
# receptive_field
# --------------------------------------------------------------------------------------------
RECEPTIVE = [
    _m(
        "receptive_field",
        "jump updated before the field",
        """
        def receptive_field(layers):
            r, j = 1, 1
            for k, s in layers:
                j = j * s
                r = r + (k - 1) * j
            return r
        """,
        core=True,
    ),
    _m(
        "receptive_field",
        "strides ignored",
        """
        def receptive_field(layers):
            r = 1
            for k, s in layers:
                r += k - 1
            return r
        """,
        core=True,
    ),
    _m(
        "receptive_field",
        "own stride instead of the jump",
        """
        def receptive_field(layers):
            r = 1
            for k, s in layers:
                r += (k - 1) * s
            return r
        """,
    ),
    _m(
        "receptive_field",
        "starts from 0",
        """
        def receptive_field(layers):
            r, j = 0, 1
            for k, s in layers:
                r += k if r == 0 else (k - 1) * j
                j *= s
            return r
        """,
    ),
]

MISTAKES = (
    NUMERICAL + RELU + AFFINE + CONV_MISTAKES + MAXPOOL_FORWARD + MAXPOOL_BACKWARD_MISTAKES
    + GAP + SOFTMAX_MISTAKES + DROPOUT + CONV1X1 + RECEPTIVE
)  # fmt: skip
