"""Every mistake the tests of 02-layers claim to catch, as a buggy answer: numerical gradient,
ReLU and affine layers (sections 2-4).

Each case replaces one answer cell of ``solutions/02-layers/layers.py`` with a buggy version
(mostly ``mutant``: the solution with a one-line textual edit) and checks that the test cell fails
with a message naming the mistake, and not naming the nearest other mistakes (``absent``). The
library-only cases check that an answer handing the work to ``cnnlab`` earns nothing. The other
topics: ``test_mistakes_02_conv.py``, ``_pooling``, ``_softmax`` and ``_dropout``. That the
solution passes every test cell is checked by ``test_every_notebook.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from nbtools import answer_source, assert_fails, assert_passes, mutant, run_test_cell

NB = "02-layers"
fails = partial(assert_fails, NB, match_case=True)
edit = partial(mutant, NB)


def hint_of(message: str) -> str:
    """The hint line of a failure message (the name before it may mention 'stride' etc.)."""
    return message.split("hint:", 1)[-1] if "hint:" in message else ""


def case(test_id, overrides, *needles, absent=(), id, **options):
    """One row: ``overrides`` make ``test_id`` fail naming ``needles`` and none of ``absent``."""
    return pytest.param(test_id, overrides, needles, absent, options, id=id)


def library(name: str, call: str) -> dict[str, str]:
    """An answer to ``name`` that only returns ``call``, a library's work."""
    head = next(ln for ln in answer_source(NB, name).splitlines() if ln.startswith("def "))
    return {name: f"{head}\n    return {call}\n"}


# --------------------------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------------------------
NG = "test_numerical_gradient"
NUMERICAL_HINTS = [
    "forward difference:",
    "divided by h instead of 2h",
    "step argument h was ignored",
]


def ng(*edits):
    return edit("numerical_gradient", *edits)


FORWARD_DIFFERENCE = ng(
    ("x[idx] = old + h", "fx = float(f(x))\n        x[idx] = old + h"),
    ("x[idx] = old - h\n        f_minus = float(f(x))", "f_minus = fx"),
    ("/ (2 * h)", "/ h"),
)
STEP_IGNORED = ng(("old + h", "old + 1e-5"), ("old - h", "old - 1e-5"), ("(2 * h)", "2e-5"))

