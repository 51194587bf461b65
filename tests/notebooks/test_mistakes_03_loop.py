"""Tests of the tests of 03-training (iterate_minibatches, train_epoch and evaluate).

Every mistake they claim to catch is caught and named. Each case replaces one answer cell with
a buggy (or library-only) answer, runs the test cell in process and checks
(``nbtools.assert_fails``) that it fails with a message naming the mistake; ``public=True``
where the mistake is one the exercise exists to teach (the learner's self-check must catch
it). A hint names a mistake only when that mistake happened: the nearest wrong variants of
every named mistake must not be given its hint (``assert_not_named``). Exercises that call
earlier answers are graded on their own: a buggy helper costs only its own exercise. The
other parts of notebook 03 are in the test_mistakes_03_*.py modules beside this one.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from nbtools import (
    assert_fails,
    assert_forbidden,
    assert_passes,
    graded_ids,
    mutant,
    namespace,
    run_test_cell,
)

import cnnlab as cl

NB = "03-training"
ANSWERS, TEST_CELLS = graded_ids(NB)
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)


def assert_not_named(test_id, overrides, *wrong_hints):
    """The test cell fails, but its message names none of ``wrong_hints`` (another mistake's)."""
    exc = run_test_cell(NB, test_id, overrides)
    assert isinstance(exc, AssertionError), f"{test_id}: {exc!r}"
    for hint in wrong_hints:
        assert hint.lower() not in str(exc).lower(), f"{hint!r} named for another mistake:\n{exc}"
    return str(exc)


# ------------------------------------------------------------------------------------------
# iterate_minibatches
# ------------------------------------------------------------------------------------------


def test_minibatches_drop_last():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
"""}, "partial batch")  # fmt: skip


def test_minibatches_repeat_samples():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    n = len(X)
    for start in range(0, n, batch_size):
        if shuffle:
            idx = rng.integers(0, n, min(batch_size, n - start))
        else:
            idx = np.arange(start, min(start + batch_size, n))
        yield X[idx], y[idx]
"""}, "repeated")  # fmt: skip


def test_minibatches_ignore_shuffle_flag():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
"""}, "shuffle=False")  # fmt: skip


def test_minibatches_reseeded_every_epoch():
    fails("test_iterate_minibatches", {"iterate_minibatches": """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    order = np.random.default_rng(0).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
"""}, "same order")  # fmt: skip


SEPARATELY = """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if shuffle:
        X, y = X[rng.permutation(len(X))], y[rng.permutation(len(y))]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
