"""Realistic mistakes in 03-training's ``rmsprop_step``: what learners write, as whole answers.

``core=True`` marks the mistakes the exercise exists to teach: the step is normalised per
parameter by the root of a running mean of g**2 that persists between calls. The public part of
the test cell must catch them.
"""

from realistic import Mistake, variant

HEAD = "def rmsprop_step(params, grads, square_avg, lr, decay=0.99, eps=1e-8):\n"


def rmsprop(label, body, core=False):
    return Mistake("test_rmsprop_step", f"rmsprop_step {label}", {"rmsprop_step": HEAD + body},
                   core=core)  # fmt: skip


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# keeps the average in a local variable
_KEEPS_AVERAGE_LOCAL_VARIABLE = """
    for k, p in params.items():
        s = np.zeros_like(p)
        s = decay * s + (1 - decay) * grads[k] ** 2
        p -= lr * grads[k] / (np.sqrt(s) + eps)
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# decay on the new gradient
_DECAY_NEW_GRADIENT = variant(
    _KEEPS_AVERAGE_LOCAL_VARIABLE,
    ("np.zeros_like(p)", "square_avg.setdefault(k, np.zeros_like(p))"),
    ("s = decay * s + (1 - decay)", "s[...] = (1 - decay) * s + decay"),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# eps under the root (d2l style)
_EPS_UNDER_ROOT_D2L_STYLE = variant(
    _DECAY_NEW_GRADIENT,
    ("(1 - decay) * s + decay", "decay * s + (1 - decay)"),
    ("(np.sqrt(s)", "np.sqrt(s"),
)


MISTAKES = [
    rmsprop(
        "averages g instead of g**2",
        """
    for k in params:
        if k not in square_avg:
            square_avg[k] = np.zeros_like(params[k])
        square_avg[k] = decay * square_avg[k] + (1 - decay) * grads[k]
        params[k] -= lr * grads[k] / (np.sqrt(np.abs(square_avg[k])) + eps)
""",
        core=True,
    ),
    rmsprop(
        "keeps the average in a local variable",
        _KEEPS_AVERAGE_LOCAL_VARIABLE,
        core=True,
    ),
    rmsprop(
        "decay on the new gradient",
        _DECAY_NEW_GRADIENT,
        core=True,
    ),
    rmsprop(
        "eps under the root (d2l style)",
        _EPS_UNDER_ROOT_D2L_STYLE,
        core=True,
    ),
    rmsprop(
        "Adam's bias correction added",
        """
    square_avg["t"] = square_avg.get("t", 0) + 1
    t = square_avg["t"]
    for k, p in params.items():
        s = square_avg.setdefault("s_" + k, np.zeros_like(p))
        s[...] = decay * s + (1 - decay) * grads[k] ** 2
        p -= lr * grads[k] / (np.sqrt(s / (1 - decay**t)) + eps)
""",
    ),
    rmsprop(
        "rebinds the parameter instead of updating it",
        """
    for k in params:
        s = square_avg.setdefault(k, np.zeros_like(params[k]))
        s *= decay
        s += (1 - decay) * grads[k] ** 2
        params[k] = params[k] - lr * grads[k] / (np.sqrt(s) + eps)
""",
        core=True,
    ),
    rmsprop(
        "new average array never stored",
        variant(
            _KEEPS_AVERAGE_LOCAL_VARIABLE,
            ("np.zeros_like(p)", "square_avg.get(k, np.zeros_like(p))"),
        ),
        core=True,
    ),
    rmsprop(
        "divides by the mean square, no root",
        variant(_EPS_UNDER_ROOT_D2L_STYLE, ("np.sqrt(s", "(s")),
        core=True,
    ),
    rmsprop(
        "hard-coded decay 0.99",
        variant(_DECAY_NEW_GRADIENT, ("(1 - decay) * s + decay", "0.99 * s + 0.01")),
    ),
    rmsprop(
        "squares the root instead of rooting the square",
        variant(
            _DECAY_NEW_GRADIENT,
            (
                "(1 - decay) * s + decay * grads[k] ** 2",
                "decay * s + (1 - decay) * np.abs(grads[k])",
            ),
            ("(np.sqrt(s)", "(s**2"),
        ),
    ),
    rmsprop(
        "updates the parameter before the average",
        variant(
            _DECAY_NEW_GRADIENT,
            (
                "s[...] = (1 - decay) * s + decay * grads[k] ** 2",
                "p -= lr * grads[k] / (np.sqrt(s) + eps + 1e-3)",
            ),
            (
                "p -= lr * grads[k] / (np.sqrt(s) + eps)",
                "s[...] = decay * s + (1 - decay) * grads[k] ** 2",
            ),
        ),
    ),
    rmsprop(
        "one shared average for all parameters",
        """
    total = sum(float(np.sum(g**2)) for g in grads.values())
    size = sum(g.size for g in grads.values())
    square_avg["all"] = decay * square_avg.get("all", 0.0) + (1 - decay) * total / size
    for k, p in params.items():
        p -= lr * grads[k] / (np.sqrt(square_avg["all"]) + eps)
""",
    ),
]
