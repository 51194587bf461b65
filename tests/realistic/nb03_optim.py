"""Realistic mistakes in 03-training, sgd_step, momentum_step, adam_step: what learners write.

``core=True`` marks the mistakes an exercise exists to teach (the case its prose warns about and
the rows of issue 13 for this notebook): the public part of the test cell must catch them. The
other exercises' catalogues are the nb03_*.py modules beside this one.
"""

from realistic import Mistake

MISTAKES = [
    # -------------------------------------------------------------------------------- sgd_step
    Mistake(
        "test_sgd_step",
        "sgd_step puts new arrays into the dict",
        {
            "sgd_step": """
        def sgd_step(params, grads, lr):
            for name in params:
                params[name] = params[name] - lr * grads[name]
    """
        },
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
        {
            "sgd_step": """
        def sgd_step(params, grads, lr):
            for name in params:
                params[name] += lr * grads[name]
    """
        },
    ),
    # --------------------------------------------------------------------------- momentum_step
    Mistake(
        "test_momentum_step",
        "momentum velocity kept in a local variable",
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.get(name, np.zeros_like(p))
                v = beta * v + grads[name]
                p -= lr * v
    """
        },
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
        {
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.setdefault(name, np.zeros_like(p))
                v[...] = beta * v + (1 - beta) * grads[name]
                p -= lr * v
    """
        },
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
            "momentum_step": """
        def momentum_step(params, grads, velocity, lr, beta=0.9):
            for name, p in params.items():
                v = velocity.setdefault(name, np.zeros_like(p))
                v *= 0.9
                v += grads[name]
                p -= lr * v
    """
        },
    ),
    # ------------------------------------------------------------------------------- adam_step
    Mistake(
        "test_adam_step",
        "adam without bias correction",
        {
            "adam_step": """
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
        },
        core=True,
    ),
    Mistake(
        "test_adam_step",
        "adam step counter never stored",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            t = state["t"] + 1
            for k, p in params.items():
                g = grads[k]
                state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * g
                state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * g**2
                m_hat = state["m"][k] / (1 - beta1**t)
                v_hat = state["v"][k] / (1 - beta2**t)
                p -= lr * m_hat / (np.sqrt(v_hat) + eps)
    """
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
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            t = state["t"]
            for k, p in params.items():
                m, v = state["m"][k], state["v"][k]
                m[...] = beta1 * m + (1 - beta1) * grads[k]
                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2
                p -= lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps)
    """
        },
    ),
    Mistake(
        "test_adam_step",
        "adam increments t after the update",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            t = state["t"]
            for k, p in params.items():
                m, v = state["m"][k], state["v"][k]
                m[...] = beta1 * m + (1 - beta1) * grads[k]
                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2
                with np.errstate(divide="ignore", invalid="ignore"):
                    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            state["t"] = t + 1
    """
        },
    ),
    Mistake(
        "test_adam_step",
        "adam keeps m and v in local variables",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            t = state["t"]
            for k, p in params.items():
                m = beta1 * state["m"][k] + (1 - beta1) * grads[k]
                v = beta2 * state["v"][k] + (1 - beta2) * grads[k] ** 2
                p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    """
        },
    ),
    Mistake(
        "test_adam_step",
        "adam corrects sqrt(v) instead of v",
        {
            "adam_step": """
        def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            if not state:
                state["t"] = 0
                state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
                state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
            state["t"] += 1
            t = state["t"]
            for k, p in params.items():
                m, v = state["m"][k], state["v"][k]
                m[...] = beta1 * m + (1 - beta1) * grads[k]
                v[...] = beta2 * v + (1 - beta2) * grads[k] ** 2
                p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v) / (1 - beta2**t) + eps)
    """
        },
    ),
]
