"""Realistic mistakes in 03-training, iterate_minibatches, random_shift: what learners write.

``core=True`` marks the mistakes an exercise exists to teach (the case its prose warns about and
the rows of issue 13 for this notebook): the public part of the test cell must catch them. The
other exercises' catalogues are the nb03_*.py modules beside this one.
"""

from realistic import Mistake, variant

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# minibatches shuffle X and y separately
_MINIBATCHES_SHUFFLE_X_Y_SEPARATELY = """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            if shuffle:
                X = X[rng.permutation(len(X))]
                y = y[rng.permutation(len(y))]
            for start in range(0, len(X), batch_size):
                yield X[start:start + batch_size], y[start:start + batch_size]
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# minibatches ignore shuffle=False
_MINIBATCHES_IGNORE_SHUFFLE_FALSE = """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                yield X[idx], y[idx]
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# minibatches use np.random.permutation
_MINIBATCHES_USE_NP_RANDOM = variant(
    _MINIBATCHES_IGNORE_SHUFFLE_FALSE,
    (
        (
            "rng = np.random.default_rng() if rng is None else rng\n"
            "            order = rng.permutation(len(X))\n"
        ),
        "order = np.random.permutation(len(X)) if shuffle else np.arange(len(X))\n",
    ),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# random_shift moves the content the wrong way
_RANDOM_SHIFT_MOVES_CONTENT_WRONG = """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1, size=n)
            dx = rng.integers(-m, m + 1, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            out = np.zeros_like(images)
            for i in range(n):
                out[i] = padded[i, :, m - dy[i]:m - dy[i] + h, m - dx[i]:m - dx[i] + w]
            return out
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# random_shift moves rows by dx and columns by dy
_RANDOM_SHIFT_MOVES_ROWS_DX_COLUMNS = variant(
    _RANDOM_SHIFT_MOVES_CONTENT_WRONG,
    ("np.zeros_like(images)", "np.empty_like(images)"),
    ("- dy[i]:m - dy[i] + h, m - dx[i]:m - dx[i]", "+ dx[i]:m + dx[i] + h, m + dy[i]:m + dy[i]"),
)


MISTAKES = [
    # ---------------------------------------------------------------------- iterate_minibatches
    Mistake(
        "test_iterate_minibatches",
        "minibatches shuffle X and y separately",
        {"iterate_minibatches": _MINIBATCHES_SHUFFLE_X_Y_SEPARATELY},
        core=True,
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches drop the partial last batch",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            for b in range(len(X) // batch_size):
                sel = idx[b * batch_size:(b + 1) * batch_size]
                yield X[sel], y[sel]
    """
        },
        core=True,
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches drawn with replacement",
        {
            "iterate_minibatches": """
        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            rng = np.random.default_rng() if rng is None else rng
            n = len(X)
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                if shuffle:
                    idx = rng.integers(0, n, size=size)
                else:
                    idx = np.arange(start, start + size)
                yield X[idx], y[idx]
    """
        },
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches ignore shuffle=False",
        {"iterate_minibatches": _MINIBATCHES_IGNORE_SHUFFLE_FALSE},
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches use np.random.permutation",
        {"iterate_minibatches": _MINIBATCHES_USE_NP_RANDOM},
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches re-seed a generator at every call",
        {
            "iterate_minibatches": variant(
                _MINIBATCHES_USE_NP_RANDOM,
                (
                    ("order = np.random.permutation(len(X)) if shuffle else np.arange(len(X))\n"),
                    (
                        "gen = np.random.default_rng(0)\n"
                        "            order = gen.permutation(len(X)) if shuffle else "
                        "np.arange(len(X))\n"
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_iterate_minibatches",
        "minibatches shuffle the caller's arrays in place",
        {
            "iterate_minibatches": variant(
                _MINIBATCHES_SHUFFLE_X_Y_SEPARATELY,
                (
                    (
                        "X = X[rng.permutation(len(X))]\n"
                        "                y = y[rng.permutation(len(y))]\n"
                    ),
                    (
                        "order = rng.permutation(len(X))\n"
                        "                X[:] = X[order]\n"
                        "                y[:] = y[order]\n"
                    ),
                ),
            )
        },
    ),
    # ---------------------------------------------------------------------------- random_shift
    Mistake(
        "test_random_shift",
        "random_shift with np.roll (wraps around)",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n = len(images)
            dy = rng.integers(-max_shift, max_shift + 1, size=n)
            dx = rng.integers(-max_shift, max_shift + 1, size=n)
            out = np.empty_like(images)
            for i in range(n):
                out[i] = np.roll(images[i], (-dy[i], -dx[i]), axis=(1, 2))
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_random_shift",
        "random_shift moves the content the wrong way",
        {"random_shift": _RANDOM_SHIFT_MOVES_CONTENT_WRONG},
        core=True,
    ),
    Mistake(
        "test_random_shift",
        "random_shift one offset for the batch",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            m = max_shift
            dy = rng.integers(-m, m + 1)
            dx = rng.integers(-m, m + 1)
            padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
            return padded[:, :, m + dy:m + dy + h, m + dx:m + dx + w].copy()
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift exclusive upper bound",
        {
            "random_shift": variant(
                _RANDOM_SHIFT_MOVES_CONTENT_WRONG,
                ("dy = rng.integers(-m, m + 1, size=n)", "dy = rng.integers(-m, m, size=n)"),
                ("m + 1,", "m,"),
                ("- dy[i]:m - dy[i] + h, m - dx[i]:m -", "+ dy[i]:m + dy[i] + h, m + dx[i]:m +"),
            )
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift draws (N, 2) offsets at once",
        {
            "random_shift": variant(
                _RANDOM_SHIFT_MOVES_CONTENT_WRONG,
                (
                    (
                        "dy = rng.integers(-m, m + 1, size=n)\n"
                        "            dx = rng.integers(-m, m + 1, size=n)\n"
                    ),
                    "offsets = rng.integers(-m, m + 1, size=(n, 2))\n",
                ),
                ("i in range(n):", "i, (dy, dx) in enumerate(offsets):"),
                ("- dy[i]:m - dy[i] + h, m - dx[i]:m - dx[i]", "+ dy:m + dy + h, m + dx:m + dx"),
            )
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift shifts the input in place",
        {
            "random_shift": variant(
                _RANDOM_SHIFT_MOVES_CONTENT_WRONG,
                ("            out = np.zeros_like(images)\n", ""),
                (
                    "out[i] = padded[i, :, m - dy[i]:m - dy[i] + h, m - dx[i]:m -",
                    "images[i] = padded[i, :, m + dy[i]:m + dy[i] + h, m + dx[i]:m +",
                ),
                ("out", "images"),
            )
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift returns float64",
        {
            "random_shift": variant(
                _RANDOM_SHIFT_MOVES_CONTENT_WRONG,
                (
                    (
                        "padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))\n"
                        "            out = np.zeros_like(images)\n"
                    ),
                    "out = np.zeros(images.shape)\n",
                ),
                (
                    ("out[i] = padded[i, :, m - dy[i]:m - dy[i] + h, m - dx[i]:m - dx[i] + w]\n"),
                    (
                        "for r in range(h):\n"
                        "                    for col in range(w):\n"
                        "                        rr, cc = r + dy[i], col + dx[i]\n"
                        "                        if 0 <= rr < h and 0 <= cc < w:\n"
                        "                            out[i, :, r, col] = images[i, :, rr, cc]\n"
                    ),
                ),
            )
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift always shifts by up to one pixel",
        {
            "random_shift": """
        def random_shift(images, rng, max_shift=1):
            n, c, h, w = images.shape
            dy = rng.integers(-1, 2, size=n)
            dx = rng.integers(-1, 2, size=n)
            padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
            out = np.empty_like(images)
            for i in range(n):
                out[i] = padded[i, :, 1 + dy[i]:1 + dy[i] + h, 1 + dx[i]:1 + dx[i] + w]
            return out
    """
        },
    ),
    Mistake(
        "test_random_shift",
        "random_shift moves rows by dx and columns by dy",
        {"random_shift": _RANDOM_SHIFT_MOVES_ROWS_DX_COLUMNS},
    ),
    Mistake(
        "test_random_shift",
        "random_shift fills with edge values",
        {
            "random_shift": variant(
                _RANDOM_SHIFT_MOVES_ROWS_DX_COLUMNS,
                ("m)))", 'm)), mode="edge")'),
                (
                    "dx[i]:m + dx[i] + h, m + dy[i]:m + dy[i]",
                    "dy[i]:m + dy[i] + h, m + dx[i]:m + dx[i]",
                ),
            )
        },
        core=True,
    ),
]
