"""Realistic mistakes for 02's average pooling with padding (exercises 5c and 5d).

Written as a learner would write them, whole answer cells. ``core=True``: the mistakes the
exercises exist to teach, which the worked examples of the public checks must catch: the padded
zeros left out of the mean (forward), and in the backward pass the share of the padding not cut
off, overlapping windows overwritten, and the mean's divisor taken from the real pixels only.
"""

from realistic import Mistake, variant

FWD, BWD = "test_avgpool_forward_naive", "test_avgpool_backward_naive"


def _fwd(label, source, core=False):
    return Mistake(FWD, label, {"avgpool_forward_naive": source}, core=core)


def _bwd(label, source, core=False):
    return Mistake(BWD, label, {"avgpool_backward_naive": source}, core=core)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# avgpool: mean over the real pixels of a border window
_AVGPOOL_MEAN_OVER_REAL_PIXELS = """
        def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
            if stride is None:
                stride = size
            N, C, H, W = x.shape
            OH = (H + 2 * pad - size) // stride + 1
            OW = (W + 2 * pad - size) // stride + 1
            out = np.zeros((N, C, OH, OW))
            for i in range(OH):
                for j in range(OW):
                    top, left = i * stride - pad, j * stride - pad
                    win = x[:, :, max(top, 0):top + size, max(left, 0):left + size]
                    out[:, :, i, j] = win.mean(axis=(2, 3))
            return out, (x.shape, size, stride, pad)
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# avgpool: counts the nonzero values of the padded window
_AVGPOOL_COUNTS_NONZERO_VALUES = """
        def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
            if stride is None:
                stride = size
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            N, C, Hp, Wp = xp.shape
            OH, OW = (Hp - size) // stride + 1, (Wp - size) // stride + 1
            out = np.zeros((N, C, OH, OW))
            for n in range(N):
                for c in range(C):
                    for i in range(OH):
                        for j in range(OW):
                            w = xp[n, c, i*stride:i*stride+size, j*stride:j*stride+size]
                            out[n, c, i, j] = w.sum() / max(np.count_nonzero(w), 1)
            return out, (x.shape, size, stride, pad)
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# avgpool: window moved by the window size
_AVGPOOL_WINDOW_MOVED_WINDOW_SIZE = variant(
    _AVGPOOL_MEAN_OVER_REAL_PIXELS,
    (
        "stride = size\n",
        ("stride = size\n            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"),
    ),
    (
        (
            "top, left = i * stride - pad, j * stride - pad\n"
            "                    win = x[:, :, max(top, 0):top + size, max(left, 0):left "
            "+ size]\n"
            "                    out[:, :, i, j] = win.mean(axis=(2, 3))\n"
        ),
        (
            "win = xp[:, :, i*size:i*size+size, j*size:j*size+size]\n"
            "                    out[:, :, i, j] = win.sum(axis=(2, 3)) / size**2\n"
        ),
    ),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# avgpool: pads with the edge values
_AVGPOOL_PADS_EDGE_VALUES = """
        def avgpool_forward_naive(x, size=2, *, stride=None, pad=0):
            if stride is None:
                stride = size
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
            N, C, Hp, Wp = xp.shape
            OH, OW = (Hp - size) // stride + 1, (Wp - size) // stride + 1
            out = np.zeros((N, C, OH, OW))
            for i in range(OH):
                for j in range(OW):
                    out[:, :, i, j] = xp[:, :, i*stride:i*stride+size,
                                         j*stride:j*stride+size].mean(axis=(2, 3))
            return out, (x.shape, size, stride, pad)
        """


FORWARD = [
    _fwd(
        "avgpool: mean over the real pixels of a border window",
        _AVGPOOL_MEAN_OVER_REAL_PIXELS,
        core=True,
    ),
    _fwd(
        "avgpool: counts the nonzero values of the padded window",
        _AVGPOOL_COUNTS_NONZERO_VALUES,
    ),
    _fwd(
        "avgpool: padding forgotten",
        variant(
            _AVGPOOL_COUNTS_NONZERO_VALUES,
            (
                (
                    "xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
                    "            N, C, Hp, Wp = xp.shape\n"
                    "            OH, OW = (Hp - size) // stride + 1, (Wp - size) // stride + 1\n"
                ),
                (
                    "N, C, H, W = x.shape\n"
                    "            OH, OW = (H - size) // stride + 1, (W - size) // stride + 1\n"
                ),
            ),
            (
                "w = xp[n, c, i*stride:i*stride+size, j*stride:j*stride+size]",
                "out[n, c, i, j] = np.mean(",
            ),
            (
                "out[n, c, i, j] = w.sum() / max(np.count_nonzero(w), 1)",
                "    x[n, c, i*stride:i*stride+size, j*stride:j*stride+size])",
            ),
        ),
    ),
    _fwd(
        "avgpool: window moved by the window size",
        _AVGPOOL_WINDOW_MOVED_WINDOW_SIZE,
    ),
    _fwd(
        "avgpool: pads with the edge values",
        _AVGPOOL_PADS_EDGE_VALUES,
    ),
    _fwd(
        "avgpool: the window sum, not its mean",
        variant(
            _AVGPOOL_PADS_EDGE_VALUES,
            ('pad)), mode="edge")', "pad)))"),
            ("j*stride:j*stride+size].mean(axis=(2,", "j*stride:j*stride+size].sum(axis=(2,"),
        ),
    ),
    _fwd(
        "avgpool: caches the padded shape",
        variant(
            _AVGPOOL_WINDOW_MOVED_WINDOW_SIZE,
            (
                "xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
                "x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
            ),
            (
                (
                    "OH = (H + 2 * pad - size) // stride + 1\n"
                    "            OW = (W + 2 * pad - size) // stride + 1\n"
                ),
                "OH, OW = (H - size) // stride + 1, (W - size) // stride + 1\n",
            ),
            (
                "win = xp[:, :, i*size:i*size+size, j*size:j*size+size]",
                "out[:, :, i, j] = x[:, :, i*stride:i*stride+size,",
            ),
            (
                "out[:, :, i, j] = win.sum(axis=(2, 3)) / size**2",
                "                    j*stride:j*stride+size].mean(axis=(2, 3))",
            ),
        ),
    ),
]

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# avgpool backward: padding not cut off
_AVGPOOL_BACKWARD_PADDING_NOT_CUT = """
        def avgpool_backward_naive(dout, cache):
            x_shape, size, stride, pad = cache
            N, C, H, W = x_shape
            dx = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    g = dout[:, :, i, j][:, :, None, None] / size**2
                    dx[:, :, i*stride:i*stride+size, j*stride:j*stride+size] += g
            return dx
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# avgpool backward: overlapping windows overwritten
_AVGPOOL_BACKWARD_OVERLAPPING = variant(
    _AVGPOOL_BACKWARD_PADDING_NOT_CUT,
    (
        "dx[:, :, i*stride:i*stride+size, j*stride:j*stride+size] += g",
        "dx[:, :, i*stride:i*stride+size, j*stride:j*stride+size] = g",
    ),
    ("return dx", "return dx[:, :, pad:pad + H, pad:pad + W]"),
)


BACKWARD = [
    _bwd(
        "avgpool backward: padding not cut off",
        _AVGPOOL_BACKWARD_PADDING_NOT_CUT,
        core=True,
    ),
    _bwd(
        "avgpool backward: overlapping windows overwritten",
        _AVGPOOL_BACKWARD_OVERLAPPING,
        core=True,
    ),
    _bwd(
        "avgpool backward: divides by the real pixels of each window",
        variant(
            _AVGPOOL_BACKWARD_PADDING_NOT_CUT,
            ("np.zeros((N, C, H + 2 * pad, W + 2 * pad))", "np.zeros(x_shape)"),
            (
                (
                    "g = dout[:, :, i, j][:, :, None, None] / size**2\n"
                    "                    dx[:, :, i*stride:i*stride+size, "
                    "j*stride:j*stride+size] += g\n"
                ),
                (
                    "r0, r1 = max(i * stride - pad, 0), min(i * stride - pad + size, H)\n"
                    "                    c0, c1 = max(j * stride - pad, 0), min(j * "
                    "stride - pad + size, W)\n"
                    "                    g = dout[:, :, i, j][:, :, None, None] / ((r1 - "
                    "r0) * (c1 - c0))\n"
                    "                    dx[:, :, r0:r1, c0:c1] += g\n"
                ),
            ),
        ),
        core=True,
    ),
    _bwd(
        "avgpool backward: dout not divided by the window area",
        """
        def avgpool_backward_naive(dout, cache):
            x_shape, size, stride, pad = cache
            N, C, H, W = x_shape
            dx = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
            for n in range(N):
                for c in range(C):
                    for i in range(dout.shape[2]):
                        for j in range(dout.shape[3]):
                            r, s = i * stride, j * stride
                            dx[n, c, r:r + size, s:s + size] += dout[n, c, i, j]
            return dx[:, :, pad:pad + H, pad:pad + W]
        """,
    ),
    _bwd(
        "avgpool backward: cropped with negative indices",
        variant(
            _AVGPOOL_BACKWARD_PADDING_NOT_CUT, ("return dx", "return dx[:, :, pad:-pad, pad:-pad]")
        ),
    ),
    _bwd(
        "avgpool backward: the whole share to the window's first pixel",
        variant(
            _AVGPOOL_BACKWARD_OVERLAPPING,
            (
                (
                    "g = dout[:, :, i, j][:, :, None, None] / size**2\n"
                    "                    dx[:, :, i*stride:i*stride+size, "
                    "j*stride:j*stride+size] = g\n"
                ),
                "dx[:, :, i * stride, j * stride] += dout[:, :, i, j]\n",
            ),
        ),
    ),
    _bwd(
        "avgpool backward: windows moved by the window size",
        variant(
            _AVGPOOL_BACKWARD_OVERLAPPING,
            ("pad, W + 2 * pad))", "pad + size * 4, W + 2 * pad + size * 4))"),
            (
                "i*stride:i*stride+size, j*stride:j*stride+size] =",
                "i*size:i*size+size, j*size:j*size+size] +=",
            ),
        ),
    ),
]

MISTAKES = FORWARD + BACKWARD
