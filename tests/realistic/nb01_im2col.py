"""Realistic mistakes in 01-convolution, exercises 9 and 10: ``im2col`` and the layer built on it.

Written as a learner would (see ``nb01`` for the conventions). The first ``conv_forward_im2col``
entry is the row of issue 13's table for this notebook.
"""

from realistic import Mistake

# ------------------------------------------------------------------------------------------
# Exercise 9: im2col
# ------------------------------------------------------------------------------------------

IM2COL_HEAD = """
        def im2col(x, kh, kw, *, stride=1, pad=0):
            N, C, H, W = x.shape
            OH = conv_output_size(H, kh, stride, pad)
            OW = conv_output_size(W, kw, stride, pad)
"""

IM2COL = [
    Mistake(
        "test_im2col",
        "im2col forgets the stride when placing windows",
        {
            "im2col": IM2COL_HEAD
            + """
            xp = zero_pad(x, pad)
            cols = np.zeros((N * OH * OW, C * kh * kw))
            for n in range(N):
                for i in range(OH):
                    for j in range(OW):
                        cols[n * OH * OW + i * OW + j] = xp[n, :, i:i + kh, j:j + kw].ravel()
            return cols
    """
        },
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
        {
            "im2col": IM2COL_HEAD
            + """
            xp = zero_pad(x, pad)
            cols = np.zeros((N * OH * OW, C * kh * kw))
            for n in range(N):
                for i in range(OH):
                    for j in range(OW):
                        win = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        cols[n * OH * OW + i * OW + j] = win.transpose(1, 2, 0).ravel()
            return cols
    """
        },
        core=True,
    ),
    Mistake(
        "test_im2col",
        "im2col puts the images in the inner loop",
        {
            "im2col": IM2COL_HEAD
            + """
            xp = zero_pad(x, pad)
            rows = []
            for i in range(OH):
                for j in range(OW):
                    for n in range(N):
                        win = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        rows.append(win.reshape(-1))
            return np.array(rows)
    """
        },
    ),
    Mistake(
        "test_im2col",
        "im2col returns one column per window",
        {
            "im2col": IM2COL_HEAD
            + """
            xp = zero_pad(x, pad)
            cols = np.zeros((C * kh * kw, N * OH * OW))
            for n in range(N):
                for i in range(OH):
                    for j in range(OW):
                        win = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        cols[:, n * OH * OW + i * OW + j] = win.ravel()
            return cols
    """
        },
    ),
    Mistake(
        "test_im2col",
        "im2col loops over columns first",
        {
            "im2col": IM2COL_HEAD
            + """
            xp = zero_pad(x, pad)
            rows = []
            for n in range(N):
                for j in range(OW):
                    for i in range(OH):
                        win = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                        rows.append(win.ravel())
            return np.array(rows)
    """
        },
    ),
    Mistake(
        "test_im2col",
        "im2col swaps kh and kw in the window",
        {
            "im2col": IM2COL_HEAD
            + """
            xp = zero_pad(x, pad)
            rows = []
            for n in range(N):
                for i in range(OH):
                    for j in range(OW):
                        win = xp[n, :, i * stride:i * stride + kw, j * stride:j * stride + kh]
                        rows.append(win.ravel())
            return np.array(rows)
    """
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

FAST = [
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col calls im2col without stride and pad",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col passes the stride but not the padding",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride=stride)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col reshapes straight to NFHW",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, F, OH, OW)
    """
        },
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
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = cols @ w.reshape(-1, F) + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """
        },
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
            + """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = cols @ w.reshape(F, -1).T
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """
        },
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col transposes to the wrong axis order",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride=stride, pad=pad)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 2, 1)
    """
        },
    ),
    Mistake(
        "test_conv_forward_im2col",
        "conv_forward_im2col passes stride and pad to im2col positionally",
        {
            "conv_forward_im2col": FAST_HEAD
            + """
            cols = im2col(x, KH, KW, stride, pad)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    """
        },
    ),
]

MISTAKES = IM2COL + FAST
