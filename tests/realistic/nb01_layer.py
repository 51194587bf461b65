"""Realistic mistakes in 01-convolution, exercise 6: the loop version of the convolutional layer.

``conv_forward_naive`` written as a learner would (see ``nb01`` for the conventions).
"""

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# Exercise 6: conv_forward_naive
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_forward_naive forgets the stride in the window
_CONV_FORWARD_NAIVE_FORGETS_STRIDE = """
        def conv_forward_naive(x, w, b, *, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, KH, KW = w.shape
            OH = conv_output_size(H, KH, stride, pad)
            OW = conv_output_size(W, KW, stride, pad)
            xp = zero_pad(x, pad)
            out = np.zeros((N, F, OH, OW))
            for n in range(N):
                for f in range(F):
                    for i in range(OH):
                        for j in range(OW):
                            out[n, f, i, j] = np.sum(xp[n, :, i:i + KH, j:j + KW] * w[f]) + b[f]
            return out
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_forward_naive cuts windows from the unpadded x
_CONV_FORWARD_NAIVE_CUTS_WINDOWS = variant(
    _CONV_FORWARD_NAIVE_FORGETS_STRIDE,
    (
        "out[n, f, i, j] = np.sum(xp[n, :, i:i + KH, j:j + KW] * w[f]) + b[f]\n",
        (
            "win = x[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]\n"
            "                            out[n, f, i, j] = np.sum(win * w[f]) + b[f]\n"
        ),
    ),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_forward_naive sums all filters at once
_CONV_FORWARD_NAIVE_SUMS_ALL = variant(
    _CONV_FORWARD_NAIVE_FORGETS_STRIDE,
    (
        "out[n, f, i, j] = np.sum(xp[n, :, i:i + KH, j:j + KW] * w[f]) + b[f]\n",
        (
            "win = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]\n"
            "                            out[n, f, i, j] = np.sum(win * w) + b[f]\n"
        ),
    ),
)


NAIVE = [
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive forgets the stride in the window",
        {"conv_forward_naive": _CONV_FORWARD_NAIVE_FORGETS_STRIDE},
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive cuts windows from the unpadded x",
        {"conv_forward_naive": _CONV_FORWARD_NAIVE_CUTS_WINDOWS},
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive keeps only the last channel",
        {
            "conv_forward_naive": variant(
                _CONV_FORWARD_NAIVE_FORGETS_STRIDE,
                (
                    ("out[n, f, i, j] = np.sum(xp[n, :, i:i + KH, j:j + KW] * w[f]) + b[f]\n"),
                    (
                        "r, s = i * stride, j * stride\n"
                        "                            for c in range(C):\n"
                        "                                win = xp[n, c, r:r + KH, s:s + KW]\n"
                        "                                out[n, f, i, j] = np.sum(win * "
                        "w[f, c]) + b[f]\n"
                    ),
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive sums all filters at once",
        {"conv_forward_naive": _CONV_FORWARD_NAIVE_SUMS_ALL},
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive flips the kernel",
        {
            "conv_forward_naive": variant(
                _CONV_FORWARD_NAIVE_SUMS_ALL,
                (
                    "for f in range(F):\n",
                    ("for f in range(F):\n                    k = w[f, :, ::-1, ::-1]\n"),
                ),
                (
                    "out[n, f, i, j] = np.sum(win * w) + b[f]",
                    "out[n, f, i, j] = np.sum(win * k) + b[f]",
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive forgets the bias",
        {"conv_forward_naive": variant(_CONV_FORWARD_NAIVE_SUMS_ALL, ("w) + b[f]", "w[f])"))},
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive end of the window forgets the stride",
        {
            "conv_forward_naive": variant(
                _CONV_FORWARD_NAIVE_CUTS_WINDOWS,
                (
                    "x[n, :, i * stride:i * stride + KH, j * stride:j * stride",
                    "xp[n, :, i * stride:i + KH, j * stride:j",
                ),
            )
        },
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive computes the size without the stride",
        {
            "conv_forward_naive": variant(
                _CONV_FORWARD_NAIVE_CUTS_WINDOWS,
                ("conv_output_size(H, KH, stride, pad)", "H + 2 * pad - KH + 1"),
                ("conv_output_size(W, KW, stride, pad)", "W + 2 * pad - KW + 1"),
                ("range(OH):", "range(0, OH, stride):"),
                ("range(OW):", "range(0, OW, stride):"),
                (
                    "x[n, :, i * stride:i * stride + KH, j * stride:j * stride",
                    "xp[n, :, i:i + KH, j:j",
                ),
            )
        },
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive swaps KH and KW",
        {
            "conv_forward_naive": variant(
                _CONV_FORWARD_NAIVE_CUTS_WINDOWS, ("KH, KW", "KW, KH"), ("x[n,", "xp[n,")
            )
        },
    ),
]

MISTAKES = NAIVE