CASES = [
    case(NG, FORWARD_DIFFERENCE, "centred difference", "forward difference", public=True,
         id="numerical_gradient_forward_difference"),
    case(NG, ng(("x[idx] = old\n        grad", "grad")), "x after numerical_gradient", "old value",
         public=True, id="numerical_gradient_not_restored"),
    # x[i] += h; x[i] -= 2h; x[i] += h is back only up to rounding: named, and told apart
    case(NG, ng(("old = x[idx]\n        x[idx] = old + h", "x[idx] += h"),
                ("x[idx] = old - h", "x[idx] -= 2 * h"), ("x[idx] = old\n", "x[idx] += h\n")),
         "only up to rounding", absent=["was not restored"], public=True,
         id="numerical_gradient_restored_by_arithmetic"),
    case(NG, STEP_IGNORED, "h=0.01", id="numerical_gradient_ignores_h"),
    case(NG, ng(("grad = np.zeros(x.shape, dtype=np.float64)", "grad = []"),
                ("grad[idx] = (f_plus - f_minus) / (2 * h)",
                 "grad.append((f_plus - f_minus) / (2 * h))"),
                ("return grad", "return np.array(grad)")),
         "shape", id="numerical_gradient_flattened"),
    case(NG, library("numerical_gradient", "cl.gradcheck.numerical_gradient(f, x, h=h)"),
         "must be your own implementation", "cnnlab.gradcheck",
         id="numerical_gradient_library_only"),
    # named apart: each hint fires for its own mistake only
    *[case(NG, overrides, needle, absent=[h for h in NUMERICAL_HINTS if h != needle],
           public=True, id=f"numerical_gradient_mistakes_named_apart-{needle}")
      for overrides, needle in [
          (ng(("x[idx] = old - h", "x[idx] = old - 0"), ("/ (2 * h)", "/ h")), NUMERICAL_HINTS[0]),
          (ng(("/ (2 * h)", "/ h")), NUMERICAL_HINTS[1]),
          (STEP_IGNORED, NUMERICAL_HINTS[2]),
      ]],
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------------------------
RELU_HINTS = ["where x < 0", "at x = 0", "sign of the INPUT x", "not dout times x"]
RELU_GATES = [("(x != 0)", "where x < 0"), ("(x >= 0)", "at x = 0"),
              ("(dout > 0)", "sign of the INPUT x"), ("x", "not dout times x")]  # fmt: skip
RELU_AT_ZERO = edit("relu_backward", ("(x > 0)", "(x >= 0)"))

CASES += [
    case("test_relu_forward",
         edit("relu_forward", ("out = np.maximum(x, 0)", "x[x < 0] = 0\n    out = x")),
         "changed in place", public=True, id="relu_forward_in_place"),
    case("test_relu_forward", edit("relu_forward", ("np.maximum(x, 0)", "np.maximum(x, 0, out=x)")),
         "changed in place", public=True, id="relu_forward_maximum_out_x"),
    # each gate mistake gets its own hint, and no other relu hint
    *[case("test_relu_backward", edit("relu_backward", ("(x > 0)", gate)), needle,
           absent=[h for h in RELU_HINTS if h != needle], public=True,
           id=f"relu_backward_mistakes_named_apart-{gate}")
      for gate, needle in RELU_GATES],
    # the rule the text states (0 at exactly x == 0) is checked on its own in the hidden part too
    case("test_relu_backward", RELU_AT_ZERO, "at x = 0", hidden=True,
         id="relu_backward_zero_hidden_check"),
    case("test_relu_forward", library("relu_forward", "cl.layers.relu_forward(x)"),
         "must be your own implementation", "relu_forward", id="relu_forward_library_only"),
    case("test_relu_backward", library("relu_backward", "cl.layers.relu_backward(dout, cache)"),
         "must be your own implementation", "relu_backward", id="relu_backward_library_only"),
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# affine
# --------------------------------------------------------------------------------------------
AF, AB = "test_affine_forward", "test_affine_backward"


def ab(old, new):
    return edit("affine_backward", (old, new))


CASES += [
    case(AF, edit("affine_forward", ("out = x.reshape(x.shape[0], -1) @ w + b",
                                     "x = x.reshape(x.shape[0], -1)\n    out = x @ w + b")),
         "original shape", id="affine_forward_caches_flat_x"),
    case(AF, edit("affine_forward", ("-1) @ w + b", "-1) @ w")), "bias missing",
         absent=["flatten", "order"], public=True,
         id="affine_forward_without_bias_is_told_about_the_bias"),
    case(AF, edit("affine_forward", ("x.reshape(x.shape[0], -1)",
                                     "np.moveaxis(x, 1, -1).reshape(len(x), -1)")),
         "flattened in another order", absent=["bias"], public=True,
         id="affine_forward_channels_last_flatten_is_named"),
    case(AB, ab("dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T"), "not reshaped back",
         id="affine_dx_not_reshaped"),
    case(AB, ab("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"), "db averaged over the batch",
         absent=["one example"], public=True, id="affine_db_mean_not_sum"),
    case(AB, ab("dw = x_flat.T @ dout", "dw = x_flat.T @ dout / len(x)"),
         "dw averaged over the batch", absent=["one example"], public=True,
         id="affine_dw_mean_not_sum"),
    case(AB, ab("dw = x_flat.T @ dout", "dw = dout.T @ x_flat"), "not dout.T @ x_flat",
         public=True, id="affine_dw_transposed"),
    case(AB, ab("dw = x_flat.T @ dout", "dw = np.outer(x_flat[-1], dout[-1])"),
         "summed over the batch", id="affine_dw_one_example"),
    case(AF, library("affine_forward", "cl.layers.affine_forward(x, w, b)"),
         "must be your own implementation", "affine_forward", id="affine_forward_library_only"),
    case(AB, library("affine_backward", "cl.layers.affine_backward(dout, cache)"),
         "must be your own implementation", "affine_backward", id="affine_backward_library_only"),
]  # fmt: skip


@pytest.mark.parametrize("test_id, overrides, needles, absent, options", CASES)
def test_mistake_is_named(test_id, overrides, needles, absent, options):
    message = fails(test_id, overrides, *needles, **options)
    assert not [a for a in absent if a in hint_of(message)], message


def test_affine_forward_no_flatten():
    exc = run_test_cell(NB, AF, edit("affine_forward", ("x.reshape(x.shape[0], -1) @ w", "x @ w")))
    # a (2, 2, 2) @ (4, 3) product cannot work: NumPy's own message says which dimensions clash
    assert isinstance(exc, ValueError) and "mismatch in its core dimension" in str(exc), exc


@pytest.mark.parametrize(
    "name",
    ["numerical_gradient", "relu_forward", "relu_backward", "affine_forward", "affine_backward"],
)
def test_unedited_answer_passes(name):
    """The answer the mutants above edit passes: each mistake differs from it in one place."""
    assert_passes(NB, f"test_{name}", {name: answer_source(NB, name)})
