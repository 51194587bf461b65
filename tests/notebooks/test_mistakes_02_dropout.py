"""Mistakes the tests of 02-layers claim to catch: inverted dropout (section 9). The layout is
that of ``test_mistakes_02.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import answer_source, assert_fails, assert_passes, mutant, run_test_cell

NB = "02-layers"
DF, DB = "test_dropout_forward", "test_dropout_backward"
fails = partial(assert_fails, NB, match_case=True)


def hint_of(message: str) -> str:
    """The hint line of a failure message."""
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


def case(test_id, overrides, *needles, absent=(), id, **options):
    """One row: ``overrides`` make ``test_id`` fail naming ``needles`` and none of ``absent``."""
    return pytest.param(test_id, overrides, needles, absent, options, id=id)


def forward(*edits):
    return mutant(NB, "dropout_forward", *edits)


NONE_HANDLED = "    rng = np.random.default_rng() if rng is None else rng\n"
UNSCALED = forward(("/ (1.0 - p)", "* 1.0"))

CASES = [
    case(DF, forward(("return x, None", "return x * (1 - p), None")), "scaled at test time",
         public=True, id="dropout_scaled_at_test_time"),
    case(DF, forward(("    if not train:\n        return x, None\n" + NONE_HANDLED,
                      NONE_HANDLED + "    if not train:\n"
                      "        return x * (rng.random(x.shape) >= p), None\n")),
         "identity", absent=["scaled at test time"], public=True,
         id="dropout_masked_at_test_time_is_not_told_scaled"),
    case(DF, UNSCALED, "not scaled at train time", public=True,
         id="dropout_not_scaled_at_train_time"),
    case(DF, forward(("/ (1.0 - p)", "/ p")), "x / (1 - p)", absent=["not scaled"], public=True,
         id="dropout_scaled_by_p_is_not_told_unscaled"),
    case(DF, forward((">= p) / (1.0 - p)", "< p) / p")), "keep-probability",
         id="dropout_p_read_as_keep_probability"),
    case(DF, forward(("rng.random(x.shape)", "np.random.default_rng().random(x.shape)")),
         "rng argument", id="dropout_ignores_rng"),
    case(DB, mutant(NB, "dropout_backward", ("return dout * mask", "return dout * (mask != 0)")),
         "1/(1-p)", public=True, id="dropout_backward_without_scaling"),
    case(DF, {"dropout_forward": """
def dropout_forward(x, p, train=True, rng=None):
    return cl.layers.dropout_forward(x, p, train=train, rng=rng)
"""}, "must be your own implementation", "dropout_forward", id="dropout_forward_library_only"),
    case(DB, {"dropout_backward": """
def dropout_backward(dout, cache):
    return cl.layers.dropout_backward(dout, (cache, None, None))
"""}, "must be your own implementation", "dropout_backward", id="dropout_backward_library_only"),
]  # fmt: skip


@pytest.mark.parametrize("test_id, overrides, needles, absent, options", CASES)
def test_mistake_is_named(test_id, overrides, needles, absent, options):
    message = fails(test_id, overrides, *needles, **options)
    assert not [a for a in absent if a in hint_of(message)], message


@pytest.mark.parametrize("name", ["dropout_forward", "dropout_backward"])
def test_unedited_answer_passes(name):
    """The answer the mutants above edit passes: each mistake differs from it in one place."""
    assert_passes(NB, f"test_{name}", {name: answer_source(NB, name)})


def test_dropout_backward_graded_on_its_own():
    """A wrong dropout_forward costs dropout_forward only: the backward test builds its masks."""
    fails(DF, UNSCALED, "not scaled at train time")
    assert_passes(NB, DB, UNSCALED)


def test_dropout_without_rng_fails_in_the_hidden_part():
    """The text's rule "create a generator only when rng is None": an answer that uses rng
    without that line passes every check that hands it a generator, and fails the hidden call
    without one (the learner reads their own AttributeError: 'NoneType' ... 'random')."""
    exc = run_test_cell(NB, DF, forward((NONE_HANDLED, "")))
    assert isinstance(exc, AttributeError) and "random" in str(exc), exc
