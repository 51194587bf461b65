"""Realistic mistakes for 06-beyond-classification, section 4: the per-pixel loss and mean IoU.

``core=True``: the per-pixel loss without the max shift, on the wrong axis or averaged per image,
mean IoU averaged per image or with absent classes (see ``nb06_segmentation``).
"""

from realistic import Mistake, variant


def _m(name, label, source, core=False):
    return Mistake(f"test_{name}", label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# pixel_cross_entropy
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# softmax over the last axis
_SOFTMAX_OVER_LAST_AXIS = """
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
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# ignored pixels zeroed but counted in the mean
_IGNORED_PIXELS_ZEROED_BUT_COUNTED = """
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
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# ignore_index hard-coded as -1
_IGNORE_INDEX_HARD_CODED_AS_1 = variant(
    _SOFTMAX_OVER_LAST_AXIS,
    ("scores.max(axis=-1,", "scores.max(axis=1,"),
    ("np.log(np.exp(s).sum(axis=-1,", "np.log(np.exp(s).sum(axis=1,"),
    ("!= ignore_index", ">= 0"),
)


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
        _SOFTMAX_OVER_LAST_AXIS,
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
        _IGNORED_PIXELS_ZEROED_BUT_COUNTED,
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "divided by the number of images",
        variant(
            _IGNORED_PIXELS_ZEROED_BUT_COUNTED,
            (
                "def pixel_cross_entropy(scores, labels, ignore_index=-1):\n",
                (
                    "def pixel_cross_entropy(scores, labels, ignore_index=-1):\n"
                    "    N = scores.shape[0]\n"
                ),
            ),
            ("-np.mean(lp * mask)", "-np.sum(lp[mask]) / N"),
            ("labels.size", "N"),
        ),
    ),
    _m(
        "pixel_cross_entropy",
        "ignore_index hard-coded as -1",
        _IGNORE_INDEX_HARD_CODED_AS_1,
    ),
    _m(
        "pixel_cross_entropy",
        "gradient left at the ignored pixels",
        variant(
            _IGNORE_INDEX_HARD_CODED_AS_1, (">= 0", "!= ignore_index"), ("* mask[:, None] /", "/")
        ),
        core=True,
    ),
    _m(
        "pixel_cross_entropy",
        "shifted by the maximum of the whole array",
        variant(
            _SOFTMAX_OVER_LAST_AXIS,
            ("scores.max(axis=-1, keepdims=True)", "scores.max()"),
            ("np.log(np.exp(s).sum(axis=-1,", "np.log(np.exp(s).sum(axis=1,"),
        ),
        core=True,
    ),
]

# --------------------------------------------------------------------------------------------
# mean_iou
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# background left out
_BACKGROUND_LEFT_OUT = """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in range(1, num_classes):
        inter = np.sum((pred == c) & (truth == c))
        union = np.sum((pred == c) | (truth == c))
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# union as the sum of both counts
_UNION_AS_SUM_BOTH_COUNTS = """
def mean_iou(pred, truth, num_classes):
    ious = []
    for c in range(num_classes):
        a, b = np.sum(pred == c), np.sum(truth == c)
        if a + b > 0:
            ious.append(np.sum((pred == c) & (truth == c)) / (a + b))
    return float(np.mean(ious))
"""


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
        _BACKGROUND_LEFT_OUT,
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
        variant(
            _BACKGROUND_LEFT_OUT,
            ("range(1, num_classes):", "np.unique(truth):"),
            (
                ("if union:\n            ious.append(inter / union)\n"),
                "ious.append(inter / union)\n",
            ),
        ),
    ),
    _m(
        "mean_iou",
        "union as the sum of both counts",
        _UNION_AS_SUM_BOTH_COUNTS,
    ),
    _m(
        "mean_iou",
        "pixel accuracy per class instead of IoU",
        variant(
            _UNION_AS_SUM_BOTH_COUNTS,
            ("a, b = np.sum(pred == c), np.sum(truth == c)", "t = truth == c"),
            ("a + b > 0:", "t.sum() or (pred == c).sum():"),
            (
                "ious.append(np.sum((pred == c) & (truth == c)) / (a + b))",
                "ious.append(np.sum(pred[t] == c) / max(t.sum(), 1))",
            ),
        ),
    ),
]
MISTAKES = PIXEL_CE + MEAN_IOU
