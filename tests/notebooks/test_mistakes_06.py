"""Tests of the hidden tests of 06-beyond-classification, sections 1-3 (localization, detection).

Each case replaces one answer cell with a buggy answer, runs the test cell in process and checks
(``nbtools.assert_fails``) that it fails with a message naming the mistake. A hint names a
mistake only when that mistake is what happened: for every realistic mistake of
``tests/realistic/nb06.py`` and ``nb06_detection.py`` the message names its own hint and no
neighbour's (``test_realistic_mistake_gets_its_own_hint``). ``nms`` and ``average_precision``
call ``iou``, ``localization_loss`` calls ``smooth_l1`` by default: each is graded on its own
(``test_*_graded_on_its_own``). None of these exercises has a twin in ``cnnlab`` to forbid.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_passes, graded_ids, mutant, run_test_cell
from realistic import nb06, nb06_detection

NB = "06-beyond-classification"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
DETECTION = nb06.MISTAKES + nb06_detection.MISTAKES  # sections 1-3


def hint_of(message: str) -> str:
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


# ------------------------------------------------------------------------------------------
# Every realistic mistake gets its own hint and no neighbour's.
# ------------------------------------------------------------------------------------------

OWN_HINT = {
    "iou: negative overlap not clipped": "clip each side of the intersection at 0",
    "iou: +1 in widths and heights": "no + 1",
    "iou: boxes read as (x, y, w, h)": "read as (x, y, width, height)",
    "iou: union without subtracting the intersection": None,
    "iou: result transposed (M, N)": "one row per box of boxes_a",
    "iou: empty union divides by zero": "instead of dividing 0 by 0",
    "smooth_l1: branch on d instead of |d|": "quadratic branch",
    "smooth_l1: gradient sign flipped": "wrong sign",
    "smooth_l1: np.mean over all values": "number of VALUES",
    "smooth_l1: summed, not averaged over boxes": "summed over the boxes",
    "smooth_l1: threshold fixed at 1": None,
    "smooth_l1: beta left out of the quadratic piece": None,
    "smooth_l1: gradient not divided by N": "gradient was not divided",
    "localization_loss: weight on the cross-entropy": "weight multiplies the cross-entropy",
    "localization_loss: background rows get a box loss": "background row got a box loss",
    "localization_loss: box loss averaged over all rows": "averaged over all 3 rows",
    "localization_loss: box gradient not weighted": "not multiplied by the weight",
    "localization_loss: ignores box_loss, calls smooth_l1": None,
    "localization_loss: box gradient only for object rows": None,
    "fc_to_conv: reshape without transposing": "without transposing",
    "fc_to_conv: channels last": "channel axis was put last",
    "fc_to_conv: H and W swapped": "H and W were swapped",
    "fc_to_conv: bias forgotten": "bias is missing",
    "fc_to_conv: square kernel of side H": "the kernel covers the whole map",
    "nms: boxes taken in input order": "the result is in input order",
    "nms: suppresses at IoU == threshold": "GREATER than the threshold",
    "nms: class-agnostic": "another class was suppressed",
    "nms: indices into the sorted arrays": None,
    "nms: sorts the caller's arrays in place": "do not change the inputs",
    "average_precision: no interpolation": "no interpolation",
    "average_precision: recall over the detections": "divided by the number of detections",
    "average_precision: duplicates count as TP": "duplicate D of g0",
    "average_precision: detections not sorted": "not sorted by decreasing score",
    "average_precision: matches across images": None,
    "average_precision: VOC2007 11-point AP": None,
}


def test_every_realistic_mistake_has_an_expected_hint():
    assert sorted(OWN_HINT) == sorted(m.label for m in DETECTION)


@pytest.mark.parametrize("mistake", DETECTION, ids=lambda m: m.label)
def test_realistic_mistake_gets_its_own_hint(mistake):
    exc = run_test_cell(NB, mistake.test_id, mistake.overrides())
    assert isinstance(exc, AssertionError), f"{mistake.label}: {exc!r}"
    message = str(exc).lower()
    own = OWN_HINT[mistake.label]
    if own is not None:
        assert own.lower() in message, f"{own!r} not in the message:\n{exc}"
    others = {
        OWN_HINT[m.label]
        for m in DETECTION
        if m.test_id == mistake.test_id and OWN_HINT[m.label] not in (None, own)
    }
    wrong = [o for o in others if o.lower() in message]
    assert not wrong, f"{mistake.label} is told about {wrong}:\n{exc}"


# ------------------------------------------------------------------------------------------
# Hidden checks are alive on their own (not only behind the public worked examples).
# ------------------------------------------------------------------------------------------

_BY_LABEL = {m.label: m for m in DETECTION}


@pytest.mark.parametrize(
    ("label", "needle"),
    [
        ("iou: negative overlap not clipped", "random integer boxes"),
        ("iou: +1 in widths and heights", "random"),
        ("smooth_l1: gradient sign flipped", "wrong sign"),
        ("smooth_l1: np.mean over all values", "number of values"),
        ("localization_loss: background rows get a box loss", "background rows got a box loss"),
        ("localization_loss: weight on the cross-entropy", "weight multiplies the cross-entropy"),
        ("fc_to_conv: reshape without transposing", "fc_to_conv(linear"),
        ("nms: class-agnostic", "different classes suppressed"),
        ("average_precision: duplicates count as TP", "average_precision of"),
        ("average_precision: matches across images", "average_precision of"),
        ("average_precision: no interpolation", "ap"),
    ],
)
def test_hidden_part_catches(label, needle):
    fails(_BY_LABEL[label].test_id, _BY_LABEL[label].overrides(), needle, hidden=True,
          visible=False)  # fmt: skip


def test_nms_threshold_inclusive_in_hidden_ap():
    """AP counts a match at IoU exactly 0.5 (>=): a strict '>' is caught by the hidden part."""
    src = _BY_LABEL["average_precision: matches across images"].answers["average_precision"]
    strict = src.replace("ov[j] >= iou_threshold", "ov[j] > iou_threshold")
    det = nb06_detection
    src_ok = det._ap(det._MATCH.replace(">= iou_threshold", "> iou_threshold"), det._RECALL,
                     det._INTERPOLATED)  # fmt: skip
    assert strict != src
    fails("test_average_precision", {"average_precision": src_ok}, "at least", hidden=True,
          visible=False)  # fmt: skip


# ------------------------------------------------------------------------------------------
# Each exercise is graded on its own.
# ------------------------------------------------------------------------------------------

BUGGY_IOU = """
def iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = w * h
    return inter / 100.0
