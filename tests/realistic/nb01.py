"""Realistic mistakes in 01-convolution: answers a learner really writes.

Each entry replaces one answer cell with a complete buggy answer, in the style a learner writes it
(not derived from the hints the test messages name). ``core=True`` marks the mistakes an exercise
exists to teach: the case its prose warns about, and the row of issue 13's table for this notebook
(``conv_forward_im2col`` calling ``im2col`` without the stride and the padding).

This module holds exercises 1-3 (``correlate2d``, ``convolve2d``, ``edge_kernels``); the others
are in ``nb01_sizes`` (4, 5, 7, 8), ``nb01_layer`` (6) and ``nb01_im2col`` (9, 10).
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


MISTAKES = CORRELATE + CONVOLVE + EDGES
