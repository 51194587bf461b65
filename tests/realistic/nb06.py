"""Realistic mistakes in 06-beyond-classification (section 2, localization): what learners write.

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them): the
public part of the test cell alone must catch them. Section 3 (detection) is in
``nb06_detection``, sections 4 and 5 in ``nb06_segmentation``, ``nb06_segmentation_loss`` and
``nb06_transfer``.
"""

from __future__ import annotations

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# iou
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# iou: +1 in widths and heights
_IOU_1_WIDTHS_HEIGHTS = """
def iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(0, x1 - x0 + 1) * np.maximum(0, y1 - y0 + 1)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# iou: union without subtracting the intersection
_IOU_UNION_WITHOUT_SUBTRACTING = variant(
    _IOU_1_WIDTHS_HEIGHTS,
    (
        (
            "inter = np.maximum(0, x1 - x0 + 1) * np.maximum(0, y1 - y0 + 1)\n"
            "    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)\n"
            "    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)\n"
            "    return inter / (area_a[:, None] + area_b[None, :] - inter)\n"
        ),
        (
            "inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)\n"
            "    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])\n"
            "    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])\n"
            "    return inter / (area_a[:, None] + area_b[None, :])\n"
        ),
    ),
)


IOU = [
    Mistake(
        "test_iou",
        "iou: negative overlap not clipped",
        {
            "iou": """
def iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = w * h
    inter[inter < 0] = 0
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)
"""
        },
        core=True,
    ),
    Mistake(
        "test_iou",
        "iou: +1 in widths and heights",
        {"iou": _IOU_1_WIDTHS_HEIGHTS},
        core=True,
    ),
    Mistake(
        "test_iou",
        "iou: boxes read as (x, y, w, h)",
        {
            "iou": """
def iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    ax0, ay0, aw, ah = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    bx0, by0, bw, bh = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    x0 = np.maximum(ax0[:, None], bx0[None, :])
    y0 = np.maximum(ay0[:, None], by0[None, :])
    x1 = np.minimum((ax0 + aw)[:, None], (bx0 + bw)[None, :])
    y1 = np.minimum((ay0 + ah)[:, None], (by0 + bh)[None, :])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = (aw * ah)[:, None] + (bw * bh)[None, :] - inter
    return inter / union
"""
        },
        core=True,
    ),
    Mistake(
        "test_iou",
        "iou: union without subtracting the intersection",
        {"iou": _IOU_UNION_WITHOUT_SUBTRACTING},
    ),
    Mistake(
        "test_iou",
        "iou: result transposed (M, N)",
        {
            "iou": """
def iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    x0 = np.maximum(a[None, :, 0], b[:, None, 0])
    y0 = np.maximum(a[None, :, 1], b[:, None, 1])
    x1 = np.minimum(a[None, :, 2], b[:, None, 2])
    y1 = np.minimum(a[None, :, 3], b[:, None, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[None, :] + area_b[:, None] - inter)
"""
        },
    ),
    Mistake(
        "test_iou",
        "iou: empty union divides by zero",
        {
            "iou": variant(
                _IOU_UNION_WITHOUT_SUBTRACTING,
                (
                    "return inter / (area_a[:, None] + area_b[None, :])\n",
                    (
                        'with np.errstate(invalid="ignore", divide="ignore"):\n'
                        "        return inter / (area_a[:, None] + area_b[None, :] - inter)\n"
                    ),
                ),
            )
        },
    ),
]

# ------------------------------------------------------------------------------------------
# smooth_l1
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# smooth_l1: gradient sign flipped
_SMOOTH_L1_GRADIENT_SIGN_FLIPPED = """
def smooth_l1(pred, target, beta=1.0):
    d = target - pred
    small = np.abs(d) < beta
    f = np.where(small, 0.5 * d ** 2 / beta, np.abs(d) - 0.5 * beta)
    g = np.where(small, d / beta, np.sign(d))
    return float(f.sum() / len(d)), g / len(d)
"""


SMOOTH_L1 = [
    Mistake(
        "test_smooth_l1",
        "smooth_l1: branch on d instead of |d|",
        {
            "smooth_l1": """
def smooth_l1(pred, target, beta=1.0):
    d = pred - target
    f = np.where(d < beta, 0.5 * d ** 2 / beta, np.abs(d) - 0.5 * beta)
    g = np.where(d < beta, d / beta, np.sign(d))
    return float(f.sum() / len(d)), g / len(d)
"""
        },
        core=True,
    ),
    Mistake(
        "test_smooth_l1",
        "smooth_l1: gradient sign flipped",
        {"smooth_l1": _SMOOTH_L1_GRADIENT_SIGN_FLIPPED},
        core=True,
    ),
    Mistake(
        "test_smooth_l1",
        "smooth_l1: np.mean over all values",
        {
            "smooth_l1": variant(
                _SMOOTH_L1_GRADIENT_SIGN_FLIPPED,
                ("target - pred", "pred - target"),
                ("float(f.sum() / len(d)), g / len(d)", "float(np.mean(f)), g / d.size"),
            )
        },
        core=True,
    ),
    Mistake(
        "test_smooth_l1",
        "smooth_l1: summed, not averaged over boxes",
        {
            "smooth_l1": """
def smooth_l1(pred, target, beta=1.0):
    d = pred - target
    small = np.abs(d) < beta
    loss = np.sum(np.where(small, 0.5 * d ** 2 / beta, np.abs(d) - 0.5 * beta))
    return float(loss), np.where(small, d / beta, np.sign(d))
"""
        },
        core=True,
    ),
    Mistake(
        "test_smooth_l1",
        "smooth_l1: threshold fixed at 1",
        {
            "smooth_l1": variant(
                _SMOOTH_L1_GRADIENT_SIGN_FLIPPED,
                ("target - pred", "pred - target"),
                ("small = np.abs(d) < beta", "small = np.abs(d) < 1"),
            )
        },
    ),
    Mistake(
        "test_smooth_l1",
        "smooth_l1: beta left out of the quadratic piece",
        {
            "smooth_l1": variant(
                _SMOOTH_L1_GRADIENT_SIGN_FLIPPED,
                ("target - pred", "pred - target"),
                ("2 / beta,", "2,"),
                ("d / beta,", "d,"),
            )
        },
    ),
    Mistake(
        "test_smooth_l1",
        "smooth_l1: gradient not divided by N",
        {
            "smooth_l1": """
def smooth_l1(pred, target, beta=1.0):
    d = pred - target
    n = d.shape[0]
    small = np.abs(d) < beta
    f = np.where(small, 0.5 * d ** 2 / beta, np.abs(d) - 0.5 * beta)
    return float(f.sum() / n), np.where(small, d / beta, np.sign(d))
"""
        },
    ),
]

# ------------------------------------------------------------------------------------------
# localization_loss
# ------------------------------------------------------------------------------------------

_LOC_HEAD = """
def localization_loss(scores, box_pred, labels, box_true, *, weight=1.0, background=None,
                      box_loss=None):
    if box_loss is None:
        box_loss = smooth_l1
    ce, dscores = cl.layers.softmax_cross_entropy(scores, labels)
"""

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# localization_loss: box gradient not weighted
_LOCALIZATION_LOSS_BOX_GRADIENT_NOT = """
    obj = np.ones(len(labels), bool) if background is None else labels != background
    dbox = np.zeros(box_pred.shape)
    box = 0.0
    if obj.any():
        box, dbox[obj] = box_loss(box_pred[obj], box_true[obj])
    return ce + weight * box, dscores, dbox
"""


LOCALIZATION = [
    Mistake(
        "test_localization_loss",
        "localization_loss: weight on the cross-entropy",
        {
            "localization_loss": _LOC_HEAD
            + """
    obj = np.ones(len(labels), bool) if background is None else labels != background
    dbox = np.zeros_like(box_pred, dtype=float)
    box = 0.0
    if obj.any():
        box, g = box_loss(box_pred[obj], box_true[obj])
        dbox[obj] = g
    return weight * ce + box, weight * dscores, dbox
"""
        },
        core=True,
    ),
    Mistake(
        "test_localization_loss",
        "localization_loss: background rows get a box loss",
        {
            "localization_loss": _LOC_HEAD
            + """
    box, dbox = box_loss(box_pred, box_true)
    return ce + weight * box, dscores, weight * dbox
"""
        },
        core=True,
    ),
    Mistake(
        "test_localization_loss",
        "localization_loss: box loss averaged over all rows",
        {
            "localization_loss": _LOC_HEAD
            + """
    mask = np.ones((len(labels), 1)) if background is None else (labels != background)[:, None]
    box, dbox = box_loss(box_pred * mask, box_true * mask)
    return ce + weight * box, dscores, weight * dbox * mask
"""
        },
        core=True,
    ),
    Mistake(
        "test_localization_loss",
        "localization_loss: box gradient not weighted",
        {"localization_loss": _LOC_HEAD + _LOCALIZATION_LOSS_BOX_GRADIENT_NOT},
    ),
    Mistake(
        "test_localization_loss",
        "localization_loss: ignores box_loss, calls smooth_l1",
        {
            "localization_loss": _LOC_HEAD
            + variant(
                _LOCALIZATION_LOSS_BOX_GRADIENT_NOT,
                (
                    "box, dbox[obj] = box_loss(box_pred[obj], box_true[obj])\n",
                    (
                        "box, g = smooth_l1(box_pred[obj], box_true[obj])\n"
                        "        dbox[obj] = weight * g\n"
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_localization_loss",
        "localization_loss: box gradient only for object rows",
        {
            "localization_loss": _LOC_HEAD
            + """
    obj = np.ones(len(labels), bool) if background is None else labels != background
    box, g = box_loss(box_pred[obj], box_true[obj])
    return ce + weight * box, dscores, weight * g
"""
        },
    ),
]
MISTAKES = IOU + SMOOTH_L1 + LOCALIZATION
