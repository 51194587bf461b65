"""Realistic mistakes in 05-visualization: what learners write, not what the hints name.

This module: `normalize_for_display` and `get_activations`; the other exercises have their
``nb05_<part>`` modules beside it (gathered by ``realistic.catalogue``).

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them, or the
docstring specifies the behaviour): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake

# ------------------------------------------------------------------------------------------
# normalize_for_display
# ------------------------------------------------------------------------------------------

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
        {
            "normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    flat = w.reshape(w.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    hi = flat.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (flat - lo) / (hi - lo)
    return out.reshape(w.shape)
"""
        },
        core=True,
    ),
    Mistake(
        "test_normalize_for_display",
        "normalize: nan_to_num makes constant filters 0",
        {
            "normalize_for_display": """
def normalize_for_display(w):
    w = np.asarray(w, dtype=float)
    flat = w.reshape(w.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (flat - lo) / np.ptp(flat, axis=1, keepdims=True)
    return np.nan_to_num(out).reshape(w.shape)
"""
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

ACTIVATIONS = [
    Mistake(
        "test_get_activations",
        "activations: forgets model.eval()",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    out = x
    for layer in model.layers[: layer_index + 1]:
        out = layer.forward(out)
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: eval mode never restored",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    model.eval()
    out = x
    for layer in model.layers[: layer_index + 1]:
        out = layer.forward(out)
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: stops before layer_index",
        {
            "get_activations": """
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
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: one layer too many",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    was_training = model.training
    model.eval()
    out = x
    for i, layer in enumerate(model.layers):
        out = layer.forward(out)
        if i > layer_index:
            break
    if was_training:
        model.train()
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: applies only layer layer_index to x",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    was_training = model.training
    model.eval()
    out = model.layers[layer_index].forward(x)
    if was_training:
        model.train()
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: restores only the flag model.training",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    was_training = model.training
    model.eval()
    out = x
    for layer in model.layers[: layer_index + 1]:
        out = layer.forward(out)
    model.training = was_training
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: always back to train mode",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    model.eval()
    out = x
    for layer in model.layers[: layer_index + 1]:
        out = layer.forward(out)
    model.train()
    return out
"""
        },
        core=True,
    ),
    Mistake(
        "test_get_activations",
        "activations: eval on the layers only, never restored",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    out = x
    for layer in model.layers[: layer_index + 1]:
        layer.eval()
        out = layer.forward(out)
    return out
"""
        },
    ),
    Mistake(
        "test_get_activations",
        "activations: the whole model's output",
        {
            "get_activations": """
def get_activations(model, x, layer_index):
    was_training = model.training
    model.eval()
    out = model.forward(x)
    if was_training:
        model.train()
    return out
"""
        },
    ),
]

MISTAKES = NORMALIZE + ACTIVATIONS