"""

BUGGY_SMOOTH_L1 = """
def smooth_l1(pred, target, beta=1.0):
    d = target - pred
    return float(np.abs(d).sum()), np.sign(d)
"""


@pytest.mark.parametrize("test_id", ["test_nms", "test_average_precision"])
def test_iou_users_graded_on_their_own(test_id):
    assert isinstance(run_test_cell(NB, "test_iou", {"iou": BUGGY_IOU}), AssertionError)
    assert_passes(NB, test_id, {"iou": BUGGY_IOU})


def test_localization_loss_graded_on_its_own():
    exc = run_test_cell(NB, "test_smooth_l1", {"smooth_l1": BUGGY_SMOOTH_L1})
    assert isinstance(exc, AssertionError)
    assert_passes(NB, "test_localization_loss", {"smooth_l1": BUGGY_SMOOTH_L1})


# ------------------------------------------------------------------------------------------
# Named mistakes of the hidden parts, and their neighbours
# ------------------------------------------------------------------------------------------


def test_smooth_l1_mean_is_not_told_sum():
    message = fails("test_smooth_l1", _BY_LABEL["smooth_l1: np.mean over all values"].overrides(),
                    "number of values", public=True)  # fmt: skip
    assert "summed" not in hint_of(message)


def test_localization_loss_unweighted_gradient_not_told_about_background():
    message = fails(
        "test_localization_loss",
        _BY_LABEL["localization_loss: box gradient not weighted"].overrides(),
        "not multiplied by the weight",
        public=True,
    )
    assert "background" not in hint_of(message)


def test_nms_at_threshold_not_told_about_classes():
    message = fails("test_nms", _BY_LABEL["nms: suppresses at IoU == threshold"].overrides(),
                    "greater than the threshold", public=True)  # fmt: skip
    assert "class" not in hint_of(message)


def test_average_precision_requires_ground_truth():
    det = nb06_detection
    no_check = det._ap(det._MATCH, "np.cumsum(tp) / max(len(gt_boxes), 1)",
                       det._INTERPOLATED)  # fmt: skip
    fails("test_average_precision", {"average_precision": no_check}, "ValueError", hidden=True,
          visible=False)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("nms", 'np.argsort(-scores, kind="stable")', "np.argsort(scores)[::-1]"),
        ("average_precision", 'np.argsort(-np.asarray(scores), kind="stable")',
         "np.argsort(np.asarray(scores))[::-1]"),
    ],
)  # fmt: skip
def test_ties_in_reverse_input_order(name, old, new):
    """Equal scores keep their input order (the text says so): reversing an ascending sort is
    caught by the hidden part and named."""
    fails(f"test_{name}", mutant(NB, name, (old, new)), "reverse input order", hidden=True)
