"""Realistic mistakes for 02-layers, sections 6 and 7 (max pooling, global average pooling),
as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about; one row
of issue 13's table: max-pool backward with ``=`` on overlapping windows).
"""

from realistic import Mistake, variant

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# max pooling
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# window moved by size
_WINDOW_MOVED_SIZE = """
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
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# cache without size and stride
_CACHE_WITHOUT_SIZE_STRIDE = variant(
    _WINDOW_MOVED_SIZE,
    (
        ("OH = (H - size) // stride + 1\n            OW = (W - size) // stride + 1\n"),
        "OH, OW = (H - size) // stride + 1, (W - size) // stride + 1\n",
    ),
    (
        "size:(i + 1) * size, j * size:(j + 1) *",
        "stride:i * stride + size, j * stride:j * stride +",
    ),
    ("(x, size, stride)", "x"),
)


MAXPOOL_FORWARD = [
    _m(
        "maxpool_forward_naive",
        "window moved by size",
        _WINDOW_MOVED_SIZE,
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
        _CACHE_WITHOUT_SIZE_STRIDE,
    ),
    _m(
        "maxpool_forward_naive",
        "average instead of max",
        variant(
            _CACHE_WITHOUT_SIZE_STRIDE,
            ("win.max(axis=(2,", "win.mean(axis=(2,"),
            ("return out, x", "return out, (x, size, stride)"),
        ),
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
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# sum instead of mean
_SUM_INSTEAD_MEAN = """
        def global_avgpool_forward(x):
            return x.sum(axis=(2, 3)), x.shape
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# not divided by H*W
_NOT_DIVIDED_H_W = """
        def global_avgpool_backward(dout, cache):
            N, C, H, W = cache
            return np.ones(cache) * dout[:, :, None, None]
        """


GAP = [
    _m(
        "global_avgpool_forward",
        "sum instead of mean",
        _SUM_INSTEAD_MEAN,
    ),
    _m(
        "global_avgpool_forward",
        "cache is x",
        variant(_SUM_INSTEAD_MEAN, ("x.sum(axis=(2, 3)), x.shape", "x.mean(axis=(2, 3)), x")),
    ),
    _m(
        "global_avgpool_forward",
        "mean over the wrong axes",
        variant(_SUM_INSTEAD_MEAN, ("x.sum(axis=(2, 3)),", "x.mean(axis=(1, 2)),")),
    ),
    _m(
        "global_avgpool_backward",
        "not divided by H*W",
        _NOT_DIVIDED_H_W,
        core=True,
    ),
    _m(
        "global_avgpool_backward",
        "divided by H only",
        variant(_NOT_DIVIDED_H_W, ("None]", "None] / H")),
    ),
    _m(
        "global_avgpool_backward",
        "divided by N*H*W",
        variant(_NOT_DIVIDED_H_W, ("None]", "None] / (N * H * W)")),
    ),
]

MISTAKES = MAXPOOL_FORWARD + MAXPOOL_BACKWARD_MISTAKES + GAP
