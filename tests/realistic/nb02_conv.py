"""Realistic mistakes for 02-layers, sections 5, 10 and 11 (convolution backward, 1x1
convolution, receptive field), as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about; one row
of issue 13's table: conv backward without cropping the padding).
"""

from realistic import Mistake, variant

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


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
# conv1x1_as_matmul
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# bias forgotten
_BIAS_FORGOTTEN = """
        def conv1x1_as_matmul(x, w, b):
            N, C, H, W = x.shape
            out = w[:, :, 0, 0] @ x.reshape(N, C, H * W)
            return out.reshape(N, -1, H, W)
        """


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
        _BIAS_FORGOTTEN,
    ),
    _m(
        "conv1x1_as_matmul",
        "pixels-by-filters reshaped straight",
        variant(
            _BIAS_FORGOTTEN,
            (
                "out = w[:, :, 0, 0] @ x.reshape(N, C, H * W)\n",
                (
                    "cols = x.transpose(0, 2, 3, 1).reshape(-1, C)\n"
                    "            out = cols @ w[:, :, 0, 0].T + b\n"
                ),
            ),
        ),
        core=True,
    ),
    _m(
        "conv1x1_as_matmul",
        "batch folded into the pixels",
        variant(
            _BIAS_FORGOTTEN,
            ("x.reshape(N, C, H * W)", "x.reshape(C, -1)"),
            (
                "return out.reshape(N, -1, H, W)",
                "return out.reshape(N, -1, H, W) + b[None, :, None, None]",
            ),
        ),
    ),
]

# --------------------------------------------------------------------------------------------
# receptive_field
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# jump updated before the field
_JUMP_UPDATED_BEFORE_FIELD = """
        def receptive_field(layers):
            r, j = 1, 1
            for k, s in layers:
                j = j * s
                r = r + (k - 1) * j
            return r
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# strides ignored
_STRIDES_IGNORED = """
        def receptive_field(layers):
            r = 1
            for k, s in layers:
                r += k - 1
            return r
        """


RECEPTIVE = [
    _m(
        "receptive_field",
        "jump updated before the field",
        _JUMP_UPDATED_BEFORE_FIELD,
        core=True,
    ),
    _m(
        "receptive_field",
        "strides ignored",
        _STRIDES_IGNORED,
        core=True,
    ),
    _m(
        "receptive_field",
        "own stride instead of the jump",
        variant(_STRIDES_IGNORED, ("k - 1", "(k - 1) * s")),
    ),
    _m(
        "receptive_field",
        "starts from 0",
        variant(
            _JUMP_UPDATED_BEFORE_FIELD,
            ("r, j = 1, 1", "r, j = 0, 1"),
            ("j = j * s", "r += k if r == 0 else (k - 1) * j"),
            ("r = r + (k - 1) * j", "j *= s"),
        ),
    ),
]

MISTAKES = CONV_MISTAKES + CONV1X1 + RECEPTIVE
