"""Realistic mistakes for 06-beyond-classification, section 4: the per-pixel loss and mean IoU.

``core=True``: the per-pixel loss without the max shift, on the wrong axis or averaged per image,
mean IoU averaged per image or with absent classes (see ``nb06_segmentation``).
"""

from realistic import Mistake


def _m(name, label, source, core=False):
    return Mistake(f"test_{name}", label, {name: source}, core=core)


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
MISTAKES = PIXEL_CE + MEAN_IOU
