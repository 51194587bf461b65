"""Realistic mistakes for 06-beyond-classification, section 5: transfer learning.

``finetune_lr_scale``; ``core=True`` marks freezing off by one (see ``nb06_segmentation``).
"""

from realistic import Mistake, variant


def _m(name, label, source, core=False):
    return Mistake(f"test_{name}", label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# finetune_lr_scale
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# one layer too few (range(n_pretrained - 1))
_ONE_LAYER_TOO_FEW_RANGE_N = """
def finetune_lr_scale(model, n_pretrained, scale):
    lr_scale = {}
    for i in range(n_pretrained - 1):
        if len(model.layers[i].params) > 0:
            lr_scale[f"{i}."] = scale
    return lr_scale
"""


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# prefix without the dot
_PREFIX_WITHOUT_DOT = """
def finetune_lr_scale(model, n_pretrained, scale):
    return {str(i): scale for i in range(n_pretrained) if model.layers[i].params}
"""


FINETUNE = [
    _m(
        "finetune_lr_scale",
        "one layer too many (<= n_pretrained)",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    out = {}
    for name in model.params:
        if int(name.split(".")[0]) <= n_pretrained:
            out[name] = scale
    return out
""",
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "one layer too few (range(n_pretrained - 1))",
        _ONE_LAYER_TOO_FEW_RANGE_N,
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "prefix without the dot",
        _PREFIX_WITHOUT_DOT,
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "a key for every layer, with or without parameters",
        variant(
            _PREFIX_WITHOUT_DOT,
            (
                "{str(i): scale for i in range(n_pretrained) if model.layers[i].params}",
                '{f"{i}.": scale for i in range(n_pretrained)}',
            ),
        ),
        core=True,
    ),
    _m(
        "finetune_lr_scale",
        "weights only",
        variant(
            _ONE_LAYER_TOO_FEW_RANGE_N,
            ("range(n_pretrained - 1):", "range(n_pretrained):"),
            ("len(model.layers[i].params) > 0:", '"w" in model.layers[i].params:'),
            ('lr_scale[f"{i}."]', 'lr_scale[f"{i}.w"]'),
        ),
    ),
    _m(
        "finetune_lr_scale",
        "counts only the layers with parameters",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    with_params = [i for i, layer in enumerate(model.layers) if layer.params]
    return {f"{i}.": scale for i in with_params[:n_pretrained]}
""",
    ),
    _m(
        "finetune_lr_scale",
        "the head gets the scale too (empty prefix only)",
        variant(
            _PREFIX_WITHOUT_DOT,
            (
                "{str(i): scale for i in range(n_pretrained) if model.layers[i].params}",
                '{"": scale}',
            ),
        ),
    ),
    _m(
        "finetune_lr_scale",
        "scale and 1 swapped",
        """
def finetune_lr_scale(model, n_pretrained, scale):
    return {"": 1.0, **{f"{i}.": scale for i in range(n_pretrained, len(model.layers))
                        if model.layers[i].params}}
""",
    ),
]
MISTAKES = FINETUNE
