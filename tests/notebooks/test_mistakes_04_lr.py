"""Mistakes the hidden tests of 04-hyperparameters claim to catch: lr_range_test, suggest_lr.

Each case replaces one answer cell of ``solutions/04-hyperparameters/hyperparameters.py`` with a
buggy version, runs the test cell in process and checks (``nbtools.assert_fails``) that it
fails with a message naming the mistake. The library-only cases check that an answer handing the
work to scikit-learn earns nothing and is told why. The other topics of 04 sit in the
``test_mistakes_04_*.py`` modules beside this one.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import assert_fails, assert_forbidden, assert_passes

NB = "04-hyperparameters"
fails = partial(assert_fails, NB)
forbidden = partial(assert_forbidden, NB)

# ------------------------------------------------------------------------------------------
# lr_range_test and suggest_lr
# ------------------------------------------------------------------------------------------

RANGE_TEST = """
def lr_range_test(model_fn, X, y, lr_min, lr_max, steps, rng, batch_size=32):
    if not 0 < lr_min < lr_max or steps < 2:
        raise ValueError("bad arguments")
    model = model_fn()
    model.train()
    opt = cl.optim.Momentum(model.params, lr=lr_min, beta=0.9)
    lrs = LRS
    order, pos, losses, lowest = rng.permutation(len(y)), 0, [], np.inf
    with np.errstate(all="ignore"):
        for lr in lrs:
            if pos + batch_size > len(y):
                order, pos = rng.permutation(len(y)), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            loss, ds = softmax_cross_entropy(model.forward(X[idx]), y[idx])
            RECORD
            lowest = min(lowest, float(loss))
            STOP
            model.backward(ds)
            STEP
            AFTER
    return lrs[: len(losses)], np.array(losses)
"""
GOOD = {
    "LRS": "lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))",
    "RECORD": "losses.append(float(loss))",
    "STOP": "if not np.isfinite(loss) or loss > 4 * lowest: break",
    "STEP": "opt.lr = lr; opt.step(model.grads)",
    "AFTER": "pass",
}


def fill(template: str, good: dict[str, str], changes: dict[str, str]) -> str:
    """``template`` with each placeholder replaced by its buggy change or its good value."""
    for key, value in {**good, **changes}.items():
        template = template.replace(key, value)
    return template


def range_test(**changes):
    return fill(RANGE_TEST, GOOD, changes)


def test_range_test_template_passes():
    assert_passes(NB, "test_lr_range_test", overrides={"lr_range_test": range_test()})


def test_range_test_linear_spacing():
    source = range_test(LRS="np.linspace(lr_min, lr_max, steps)")
    fails("test_lr_range_test", {"lr_range_test": source}, "GEOMETRICALLY", public=True)


def test_range_test_misses_lr_max():
    source = range_test(LRS="lr_min * (lr_max / lr_min) ** (np.arange(steps) / steps)")
    fails("test_lr_range_test", {"lr_range_test": source}, "lr_min * (lr_max / lr_min)")


def test_range_test_records_loss_after_update():
    source = range_test(
        RECORD="pass",
        AFTER="losses.append(float(softmax_cross_entropy(model.forward(X[idx]), y[idx])[0]))",
        STOP="pass",
    )
    message = fails("test_lr_range_test", {"lr_range_test": source}, "before", public=True)
    assert "velocity" not in message


def test_range_test_never_stops():
    source = range_test(STOP="pass")
    fails(
        "test_lr_range_test",
        {"lr_range_test": source},
        "stop right after recording a loss",
        public=True,
    )


def test_range_test_stops_against_the_first_loss():
    source = range_test(STOP="if not np.isfinite(loss) or loss > 4 * losses[0]: break")
    fails("test_lr_range_test", {"lr_range_test": source}, "stop")


def test_range_test_plain_sgd():
    step = "[p.__isub__(lr * model.grads[k]) for k, p in model.params.items()]"
    fails("test_lr_range_test", {"lr_range_test": range_test(STEP=step)}, "plain SGD", public=True)


def test_range_test_new_optimiser_every_step():
    step = "opt = cl.optim.Momentum(model.params, lr=lr); opt.step(model.grads)"
    fails(
        "test_lr_range_test",
        {"lr_range_test": range_test(STEP=step)},
        "create ONE cl.optim.Momentum",
        public=True,
    )


def test_range_test_calls_model_fn_every_step():
    source = range_test(RECORD="losses.append(float(loss)); model_fn()")
    fails("test_lr_range_test", {"lr_range_test": source}, "model_fn", public=True)


def test_range_test_ignores_rng():
    source = range_test().replace("rng.permutation", "np.random.default_rng(0).permutation")
    fails("test_lr_range_test", {"lr_range_test": source}, "rng", public=True)


SUGGEST = """
def suggest_lr(lrs, losses, beta=0.8):
    lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
    n, lowest = len(losses), np.inf
    for i, loss in enumerate(losses):
        lowest = min(lowest, loss)
        if CUT:
            n = i
            break
    if n < 2:
        raise ValueError("too short")
    smooth, avg = np.empty(n), 0.0
    for i in range(n):
        avg = BETA * avg + (1 - BETA) * losses[i]
        smooth[i] = SMOOTH
    slope = np.gradient(smooth, X_AXIS)
    down = DOWN
    return float(lrs[int(np.argmin(slope[:down]))])
