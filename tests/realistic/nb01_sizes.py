"""Realistic mistakes in 01-convolution, exercises 4, 5, 7 and 8: zero padding and the counts.

``zero_pad``, ``conv_output_size``, ``conv_param_count`` and ``dense_param_count``, written as a
learner would (see ``nb01`` for the conventions of the catalogue).
"""

from realistic import Mistake, variant

# ------------------------------------------------------------------------------------------
# Exercise 4: zero_pad
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# zero_pad pads every axis
_ZERO_PAD_PADS_EVERY_AXIS = """
        def zero_pad(x, pad):
            return np.pad(x, pad, mode="constant")
    """


ZERO_PAD = [
    Mistake(
        "test_zero_pad",
        "zero_pad pads every axis",
        {"zero_pad": _ZERO_PAD_PADS_EVERY_AXIS},
        core=True,
    ),
    Mistake(
        "test_zero_pad",
        "zero_pad pads the batch and channel axes",
        {
            "zero_pad": variant(
                _ZERO_PAD_PADS_EVERY_AXIS,
                ('pad, mode="constant")', "((pad, pad), (pad, pad), (0, 0), (0, 0)))"),
            )
        },
        core=True,
    ),
    Mistake(
        "test_zero_pad",
        "zero_pad ignores the (ph, pw) form",
        {
            "zero_pad": variant(
                _ZERO_PAD_PADS_EVERY_AXIS,
                ('pad, mode="constant")', "((0, 0), (0, 0), (pad, pad), (pad, pad)))"),
            )
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

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_output_size ignores the stride
_CONV_OUTPUT_SIZE_IGNORES_STRIDE = """
        def conv_output_size(n, k, stride=1, pad=0):
            if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:
                raise ValueError("bad arguments")
            return n + 2 * pad - k + 1
    """


OUTPUT_SIZE = [
    Mistake(
        "test_conv_output_size",
        "conv_output_size ignores the stride",
        {"conv_output_size": _CONV_OUTPUT_SIZE_IGNORES_STRIDE},
        core=True,
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size pads one side only",
        {
            "conv_output_size": variant(
                _CONV_OUTPUT_SIZE_IGNORES_STRIDE,
                (
                    "if stride < 1 or pad < 0 or k < 1 or n + 2 * pad < k:",
                    "if stride < 1 or pad < 0 or k < 1 or n + pad < k:",
                ),
                ("n + 2 * pad - k", "(n + pad - k) // stride"),
            )
        },
        core=True,
    ),
    Mistake(
        "test_conv_output_size",
        "conv_output_size ignores the padding",
        {
            "conv_output_size": variant(
                _CONV_OUTPUT_SIZE_IGNORES_STRIDE,
                ("+ 2 * pad <", "<"),
                ("n + 2 * pad - k", "(n - k) // stride"),
            )
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
            "conv_output_size": variant(
                _CONV_OUTPUT_SIZE_IGNORES_STRIDE, ("n + 2 * pad - k", "(n + 2 * pad - k) / stride")
            )
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
# Exercise 7 and 8: parameter counts
# ------------------------------------------------------------------------------------------

# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# conv_param_count forgets the input channels
_CONV_PARAM_COUNT_FORGETS_INPUT = """
        def conv_param_count(c_in, c_out, kh, kw, bias=True):
            return c_out * kh * kw + (c_out if bias else 0)
    """


# The whole answer of this mistake; later mistakes are textual edits of it (`variant`):
# dense_param_count forgets the bias
_DENSE_PARAM_COUNT_FORGETS_BIAS = """
        def dense_param_count(n_in, n_out, bias=True):
            return n_in * n_out
    """


COUNTS = [
    Mistake(
        "test_conv_param_count",
        "conv_param_count forgets the input channels",
        {"conv_param_count": _CONV_PARAM_COUNT_FORGETS_INPUT},
        core=True,
    ),
    Mistake(
        "test_conv_param_count",
        "conv_param_count ignores bias=False",
        {
            "conv_param_count": variant(
                _CONV_PARAM_COUNT_FORGETS_INPUT,
                ("c_out * kh * kw + (c_out if bias else 0)", "(c_in * kh * kw + 1) * c_out"),
            )
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
            "conv_param_count": variant(
                _CONV_PARAM_COUNT_FORGETS_INPUT,
                ("c_out * kh * kw + (c_out if bias else 0)", "c_in * c_out * kh * kw"),
            )
        },
    ),
    Mistake(
        "test_dense_param_count",
        "dense_param_count forgets the bias",
        {"dense_param_count": _DENSE_PARAM_COUNT_FORGETS_BIAS},
        core=True,
    ),
    Mistake(
        "test_dense_param_count",
        "dense_param_count counts a bias per input",
        {
            "dense_param_count": variant(
                _DENSE_PARAM_COUNT_FORGETS_BIAS,
                ("return n_in * n_out", "return n_in * n_out + (n_in if bias else 0)"),
            )
        },
    ),
    Mistake(
        "test_dense_param_count",
        "dense_param_count ignores bias=False",
        {
            "dense_param_count": variant(
                _DENSE_PARAM_COUNT_FORGETS_BIAS,
                ("return n_in * n_out", "return (n_in + 1) * n_out"),
            )
        },
    ),
]

MISTAKES = ZERO_PAD + OUTPUT_SIZE + COUNTS
