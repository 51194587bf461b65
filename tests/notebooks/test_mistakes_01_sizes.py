"""Tests of the hidden tests of 01-convolution, exercises 4, 5, 7 and 8 (see test_mistakes_01).

``conv_output_size``, ``zero_pad`` and the two parameter counts: every named mistake is named, and
no neighbouring mistake's hint fires instead.
"""

from __future__ import annotations

import pytest
from test_mistakes_01 import PAD_BODY, SIZE_BODY, fails, fails_naming_only, forbidden

# ------------------------------------------------------------------------------------------
# conv_output_size
# ------------------------------------------------------------------------------------------

SIZE_MISTAKES = {
    "off_by_one": ("(n + 2 * pad - k) // stride", "off-by-one"),
    "stride_ignored": ("n + 2 * pad - k + 1", "stride ignored"),
    "pad_once": ("(n + pad - k) // stride + 1", "both sides"),
    "pad_ignored": ("(n - k) // stride + 1", "padding ignored"),
    "true_division": ("(n + 2 * pad - k) / stride + 1", "floor division"),
    "ceil": ("-(-(n + 2 * pad - k) // stride) + 1", "round down"),
}


@pytest.mark.parametrize("mistake", sorted(SIZE_MISTAKES))
def test_conv_output_size_mistakes(mistake):
    expr, needle = SIZE_MISTAKES[mistake]
    others = [n for _, n in SIZE_MISTAKES.values()]
    source = SIZE_BODY.format(expr=expr)
    fails_naming_only("test_conv_output_size", {"conv_output_size": source}, needle, others,
                      public=True)  # fmt: skip


def test_conv_output_size_without_validation():
    fails("test_conv_output_size", {"conv_output_size": """
def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) // stride + 1
"""}, "ValueError", public=True)  # fmt: skip


def test_conv_output_size_accepts_kernel_larger_than_input():
    fails("test_conv_output_size", {"conv_output_size": """
def conv_output_size(n, k, stride=1, pad=0):
    if stride < 1 or pad < 0 or k < 1:
        raise ValueError("bad arguments")
    return max(1, (n + 2 * pad - k) // stride + 1)
"""}, "ValueError", "does not fit", public=True)  # fmt: skip


# ------------------------------------------------------------------------------------------
# zero_pad
# ------------------------------------------------------------------------------------------

PAD_MISTAKES = {
    "all_axes": ("ph", "batch and channel axes"),
    "batch_axis": ("((ph, ph), (0, 0), (ph, ph), (pw, pw))", "batch axis"),
    "channel_axis": ("((0, 0), (ph, ph), (ph, ph), (pw, pw))", "channel axis"),
    "pair_swapped": ("((0, 0), (0, 0), (pw, pw), (ph, ph))", "pad = (ph, pw)"),
    "one_side": ("((0, 0), (0, 0), (0, ph), (0, pw))", "BOTH sides"),
    "top_left": ("((0, 0), (0, 0), (0, 2 * ph), (0, 2 * pw))", "top-left corner"),
    "bottom_right": ("((0, 0), (0, 0), (2 * ph, 0), (2 * pw, 0))", "must sit in the middle"),
}
PAD_NEEDLES = [n for _, n in PAD_MISTAKES.values()] + ["as well as one int", "must not change"]


@pytest.mark.parametrize("mistake", sorted(PAD_MISTAKES))
def test_zero_pad_mistakes(mistake):
    widths, needle = PAD_MISTAKES[mistake]
    source = PAD_BODY.format(widths=widths)
    fails_naming_only("test_zero_pad", {"zero_pad": source}, needle, PAD_NEEDLES, public=True)


def test_zero_pad_int_only():
    """pad = (ph, pw) is part of the contract; an int-only zero_pad is told so."""
    source = (
        "def zero_pad(x, pad):\n    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
    )
    fails_naming_only("test_zero_pad", {"zero_pad": source}, "as well as one int", PAD_NEEDLES,
                      public=True)  # fmt: skip


def test_zero_pad_modifies_input():
    fails_naming_only("test_zero_pad", {"zero_pad": """
def zero_pad(x, pad):
    ph, pw = (pad, pad) if np.ndim(pad) == 0 else pad
    out = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    x *= 0
    return out
"""}, "must not change its input", PAD_NEEDLES)  # fmt: skip


# ------------------------------------------------------------------------------------------
# parameter counts
# ------------------------------------------------------------------------------------------

CONV_COUNT_MISTAKES = {
    "input_channels_forgotten": ("c_out * kh * kw + c_out", "spans all c_in"),
    "bias_missing": ("c_out * c_in * kh * kw", "bias missing"),
    "bias_flag_ignored": ("c_out * c_in * kh * kw + c_out", "bias=False means no bias"),
    "bias_per_weight": ("2 * c_out * c_in * kh * kw if bias else c_out * c_in * kh * kw",
                        "not one per weight"),
    "bias_per_input_channel": ("c_out * c_in * kh * kw + (c_in if bias else 0)",
                               "not one per input channel"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", sorted(CONV_COUNT_MISTAKES))
def test_conv_param_count_mistakes(mistake):
    expr, needle = CONV_COUNT_MISTAKES[mistake]
    others = [n for _, n in CONV_COUNT_MISTAKES.values()]
    source = f"def conv_param_count(c_in, c_out, kh, kw, bias=True):\n    return {expr}\n"
    fails_naming_only("test_conv_param_count", {"conv_param_count": source}, needle, others,
                      public=True)  # fmt: skip


DENSE_COUNT_MISTAKES = {
    "bias_missing": ("n_in * n_out", "bias missing"),
    "bias_per_input": ("n_in * n_out + (n_in if bias else 0)", "not n_in"),
    "bias_flag_ignored": ("n_in * n_out + n_out", "bias=False means no bias"),
}


@pytest.mark.parametrize("mistake", sorted(DENSE_COUNT_MISTAKES))
def test_dense_param_count_mistakes(mistake):
    expr, needle = DENSE_COUNT_MISTAKES[mistake]
    others = [n for _, n in DENSE_COUNT_MISTAKES.values()]
    source = f"def dense_param_count(n_in, n_out, bias=True):\n    return {expr}\n"
    fails_naming_only("test_dense_param_count", {"dense_param_count": source}, needle, others,
                      public=True)  # fmt: skip


def test_conv_output_size_from_the_library_earns_nothing():
    forbidden(
        "test_conv_output_size",
        "conv_output_size",
        "import cnnlab as cl\n\ndef conv_output_size(n, k, stride=1, pad=0):\n"
        "    return cl.layers.conv_output_size(n, k, stride, pad)\n",
    )
