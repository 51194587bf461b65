"""The optional challenge of 02, ``conv_backward_im2col``: not graded, checked by a demo cell.

The challenge sits in plain cells (a stub and a self-check) because our test cells carry points
and every answer cell has one. The reference answer lives here: with it the self-check must
report agreement and a speed-up over the loop version; with the stub it must say that the
challenge is not written yet; and it must name the flattening mistake.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from nbtools import cells, namespace

NB = "02-layers"

REFERENCE = """
def conv_backward_im2col(dout, cache):
    x, w, b, stride, pad = cache[:5]
    F, C, KH, KW = w.shape
    cols = cl.layers.im2col(x, KH, KW, stride=stride, pad=pad)
    d_mat = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (d_mat.T @ cols).reshape(w.shape)
    dcols = d_mat @ w.reshape(F, -1)
    dx = cl.layers.col2im(dcols, x.shape, KH, KW, stride=stride, pad=pad)
    return dx, dw, d_mat.sum(axis=0)
"""


def _cell(snippet: str) -> str:
    found = [src for _, meta, src in cells(NB) if not meta and snippet in src]
    assert len(found) == 1, f"{len(found)} plain cells contain {snippet!r}"
    return found[0]


STUB = _cell("def conv_backward_im2col(")
SELF_CHECK = _cell("col2im_self_check(conv_backward_im2col")


def self_check(answer: str) -> tuple[str, object]:
    """Run the setup and answer cells, ``answer``, then the self-check; (its output, speedup)."""
    ns = namespace(NB)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(answer, ns)
        exec(SELF_CHECK, ns)
    return out.getvalue(), ns["speedup"]


def test_the_stub_is_reported_as_not_written():
    text, speedup = self_check(STUB)
    assert "not written yet" in text and speedup is None


def test_the_stub_holds_no_answer():
    assert "im2col" not in STUB.split('"""')[-1].replace("conv_backward_im2col", "")


def test_a_right_answer_is_confirmed_and_timed():
    text, speedup = self_check(REFERENCE)
    assert "right: dx, dw and db agree" in text and "faster" in text
    assert speedup > 5, text  # about 100x on an idle machine; both timed under the same load


def test_dout_flattened_without_moving_the_filter_axis_is_named():
    bug = REFERENCE.replace("dout.transpose(0, 2, 3, 1).reshape(-1, F)", "dout.reshape(-1, F)")
    text, speedup = self_check(bug)
    assert "dx differs" in text and "without moving the filter axis" in text and speedup is None


def test_col2im_without_stride_stops_with_cnnlab_s_shape_message():
    """A crash in the learner's code shows its traceback; col2im's message names the shapes."""
    bug = REFERENCE.replace("KH, KW, stride=stride, pad=pad)\n    return", "KH, KW, pad=pad)\n"
                            "    return")  # fmt: skip
    assert bug != REFERENCE
    with pytest.raises(ValueError, match=r"cols must have shape \(N\*OH\*OW, C\*KH\*KW\)"):
        self_check(bug)
