"""Realistic mistakes in 03-training, sgd_step, momentum_step, adam_step: what learners write.

``core=True`` marks the mistakes an exercise exists to teach (the case its prose warns about and
the rows of issue 13 for this notebook): the public part of the test cell must catch them. The
other exercises' catalogues are the nb03_*.py modules beside this one.
"""

from realistic import Mistake, variant

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# sgd_step puts new arrays into the dict
_SGD_STEP_PUTS_NEW_ARRAYS_INTO_DICT = """
        def sgd_step(params, grads, lr):
            for name in params:
                params[name] = params[name] - lr * grads[name]
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# momentum velocity kept in a local variable
_MOMENTUM_VELOCITY_KEPT_LOCAL = """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.get(name, np.zeros_like(p))
                v = beta * v + grads[name]
                p -= lr * v
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# momentum with a (1 - beta) factor
_MOMENTUM_1_BETA_FACTOR = variant(
    _MOMENTUM_VELOCITY_KEPT_LOCAL,
    ("velocity.get(name,", "velocity.setdefault(name,"),
    ("v = beta * v +", "v[...] = beta * v + (1 - beta) *"),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# adam without bias correction
_ADAM_WITHOUT_BIAS_CORRECTION = """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            for k, p in params.items():
                g = grads[k]
                state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * g
                state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * g**2
                p -= lr * state["m"][k] / (np.sqrt(state["v"][k]) + eps)
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# adam eps inside the square root
_ADAM_EPS_INSIDE_SQUARE_ROOT = variant(
    _ADAM_WITHOUT_BIAS_CORRECTION,
    ('state["t"] += 1\n', ('state["t"] += 1\n            t = state["t"]\n')),
    (
        (
            "g = grads[k]\n"
            '                state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * g\n'
            '                state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * g**2\n'
            '                p -= lr * state["m"][k] / (np.sqrt(state["v"][k]) + eps)\n'
        ),
        (
            'm, v = state["m"][k], state["v"][k]\n'
            "                m[...] = beta1 * m + (1 - beta1) * grads[k]\n"
            "                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2\n"
            "                p -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) "
            "+ eps)\n"
        ),
    ),
)


MISTAKES = [
    # -------------------------------------------------------------------------------- sgd_step
    Mistake(
        "test_sgd_step",
        "sgd_step puts new arrays into the dict",
        {"sgd_step": _SGD_STEP_PUTS_NEW_ARRAYS_INTO_DICT},
        core=True,
    ),
    Mistake(
        "test_sgd_step",
        "sgd_step rebinds a local name",
        {
            "sgd_step": """
        def sgd_step(params, grads, lr):
            for name, p in params.items():
                p = p - lr * grads[name]
    """
        },
    ),
    Mistake(
        "test_sgd_step",
        "sgd_step steps uphill",
        {"sgd_step": variant(_SGD_STEP_PUTS_NEW_ARRAYS_INTO_DICT, ("= params[name] -", "+="))},
    ),
    # --------------------------------------------------------------------------- momentum_step
    Mistake(
        "test_momentum_step",
        "momentum velocity kept in a local variable",
        {"momentum_step": _MOMENTUM_VELOCITY_KEPT_LOCAL},
        core=True,
    ),
    Mistake(
        "test_momentum_step",
        "momentum puts new parameter arrays into the dict",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name in params:
                if name not in velocity:
                    velocity[name] = np.zeros_like(params[name])
                velocity[name] = beta * velocity[name] + grads[name]
                params[name] = params[name] - lr * velocity[name]
    """
        },
        core=True,
    ),
    Mistake(
        "test_momentum_step",
        "momentum with a (1 - beta) factor",
        {"momentum_step": _MOMENTUM_1_BETA_FACTOR},
    ),
    Mistake(
        "test_momentum_step",
        "momentum steps with the old velocity",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.setdefault(name, np.zeros_like(p))
                p -= lr * v
                v *= beta
                v += grads[name]
    """
        },
    ),
    Mistake(
        "test_momentum_step",
        "momentum ignores the beta argument",
        {
            "momentum_step": variant(
                _MOMENTUM_1_BETA_FACTOR,
                (
                    "v[...] = beta * v + (1 - beta) * grads[name]\n",
                    ("v *= 0.9\n                v += grads[name]\n"),
                ),
            )
        },
    ),
    # ------------------------------------------------------------------------------- adam_step
    Mistake(
        "test_adam_step",
        "adam without bias correction",
        {"adam_step": _ADAM_WITHOUT_BIAS_CORRECTION},
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam step counter never stored",
        {
            "adam_step": variant(
                _ADAM_WITHOUT_BIAS_CORRECTION,
                ('state["t"] +=', 't = state["t"] +'),
                (
                    'p -= lr * state["m"][k] / (np.sqrt(state["v"][k]) + eps)\n',
                    (
                        'm_hat = state["m"][k] / (1 - beta1**t)\n'
                        '                v_hat = state["v"][k] / (1 - beta2**t)\n'
                        "                p -= lr * m_hat / (np.sqrt(v_hat) + eps)\n"
                    ),
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam puts new parameter arrays into the dict",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state.update(t=0, m={}, v={})
            state["t"] += 1
            t = state["t"]
            for k in params:
                g = grads[k]
                m = beta1 * state["m"].get(k, 0.0) + (1 - beta1) * g
                v = beta2 * state["v"].get(k, 0.0) + (1 - beta2) * g * g
                state["m"][k], state["v"][k] = m, v
                step = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
                params[k] = params[k] - lr * step
    """
        },
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam eps inside the square root",
        {"adam_step": _ADAM_EPS_INSIDE_SQUARE_ROOT},
    ),
    Mistake(
        "test_adam_step",
        "adam increments t after the update",
        {
            "adam_step": variant(
                _ADAM_EPS_INSIDE_SQUARE_ROOT,
                ('            state["t"] += 1\n', ""),
                (
                    ("p -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps)\n"),
                    (
                        'with np.errstate(divide="ignore", invalid="ignore"):\n'
                        "                    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v "
                        "/ (1 - beta2**t)) + eps)\n"
                        '            state["t"] = t + 1\n'
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_adam_step",
        "adam keeps m and v in local variables",
        {
            "adam_step": variant(
                _ADAM_EPS_INSIDE_SQUARE_ROOT,
                (
                    (
                        'm, v = state["m"][k], state["v"][k]\n'
                        "                m[...] = beta1 * m + (1 - beta1) * grads[k]\n"
                        "                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2\n"
                        "                p -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 "
                        "- beta2**t) + eps)\n"
                    ),
                    (
                        'm = beta1 * state["m"][k] + (1 - beta1) * grads[k]\n'
                        '                v = beta2 * state["v"][k] + (1 - beta2) * '
                        "grads[k] ** 2\n"
                        "                p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 "
                        "- beta2**t)) + eps)\n"
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_adam_step",
        "adam corrects sqrt(v) instead of v",
        {"adam_step": variant(_ADAM_EPS_INSIDE_SQUARE_ROOT, ("np.sqrt(v", "(np.sqrt(v)"))},
    ),
]
