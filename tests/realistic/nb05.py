"""Realistic mistakes in 05-visualization: what learners write, not what the hints name.

This module: `normalize_for_display` and `get_activations`; the other exercises have their
``nb05_<part>`` modules beside it (gathered by ``realistic.catalogue``).

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them, or the
docstring specifies the behaviour): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# normalize_for_display
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# normalize: constant filter divides by zero
_NORMALIZE_CONSTANT_FILTER_DIVIDES = """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    flat = w.reshape(w.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    hi = flat.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (flat - lo) / (hi - lo)
    return out.reshape(w.shape)
"""


NORMALIZE = [
    Mistake(
        "test_normalize_for_display",
        "normalize: one min and max for all filters",
        {
            "normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    lo, hi = w.min(), w.max()
    if hi == lo:
        return np.full(w.shape, 0.5)
    return (w - lo) / (hi - lo)
"""
        },
        core=True,
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: each channel on its own",
        {
            "normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    out = np.empty_like(w)
    for f in range(w.shape[0]):
        for c in range(w.shape[1]):
            lo, hi = w[f, c].min(), w[f, c].max()
            out[f, c] = 0.5 if hi == lo else (w[f, c] - lo) / (hi - lo)
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: constant filter divides by zero",
        {"normalize_for_display": _NORMALIZE_CONSTANT_FILTER_DIVIDES},
        core=True,
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: nan_to_num makes constant filters 0",
        {
            "normalize_for_display": variant(
                _NORMALIZE_CONSTANT_FILTER_DIVIDES,
                ("    hi = flat.max(axis=1, keepdims=True)\n", ""),
                ("(hi - lo)", "np.ptp(flat, axis=1, keepdims=True)"),
                ("out.reshape(w.shape)", "np.nan_to_num(out).reshape(w.shape)"),
            )
        },
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: scales the filters in place",
        {
            "normalize_for_display": """
def normalize_for_display(w):
    for f in range(w.shape[0]):
        lo, hi = w[f].min(), w[f].max()
        if hi == lo:
            w[f] = 0.5
        else:
            w[f] = (w[f] - lo) / (hi - lo)
    return w
"""
        },
        core=True,
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: min and max across filters (axis 0)",
        {
            "normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    lo, hi = w.min(axis=0), w.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, (w - lo) / span, 0.5)
"""
        },
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: divides by the max only",
        {
            "normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    flat = w.reshape(w.shape[0], -1)
    m = np.abs(flat).max(axis=1, keepdims=True)
    m[m == 0] = 1
    return (flat / m).reshape(w.shape)
"""
        },
    ),
]

# ------------------------------------------------------------------------------------------
# get_activations
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# activations: forgets model.eval()
_ACTIVATIONS_FORGETS_MODEL_EVAL = """
def get_activations(model, x, layer_index):
    out = x
    for layer in model.layers[: layer_index + 1]:
        out = layer.forward(out)
    return out
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# activations: eval mode never restored
_ACTIVATIONS_EVAL_MODE_NEVER = variant(
    _ACTIVATIONS_FORGETS_MODEL_EVAL,
    (
        "def get_activations(model, x, layer_index):\n",
        ("def get_activations(model, x, layer_index):\n    model.eval()\n"),
    ),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# activations: stops before layer_index
_ACTIVATIONS_STOPS_BEFORE_LAYER = """
def get_activations(model, x, layer_index):
    was_training = model.training
    model.eval()
    out = x
    for layer in model.layers[:layer_index]:
        out = layer.forward(out)
    if was_training:
        model.train()
    return out
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# activations: applies only layer layer_index to x
_ACTIVATIONS_APPLIES_ONLY_LAYER = variant(
    _ACTIVATIONS_STOPS_BEFORE_LAYER,
    (
        (
            "out = x\n"
            "    for layer in model.layers[:layer_index]:\n"
            "        out = layer.forward(out)\n"
        ),
        "out = model.layers[layer_index].forward(x)\n",
    ),
)


ACTIVATIONS = [
    Mistake(
        "test_get_activations",
        "activations: forgets model.eval()",
        {"get_activations": _ACTIVATIONS_FORGETS_MODEL_EVAL},
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: eval mode never restored",
        {"get_activations": _ACTIVATIONS_EVAL_MODE_NEVER},
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: stops before layer_index",
        {"get_activations": _ACTIVATIONS_STOPS_BEFORE_LAYER},
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: one layer too many",
        {
            "get_activations": variant(
                _ACTIVATIONS_STOPS_BEFORE_LAYER,
                ("layer in model.layers[:layer_index]:", "i, layer in enumerate(model.layers):"),
                (
                    "out = layer.forward(out)\n",
                    ("out = layer.forward(out)\n        if i > layer_index:\n            break\n"),
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: applies only layer layer_index to x",
        {"get_activations": _ACTIVATIONS_APPLIES_ONLY_LAYER},
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: restores only the flag model.training",
        {
            "get_activations": variant(
                _ACTIVATIONS_STOPS_BEFORE_LAYER,
                ("model.layers[:layer_index]:", "model.layers[: layer_index + 1]:"),
                (("if was_training:\n        model.train()\n"), "model.training = was_training\n"),
            )
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: always back to train mode",
        {
            "get_activations": variant(
                _ACTIVATIONS_EVAL_MODE_NEVER,
                ("out = layer.forward(out)\n", ("out = layer.forward(out)\n    model.train()\n")),
            )
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: eval on the layers only, never restored",
        {
            "get_activations": variant(
                _ACTIVATIONS_FORGETS_MODEL_EVAL,
                (
                    "for layer in model.layers[: layer_index + 1]:\n",
                    ("for layer in model.layers[: layer_index + 1]:\n        layer.eval()\n"),
                ),
            )
        },
    ),
    Mistake(
        "test_get_activations",
        "activations: the whole model's output",
        {
            "get_activations": variant(
                _ACTIVATIONS_APPLIES_ONLY_LAYER,
                ("model.layers[layer_index].forward(x)", "model.forward(x)"),
            )
        },
    ),
]

MISTAKES = NORMALIZE + ACTIVATIONS
