"""Realistic mistakes in 03-training's ``rmsprop_step``: what learners write, as whole answers.

``core=True`` marks the mistakes the exercise exists to teach: the step is normalised per
parameter by the root of a running mean of g**2 that persists between calls. The public part of
the test cell must catch them.
"""

from realistic import Mistake

HEAD = "def rmsprop_step(params, grads, square_avg, lr, decay=0.99, eps=1e-8):\n"


def rmsprop(label, body, core=False):
    return Mistake("test_rmsprop_step", f"rmsprop_step {label}", {"rmsprop_step": HEAD + body},
                   core=core)  # fmt: skip


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
        """
    for k, p in params.items():
        s = np.zeros_like(p)
        s = decay * s + (1 - decay) * grads[k] ** 2
        p -= lr * grads[k] / (np.sqrt(s) + eps)
""",
        core=True,
    ),
    rmsprop(
        "decay on the new gradient",
        """
    for k, p in params.items():
        s = square_avg.setdefault(k, np.zeros_like(p))
        s[...] = (1 - decay) * s + decay * grads[k] ** 2
        p -= lr * grads[k] / (np.sqrt(s) + eps)
""",
        core=True,
    ),
    rmsprop(
        "eps under the root (d2l style)",
        """
    for k, p in params.items():
        s = square_avg.setdefault(k, np.zeros_like(p))
        s[...] = decay * s + (1 - decay) * grads[k] ** 2
        p -= lr * grads[k] / np.sqrt(s + eps)
""",
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
        """
    for k, p in params.items():
        s = square_avg.get(k, np.zeros_like(p))
        s = decay * s + (1 - decay) * grads[k] ** 2
        p -= lr * grads[k] / (np.sqrt(s) + eps)
""",
        core=True,
    ),
    rmsprop(
        "divides by the mean square, no root",
        """
    for k, p in params.items():
        s = square_avg.setdefault(k, np.zeros_like(p))
        s[...] = decay * s + (1 - decay) * grads[k] ** 2
        p -= lr * grads[k] / (s + eps)
""",
        core=True,
    ),
    rmsprop(
        "hard-coded decay 0.99",
        """
    for k, p in params.items():
        s = square_avg.setdefault(k, np.zeros_like(p))
        s[...] = 0.99 * s + 0.01 * grads[k] ** 2
        p -= lr * grads[k] / (np.sqrt(s) + eps)
""",
    ),
    rmsprop(
        "squares the root instead of rooting the square",
        """
    for k, p in params.items():
        s = square_avg.setdefault(k, np.zeros_like(p))
        s[...] = decay * s + (1 - decay) * np.abs(grads[k])
        p -= lr * grads[k] / (s**2 + eps)
""",
    ),
    rmsprop(
        "updates the parameter before the average",
        """
    for k, p in params.items():
        s = square_avg.setdefault(k, np.zeros_like(p))
        p -= lr * grads[k] / (np.sqrt(s) + eps + 1e-3)
        s[...] = decay * s + (1 - decay) * grads[k] ** 2
""",
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
