"""Realistic mistakes for 02-layers, section 9 (inverted dropout), as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about).
"""

from realistic import Mistake

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------
DROPOUT = [
    _m(
        "dropout_forward",
        "not scaled at train time",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            mask = rng.random(x.shape) >= p
            return x * mask, mask
        """,
        core=True,
    ),
    _m(
        "dropout_forward",
        "scaled at test time",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x * (1 - p), None
            if rng is None:
                rng = np.random.default_rng()
            mask = (rng.random(x.shape) >= p) / (1 - p)
            return x * mask, mask
        """,
        core=True,
    ),
    _m(
        "dropout_forward",
        "p read as keep-probability",
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            mask = (rng.random(x.shape) < p) / p
            return x * mask, mask
        """,
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
        """
        def dropout_forward(x, p, train=True, rng=None):
            if not train:
                return x, None
            if rng is None:
                rng = np.random.default_rng()
            keep = rng.random(x.shape) >= p
            return x * keep / (1 - p), keep
        """,
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
        """
        def dropout_backward(dout, cache):
            if cache is None:
                return dout
            return dout * (cache > 0)
        """,
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
        """
        def dropout_backward(dout, cache):
            if cache is None:
                return dout
            return dout * cache * cache.max()
        """,
    ),
]

MISTAKES = DROPOUT
