"""Realistic mistakes in 05-visualization (`top_k_activating`).

Each entry replaces one answer cell with a complete wrong answer in the style of a learner.
``core=True`` marks the mistakes an exercise exists to teach (its prose warns about them, or the
docstring specifies the behaviour): the public part of the test cell alone must catch them.
"""

from __future__ import annotations

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# top_k_activating
# ------------------------------------------------------------------------------------------

TOPK = """
def top_k_activating(model, X, layer_index, channel, k, by="mean"):
    if by not in ("mean", "max"):
        raise ValueError(by)
    acts = get_activations(model, X, layer_index)
{body}
"""


def _topk(body):
    return {"top_k_activating": TOPK.format(body=body)}


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# top-k: sorted ascending
_TOP_K_SORTED_ASCENDING = """
    a = acts[:, channel].reshape(len(X), -1)
    score = a.mean(axis=1) if by == "mean" else a.max(axis=1)
    return np.argsort(score)[:k]
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# top-k: always ranks by the max
_TOP_K_ALWAYS_RANKS_MAX = """
    score = acts[:, channel].reshape(len(X), -1).max(axis=1)
    return np.argsort(-score)[:k]
"""


TOP_K = [
    Mistake(
        "test_top_k_activating",
        "top-k: sorted ascending",
        _topk(_TOP_K_SORTED_ASCENDING),
        core=True,
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: the largest k, smallest first",
        _topk(
            variant(_TOP_K_SORTED_ASCENDING, ("np.argsort(score)[:k]", "np.argsort(score)[-k:]"))
        ),
        core=True,
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: always ranks by the max",
        _topk(_TOP_K_ALWAYS_RANKS_MAX),
        core=True,
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: always ranks by the mean",
        _topk(variant(_TOP_K_ALWAYS_RANKS_MAX, ("-1).max(axis=1)", "-1).mean(axis=1)"))),
        core=True,
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: mean over all channels",
        _topk("""
    a = acts.reshape(len(X), -1)
    score = a.mean(axis=1) if by == "mean" else a.max(axis=1)
    return np.argsort(-score)[:k]
"""),
        core=True,
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: returns the scores, not the indices",
        _topk(
            variant(_TOP_K_SORTED_ASCENDING, ("np.argsort(score)[:k]", "np.sort(score)[::-1][:k]"))
        ),
        core=True,
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: argpartition, top k unsorted",
        _topk(
            variant(
                _TOP_K_SORTED_ASCENDING,
                ("np.argsort(score)[:k]", "np.argpartition(score, -k)[-k:]"),
            )
        ),
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: accepts any `by` as the mean",
        {
            "top_k_activating": """
def top_k_activating(model, X, layer_index, channel, k, by="mean"):
    acts = get_activations(model, X, layer_index)
    a = acts[:, channel].reshape(len(X), -1)
    score = a.max(axis=1) if by == "max" else a.mean(axis=1)
    return np.argsort(-score)[:k]
"""
        },
    ),
    Mistake(
        "test_top_k_activating",
        "top-k: own forward pass in training mode",
        {
            "top_k_activating": """
def top_k_activating(model, X, layer_index, channel, k, by="mean"):
    if by not in ("mean", "max"):
        raise ValueError(by)
    acts = X
    for layer in model.layers[: layer_index + 1]:
        acts = layer.forward(acts)
    a = acts[:, channel].reshape(len(X), -1)
    score = a.mean(axis=1) if by == "mean" else a.max(axis=1)
    return np.argsort(-score)[:k]
"""
        },
    ),
]

MISTAKES = TOP_K
