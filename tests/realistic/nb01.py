"""Realistic mistakes in 01-convolution: answers a learner really writes.

Each entry replaces one answer cell with a complete buggy answer, in the style a learner writes it
(not derived from the hints the test messages name). ``core=True`` marks the mistakes an exercise
exists to teach: the case its prose warns about, and the row of issue 13's table for this notebook
(``conv_forward_im2col`` calling ``im2col`` without the stride and the padding).

This module holds exercises 1-3 (``correlate2d``, ``convolve2d``, ``edge_kernels``); the others
are in ``nb01_sizes`` (4, 5, 7, 8), ``nb01_layer`` (6) and ``nb01_im2col`` (9, 10).
"""

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# Exercise 1: correlate2d
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# correlate2d flips the kernel (that is convolution)
_CORRELATE2D_FLIPS_KERNEL_THAT = """
        def correlate2d(image, kernel):
            kernel = np.flip(kernel)
            kh, kw = kernel.shape
            out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
            return out
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# correlate2d output one row and column short
_CORRELATE2D_OUTPUT_ONE_ROW_COLUMN = variant(
    _CORRELATE2D_FLIPS_KERNEL_THAT,
    ("kernel = np.flip(kernel)", "h, w = image.shape"),
    ("np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))", "np.zeros((h - kh, w - kw))"),
    ("range(out.shape[0]):", "range(h - kh):"),
    ("range(out.shape[1]):", "range(w - kw):"),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# correlate2d output keeps the image's integer dtype
_CORRELATE2D_OUTPUT_KEEPS_IMAGE_S = variant(
    _CORRELATE2D_OUTPUT_ONE_ROW_COLUMN,
    ("kh, w - kw))", "kh + 1, w - kw + 1), dtype=image.dtype)"),
    ("kh):", "kh + 1):"),
    ("kw):", "kw + 1):"),
)


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# correlate2d uses a matrix product instead of elementwise
_CORRELATE2D_USES_MATRIX_PRODUCT = variant(
    _CORRELATE2D_OUTPUT_KEEPS_IMAGE_S,
    ("1), dtype=image.dtype)", "1))"),
    ("* kernel)", "@ kernel.T)"),
)


CORRELATE = [
    Mistake(
        "test_correlate2d",
        "correlate2d flips the kernel (that is convolution)",
        {"correlate2d": _CORRELATE2D_FLIPS_KERNEL_THAT},
        core=True,
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d output one row and column short",
        {"correlate2d": _CORRELATE2D_OUTPUT_ONE_ROW_COLUMN},
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
        {"correlate2d": _CORRELATE2D_OUTPUT_KEEPS_IMAGE_S},
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d uses a matrix product instead of elementwise",
        {"correlate2d": _CORRELATE2D_USES_MATRIX_PRODUCT},
    ),
    Mistake(
        "test_correlate2d",
        "correlate2d swaps the kernel's row and column index",
        {
            "correlate2d": variant(
                _CORRELATE2D_USES_MATRIX_PRODUCT,
                (
                    "out[i, j] = np.sum(image[i:i + kh, j:j + kw] @ kernel.T)\n",
                    (
                        "total = 0.0\n"
                        "                    for p in range(kh):\n"
                        "                        for q in range(kw):\n"
                        "                            total += image[i + p, j + q] * "
                        "kernel[q, p]\n"
                        "                    out[i, j] = total\n"
                    ),
                ),
            )
        },
    ),
]

# ------------------------------------------------------------------------------------------
# Exercise 2: convolve2d
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# convolve2d forgets the flip
_CONVOLVE2D_FORGETS_FLIP = """
        def convolve2d(image, kernel):
            return correlate2d(image, kernel)
    """


CONVOLVE = [
    Mistake(
        "test_convolve2d",
        "convolve2d forgets the flip",
        {"convolve2d": _CONVOLVE2D_FORGETS_FLIP},
        core=True,
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d flips the rows only (np.flipud)",
        {
            "convolve2d": variant(
                _CONVOLVE2D_FORGETS_FLIP,
                (
                    "return correlate2d(image, kernel)",
                    "return correlate2d(image, np.flipud(kernel))",
                ),
            )
        },
        core=True,
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d transposes instead of flipping",
        {
            "convolve2d": variant(
                _CONVOLVE2D_FORGETS_FLIP,
                ("return correlate2d(image, kernel)", "return correlate2d(image, kernel.T)"),
            )
        },
        core=True,
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d rotates by 90 degrees, not 180",
        {
            "convolve2d": variant(
                _CONVOLVE2D_FORGETS_FLIP,
                (
                    "return correlate2d(image, kernel)",
                    "return correlate2d(image, np.rot90(kernel))",
                ),
            )
        },
    ),
    Mistake(
        "test_convolve2d",
        "convolve2d flips the output instead of the kernel",
        {
            "convolve2d": variant(
                _CONVOLVE2D_FORGETS_FLIP,
                (
                    "return correlate2d(image, kernel)",
                    "return correlate2d(image, kernel)[::-1, ::-1]",
                ),
            )
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
