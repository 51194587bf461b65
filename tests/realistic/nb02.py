"""Realistic mistakes for 02-layers, sections 2-4 (numerical gradient, ReLU, affine layers):
what learners write for each exercise, as whole answer cells.

``core=True``: the mistake the exercise exists to teach (the case its prose warns about). The
notebook's catalogue gathers this module and every ``nb02_<part>`` module beside it: ``_conv``,
``_pooling``, ``_softmax``, ``_dropout`` (and the parts of the newer exercises).
"""

from realistic import Mistake, variant

T = "test_"


def _m(name, label, source, core=False, test=None):
    return Mistake(test or T + name, label, {name: source}, core=core)


# --------------------------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# x not restored
_X_NOT_RESTORED = """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                fp = f(x)
                x[idx] = old - h
                fm = f(x)
                grad[idx] = (fp - fm) / (2 * h)
            return grad
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# divides by h instead of 2h
_DIVIDES_H_INSTEAD_2H = variant(
    _X_NOT_RESTORED,
    ("fp = f(x)", "fp = float(f(x))"),
    (
        ("fm = f(x)\n                grad[idx] = (fp - fm) / (2 * h)\n"),
        (
            "fm = float(f(x))\n"
            "                x[idx] = old\n"
            "                grad[idx] = (fp - fm) / h\n"
        ),
    ),
)


NUMERICAL = [
    _m(
        "numerical_gradient",
        "forward difference",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x, dtype=float)
            fx = float(f(x))
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                grad[idx] = (float(f(x)) - fx) / h
                x[idx] = old
            return grad
        """,
        core=True,
    ),
    _m(
        "numerical_gradient",
        "x not restored",
        _X_NOT_RESTORED,
        core=True,
    ),
    _m(
        "numerical_gradient",
        "restored by adding h back",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for idx in np.ndindex(x.shape):
                x[idx] += h
                fp = float(f(x))
                x[idx] -= 2 * h
                fm = float(f(x))
                x[idx] += h
                grad[idx] = (fp - fm) / (2 * h)
            return grad
        """,
    ),
    _m(
        "numerical_gradient",
        "divides by h instead of 2h",
        _DIVIDES_H_INSTEAD_2H,
    ),
    _m(
        "numerical_gradient",
        "fixed step instead of h",
        variant(
            _DIVIDES_H_INSTEAD_2H,
            (
                "def numerical_gradient(f, x, h=1e-5):\n",
                ("def numerical_gradient(f, x, h=1e-5):\n            eps = 1e-5\n"),
            ),
            ("x[idx] = old + h", "x[idx] = old + eps"),
            ("x[idx] = old - h", "x[idx] = old - eps"),
            ("grad[idx] = (fp - fm) / h", "grad[idx] = (fp - fm) / (2 * eps)"),
        ),
    ),
]

# --------------------------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# gradient passes at x == 0
_GRADIENT_PASSES_AT_X_0 = """
        def relu_backward(dout, cache):
            return dout * (cache >= 0)
        """


RELU = [
    _m(
        "relu_forward",
        "relu forward in place",
        """
        def relu_forward(x):
            x[x < 0] = 0
            return x, x
        """,
        core=True,
    ),
    _m(
        "relu_forward",
        "np.maximum with out=x",
        """
        def relu_forward(x):
            out = np.maximum(x, 0, out=x)
            return out, x
        """,
        core=True,
    ),
    _m(
        "relu_forward",
        "caches the output",
        """
        def relu_forward(x):
            out = np.maximum(x, 0)
            return out, out
        """,
    ),
    _m(
        "relu_forward",
        "np.max instead of np.maximum",
        """
        def relu_forward(x):
            return np.max(x, 0), x
        """,
    ),
    _m(
        "relu_backward",
        "gradient passes at x == 0",
        _GRADIENT_PASSES_AT_X_0,
        core=True,
    ),
    _m(
        "relu_backward",
        "copy then zero where x < 0",
        """
        def relu_backward(dout, cache):
            dx = dout.copy()
            dx[cache < 0] = 0
            return dx
        """,
        core=True,
    ),
    _m(
        "relu_backward",
        "gated by the sign of dout",
        variant(_GRADIENT_PASSES_AT_X_0, ("dout * (cache >=", "np.maximum(dout,")),
    ),
    _m(
        "relu_backward",
        "returns the gate only",
        variant(_GRADIENT_PASSES_AT_X_0, ("dout * (cache >= 0)", "(cache > 0).astype(float)")),
    ),
    _m(
        "relu_backward",
        "dout times x",
        variant(_GRADIENT_PASSES_AT_X_0, ("(cache >=", "np.maximum(cache,")),
    ),
]

# --------------------------------------------------------------------------------------------
# affine
# --------------------------------------------------------------------------------------------
# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# dx not reshaped
_DX_NOT_RESHAPED = """
        def affine_backward(dout, cache):
            x, w, b = cache
            x2 = x.reshape(x.shape[0], -1)
            return dout @ w.T, x2.T @ dout, dout.sum(axis=0)
        """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# dw averaged
_DW_AVERAGED = """
        def affine_backward(dout, cache):
            x, w, b = cache
            N = x.shape[0]
            x2 = x.reshape(N, -1)
            return (dout @ w.T).reshape(x.shape), x2.T @ dout / N, dout.sum(axis=0)
        """


AFFINE = [
    _m(
        "affine_forward",
        "bias forgotten",
        """
        def affine_forward(x, w, b):
            out = x.reshape(x.shape[0], -1) @ w
            return out, (x, w, b)
        """,
        core=True,
    ),
    _m(
        "affine_forward",
        "channels-last flatten",
        """
        def affine_forward(x, w, b):
            x_flat = np.moveaxis(x, 1, -1).reshape(x.shape[0], -1)
            return x_flat @ w + b, (x, w, b)
        """,
    ),
    _m(
        "affine_forward",
        "caches the flattened x",
        """
        def affine_forward(x, w, b):
            x = x.reshape(x.shape[0], -1)
            return x.dot(w) + b, (x, w, b)
        """,
        core=True,
    ),
    _m(
        "affine_backward",
        "dx not reshaped",
        _DX_NOT_RESHAPED,
        core=True,
    ),
    _m(
        "affine_backward",
        "db averaged",
        variant(
            _DX_NOT_RESHAPED,
            (
                "dout @ w.T, x2.T @ dout, dout.sum(axis=0)",
                "(dout @ w.T).reshape(x.shape), x2.T @ dout, np.mean(dout, axis=0)",
            ),
        ),
    ),
    _m(
        "affine_backward",
        "dw averaged",
        _DW_AVERAGED,
    ),
    _m(
        "affine_backward",
        "dw transposed",
        variant(
            _DX_NOT_RESHAPED,
            ("dout @ w.T, x2.T @ dout,", "(dout @ w.T).reshape(x.shape), dout.T @ x2,"),
        ),
    ),
    _m(
        "affine_backward",
        "dw overwritten in a loop over examples",
        variant(
            _DW_AVERAGED,
            (
                ("return (dout @ w.T).reshape(x.shape), x2.T @ dout / N, dout.sum(axis=0)\n"),
                (
                    "for n in range(N):\n"
                    "                dw = np.outer(x2[n], dout[n])\n"
                    "            return (dout @ w.T).reshape(x.shape), dw, dout.sum(axis=0)\n"
                ),
            ),
        ),
        core=True,
    ),
    _m(
        "affine_backward",
        "db summed over outputs",
        variant(
            _DX_NOT_RESHAPED,
            (
                "dout @ w.T, x2.T @ dout, dout.sum(axis=0)",
                "(dout @ w.T).reshape(x.shape), x2.T @ dout, dout.sum(axis=1)",
            ),
        ),
    ),
]

MISTAKES = NUMERICAL + RELU + AFFINE
