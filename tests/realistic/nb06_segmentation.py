"""Realistic mistakes for 06-beyond-classification, section 4: the transposed convolution.

``core=True``: the mistake the exercise exists to teach (the issue's list: transposed-convolution
padding and stride errors, the weight layout, db not summed over the batch and space). The
per-pixel loss and mean IoU are in ``nb06_segmentation_loss``, section 5 in ``nb06_transfer``.
"""

from realistic import Mistake, variant


def _m(name, label, source, core=False):
    return Mistake(f"test_{name}", label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# conv_transpose_forward
# --------------------------------------------------------------------------------------------
_FWD_HEAD = """
def conv_transpose_forward(x, w, b, *, stride=1, pad=0):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
"""
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# padding not cropped
_PADDING_NOT_CROPPED = """
    out = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for c in range(C_in):
                    out[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] += x[n, c, i, j] * w[c]
    out += b.reshape(1, -1, 1, 1)
    return out, (x, w, b, stride, pad)
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# stamps assigned with = (overlaps lost)
_STAMPS_ASSIGNED_OVERLAPS_LOST = """
    OH = (H - 1) * stride - 2 * pad + KH
    OW = (W - 1) * stride - 2 * pad + KW
    full = np.zeros((N, C_out, OH + 2 * pad, OW + 2 * pad))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                stamp = np.tensordot(x[n, :, i, j], w, axes=(0, 0))
                full[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] = stamp
    return full[:, :, pad:pad+OH, pad:pad+OW] + b[None, :, None, None], (x, w, b, stride, pad)
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# cropped at the start only
_CROPPED_AT_START_ONLY = variant(
    _PADDING_NOT_CROPPED,
    (
        "out = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))",
        "full = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))",
    ),
    ("for c in range(C_in):", 'stamp = np.einsum("c,cokl->okl", x[n, :, i, j], w)'),
    (
        ("    out[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] += x[n, c, i, j] * w[c]"),
        "full[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] += stamp",
    ),
    ("+= b.reshape(1, -1, 1, 1)", "= full[:, :, pad:, pad:] + b[None, :, None, None]"),
)


FORWARD = [
    _m(
        "conv_transpose_forward",
        "padding not cropped",
        _FWD_HEAD + _PADDING_NOT_CROPPED,
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "pad added around the output",
        _FWD_HEAD
        + """
    OH = (H - 1) * stride + 2 * pad + KH
    OW = (W - 1) * stride + 2 * pad + KW
    out = np.zeros((N, C_out, OH, OW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                r, s = i * stride + pad, j * stride + pad
                out[n, :, r:r+KH, s:s+KW] += np.tensordot(x[n, :, i, j], w, axes=1)
    return out + b[None, :, None, None], (x, w, b, stride, pad)
""",
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "output size H * stride",
        _FWD_HEAD
        + """
    out = np.zeros((N, C_out, H * stride + 2 * pad, W * stride + 2 * pad))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                patch = np.tensordot(x[n, :, i, j], w, axes=(0, 0))
                r, s = i * stride, j * stride
                kh = min(KH, out.shape[2] - r)
                kw = min(KW, out.shape[3] - s)
                out[n, :, r:r+kh, s:s+kw] += patch[:, :kh, :kw]
    out = out[:, :, pad:pad + H * stride, pad:pad + W * stride]
    return out + b[None, :, None, None], (x, w, b, stride, pad)
""",
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "w indexed as (C_out, C_in)",
        _FWD_HEAD
        + """
    OH = (H - 1) * stride - 2 * pad + KH
    OW = (W - 1) * stride - 2 * pad + KW
    full = np.zeros((N, C_out, OH + 2 * pad, OW + 2 * pad))
    for n in range(N):
        for co in range(C_out):
            for ci in range(C_in):
                for i in range(H):
                    for j in range(W):
                        r, s = i * stride, j * stride
                        full[n, co, r:r+KH, s:s+KW] += x[n, ci, i, j] * w[co, ci]
    out = full[:, :, pad:pad+OH, pad:pad+OW]
    for co in range(C_out):
        out[:, co] += b[co]
    return out, (x, w, b, stride, pad)
""",
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "stamps assigned with = (overlaps lost)",
        _FWD_HEAD + _STAMPS_ASSIGNED_OVERLAPS_LOST,
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "kernel flipped (zero insertion + convolution)",
        _FWD_HEAD
        + """
    # insert stride - 1 zeros between the pixels, pad by KH - 1 - pad, correlate
    up = np.zeros((N, C_in, (H - 1) * stride + 1, (W - 1) * stride + 1))
    up[:, :, ::stride, ::stride] = x
    ph, pw = KH - 1 - pad, KW - 1 - pad
    up = np.pad(up, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    OH = up.shape[2] - KH + 1
    OW = up.shape[3] - KW + 1
    out = np.zeros((N, C_out, OH, OW))
    for n in range(N):
        for co in range(C_out):
            for i in range(OH):
                for j in range(OW):
                    out[n, co, i, j] = np.sum(up[n, :, i:i+KH, j:j+KW] * w[:, co]) + b[co]
    return out, (x, w, b, stride, pad)
""",
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "cropped at the start only",
        _FWD_HEAD + _CROPPED_AT_START_ONLY,
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "bias added with every stamp",
        _FWD_HEAD
        + variant(
            _CROPPED_AT_START_ONLY,
            (
                'np.einsum("c,cokl->okl", x[n, :, i, j], w)',
                "np.tensordot(x[n, :, i, j], w, axes=(0, 0)) + b[:, None, None]",
            ),
            (
                "out = full[:, :, pad:, pad:] + b[None, :, None, None]",
                "OH, OW = full.shape[2] - 2 * pad, full.shape[3] - 2 * pad",
            ),
            (
                "return out, (x, w, b, stride, pad)",
                "return full[:, :, pad:pad+OH, pad:pad+OW], (x, w, b, stride, pad)",
            ),
        ),
    ),
    _m(
        "conv_transpose_forward",
        "stride applied to the kernel taps",
        _FWD_HEAD
        + variant(
            _STAMPS_ASSIGNED_OVERLAPS_LOST,
            (
                (
                    "stamp = np.tensordot(x[n, :, i, j], w, axes=(0, 0))\n"
                    "                full[n, :, i*stride:i*stride+KH, "
                    "j*stride:j*stride+KW] = stamp\n"
                ),
                (
                    "for p in range(KH):\n"
                    "                    for q in range(KW):\n"
                    "                        r, s = i + p * stride, j + q * stride\n"
                    "                        if r < full.shape[2] and s < full.shape[3]:\n"
                    "                            full[n, :, r, s] += x[n, :, i, j] @ w[:, "
                    ":, p, q]\n"
                ),
            ),
        ),
        core=True,
    ),
]

# --------------------------------------------------------------------------------------------
# conv_transpose_backward
# --------------------------------------------------------------------------------------------
_BWD_HEAD = """
def conv_transpose_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
"""
_BWD_LOOP = """
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros_like(x, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                win = dpad[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW]
                for c in range(C_in):
                    dx[n, c, i, j] = np.sum(w[c] * win)
                    dw[c] += x[n, c, i, j] * win
"""
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# dx with a flipped kernel
_DX_FLIPPED_KERNEL = """
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    wf = w[:, :, ::-1, ::-1]
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                win = dpad[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW]
                dx[n, :, i, j] = np.sum(wf * win[None], axis=(1, 2, 3))
                dw += x[n, :, i, j][:, None, None, None] * win[None]
    return dx, dw, dout.sum(axis=(0, 2, 3))
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# dx summed over all channels at once
_DX_SUMMED_OVER_ALL_CHANNELS_AT = variant(
    _DX_FLIPPED_KERNEL,
    ("    wf = w[:, :, ::-1, ::-1]\n", ""),
    ("np.sum(wf * win[None], axis=(1, 2, 3))", "np.sum(w * win)"),
)


BACKWARD = [
    _m(
        "conv_transpose_backward",
        "db summed over space only",
        _BWD_HEAD + _BWD_LOOP + "    db = dout.sum(axis=(2, 3))\n    return dx, dw, db\n",
        core=True,
    ),
    _m(
        "conv_transpose_backward",
        "db summed over the batch only",
        _BWD_HEAD + _BWD_LOOP + "    db = np.sum(dout, axis=0)\n    return dx, dw, db\n",
        core=True,
    ),
    _m(
        "conv_transpose_backward",
        "db as a mean",
        _BWD_HEAD + _BWD_LOOP + "    db = dout.mean(axis=(0, 2, 3))\n    return dx, dw, db\n",
        core=True,
    ),
    _m(
        "conv_transpose_backward",
        "dw reset for every image",
        _BWD_HEAD
        + """
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    for n in range(N):
        dw = np.zeros(w.shape)
        for i in range(H):
            for j in range(W):
                win = dpad[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW]
                dx[n, :, i, j] = np.tensordot(w, win, axes=([1, 2, 3], [0, 1, 2]))
                dw += np.multiply.outer(x[n, :, i, j], win)
    return dx, dw, dout.sum(axis=(0, 2, 3))
""",
        core=True,
    ),
    _m(
        "conv_transpose_backward",
        "dout not padded back (window offset by pad)",
        _BWD_HEAD
        + """
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    OH, OW = dout.shape[2:]
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for p in range(KH):
                    for q in range(KW):
                        r, s = i * stride + p, j * stride + q
                        if r < OH and s < OW:
                            dx[n, :, i, j] += w[:, :, p, q] @ dout[n, :, r, s]
                            dw[:, :, p, q] += np.outer(x[n, :, i, j], dout[n, :, r, s])
    return dx, dw, dout.sum(axis=(0, 2, 3))
""",
        core=True,
    ),
    _m(
        "conv_transpose_backward",
        "dw with the layout (C_out, C_in)",
        _BWD_HEAD
        + """
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    dw = np.zeros((C_out, C_in, KH, KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                win = dpad[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW]
                for co in range(C_out):
                    for ci in range(C_in):
                        dx[n, ci, i, j] += np.sum(w[ci, co] * win[co])
                        dw[co, ci] += x[n, ci, i, j] * win[co]
    return dx, dw, dout.sum(axis=(0, 2, 3))
""",
        core=True,
    ),
    _m(
        "conv_transpose_backward",
        "dx with a flipped kernel",
        _BWD_HEAD + _DX_FLIPPED_KERNEL,
    ),
    _m(
        "conv_transpose_backward",
        "dx summed over all channels at once",
        _BWD_HEAD + _DX_SUMMED_OVER_ALL_CHANNELS_AT,
    ),
    _m(
        "conv_transpose_backward",
        "stride ignored in the windows",
        _BWD_HEAD
        + variant(
            _DX_SUMMED_OVER_ALL_CHANNELS_AT,
            ("i*stride:i*stride+KH, j*stride:j*stride+KW]", "i:i+KH, j:j+KW]"),
            ("np.sum(w * win)", "np.tensordot(w, win, axes=3)"),
        ),
        core=True,
    ),
]
MISTAKES = FORWARD + BACKWARD