"""
IN_PLACE = """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    if shuffle:
        order = rng.permutation(len(X))
        X[:], y[:] = X[order], y[order]
    for start in range(0, len(X), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
"""
DROP_LAST = """
def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for b in range(len(X) // batch_size):
        idx = order[b * batch_size:(b + 1) * batch_size]
        yield X[idx], y[idx]
"""


def test_minibatches_core_mistakes_fail_the_self_check():
    fails("test_iterate_minibatches", {"iterate_minibatches": SEPARATELY},
          "X and y were shuffled separately", public=True)  # fmt: skip
    fails("test_iterate_minibatches", {"iterate_minibatches": DROP_LAST}, "partial batch",
          public=True)  # fmt: skip


def test_minibatches_in_place_shuffle_is_not_called_separate_shuffling():
    fails("test_iterate_minibatches", {"iterate_minibatches": IN_PLACE}, "in place",
          public=True)  # fmt: skip
    assert_not_named("test_iterate_minibatches", {"iterate_minibatches": IN_PLACE},
                     "shuffled separately")  # fmt: skip


# ------------------------------------------------------------------------------------------
# train_epoch and evaluate
# ------------------------------------------------------------------------------------------

EPOCH = """
def train_epoch(model, X, y, step_fn, batch_size, rng):
    {mode}
    losses, sizes = [], []
    for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle={shuffle}, rng=rng):
        scores = model.forward(Xb)
        loss, dscores = softmax_cross_entropy(scores, yb)
        model.backward(dscores)
        step_fn(model.params, model.grads)
        losses.append(loss)
        sizes.append(len(yb))
    return {result}
"""
EPOCH_RIGHT = dict(
    mode="model.train()",
    shuffle="True",
    result="float(np.dot(losses, sizes) / np.sum(sizes))",
)


def epoch(**changes):
    return EPOCH.format(**{**EPOCH_RIGHT, **changes})


def test_train_epoch_template_is_right():
    assert_passes(NB, "test_train_epoch", {"train_epoch": epoch()})


def test_train_epoch_mean_over_batches():
    fails(
        "test_train_epoch", {"train_epoch": epoch(result="float(np.mean(losses))")},
        "averages over batches instead of samples",
    )  # fmt: skip


def test_train_epoch_without_shuffling():
    fails("test_train_epoch", {"train_epoch": epoch(shuffle="False")}, "not shuffled")


def test_train_epoch_keeps_eval_mode():
    fails("test_train_epoch", {"train_epoch": epoch(mode="pass")}, "model.train()")


def test_train_epoch_core_mistakes_fail_the_self_check():
    fails("test_train_epoch", {"train_epoch": epoch(result="float(np.mean(losses))")},
          "averages over batches instead of samples", public=True)  # fmt: skip
    fails("test_train_epoch", {"train_epoch": epoch(mode="pass")}, "model.train()", public=True)


EPOCH_NAMED = ["averages over batches", "loss of the last batch", "adds up the batch losses"]


@pytest.mark.parametrize(
    "result, own",
    [
        ("float(np.mean(losses))", "averages over batches"),
        ("float(losses[-1])", "loss of the last batch"),
        ("float(np.sum(losses))", "adds up the batch losses"),
        ("float(np.dot(losses, sizes) / (len(sizes) * batch_size))", None),  # N rounded up
        ("float(np.dot(losses, sizes) / (len(y) - 1))", None),
    ],
    ids=["mean_of_batches", "last_batch", "sum", "divided_by_full_batches", "off_by_one"],
)
def test_train_epoch_loss_hints_name_only_their_mistake(result, own):
    overrides = {"train_epoch": epoch(result=result)}
    if own is not None:
        fails("test_train_epoch", overrides, own, public=True)
    assert_not_named("test_train_epoch", overrides, *[h for h in EPOCH_NAMED if h != own])


def test_train_epoch_without_backward_is_told_to_call_it():
    source = epoch().replace("        model.backward(dscores)\n", "")
    fails("test_train_epoch", {"train_epoch": source}, "call model.backward(dscores)",
          public=True)  # fmt: skip


@pytest.mark.parametrize("helper", [SEPARATELY, DROP_LAST, IN_PLACE],
                         ids=["separately", "drop_last", "in_place"])  # fmt: skip
def test_train_epoch_is_graded_without_the_learners_minibatches(helper):
    fails("test_iterate_minibatches", {"iterate_minibatches": helper})
    assert_passes(NB, "test_train_epoch", {"iterate_minibatches": helper})


def test_train_epoch_library_only():
    forbidden("test_train_epoch", "train_epoch", """
class _StepFnOptimiser:
    def __init__(self, model, step_fn):
        self.model, self.step_fn = model, step_fn

    def step(self, grads):
        self.step_fn(self.model.params, grads)


def train_epoch(model, X, y, step_fn, batch_size, rng):
    opt = _StepFnOptimiser(model, step_fn)
    history = cl.train.fit(model, opt, X, y, epochs=1, batch_size=batch_size,
                           seed=int(rng.integers(2**31)), progress=False)
    return history["train_loss"][0]
""")  # fmt: skip


EVALUATE = """
def evaluate(model, X, y, batch_size=256):
    was_training = model.training
    {enter}
    loss_sum, correct, losses = 0.0, 0, []
    for s in range(0, {stop}, batch_size):
        scores = model.forward(X[s:s + batch_size])
        loss, _ = softmax_cross_entropy(scores, y[s:s + batch_size])
        losses.append(loss)
        loss_sum += loss * len(scores)
        correct += int(np.sum(scores.argmax(axis=1) == y[s:s + batch_size]))
    {leave}
    return {result}
"""
EVALUATE_RIGHT = dict(
    enter="model.eval()",
    stop="len(X)",
    leave="if was_training:\n        model.train()",
    result="loss_sum / len(X), correct / len(X)",
)
EVALUATE_NAMED = [
    "left the model in train mode", "averages the chunk losses", "last, smaller chunk",
    "adds up the chunk losses", "not a percentage", "not a count", "in this order",
    "expected the pair", "left a model that was training in eval mode",
    "switched a model that was in eval mode",
]  # fmt: skip


def evaluate_source(**changes):
    return EVALUATE.format(**{**EVALUATE_RIGHT, **changes})


def test_evaluate_template_is_right():
    assert_passes(NB, "test_evaluate", {"evaluate": evaluate_source()})


@pytest.mark.parametrize(
    "changes, own",
    [
        (dict(enter="pass", leave="pass"), "left the model in train mode"),  # the row
        (dict(leave="pass"), "left a model that was training in eval mode"),
        (dict(leave="model.train()"), "switched a model that was in eval mode"),
        (dict(leave="model.training = was_training"),
         "left a model that was training in eval mode"),
        (dict(result="float(np.mean(losses)), correct / len(X)"), "averages the chunk losses"),
        (dict(stop="len(X) // batch_size * batch_size or len(X)",
              result="loss_sum / min(len(X), s + batch_size), "
              "correct / min(len(X), s + batch_size)"), "last, smaller chunk"),
        (dict(result="float(np.sum(losses)), correct / len(X)"), "adds up the chunk losses"),
        (dict(result="loss_sum / len(X), 100 * correct / len(X)"), "not a percentage"),
        (dict(result="loss_sum / len(X), correct"), "not a count"),
        (dict(result="correct / len(X), loss_sum / len(X)"), "in this order"),
        (dict(result="correct / len(X)"), "expected the pair"),
        (dict(result="loss_sum / len(X), correct / (len(X) - 1)"), None),
        (dict(result="loss_sum / (len(X) + 1), correct / len(X)"), None),
    ],
    ids=["train_mode", "not_restored", "always_train", "flag_only", "chunk_mean", "last_chunk",
         "chunk_sum", "percent", "count", "swapped", "accuracy_only", "acc_off_by_one",
         "loss_off_by_one"],
)  # fmt: skip
def test_evaluate_hints_name_only_their_mistake(changes, own):
    overrides = {"evaluate": evaluate_source(**changes)}
    if own is not None:
        fails("test_evaluate", overrides, own, public=True)
    assert_not_named("test_evaluate", overrides, *[h for h in EVALUATE_NAMED if h != own])


def test_evaluate_library_only():
    forbidden("test_evaluate", "evaluate", """
def evaluate(model, X, y, batch_size=256):
    return cl.train.evaluate(model, X, y, batch_size)
""")  # fmt: skip


def test_evaluate_agrees_with_its_library_twin():
    ns = namespace(NB)
    X, y, _, _ = cl.data.load_digits()
    model = cl.models.course_convnet((1, 8, 8), 10, dropout=0.5, seed=0)
    for batch_size in (256, 100, 7):
        mine = ns["evaluate"](model, X[:300], y[:300], batch_size)
        assert model.training
        theirs = cl.train.evaluate(model, X[:300], y[:300], batch_size)
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


@pytest.mark.parametrize(
    "grade_id, edit, needle",
    [
        ("train_epoch", ("return float(total / len(y))", "return np.float32(total / len(y))"),
         "returned a float32"),
        ("evaluate", ("return float(loss_sum / len(X))", "return np.float32(loss_sum / len(X))"),
         "not two floats"),
    ],
    ids=["epoch_float32", "evaluate_float32"],
)  # fmt: skip
def test_stated_rules_are_checked_by_the_hidden_part(grade_id, edit, needle):
    assert_fails(NB, f"test_{grade_id}", mutant(NB, grade_id, edit), needle, hidden=True)
