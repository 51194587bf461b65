"""Each realistic mistake of 05-visualization (``tests/realistic/nb05*.py``) gets its own hint.

A hint names a mistake only when that mistake is what happened: the graded cell's message for a
realistic mistake names that mistake's hint (``OWN_HINT``) and no other named hint of the same
exercise.
"""

from __future__ import annotations

import pytest
from nbtools import run_test_cell
from realistic import catalogue

NB = "05-visualization"
MISTAKES = catalogue(NB)


# The words of the hint each realistic mistake must get (None: the formula or a neutral
# description, no named mistake).
OWN_HINT = {
    "normalize: one min and max for all filters": "all filters at once",
    "normalize: each channel on its own": "per channel",
    "normalize: constant filter divides by zero": "max - min = 0",
    "normalize: nan_to_num makes constant filters 0": "became 0",
    "normalize: scales the filters in place": "in place",
    "normalize: min and max across filters (axis 0)": None,
    "normalize: divides by the max only": None,
    "activations: forgets model.eval()": "Dropout layer was active",
    "activations: eval mode never restored": "left it in eval mode",
    "activations: stops before layer_index": "this is the input x",
    "activations: one layer too many": "this is the output of layer 1",
    "activations: applies only layer layer_index to x": None,
    "activations: restores only the flag model.training": "not by setting model.training",
    "activations: always back to train mode": "left it in training mode",
    "activations: eval on the layers only, never restored": "not by setting model.training",
    "activations: the whole model's output": "output of the whole model",
    "top-k: sorted ascending": "sorted ascending",
    "top-k: the largest k, smallest first": "wrong order",
    "top-k: always ranks by the max": "ranked by the max",
    "top-k: always ranks by the mean": "ranked by the mean",
    "top-k: mean over all channels": "use channel `channel` only",
    "top-k: returns the scores, not the indices": "integer indices",
    "top-k: argpartition, top k unsorted": "wrong order",
    "top-k: accepts any `by` as the mean": "must raise ValueError",
    # Dropout (train mode) happened to swap the two images: the message says what came out
    "top-k: own forward pass in training mode": "(eval mode)",
    "occlusion: probability drop, not score drop": "probability drops",
    "occlusion: patch placed at i * patch": "i*patch",
    "occlusion: patch of size stride": "`patch` x `patch`",
    "occlusion: fill value ignored (zeros)": "set it to `fill`",
    "occlusion: only the first channel covered": "only channel 0",
    "occlusion: forgets model.eval()": None,
    "occlusion: eval mode never restored": "left it",
    "occlusion: last position missing (range stops short)": "OH = (H - patch) // stride + 1",
    "occlusion: grid h // stride (patches past the edge)": "OH = (H - patch) // stride + 1",
    "occlusion: covers the image itself": "image itself",
    "occlusion: returns the occluded score": "occluded score",
    "occlusion: sign reversed": "sign",
    "occlusion: relative drop": None,
    "occlusion: watches the predicted class, not label": "map of class 0",
    "saliency: no absolute value": "absolute value",
    "saliency: absolute value after the max": "absolute value",
    "saliency: sums |dx| over channels": "summed over channels",
    "saliency: mean of |dx| over channels": "averaged over channels",
    "saliency: first channel only": "only channel 0",
    "saliency: gradient of the softmax probability": "softmax probability",
    "saliency: gradient of the cross-entropy loss": "log-probability",
    "saliency: backward of all scores (ones)": "sum of all scores",
    "saliency: forgets model.eval()": None,
    "saliency: eval mode never restored": "left it",
    "saliency: backward of the score itself": None,
    "class vis: forgets model.eval()": None,
    "class vis: eval mode never restored": "left it",
    "class vis: gradient descent": "DESCENT",
    "class vis: L2 term with the wrong sign": "sign of the L2 term",
    "class vis: L2 gradient without the factor 2": "factor 2 missing",
    "class vis: no L2 term": "L2 penalty missing",
    "class vis: ascends the softmax probability": "softmax probability",
    "class vis: starts from zeros": "start from",
    "class vis: start without the factor 0.1": "start from",
    "class vis: prior ignored": "prior was ignored",
    "class vis: prior before each update": "before each update",
    "class vis: fresh noise added at every step": None,
    "confusion: transposed": "transposed",
    "confusion: fancy-index += drops repeats": "counted once",
    "confusion: float counts": "integers",
    "confusion: size from the largest label": "also when some classes never occur",
    "confusion: == on Python lists": "Python list",
    "confusion: counts only the correct predictions": None,
    "fooling: ascends the loss of the true class": "TRUE class",
    "fooling: lowers the true class's score": "TRUE class",
    "fooling: raw gradient, not normalised": "not normalised",
    "fooling: never stops before max_iter": "did not stop",
    "fooling: checks the prediction after the step": "BEFORE each step",
    "fooling: steps on the caller's image": "changed the image",
    "fooling: gradient descent": "DESCENT",
    "fooling: forgets model.eval()": None,
    "fooling: eval mode never restored": "left it",
    "fooling: sign of the gradient (FGSM)": "sign of the gradient",
    "fooling: divides by the largest |g|": None,
    "fooling: ascends the target's probability": "probability or log-probability",
    "fooling: clips to [0, 1] after every step": None,
    "fooling: divides by a zero norm": "gradient was zero",
    "top-losses: the first errors, in index order": "first errors",
    "top-losses: sorted ascending": "sorted ascending",
    "top-losses: the largest k, smallest first": "smallest first",
    "top-losses: ties with the larger index first": "came out with the larger index first",
    "top-losses: softmax without subtracting the max": "overflows, and exp(-800) underflows",
    "top-losses: -log of the softmax, which underflows to 0": "overflows, and exp(-800) underflows",
    "top-losses: the loss of the predicted class": None,
    "top-losses: 1 - p as the loss": "1 - p",
    "top-losses: returns every image's loss": "losses of ALL images",
    "top-losses: returns (losses, idx)": "the indices first",
    "top-losses: log base 10": None,
    "top-losses: argpartition, the top k unsorted": "came out with the larger index first",
    "top-losses: shifts the caller's scores in place": "changed the scores",
}


def test_every_realistic_mistake_has_an_expected_hint():
    assert sorted(OWN_HINT) == sorted(m.label for m in MISTAKES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.label for m in MISTAKES])
def test_realistic_mistake_gets_its_own_hint(mistake):
    """The graded cell's message names this mistake's hint, and no other named hint of the same
    exercise (a hint names a mistake only when that mistake is what happened)."""
    exc = run_test_cell(NB, mistake.test_id, mistake.overrides())
    assert isinstance(exc, AssertionError), f"{mistake.label}: {exc!r}"
    message = str(exc).lower()
    own = OWN_HINT[mistake.label]
    if own is not None:
        assert own.lower() in message, f"{own!r} not in the message:\n{exc}"
    others = {
        OWN_HINT[m.label]
        for m in MISTAKES
        if m.test_id == mistake.test_id and OWN_HINT[m.label] not in (None, own)
    }
    wrong = [o for o in others if o.lower() in message and (own is None or o not in own)]
    assert not wrong, f"{mistake.label} is told about {wrong}:\n{exc}"
