"""Realistic mistakes in 01-convolution, exercise 6: the loop version of the convolutional layer.

``conv_forward_naive`` written as a learner would (see ``nb01`` for the conventions).
"""

from realistic import Mistake

# ------------------------------------------------------------------------------------------
# Exercise 6: conv_forward_naive
# ------------------------------------------------------------------------------------------

NAIVE = [
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive forgets the stride in the window",
        {
            "conv_forward_naive": """
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
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive cuts windows from the unpadded x",
        {
            "conv_forward_naive": """
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
                            win = x[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                            out[n, f, i, j] = np.sum(win * w[f]) + b[f]
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive keeps only the last channel",
        {
            "conv_forward_naive": """
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
                            r, s = i * stride, j * stride
                            for c in range(C):
                                win = xp[n, c, r:r + KH, s:s + KW]
                                out[n, f, i, j] = np.sum(win * w[f, c]) + b[f]
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive sums all filters at once",
        {
            "conv_forward_naive": """
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
                            win = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                            out[n, f, i, j] = np.sum(win * w) + b[f]
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive flips the kernel",
        {
            "conv_forward_naive": """
        def conv_forward_naive(x, w, b, *, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, KH, KW = w.shape
            OH = conv_output_size(H, KH, stride, pad)
            OW = conv_output_size(W, KW, stride, pad)
            xp = zero_pad(x, pad)
            out = np.zeros((N, F, OH, OW))
            for n in range(N):
                for f in range(F):
                    k = w[f, :, ::-1, ::-1]
                    for i in range(OH):
                        for j in range(OW):
                            win = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                            out[n, f, i, j] = np.sum(win * k) + b[f]
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive forgets the bias",
        {
            "conv_forward_naive": """
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
                            win = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                            out[n, f, i, j] = np.sum(win * w[f])
            return out
    """
        },
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive end of the window forgets the stride",
        {
            "conv_forward_naive": """
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
                            win = xp[n, :, i * stride:i + KH, j * stride:j + KW]
                            out[n, f, i, j] = np.sum(win * w[f]) + b[f]
            return out
    """
        },
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive computes the size without the stride",
        {
            "conv_forward_naive": """
        def conv_forward_naive(x, w, b, *, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, KH, KW = w.shape
            OH = H + 2 * pad - KH + 1
            OW = W + 2 * pad - KW + 1
            xp = zero_pad(x, pad)
            out = np.zeros((N, F, OH, OW))
            for n in range(N):
                for f in range(F):
                    for i in range(0, OH, stride):
                        for j in range(0, OW, stride):
                            win = xp[n, :, i:i + KH, j:j + KW]
                            out[n, f, i, j] = np.sum(win * w[f]) + b[f]
            return out
    """
        },
    ),
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive swaps KH and KW",
        {
            "conv_forward_naive": """
        def conv_forward_naive(x, w, b, *, stride=1, pad=0):
            N, C, H, W = x.shape
            F, _, KW, KH = w.shape
            OH = conv_output_size(H, KH, stride, pad)
            OW = conv_output_size(W, KW, stride, pad)
            xp = zero_pad(x, pad)
            out = np.zeros((N, F, OH, OW))
            for n in range(N):
                for f in range(F):
                    for i in range(OH):
                        for j in range(OW):
                            win = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                            out[n, f, i, j] = np.sum(win * w[f]) + b[f]
            return out
    """
        },
    ),
]

MISTAKES = NAIVE
