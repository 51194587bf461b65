"""Realistic mistakes in 01-convolution, exercises 9 and 10: ``im2col`` and the layer built on it.

Written as a learner would (see ``nb01`` for the conventions). The first ``conv_forward_im2col``
entry is the row of issue 13's table for this notebook.
"""

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# Exercise 9: im2col
# ------------------------------------------------------------------------------------------

IM2COL_HEAD = """
        def im2col(x, kh, kw, *, stride=1, pad=0):
            N, C, H, W = x.shape
            OH = conv_output_size(H, kh, stride, pad)
            OW = conv_output_size(W, kw, stride, pad)
"""

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# im2col forgets the stride when placing windows
_IM2COL_FORGETS_STRIDE_WHEN_PLACING = """
            xp = zero_pad(x, pad)
            cols = np.zeros((N * OH * OW, C * kh * kw))
            for n in range(N):
                for i in range(OH):
                    for j in range(OW):
                        cols[n * OH * OW + i * OW + j] = xp[n, :, i:i + kh, j:j + kw].ravel()
            return cols
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# im2col flattens windows channel-last
_IM2COL_FLATTENS_WINDOWS_CHANNEL = variant(
    _IM2COL_FORGETS_STRIDE_WHEN_PLACING,
    (
        "cols[n * OH * OW + i * OW + j] = xp[n, :, i:i + kh, j:j + kw].ravel()\n",
        (
            "win = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]\n"
            "                        cols[n * OH * OW + i * OW + j] = win.transpose(1, 2, "
            "0).ravel()\n"
        ),
    ),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# im2col puts the images in the inner loop
_IM2COL_PUTS_IMAGES_INNER_LOOP = """
            xp = zero_pad(x, pad)
            rows = []
            for i in range(OH):
                for j in range(OW):
                    for n in range(N):
                        win = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        rows.append(win.reshape(-1))
            return np.array(rows)
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# im2col loops over columns first
_IM2COL_LOOPS_OVER_COLUMNS_FIRST = variant(
    _IM2COL_PUTS_IMAGES_INNER_LOOP,
    ("i in range(OH):", "n in range(N):"),
    ("                    for n in range(N):\n", "                    for i in range(OH):\n"),
    ("rows.append(win.reshape(-1))", "rows.append(win.ravel())"),
)


IM2COL = [
    Mistake(
        "test_im2col",
        "im2col forgets the stride when placing windows",
        {"im2col": IM2COL_HEAD + _IM2COL_FORGETS_STRIDE_WHEN_PLACING},
        core=True,
    ),
    Mistake(
        "test_im2col",
        "im2col forgets the padding",
        {
            "im2col": IM2COL_HEAD
            + """
            cols = []
            for n in range(N):
                for i in range(OH):
                    for j in range(OW):
                        win = x[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        cols.append(win.ravel())
            return np.array(cols)
    """
        },
        core=True,
    ),
    Mistake(
        "test_im2col",
        "im2col flattens windows channel-last",
        {"im2col": IM2COL_HEAD + _IM2COL_FLATTENS_WINDOWS_CHANNEL},
        core=True,
    ),
    Mistake(
        "test_im2col",
        "im2col puts the images in the inner loop",
        {"im2col": IM2COL_HEAD + _IM2COL_PUTS_IMAGES_INNER_LOOP},
    ),
    Mistake(
        "test_im2col",
        "im2col returns one column per window",
        {
            "im2col": IM2COL_HEAD
            + variant(
                _IM2COL_FLATTENS_WINDOWS_CHANNEL,
                ("np.zeros((N * OH * OW, C * kh * kw))", "np.zeros((C * kh * kw, N * OH * OW))"),
                (
                    "cols[n * OH * OW + i * OW + j] = win.transpose(1, 2, 0).ravel()",
                    "cols[:, n * OH * OW + i * OW + j] = win.ravel()",
                ),
            )
        },
    ),
    Mistake(
        "test_im2col",
        "im2col loops over columns first",
        {"im2col": IM2COL_HEAD + _IM2COL_LOOPS_OVER_COLUMNS_FIRST},
    ),
    Mistake(
        "test_im2col",
        "im2col swaps kh and kw in the window",
        {
            "im2col": IM2COL_HEAD
            + variant(
                _IM2COL_LOOPS_OVER_COLUMNS_FIRST,
                ("j in range(OW):", "i in range(OH):"),
                (
                    "                    for i in range(OH):\n",
                    "                    for j in range(OW):\n",
                ),
                ("kh, j * stride:j * stride + kw]", "kw, j * stride:j * stride + kh]"),
            )
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 10: conv_forward_im2col
# ------------------------------------------------------------------------------------------

FAST_HEAD = """
        def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, KH, KW = w.shape
            OH = conv_output_size(H, KH, stride, pad)
            OW = conv_output_size(W, KW, stride, pad)
"""

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_forward_im2col calls im2col without stride and pad
_CONV_FORWARD_IM2COL_CALLS_IM2COL = """
            cols = im2col(x, KH, KW)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_forward_im2col reshapes straight to NFHW
_CONV_FORWARD_IM2COL_RESHAPES = """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, F, OH, OW)
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_forward_im2col reshapes the weights to (-1, F)
_CONV_FORWARD_IM2COL_RESHAPES_2 = """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = cols @ w.reshape(-1, F) + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """


FAST = [
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col calls im2col without stride and pad",
        {"conv_forward_im2col": FAST_HEAD + _CONV_FORWARD_IM2COL_CALLS_IM2COL},
        core=True,
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col passes the stride but not the padding",
        {
            "conv_forward_im2col": FAST_HEAD
            + variant(_CONV_FORWARD_IM2COL_CALLS_IM2COL, ("KW)", "KW, stride=stride)"))
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col reshapes straight to NFHW",
        {"conv_forward_im2col": FAST_HEAD + _CONV_FORWARD_IM2COL_RESHAPES},
        core=True,
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col flattens the weights channel-last",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            w_mat = w.transpose(0, 2, 3, 1).reshape(F, -1)
            out = cols @ w_mat.T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col reshapes the weights to (-1, F)",
        {"conv_forward_im2col": FAST_HEAD + _CONV_FORWARD_IM2COL_RESHAPES_2},
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col adds the bias after moving the axes",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = (cols @ w.reshape(F, -1).T).reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
            return out + b
    """
        },
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col forgets the bias",
        {
            "conv_forward_im2col": FAST_HEAD
            + variant(
                _CONV_FORWARD_IM2COL_RESHAPES_2, ("w.reshape(-1, F) + b", "w.reshape(F, -1).T")
            )
        },
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col transposes to the wrong axis order",
        {
            "conv_forward_im2col": FAST_HEAD
            + variant(
                _CONV_FORWARD_IM2COL_RESHAPES, ("F, OH, OW)", "OH, OW, F).transpose(0, 3, 2, 1)")
            )
        },
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col passes stride and pad to im2col positionally",
        {
            "conv_forward_im2col": FAST_HEAD
            + variant(_CONV_FORWARD_IM2COL_CALLS_IM2COL, ("KW)", "KW, stride, pad)"))
        },
    ),
]

MISTAKES = IM2COL + FAST
