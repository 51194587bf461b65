"""Realistic mistakes for 06-beyond-classification (sections 4-5 of notebook 06), as answer cells.

``core=True``: the mistake the exercise exists to teach (the issue's list: transposed-convolution
padding and stride errors, the weight layout, db not summed over the batch and space, the
per-pixel loss without the max shift, on the wrong axis or averaged per image, mean IoU averaged
per image or with absent classes, freezing off by one).
"""

from realistic import Mistake


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
FORWARD = [
    _m(
        "conv_transpose_forward",
        "padding not cropped",
        _FWD_HEAD
        + """
    out = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for c in range(C_in):
                    out[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] += x[n, c, i, j] * w[c]
    out += b.reshape(1, -1, 1, 1)
    return out, (x, w, b, stride, pad)
""",
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
        _FWD_HEAD
        + """
    OH = (H - 1) * stride - 2 * pad + KH
    OW = (W - 1) * stride - 2 * pad + KW
    full = np.zeros((N, C_out, OH + 2 * pad, OW + 2 * pad))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                stamp = np.tensordot(x[n, :, i, j], w, axes=(0, 0))
                full[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] = stamp
    return full[:, :, pad:pad+OH, pad:pad+OW] + b[None, :, None, None], (x, w, b, stride, pad)
""",
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
        _FWD_HEAD
        + """
    full = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                stamp = np.einsum("c,cokl->okl", x[n, :, i, j], w)
                full[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] += stamp
    out = full[:, :, pad:, pad:] + b[None, :, None, None]
    return out, (x, w, b, stride, pad)
""",
        core=True,
    ),
    _m(
        "conv_transpose_forward",
        "bias added with every stamp",
        _FWD_HEAD
        + """
    full = np.zeros((N, C_out, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                stamp = np.tensordot(x[n, :, i, j], w, axes=(0, 0)) + b[:, None, None]
                full[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW] += stamp
    OH, OW = full.shape[2] - 2 * pad, full.shape[3] - 2 * pad
    return full[:, :, pad:pad+OH, pad:pad+OW], (x, w, b, stride, pad)
""",
    ),
    _m(
        "conv_transpose_forward",
        "stride applied to the kernel taps",
        _FWD_HEAD
        + """
    OH = (H - 1) * stride - 2 * pad + KH
    OW = (W - 1) * stride - 2 * pad + KW
    full = np.zeros((N, C_out, OH + 2 * pad, OW + 2 * pad))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for p in range(KH):
                    for q in range(KW):
                        r, s = i + p * stride, j + q * stride
                        if r < full.shape[2] and s < full.shape[3]:
                            full[n, :, r, s] += x[n, :, i, j] @ w[:, :, p, q]
    return full[:, :, pad:pad+OH, pad:pad+OW] + b[None, :, None, None], (x, w, b, stride, pad)
""",
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
        _BWD_HEAD
        + """
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
""",
    ),
    _m(
        "conv_transpose_backward",
        "dx summed over all channels at once",
        _BWD_HEAD
        + """
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                win = dpad[n, :, i*stride:i*stride+KH, j*stride:j*stride+KW]
                dx[n, :, i, j] = np.sum(w * win)
                dw += x[n, :, i, j][:, None, None, None] * win[None]
    return dx, dw, dout.sum(axis=(0, 2, 3))
""",
    ),
    _m(
        "conv_transpose_backward",
        "stride ignored in the windows",
        _BWD_HEAD
        + """
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                win = dpad[n, :, i:i+KH, j:j+KW]
                dx[n, :, i, j] = np.tensordot(w, win, axes=3)
                dw += x[n, :, i, j][:, None, None, None] * win[None]
    return dx, dw, dout.sum(axis=(0, 2, 3))
""",
        core=True,
    ),
]

# --------------------------------------------------------------------------------------------
# pixel_cross_entropy
# --------------------------------------------------------------------------------------------
PIXEL_CE = [
    _m(
        "pixel_cross_entropy",
        "no max shift",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    mask = labels != ignore_index
    M = mask.sum()
    e = np.exp(scores)
    p = e / e.sum(axis=1, keepdims=True)
    y = np.where(mask, labels, 0)
    py = np.take_along_axis(p, y[:, None], axis=1)[:, 0]
    loss = -np.sum(np.log(py)[mask]) / M
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, y[:, None], 1.0, axis=1)
    dscores = (p - onehot) * mask[:, None] / M
    return loss, dscores
""",
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "mean per image, then over the images",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    N = scores.shape[0]
    s = scores - scores.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    mask = labels != ignore_index
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    counts = mask.reshape(N, -1).sum(axis=1)
    per_image = -(lp * mask).reshape(N, -1).sum(axis=1) / counts
    loss = per_image.mean()
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    d = d * mask[:, None] / (N * counts[:, None, None, None])
    return loss, d
""",
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "softmax over the last axis",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    s = scores - scores.max(axis=-1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    mask = labels != ignore_index
    M = mask.sum()
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    loss = -lp[mask].sum() / M
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    return loss, d * mask[:, None] / M
""",
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "one-hot with np.eye (label -1 becomes the last class)",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    K = scores.shape[1]
    s = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    onehot = np.moveaxis(np.eye(K)[labels], -1, 1)  # (N, K, H, W)
    M = labels.size
    loss = -np.sum(onehot * np.log(p)) / M
    dscores = (p - onehot) / M
    return loss, dscores
""",
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "ignored pixels zeroed but counted in the mean",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    s = scores - scores.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    mask = labels != ignore_index
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    loss = -np.mean(lp * mask)
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    return loss, d * mask[:, None] / labels.size
""",
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "divided by the number of images",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    N = scores.shape[0]
    s = scores - scores.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    mask = labels != ignore_index
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    loss = -np.sum(lp[mask]) / N
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    return loss, d * mask[:, None] / N
""",
    ),
    _m(
        "pixel_cross_entropy",
        "ignore_index hard-coded as -1",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    s = scores - scores.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    mask = labels >= 0
    M = mask.sum()
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    loss = -lp[mask].sum() / M
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    return loss, d * mask[:, None] / M
""",
    ),
    _m(
        "pixel_cross_entropy",
        "gradient left at the ignored pixels",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    s = scores - scores.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    mask = labels != ignore_index
    M = mask.sum()
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    loss = -lp[mask].sum() / M
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    return loss, d / M
""",
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "shifted by the maximum of the whole array",
        """
def pixel_cross_entropy(scores, labels, ignore_index=-1):
    s = scores - scores.max()
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    mask = labels != ignore_index
    M = mask.sum()
    y = np.where(mask, labels, 0)
    lp = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    loss = -lp[mask].sum() / M
    d = np.exp(logp)
    np.put_along_axis(d, y[:, None], np.take_along_axis(d, y[:, None], axis=1) - 1, axis=1)
    return loss, d * mask[:, None] / M
""",
        core=True,
    ),
]

