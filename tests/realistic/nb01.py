"""Realistic mistakes in 01-convolution: answers a learner really writes.

Each entry replaces one answer cell with a complete buggy answer, in the style a learner writes it
(not derived from the hints the test messages name). ``core=True`` marks the mistakes an exercise
exists to teach: the case its prose warns about, and the row of issue 13's table for this notebook
(``conv_forward_im2col`` calling ``im2col`` without the stride and the padding).
"""

from realistic import Mistake

# ------------------------------------------------------------------------------------------
# Exercise 1: correlate2d
# ------------------------------------------------------------------------------------------

CORRELATE = [
    Mistake(
        "test_correlate2d",
        "correlate2d flips the kernel (that is convolution)",
        {
            "correlate2d": """
        def correlate2d(image, kernel):
            kernel = np.flip(kernel)
            kh, kw = kernel.shape
            out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d output one row and column short",
        {
            "correlate2d": """
        def correlate2d(image, kernel):
            h, w = image.shape
            kh, kw = kernel.shape
            out = np.zeros((h - kh, w - kw))
            for i in range(h - kh):
                for j in range(w - kw):
                    out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
            return out
    """
        },
        core=True,
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d assumes a square kernel",
        {
            "correlate2d": """
        def correlate2d(image, kernel):
            k = kernel.shape[0]
            h, w = image.shape
            out = np.zeros((h - k + 1, w - k + 1))
            for i in range(h - k + 1):
                for j in range(w - k + 1):
                    out[i, j] = np.sum(image[i:i + k, j:j + k] * kernel)
            return out
    """
        },
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d output keeps the image's integer dtype",
        {
            "correlate2d": """
        def correlate2d(image, kernel):
            h, w = image.shape
            kh, kw = kernel.shape
            out = np.zeros((h - kh + 1, w - kw + 1), dtype=image.dtype)
            for i in range(h - kh + 1):
                for j in range(w - kw + 1):
                    out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
            return out
    """
        },
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d uses a matrix product instead of elementwise",
        {
            "correlate2d": """
        def correlate2d(image, kernel):
            h, w = image.shape
            kh, kw = kernel.shape
            out = np.zeros((h - kh + 1, w - kw + 1))
            for i in range(h - kh + 1):
                for j in range(w - kw + 1):
                    out[i, j] = np.sum(image[i:i + kh, j:j + kw] @ kernel.T)
            return out
    """
        },
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d swaps the kernel's row and column index",
        {
            "correlate2d": """
        def correlate2d(image, kernel):
            h, w = image.shape
            kh, kw = kernel.shape
            out = np.zeros((h - kh + 1, w - kw + 1))
            for i in range(h - kh + 1):
                for j in range(w - kw + 1):
                    total = 0.0
                    for p in range(kh):
                        for q in range(kw):
                            total += image[i + p, j + q] * kernel[q, p]
                    out[i, j] = total
            return out
    """
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 2: convolve2d
# ------------------------------------------------------------------------------------------

CONVOLVE = [
    Mistake(
        "test_convolve2d",
        "convolve2d forgets the flip",
        {
            "convolve2d": """
        def convolve2d(image, kernel):
            return correlate2d(image, kernel)
    """
        },
        core=True,
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d flips the rows only (np.flipud)",
        {
            "convolve2d": """
        def convolve2d(image, kernel):
            return correlate2d(image, np.flipud(kernel))
    """
        },
        core=True,
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d transposes instead of flipping",
        {
            "convolve2d": """
        def convolve2d(image, kernel):
            return correlate2d(image, kernel.T)
    """
        },
        core=True,
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d rotates by 90 degrees, not 180",
        {
            "convolve2d": """
        def convolve2d(image, kernel):
            return correlate2d(image, np.rot90(kernel))
    """
        },
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d flips the output instead of the kernel",
        {
            "convolve2d": """
        def convolve2d(image, kernel):
            return correlate2d(image, kernel)[::-1, ::-1]
    """
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 3: edge_kernels
# ------------------------------------------------------------------------------------------

EDGES = [
    Mistake(
        "test_edge_kernels",
        "edge_kernels swaps vertical and horizontal",
        {
            "edge_kernels": """
        def edge_kernels():
            sobel = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float)
            return {"vertical": sobel, "horizontal": sobel.T}
    """
        },
        core=True,
    ),
    Mistake(
        "test_edge_kernels",
        "edge_kernels forgets to transpose the second kernel",
        {
            "edge_kernels": """
        def edge_kernels():
            sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
            return {"vertical": sobel, "horizontal": sobel}
    """
        },
    ),
    Mistake(
        "test_edge_kernels",
        "edge_kernels weights do not sum to zero",
        {
            "edge_kernels": """
        def edge_kernels():
            v = np.array([[-1, 0, 1], [-2, 1, 2], [-1, 0, 1]], dtype=float)
            return {"vertical": v, "horizontal": v.T}
    """
        },
        core=True,
    ),
    Mistake(
        "test_edge_kernels",
        "edge_kernels uses a Laplacian for both",
        {
            "edge_kernels": """
        def edge_kernels():
            lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
            return {"vertical": lap, "horizontal": lap}
    """
        },
    ),
    Mistake(
        "test_edge_kernels",
        "edge_kernels returns a tuple",
        {
            "edge_kernels": """
        def edge_kernels():
            v = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
            return v, v.T
    """
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 4: zero_pad
# ------------------------------------------------------------------------------------------

ZERO_PAD = [
    Mistake(
        "test_zero_pad",
        "zero_pad pads every axis",
        {
            "zero_pad": """
        def zero_pad(x, pad):
            return np.pad(x, pad, mode="constant")
    """
        },
        core=True,
    ),
    Mistake(
        "test_zero_pad",
        "zero_pad pads the batch and channel axes",
        {
            "zero_pad": """
        def zero_pad(x, pad):
            return np.pad(x, ((pad, pad), (pad, pad), (0, 0), (0, 0)))
    """
        },
        core=True,
    ),
    Mistake(
        "test_zero_pad",
        "zero_pad ignores the (ph, pw) form",
        {
            "zero_pad": """
        def zero_pad(x, pad):
            return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    """
        },
    ),
    Mistake(
        "test_zero_pad",
        "zero_pad swaps ph and pw",
        {
            "zero_pad": """
        def zero_pad(x, pad):
            if isinstance(pad, int):
                pad = (pad, pad)
            ph, pw = pad
            return np.pad(x, ((0, 0), (0, 0), (pw, pw), (ph, ph)))
    """
        },
    ),
    Mistake(
        "test_zero_pad",
        "zero_pad pads only after the image",
        {
            "zero_pad": """
        def zero_pad(x, pad):
            ph, pw = (pad, pad) if isinstance(pad, int) else pad
            n, c, h, w = x.shape
            out = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
            out[:, :, :h, :w] = x
            return out
    """
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 5: conv_output_size
# ------------------------------------------------------------------------------------------

OUTPUT_SIZE = [
    Mistake(
        "test_conv_output_size",
        "conv_output_size ignores the stride",
        {
            "conv_output_size": """
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:
                raise ValueError("bad arguments")
            return n + 2 * pad - k + 1
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size pads one side only",
        {
            "conv_output_size": """
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1 or pad < 0 or k < 1 or n + pad < k:
                raise ValueError("bad arguments")
            return (n + pad - k) // stride + 1
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size ignores the padding",
        {
            "conv_output_size": """
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1 or pad < 0 or k < 1 or n < k:
                raise ValueError("bad arguments")
            return (n - k) // stride + 1
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size rounds up",
        {
            "conv_output_size": """
        import math
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:
                raise ValueError("bad arguments")
            return math.ceil((n + 2 * pad - k) / stride) + 1
    """
        },
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size returns a float",
        {
            "conv_output_size": """
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:
                raise ValueError("bad arguments")
            return (n + 2 * pad - k) / stride + 1
    """
        },
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size does not validate at all",
        {
            "conv_output_size": """
        def conv_output_size(n, k, stride=1, pad=0):
            return (n + 2 * pad - k) // stride + 1
    """
        },
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size lets a too large kernel through",
        {
            "conv_output_size": """
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1:
                raise ValueError("stride must be at least 1")
            if pad < 0 or k < 1:
                raise ValueError("pad >= 0 and k >= 1 please")
            return (n + 2 * pad - k) // stride + 1
    """
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 6: conv_forward_naive
# ------------------------------------------------------------------------------------------

NAIVE = [
    Mistake(
        "test_conv_forward_naive",
        "conv_forward_naive forgets the stride in the window",
        {
            "conv_forward_naive": """
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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
        def conv_forward_naive(x, w, b, stride=1, pad=0):
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

# ------------------------------------------------------------------------------------------
# Exercise 7 and 8: parameter counts
# ------------------------------------------------------------------------------------------

COUNTS = [
    Mistake(
        "test_conv_param_count",
        "conv_param_count forgets the input channels",
        {
            "conv_param_count": """
        def conv_param_count(c_in, c_out, kh, kw, bias=True):
            return c_out * kh * kw + (c_out if bias else 0)
    """
        },
        core=True,
    ),
    Mistake(
        "test_conv_param_count",
        "conv_param_count ignores bias=False",
        {
            "conv_param_count": """
        def conv_param_count(c_in, c_out, kh, kw, bias=True):
            return (c_in * kh * kw + 1) * c_out
    """
        },
    ),
    Mistake(
        "test_conv_param_count",
        "conv_param_count counts one bias per input channel",
        {
            "conv_param_count": """
        def conv_param_count(c_in, c_out, kh, kw, bias=True):
            n = c_in * c_out * kh * kw
            if bias:
                n += c_in
            return n
    """
        },
    ),
    Mistake(
        "test_conv_param_count",
        "conv_param_count without bias",
        {
            "conv_param_count": """
        def conv_param_count(c_in, c_out, kh, kw, bias=True):
            return c_in * c_out * kh * kw
    """
        },
    ),
    Mistake(
        "test_dense_param_count",
        "dense_param_count forgets the bias",
        {
            "dense_param_count": """
        def dense_param_count(n_in, n_out, bias=True):
            return n_in * n_out
    """
        },
        core=True,
    ),
    Mistake(
        "test_dense_param_count",
        "dense_param_count counts a bias per input",
        {
            "dense_param_count": """
        def dense_param_count(n_in, n_out, bias=True):
            return n_in * n_out + (n_in if bias else 0)
    """
        },
    ),
    Mistake(
        "test_dense_param_count",
        "dense_param_count ignores bias=False",
        {
            "dense_param_count": """
        def dense_param_count(n_in, n_out, bias=True):
            return (n_in + 1) * n_out
    """
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 9: im2col
# ------------------------------------------------------------------------------------------

IM2COL_HEAD = """
        def im2col(x, kh, kw, stride=1, pad=0):
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
        def conv_forward_im2col(x, w, b, stride=1, pad=0):
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
            cols = im2col(x, KH, KW, stride)
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
            cols = im2col(x, KH, KW, stride, pad)
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
            cols = im2col(x, KH, KW, stride, pad)
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
            cols = im2col(x, KH, KW, stride, pad)
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
            cols = im2col(x, KH, KW, stride, pad)
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
            cols = im2col(x, KH, KW, stride, pad)
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
            cols = im2col(x, KH, KW, stride, pad)
            out = cols @ w.reshape(F, -1).T + b
            return out.reshape(N, OH, OW, F).transpose(0, 3, 2, 1)
    """
        },
    ),
]

MISTAKES = CORRELATE + CONVOLVE + EDGES + ZERO_PAD + OUTPUT_SIZE + NAIVE + COUNTS + IM2COL + FAST
