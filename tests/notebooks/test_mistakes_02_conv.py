"""Mistakes the tests of 02-layers claim to catch: convolution backward, 1x1 convolution and
receptive field (sections 5, 10 and 11). The layout is that of ``test_mistakes_02.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import answer_source, assert_fails, assert_passes, mutant

NB = "02-layers"
fails = partial(assert_fails, NB, match_case=True)
edit = partial(mutant, NB)


def hint_of(message: str) -> str:
    """The hint line of a failure message (the name before it may mention 'stride' etc.)."""
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


def case(test_id, overrides, *needles, absent=(), id, **options):
    """One row: ``overrides`` make ``test_id`` fail naming ``needles`` and none of ``absent``."""
    return pytest.param(test_id, overrides, needles, absent, options, id=id)


# --------------------------------------------------------------------------------------------
# conv_backward_naive
# --------------------------------------------------------------------------------------------
CB = "test_conv_backward_naive"
CROP = "dx = dx_p[:, :, pad : pad + H, pad : pad + W]"


def cb(*edits):
    return edit("conv_backward_naive", *edits)


def reset_in_batch_loop(line):
    """dw or db set to zeros again for every image: the batch is not summed."""
    return cb(("for n in range(N):\n", f"for n in range(N):\n        {line}\n"))


CASES = [
    case(CB, cb((CROP, "dx = dx_p")), "not cropped", public=True, id="conv_dx_not_cropped"),
    *[case(CB, cb((CROP, f"dx = {crop}")), needle, absent=["not cropped", "stride ignored"],
           public=True, id=f"conv_dx_cropped_wrong-{crop}")
      for crop, needle in [("dx_p[:, :, pad:-pad, pad:-pad]", "empty when pad = 0"),
                           ("dx_p[:, :, :H, :W]", "cropped on one side only"),
                           ("dx_p[:, :, pad:H, pad:W]", "cropped too much")]],
    case(CB, reset_in_batch_loop("dw = np.zeros(w.shape)"), "dw not summed over the batch",
         public=True, id="conv_dw_not_summed_over_batch"),
    case(CB, reset_in_batch_loop("db = np.zeros(F)"), "db not summed over the batch",
         absent=["stride"], public=True, id="conv_db_not_summed_over_batch"),
    # the example: ignoring the stride was told to sum over the batch
    case(CB, cb(("r, c = i * stride, j * stride", "r, c = i, j")), "stride ignored", "i*stride",
         absent=["batch"], public=True, id="conv_stride_ignored_is_not_told_about_the_batch"),
    case(CB, reset_in_batch_loop("dw = np.zeros(w.shape)"), "summed over the batch",
         absent=["stride"], id="conv_dw_batch_mistake_is_not_told_about_the_stride"),
    case(CB, cb(("+= g * w[f]", "= g * w[f]")), "with +=", public=True, id="conv_dx_overwritten"),
    case(CB, cb(("+= g * w[f]", "+= g * w[f, :, ::-1, ::-1]")), "kernel was flipped",
         public=True, id="conv_dx_flipped_kernel"),
    case(CB, {"conv_backward_naive": """
def conv_backward_naive(dout, cache):
    return cl.layers.conv_backward(dout, cache)
"""}, "must be your own implementation", "cnnlab.layers", id="conv_backward_library_only"),
    case(CB, {"conv_backward_naive": """
import scipy.signal
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache[:5]
    assert stride == 1 and pad == 0
    N, C = x.shape[:2]
    F = w.shape[0]
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            for c in range(C):
                dx[n, c] += scipy.signal.convolve2d(dout[n, f], w[f, c], mode="full")
                dw[f, c] += scipy.signal.correlate2d(x[n, c], dout[n, f], mode="valid")
    return dx, dw, dout.sum(axis=(0, 2, 3))
"""}, "must be your own implementation", "scipy.signal", id="conv_backward_scipy_only"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# conv1x1_as_matmul
# --------------------------------------------------------------------------------------------
C1 = "test_conv1x1_as_matmul"


def c1(old, new):
    return edit("conv1x1_as_matmul", (old, new))


CASES += [
    # transposed only where it still runs (F == C): the shape check cannot catch it there
    case(C1, c1("w[:, :, 0, 0]", "(w[:, :, 0, 0].T if len(w) == w.shape[1] else w[:, :, 0, 0])"),
         "transposed", id="conv1x1_weights_transposed"),
    case(C1, c1("out + b[None, :, None, None]",
                "out + (b[None, :, None, None] if x.shape[1] == 2 else 0)"),
         "bias", id="conv1x1_no_bias"),
    case(C1, {"conv1x1_as_matmul": """
def conv1x1_as_matmul(x, w, b):
    return cl.layers.conv_forward(x, w, b)[0]
"""}, "must be your own implementation", "conv1x1_as_matmul", id="conv1x1_library_only"),
    # the bias on the wrong axis is named, and told apart from a missing bias
    case(C1, c1("b[None, :, None, None]", "b"), "wrong axis", absent=["bias missing"],
         public=True, id="conv1x1_bias_on_last_axis"),
    case(C1, {"conv1x1_as_matmul": """
def conv1x1_as_matmul(x, w, b):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C) @ w[:, :, 0, 0].T
    return rows.reshape(N, -1, H, W) + b[None, :, None, None]
"""}, "reshaped straight", public=True, id="conv1x1_reshaped_without_transpose"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# receptive_field
# --------------------------------------------------------------------------------------------
RF = "test_receptive_field"
RECEPTIVE_HINTS = ["updated before the field", "strides ignored", "OWN stride"]
UPDATE = "field += (kernel - 1) * jump\n        jump *= stride"
JUMP_FIRST = ("jump *= stride\n        field += (kernel - 1) * jump",)


def rf(old, new):
    return edit("receptive_field", (old, new))


CASES += [
    case(RF, rf(UPDATE, *JUMP_FIRST), "updated before the field", public=True,
         id="receptive_field_own_stride"),
    case(RF, {"receptive_field": """
def receptive_field(layers):
    return 1 + sum(k - 1 for k, s in layers)
"""}, "strides ignored", public=True, id="receptive_field_ignores_strides"),
    case(RF, rf("field, jump = 1, 1", "if not layers:\n        return 0\n    field, jump = 1, 1"),
         "start from 1", id="receptive_field_starts_at_zero"),
    *[case(RF, overrides, needle, absent=[h for h in RECEPTIVE_HINTS if h != needle],
           public=True, id=f"receptive_field_mistakes_named_apart-{needle}")
      for overrides, needle in [
          (rf(UPDATE, *JUMP_FIRST), "updated before the field"),
          (rf("field += (kernel - 1) * jump", "field += kernel - 1"), "strides ignored"),
          (rf("(kernel - 1) * jump", "(kernel - 1) * stride"), "OWN stride"),
      ]],
]  # fmt: skip


@pytest.mark.parametrize("test_id, overrides, needles, absent, options", CASES)
def test_mistake_is_named(test_id, overrides, needles, absent, options):
    message = fails(test_id, overrides, *needles, **options)
    assert not [a for a in absent if a in hint_of(message)], message


@pytest.mark.parametrize("name", ["conv_backward_naive", "conv1x1_as_matmul", "receptive_field"])
def test_unedited_answer_passes(name):
    """The answer the mutants above edit passes: each mistake differs from it in one place."""
    assert_passes(NB, f"test_{name}", {name: answer_source(NB, name)})
