"""Realistic mistakes in 06-beyond-classification, section 3 (detection): what learners write.

``fc_to_conv``, ``nms`` and ``average_precision`` (see ``nb06`` for the conventions).
"""

from __future__ import annotations

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# fc_to_conv
# ------------------------------------------------------------------------------------------

_FC_HEAD = """
def fc_to_conv(linear, input_shape):
    C, H, W = input_shape
    M = linear.out_features
    if linear.in_features != C * H * W:
        raise ValueError("in_features must be C * H * W")
    conv = nn.Conv2d(C, M, (H, W), dtype=linear.params["w"].dtype)
"""

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# fc_to_conv: reshape without transposing
_FC_CONV_RESHAPE_WITHOUT = """
    conv.params["w"][...] = linear.params["w"].reshape(M, C, H, W)
    conv.params["b"][...] = linear.params["b"]
    return conv
"""


FC_TO_CONV = [
    Mistake(
        "test_fc_to_conv",
        "fc_to_conv: reshape without transposing",
        {"fc_to_conv": _FC_HEAD + _FC_CONV_RESHAPE_WITHOUT},
        core=True,
    ),
    Mistake(
        "test_fc_to_conv",
        "fc_to_conv: channels last",
        {
            "fc_to_conv": _FC_HEAD
            + variant(
                _FC_CONV_RESHAPE_WITHOUT,
                (
                    'linear.params["w"].reshape(M, C, H, W)',
                    'linear.params["w"].T.reshape(M, H, W, C).transpose(0, 3, 1, 2)',
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_fc_to_conv",
        "fc_to_conv: H and W swapped",
        {
            "fc_to_conv": _FC_HEAD
            + variant(
                _FC_CONV_RESHAPE_WITHOUT,
                (
                    'linear.params["w"].reshape(M, C, H, W)',
                    'linear.params["w"].T.reshape(M, C, W, H).transpose(0, 1, 3, 2)',
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_fc_to_conv",
        "fc_to_conv: bias forgotten",
        {
            "fc_to_conv": _FC_HEAD
            + """
    conv.params["w"][...] = linear.params["w"].T.reshape(M, C, H, W)
    return conv
"""
        },
    ),
    Mistake(
        "test_fc_to_conv",
        "fc_to_conv: square kernel of side H",
        {
            "fc_to_conv": """
def fc_to_conv(linear, input_shape):
    C, H, W = input_shape
    M = linear.out_features
    conv = nn.Conv2d(C, M, H, dtype=linear.params["w"].dtype)
    w = linear.params["w"].T.reshape(M, C, H, W)
    conv.params["w"] = w
    conv.params["b"][...] = linear.params["b"]
    return conv
"""
        },
    ),
]

# ------------------------------------------------------------------------------------------
# nms
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# nms: suppresses at IoU == threshold
_NMS_SUPPRESSES_AT_IOU_THRESHOLD = """
def nms(boxes, scores, labels, iou_threshold=0.5):
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        order = [j for j in order
                 if labels[j] != labels[i] or iou(boxes[[i]], boxes[[j]])[0, 0] < iou_threshold]
    return np.array(keep, dtype=int)
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# nms: indices into the sorted arrays
_NMS_INDICES_INTO_SORTED_ARRAYS = """
def nms(boxes, scores, labels, iou_threshold=0.5):
    order = np.argsort(-scores, kind="stable")
    boxes, labels = boxes[order], labels[order]
    keep = []
    for i in range(len(boxes)):
        if all(labels[j] != labels[i] or iou(boxes[[i]], boxes[[j]])[0, 0] <= iou_threshold
               for j in keep):
            keep.append(i)
    return np.array(keep, dtype=int)
"""


NMS = [
    Mistake(
        "test_nms",
        "nms: boxes taken in input order",
        {
            "nms": """
def nms(boxes, scores, labels, iou_threshold=0.5):
    keep = []
    for i in range(len(boxes)):
        ok = True
        for j in keep:
            if labels[j] == labels[i] and iou(boxes[i:i + 1], boxes[j:j + 1])[0, 0] > iou_threshold:
                ok = False
        if ok:
            keep.append(i)
    return np.array(keep, dtype=int)
"""
        },
        core=True,
    ),
    Mistake(
        "test_nms",
        "nms: suppresses at IoU == threshold",
        {"nms": _NMS_SUPPRESSES_AT_IOU_THRESHOLD},
        core=True,
    ),
    Mistake(
        "test_nms",
        "nms: class-agnostic",
        {
            "nms": variant(
                _NMS_SUPPRESSES_AT_IOU_THRESHOLD,
                (
                    (
                        "order = [j for j in order\n"
                        "                 if labels[j] != labels[i] or iou(boxes[[i]], "
                        "boxes[[j]])[0, 0] < iou_threshold]\n"
                    ),
                    (
                        "order = [j for j in order if iou(boxes[[i]], boxes[[j]])[0, 0] "
                        "<= iou_threshold]\n"
                    ),
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_nms",
        "nms: indices into the sorted arrays",
        {"nms": _NMS_INDICES_INTO_SORTED_ARRAYS},
    ),
    Mistake(
        "test_nms",
        "nms: sorts the caller's arrays in place",
        {
            "nms": variant(
                _NMS_INDICES_INTO_SORTED_ARRAYS,
                (
                    "boxes, labels = boxes[order], labels[order]\n",
                    (
                        "boxes[:] = boxes[order]\n"
                        "    labels[:] = labels[order]\n"
                        "    scores[:] = scores[order]\n"
                    ),
                ),
                ("np.array(keep, dtype=int)", "order[keep]"),
            )
        },
    ),
]

# ------------------------------------------------------------------------------------------
# average_precision
# ------------------------------------------------------------------------------------------


def _ap(match: str, recall: str, area: str, order: str = 'np.argsort(-scores, kind="stable")'):
    """An average_precision answer built from a learner's pieces (one of them wrong)."""
    return f"""
def average_precision(boxes, scores, image_ids, gt_boxes, gt_image_ids, iou_threshold=0.5):
    order = {order}
    taken = np.zeros(len(gt_boxes), dtype=bool)
    tp = []
    for i in order:
{match}
    tp = np.array(tp, dtype=float)
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    recall = {recall}
{area}
    return float(ap), precision, recall
"""


_MATCH = """
        same = np.flatnonzero(gt_image_ids == image_ids[i])
        if len(same) == 0:
            tp.append(0)
            continue
        ov = iou(boxes[i:i + 1], gt_boxes[same])[0]
        j = same[np.argmax(ov)]
        if ov.max() >= iou_threshold and not taken[j]:
            taken[j] = True
            tp.append(1)
        else:
            tp.append(0)"""
_MATCH_DUPLICATES = """
        same = np.flatnonzero(gt_image_ids == image_ids[i])
        if len(same) == 0:
            tp.append(0)
            continue
        ov = iou(boxes[i:i + 1], gt_boxes[same])[0]
        tp.append(1 if ov.max() >= iou_threshold else 0)"""
_MATCH_ALL_IMAGES = """
        ov = iou(boxes[i:i + 1], gt_boxes)[0]
        j = int(np.argmax(ov))
        if ov[j] >= iou_threshold and not taken[j]:
            taken[j] = True
            tp.append(1)
        else:
            tp.append(0)"""
_RECALL = "np.cumsum(tp) / len(gt_boxes)"
_ANSWER = """    ap, prev = 0.0, 0.0
    for k in range(len(tp)):
        ap += (recall[k] - prev) * precision[k:].max()
        prev = recall[k]"""


_INTERPOLATED = _ANSWER
_RAW = variant(_ANSWER, ("precision[k:].max()", "precision[k]"))
_ELEVEN_POINT = """    ap = 0.0
    for r in np.linspace(0, 1, 11):
        above = precision[recall >= r]
        ap += (above.max() if above.size else 0.0) / 11"""

AVERAGE_PRECISION = [
    Mistake(
        "test_average_precision",
        "average_precision: no interpolation",
        {"average_precision": _ap(_MATCH, _RECALL, _RAW)},
        core=True,
    ),
    Mistake(
        "test_average_precision",
        "average_precision: recall over the detections",
        {"average_precision": _ap(_MATCH, "np.cumsum(tp) / len(tp)", _INTERPOLATED)},
        core=True,
    ),
    Mistake(
        "test_average_precision",
        "average_precision: duplicates count as TP",
        {"average_precision": _ap(_MATCH_DUPLICATES, _RECALL, _INTERPOLATED)},
        core=True,
    ),
    Mistake(
        "test_average_precision",
        "average_precision: detections not sorted",
        {"average_precision": _ap(_MATCH, _RECALL, _INTERPOLATED, order="range(len(scores))")},
        core=True,
    ),
    Mistake(
        "test_average_precision",
        "average_precision: matches across images",
        {"average_precision": _ap(_MATCH_ALL_IMAGES, _RECALL, _INTERPOLATED)},
    ),
    Mistake(
        "test_average_precision",
        "average_precision: VOC2007 11-point AP",
        {"average_precision": _ap(_MATCH, _RECALL, _ELEVEN_POINT)},
    ),
]
MISTAKES = FC_TO_CONV + NMS + AVERAGE_PRECISION
