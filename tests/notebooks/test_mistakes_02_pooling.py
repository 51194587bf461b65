"""Mistakes the tests of 02-layers claim to catch: max pooling and global average pooling
(sections 6 and 7). The layout is that of ``test_mistakes_02.py``.
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
# max pooling
# --------------------------------------------------------------------------------------------
MF, MB = "test_maxpool_forward_naive", "test_maxpool_backward_naive"
BY_SIZE = ("r, s = i * stride, j * stride", "r, s = i * size, j * size")
GIVEN = "if stride is None:  # the default, as in cl.layers.maxpool_forward and PyTorch"
ROUTE = (
    "p, q = np.unravel_index(np.argmax(window), window.shape)\n"
    "                    dx[n, c, r + p, s + q] += dout[n, c, i, j]"
)
OVERWRITE = ("+= dout[n, c, i, j]", "= dout[n, c, i, j]")


def mf(*edits):
    return edit("maxpool_forward_naive", *edits)


def route(*lines):
    """maxpool_backward_naive with the routing of one window's gradient replaced by ``lines``."""
    return edit("maxpool_backward_naive", (ROUTE, "\n                    ".join(lines)))


CASES = [
    case(MF, mf(("(H - size) // stride + 1", "H // size"),
                ("(W - size) // stride + 1", "W // size"), BY_SIZE),
         "move the window by stride", id="maxpool_forward_ignores_stride"),
    case(MF, mf(BY_SIZE), "moved by size instead of stride", public=True,
         id="maxpool_forward_moved_by_size_public"),
    # the docstring's rule: the cache holds the stride actually used, never None
    case(MF, mf((GIVEN + "\n        stride = size", "step = stride or size"),
                ("(H - size) // stride", "(H - size) // step"),
                ("(W - size) // stride", "(W - size) // step"),
                ("i * stride, j * stride", "i * step, j * step")),
         "never None", hidden=True, id="maxpool_forward_caches_stride_none"),
    case(MF, {"maxpool_forward_naive": """
def maxpool_forward_naive(x, size=2, *, stride=None):
    if stride is None:
        stride = size
    out, _ = cl.layers.maxpool_forward(x, size, stride=stride)
    return out, (x, size, stride)
"""}, "must be your own implementation", "maxpool_forward_naive",
         id="maxpool_forward_library_only"),
    case(MB, route("dx[n, c, r : r + size, s : s + size] += dout[n, c, i, j]"),
         "every element of the window", id="maxpool_gradient_to_every_element"),
    case(MB, route("dx[n, c, r : r + size, s : s + size] += dout[n, c, i, j] / size**2"),
         "every element of the window", id="maxpool_gradient_averaged_over_window"),
    case(MB, route("flat = window.ravel()", "k = len(flat) - 1 - np.argmax(flat[::-1])",
                   "p, q = divmod(k, size)", "dx[n, c, r + p, s + q] += dout[n, c, i, j]"),
         "FIRST maximum", "not the last", id="maxpool_gradient_to_last_maximum"),
    case(MB, route("dx[n, c, r : r + size, s : s + size] += "
                   "(window == window.max()) * dout[n, c, i, j]"),
         "sent to every maximum", id="maxpool_gradient_to_every_tied_maximum"),
    case(MB, edit("maxpool_backward_naive", OVERWRITE), "overwritten instead of accumulated",
         public=True, id="maxpool_overlap_overwritten"),
    case(MB, edit("maxpool_backward_naive", OVERWRITE), "overwritten instead of accumulated",
         hidden=True, id="maxpool_overlap_overwritten_hidden_check"),
    case(MB, edit("maxpool_backward_naive", BY_SIZE), "moved by size instead of stride",
         absent=["overwritten"], public=True,
         id="maxpool_backward_moved_by_size_is_not_told_overwritten"),
    case(MB, {"maxpool_backward_naive": """
def maxpool_backward_naive(dout, cache):
    x, size, stride = cache
    _, full_cache = cl.layers.maxpool_forward(x, size, stride=stride)
    return cl.layers.maxpool_backward(dout, full_cache)
"""}, "must be your own implementation", "maxpool_backward_naive",
         id="maxpool_backward_library_only"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# global average pooling
# --------------------------------------------------------------------------------------------
GF, GB = "test_global_avgpool_forward", "test_global_avgpool_backward"
GAP_HINTS = ["not divided by H*W", "H or W only", "N*H*W"]
SUM_CACHING_X = edit(
    "global_avgpool_forward", ("x.mean(axis=(2, 3)), x.shape", "x.sum(axis=(2, 3)), x")
)

CASES += [
    case(GF, edit("global_avgpool_forward", ("axis=(2, 3)", "axis=(1, 2)")), "average",
         id="global_avgpool_wrong_axes"),
    case(GF, edit("global_avgpool_forward", ("), x.shape", "), x")), "the cache is x.shape",
         public=True, id="global_avgpool_forward_cache_is_the_shape"),
    *[case(GB, edit("global_avgpool_backward", ("None] / (H * W)", f"None] / ({div})")), needle,
           absent=[h for h in GAP_HINTS if h != needle], public=True,
           id=f"global_avgpool_backward_divisor_named-{div}")
      for div, needle in [("1", GAP_HINTS[0]), ("H", GAP_HINTS[1]), ("W", GAP_HINTS[1]),
                          ("N * H * W", GAP_HINTS[2])]],
    case(GF, {"global_avgpool_forward": """
def global_avgpool_forward(x):
    return cl.layers.global_avgpool_forward(x)
"""}, "must be your own implementation", "global_avgpool_forward",
         id="global_avgpool_forward_library_only"),
    case(GB, {"global_avgpool_backward": """
def global_avgpool_backward(dout, cache):
    return cl.layers.global_avgpool_backward(dout, (cache, np.dtype(np.float64)))
"""}, "must be your own implementation", "global_avgpool_backward",
         id="global_avgpool_backward_library_only"),
]  # fmt: skip


@pytest.mark.parametrize("test_id, overrides, needles, absent, options", CASES)
def test_mistake_is_named(test_id, overrides, needles, absent, options):
    message = fails(test_id, overrides, *needles, **options)
    assert not [a for a in absent if a in hint_of(message)], message


@pytest.mark.parametrize("name", ["maxpool_forward_naive", "maxpool_backward_naive"])
def test_unedited_answer_passes(name):
    """The answer the mutants above edit passes: each mistake differs from it in one place."""
    assert_passes(NB, f"test_{name}", {name: answer_source(NB, name)})


def test_global_avgpool_backward_graded_on_its_own():
    """A wrong forward (and its cache) costs the forward only; the backward gets x.shape."""
    fails(GF, SUM_CACHING_X, "the mean, not the sum")
    assert_passes(NB, GB, SUM_CACHING_X)
