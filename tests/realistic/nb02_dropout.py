"""Realistic mistakes for 02-layers, section 9 (inverted dropout), as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about).
"""

from realistic import Mistake, variant

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# not scaled at train time
_NOT_SCALED_AT_TRAIN_TIME = """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            mask = rng.random(x.shape) >= p
            return x * mask, mask
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# without the scaling
_WITHOUT_SCALING = """
        def dropout_backward(dout, cache):
            if cache is None:
                return dout
            return dout * (cache > 0)
        """


DROPOUT = [
    _m(
        "dropout_forward",
        "not scaled at train time",
        _NOT_SCALED_AT_TRAIN_TIME,
        core=True,
    ),
    _m(
        "dropout_forward",
        "scaled at test time",
        variant(
            _NOT_SCALED_AT_TRAIN_TIME,
            ("return x, None", "return x * (1 - p), None"),
            ("rng.random(x.shape) >= p", "(rng.random(x.shape) >= p) / (1 - p)"),
        ),
        core=True,
    ),
    _m(
        "dropout_forward",
        "p read as keep-probability",
        variant(
            _NOT_SCALED_AT_TRAIN_TIME, ("rng.random(x.shape) >=", "(rng.random(x.shape) < p) /")
        ),
    ),
    _m(
        "dropout_forward",
        "global numpy random state",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            mask = (np.random.rand(*x.shape) >= p) / (1 - p)
            return x * mask, mask
        """,
    ),
    _m(
        "dropout_forward",
        "cache is the unscaled mask",
        variant(
            _NOT_SCALED_AT_TRAIN_TIME,
            ("mask = rng.random(x.shape) >= p", "keep = rng.random(x.shape) >= p"),
            ("mask, mask", "keep / (1 - p), keep"),
        ),
    ),
    _m(
        "dropout_forward",
        "mask applied at test time",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if rng is None:
                rng = np.random.default_rng()
            mask = rng.random(x.shape) >= p
            if not train:
                return x * mask, None
            mask = mask / (1 - p)
            return x * mask, mask
        """,
        core=True,
    ),
    _m(
        "dropout_backward",
        "without the scaling",
        _WITHOUT_SCALING,
        core=True,
    ),
    _m(
        "dropout_backward",
        "zero gradient at test time",
        """
        def dropout_backward(dout, cache):
            if cache is None:
                return np.zeros_like(dout)
            return dout * cache
        """,
    ),
    _m(
        "dropout_backward",
        "scaled twice",
        variant(_WITHOUT_SCALING, ("(cache > 0)", "cache * cache.max()")),
    ),
]

MISTAKES = DROPOUT
