"""Realistic learner mistakes in 04-hyperparameters: lr_range_test, suggest_lr (see __init__).

Each entry is a complete wrong answer cell as a learner writes it; ``core=True`` marks the
mistakes an exercise exists to teach. The rest of 04's catalogue sits in ``nb04*.py`` beside it.
"""

from __future__ import annotations

from realistic import Mistake

# --------------------------------------------------------------------------------------------
# lr_range_test
# --------------------------------------------------------------------------------------------

RANGE_TEST = """
def lr_range_test(model_fn, X, y, lr_min, lr_max, steps, rng, batch_size=32):
    if not 0 < lr_min < lr_max or steps < 2:
        raise ValueError("bad arguments")
    model = model_fn()
    model.train()
    opt = cl.optim.Momentum(model.params, lr=lr_min, beta=0.9)
    lrs = LRS
    order, pos, losses, best = rng.permutation(len(y)), 0, [], np.inf
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in lrs:
            if pos + batch_size > len(y):
                order, pos = rng.permutation(len(y)), 0
            batch = order[pos:pos + batch_size]
            pos += batch_size
            loss, dscores = softmax_cross_entropy(model.forward(X[batch]), y[batch])
            RECORD
            best = min(best, loss)
            STOP
            model.backward(dscores)
            STEP
            AFTER
    return RETURN
"""
RANGE_GOOD = {
    "LRS": "lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))",
    "RECORD": "losses.append(float(loss))",
    "STOP": "if not np.isfinite(loss) or loss > 4 * best:\n                break",
    "STEP": "opt.lr = lr\n            opt.step(model.grads)",
    "AFTER": "pass",
    "RETURN": "lrs[:len(losses)], np.array(losses)",
}


def range_test(**changes) -> str:
    source = RANGE_TEST
    for key, value in {**RANGE_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


# --------------------------------------------------------------------------------------------
# suggest_lr
# --------------------------------------------------------------------------------------------

SUGGEST = """
def suggest_lr(lrs, losses, beta=0.8):
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    n, lowest = len(losses), np.inf
    for i in range(len(losses)):
        lowest = min(lowest, losses[i])
        if CUT:
            n = i
            break
    if n < 2:
        raise ValueError("the loss diverged right away")
    smooth, avg = [], 0.0
    for i in range(n):
        avg = BETA * avg + (1 - BETA) * losses[i]
        smooth.append(SMOOTH)
    smooth = np.array(smooth)
    slope = SLOPE
    stop = DOWN
    return float(lrs[np.argmin(slope[:stop])])
"""
SUGGEST_GOOD = {
    "CUT": "not np.isfinite(losses[i]) or losses[i] > 4 * lowest",
    "BETA": "beta",
    "SMOOTH": "avg / (1 - beta ** (i + 1))",
    "SLOPE": "np.gradient(smooth, np.log10(lrs[:n]))",
    "DOWN": "np.argmin(smooth) + 1",
}


def suggest(**changes) -> str:
    source = SUGGEST
    for key, value in {**SUGGEST_GOOD, **changes}.items():
        source = source.replace(key, value)
    return source


# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------

MISTAKES = [
    # lr_range_test
    Mistake(
        "test_lr_range_test",
        "linear instead of geometric lrs",
        {"lr_range_test": range_test(LRS="np.linspace(lr_min, lr_max, steps)")},
        core=True,
    ),
    Mistake(
        "test_lr_range_test",
        "exponent i / steps misses lr_max",
        {
            "lr_range_test": range_test(
                LRS="lr_min * (lr_max / lr_min) ** (np.arange(steps) / steps)"
            )
        },
    ),
    Mistake(
        "test_lr_range_test",
        "loss recorded after the update",
        {
            "lr_range_test": range_test(
                RECORD="pass",
                AFTER="losses.append(float(softmax_cross_entropy(model.forward(X[batch]), "
                "y[batch])[0]))",
                STOP="pass",
            )
        },
        core=True,
    ),  # fmt: skip
    Mistake(
        "test_lr_range_test",
        "never stops at divergence",
        {"lr_range_test": range_test(STOP="pass")},
        core=True,
    ),
    Mistake(
        "test_lr_range_test",
        "stops against the first loss",
        {
            "lr_range_test": range_test(
                STOP="if not np.isfinite(loss) or loss > 4 * losses[0]:\n                break"
            )
        },
    ),
    Mistake(
        "test_lr_range_test",
        "breaks before recording the diverged loss",
        {
            "lr_range_test": range_test(
                RECORD="pass",
                STOP="if not np.isfinite(loss) or loss > 4 * best:\n                break\n"
                "            losses.append(float(loss))",
            )
        },
    ),  # fmt: skip
    Mistake(
        "test_lr_range_test",
        "plain SGD instead of momentum",
        {
            "lr_range_test": range_test(
                STEP="for k in model.params:\n"
                "                model.params[k] -= lr * model.grads[k]"
            )
        },
        core=True,
    ),  # fmt: skip
    Mistake(
        "test_lr_range_test",
        "a new optimiser at every step",
        {
            "lr_range_test": range_test(
                STEP="opt = cl.optim.Momentum(model.params, lr=lr, beta=0.9)\n"
                "            opt.step(model.grads)"
            )
        },
    ),
    Mistake(
        "test_lr_range_test",
        "fresh model from model_fn every step",
        {"lr_range_test": range_test(AFTER="model_fn()")},
    ),
    Mistake(
        "test_lr_range_test",
        "all lrs returned after an early stop",
        {"lr_range_test": range_test(RETURN="lrs, np.array(losses)")},
    ),
    Mistake(
        "test_lr_range_test",
        "mini-batches in file order",
        {"lr_range_test": range_test().replace("rng.permutation(len(y))", "np.arange(len(y))")},
    ),
    # suggest_lr
    Mistake(
        "test_suggest_lr",
        "lr of the lowest loss",
        {"suggest_lr": suggest(SLOPE="smooth", DOWN="n")},
        core=True,
    ),
    Mistake("test_suggest_lr", "no smoothing", {"suggest_lr": suggest(SMOOTH="losses[i]")}),
    Mistake(
        "test_suggest_lr",
        "moving average not bias-corrected",
        {"suggest_lr": suggest(SMOOTH="avg")},
    ),
    Mistake(
        "test_suggest_lr",
        "slope against lr, not log10(lr)",
        {"suggest_lr": suggest(SLOPE="np.gradient(smooth, lrs[:n])")},
    ),
    Mistake(
        "test_suggest_lr",
        "candidates after the minimum",
        {"suggest_lr": suggest(DOWN="n")},
        core=True,
    ),
    Mistake(
        "test_suggest_lr",
        "no cut at divergence",
        {"suggest_lr": suggest(CUT="not np.isfinite(losses[i])")},
        core=True,
    ),
    Mistake(
        "test_suggest_lr",
        "beta fixed at 0.8",
        {"suggest_lr": suggest(BETA="0.8", SMOOTH="avg / (1 - 0.8 ** (i + 1))")},
    ),
    Mistake(
        "test_suggest_lr",
        "forward differences with np.diff",
        {"suggest_lr": suggest(SLOPE="np.diff(smooth) / np.diff(np.log10(lrs[:n]))")},
    ),
]