"""
GOOD_SUGGEST = {
    "CUT": "not np.isfinite(loss) or loss > 4 * lowest",
    "BETA": "beta",
    "SMOOTH": "avg / (1 - beta ** (i + 1))",
    "X_AXIS": "np.log10(lrs[:n])",
    "DOWN": "int(np.argmin(smooth)) + 1",
}


def suggest(**changes):
    return fill(SUGGEST, GOOD_SUGGEST, changes)


def test_suggest_template_passes():
    assert_passes(NB, "test_suggest_lr", overrides={"suggest_lr": suggest()})


def test_suggest_lowest_loss():
    fails(
        "test_suggest_lr",
        {
            "suggest_lr": """
def suggest_lr(lrs, losses, beta=0.8):
    losses = np.where(np.isfinite(losses), losses, np.inf)
    if len(losses) < 3 or losses[1] > 4 * losses[0]:
        raise ValueError("too short")
    return float(np.asarray(lrs)[int(np.argmin(losses))])
"""
        },
        "lr of the lowest loss",
        public=True,
    )


def test_suggest_without_smoothing():
    fails("test_suggest_lr", {"suggest_lr": suggest(SMOOTH="losses[i]")}, "smooth")


def test_suggest_without_bias_correction():
    fails("test_suggest_lr", {"suggest_lr": suggest(SMOOTH="avg")}, "bias-corrected", public=True)


def test_suggest_without_divergence_cut():
    fails(
        "test_suggest_lr",
        {"suggest_lr": suggest(CUT="not np.isfinite(loss)")},
        "> 4 x the lowest",
        public=True,
    )


def test_suggest_slope_against_lr():
    fails("test_suggest_lr", {"suggest_lr": suggest(X_AXIS="lrs[:n]")}, "log10(lr)", public=True)


def test_suggest_after_the_minimum():
    message = fails(
        "test_suggest_lr", {"suggest_lr": suggest(DOWN="n")}, "LOWEST smoothed loss", public=True
    )
    assert "first learning rate" not in message and "np.diff" not in message


def test_suggest_fixed_beta():
    # smoothing with 0.8 but bias-correcting with the beta given: the second worked example
    # (beta=0) shows the first learning rate, and the hint names both causes of that
    fails(
        "test_suggest_lr",
        {"suggest_lr": suggest(BETA="0.8")},
        "ignored the beta argument",
        public=True,
    )
    # smoothing and correcting with a fixed 0.8 passes the examples; the hidden test names it
    source = suggest(BETA="0.8", SMOOTH="avg / (1 - 0.8 ** (i + 1))")
    fails("test_suggest_lr", {"suggest_lr": source}, "beta argument", hidden=True)


# ------------------------------------------------------------------------------------------
# Each hint names a mistake only when that mistake happened: the nearest wrong variants of every
# named mistake get their own hint (or a neutral one), never the neighbour's.
# ------------------------------------------------------------------------------------------

SGD_STEP = "[p.__isub__(lr * model.grads[k]) for k, p in model.params.items()]"
LOSS_AFTER = "losses.append(float(softmax_cross_entropy(model.forward(X[idx]), y[idx])[0]))"


@pytest.mark.parametrize(
    "name, changes, own, others",
    [
        ("plain SGD", {"STEP": SGD_STEP}, "plain SGD", ["AFTER each update"]),
        (
            "after update",
            {"RECORD": "pass", "STOP": "pass", "AFTER": LOSS_AFTER},
            "before",
            ["velocity"],
        ),
        (
            "linear",
            {"LRS": "np.linspace(lr_min, lr_max, steps)"},
            "GEOMETRICALLY",
            ["velocity", "AFTER"],
        ),
    ],
)
def test_range_test_hints_name_only_their_own_mistake(name, changes, own, others):
    message = fails(
        "test_lr_range_test", {"lr_range_test": range_test(**changes)}, own, public=True
    )
    assert not any(o in message for o in others), message


@pytest.mark.parametrize(
    "changes, own, others",
    [
        (
            {"DOWN": "n"},
            "after the lowest loss",
            ["first learning rate", "np.diff", "lr of the lowest"],
        ),
        ({"X_AXIS": "lrs[:n]"}, "first learning rate", ["after the lowest loss", "np.diff"]),
        ({"SMOOTH": "avg"}, "not bias-corrected", ["lr of the lowest", "first learning rate"]),
    ],
)
def test_suggest_hints_name_only_their_own_mistake(changes, own, others):
    message = fails("test_suggest_lr", {"suggest_lr": suggest(**changes)}, own, public=True)
    assert not any(o in message for o in others), message


def test_suggest_forward_differences():
    source = suggest(X_AXIS="np.log10(lrs[:n])").replace(
        "slope = np.gradient(smooth, np.log10(lrs[:n]))", "slope = np.diff(smooth)"
    )
    message = fails("test_suggest_lr", {"suggest_lr": source}, "np.diff", public=True)
    assert "first learning rate" not in message