# --------------------------------------------------------------------------------------------
# mean_iou
# --------------------------------------------------------------------------------------------
MEAN_IOU = [
    _m(
        "mean_iou",
        "IoU per image, then averaged",
        """
def mean_iou(pred, truth, num_classes):
    scores = []
    for p_img, t_img in zip(pred, truth):
        ious = []
        for c in range(num_classes):
            inter = np.logical_and(p_img == c, t_img == c).sum()
            union = np.logical_or(p_img == c, t_img == c).sum()
            if union > 0:
                ious.append(inter / union)
        scores.append(np.mean(ious))
    return float(np.mean(scores))
""",
        core=True,
    ),
    _m(
        "mean_iou",
        "background left out",
        """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in range(1, num_classes):
        inter = np.sum((pred == c) & (truth == c))
        union = np.sum((pred == c) | (truth == c))
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))
""",
        core=True,
    ),
    _m(
        "mean_iou",
        "absent classes give nan",
        """
def mean_iou(pred, truth, num_classes):
    ious = np.zeros(num_classes)
    for c in range(num_classes):
        inter = np.sum((pred == c) & (truth == c))
        union = np.sum((pred == c) | (truth == c))
        ious[c] = inter / union
    return float(ious.mean())
""",
        core=True,
    ),
    _m(
        "mean_iou",
        "absent classes counted as 0",
        """
def mean_iou(pred, truth, num_classes):
    total = 0.0
    for c in range(num_classes):
        inter = np.sum((pred == c) & (truth == c))
        union = np.sum((pred == c) | (truth == c))
        if union > 0:
            total += inter / union
    return total / num_classes
""",
        core=True,
    ),
    _m(
        "mean_iou",
        "classes of the truth only",
        """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in np.unique(truth):
        inter = np.sum((pred == c) & (truth == c))
        union = np.sum((pred == c) | (truth == c))
        ious.append(inter / union)
    return float(np.mean(ious))
""",
    ),
    _m(
        "mean_iou",
        "union as the sum of both counts",
        """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in range(num_classes):
        a, b = np.sum(pred == c), np.sum(truth == c)
        if a + b > 0:
            ious.append(np.sum((pred == c) & (truth == c)) / (a + b))
    return float(np.mean(ious))
""",
    ),
    _m(
        "mean_iou",
        "pixel accuracy per class instead of IoU",
        """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in range(num_classes):
        t = truth == c
        if t.sum() or (pred == c).sum():
            ious.append(np.sum(pred[t] == c) / max(t.sum(), 1))
    return float(np.mean(ious))
""",
    ),
]

# --------------------------------------------------------------------------------------------
# finetune_lr_scale
# --------------------------------------------------------------------------------------------
FINETUNE = [
    _m(
        "finetune_lr_scale",
        "one layer too many (<= n_pretrained)",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    out = {}
    for name in model.params:
        if int(name.split(".")[0]) <= n_pretrained:
            out[name] = scale
    return out
""",
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "one layer too few (range(n_pretrained - 1))",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    lr_scale = {}
    for i in range(n_pretrained - 1):
        if len(model.layers[i].params) > 0:
            lr_scale[f"{i}."] = scale
    return lr_scale
""",
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "prefix without the dot",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    return {str(i): scale for i in range(n_pretrained) if model.layers[i].params}
""",
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "a key for every layer, with or without parameters",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    return {f"{i}.": scale for i in range(n_pretrained)}
""",
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "weights only",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    lr_scale = {}
    for i in range(n_pretrained):
        if "w" in model.layers[i].params:
            lr_scale[f"{i}.w"] = scale
    return lr_scale
""",
    ),
    _m(
        "finetune_lr_scale",
        "counts only the layers with parameters",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    with_params = [i for i, layer in enumerate(model.layers) if layer.params]
    return {f"{i}.": scale for i in with_params[:n_pretrained]}
""",
    ),
    _m(
        "finetune_lr_scale",
        "the head gets the scale too (empty prefix only)",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    return {"": scale}
""",
    ),
    _m(
        "finetune_lr_scale",
        "scale and 1 swapped",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    return {"": 1.0, **{f"{i}.": scale for i in range(n_pretrained, len(model.layers))
                        if model.layers[i].params}}
""",
    ),
]

MISTAKES = FORWARD + BACKWARD + PIXEL_CE + MEAN_IOU + FINETUNE
