"""A learner's function that corrupts its inputs in place gains nothing, in every test cell.

The mutant of each graded function zeroes every array it is given (top-level arrays, the arrays in
dicts, lists and tuples, and a module's ``params``) and then returns the solution's answer for the
zeroed inputs (where that answer differs from the honest one: an answer that does not depend on the
values, such as a dict of layer names, cannot be spoiled); its second form answers the first call
right and zeroes the inputs after it, so that only the later cases of a test cell see spoiled
objects (a zeroed model, say). A test cell that computed its expected values from the same arrays
after the call (instead of before it, or from copies) would agree with that wrong answer; one that
follows the rule of CONTRIBUTING.md ("compute every reference before the learner's code runs")
fails it. Functions given no array are skipped: there is nothing to corrupt. The test and the
function share every object here, as in a notebook (the grader would copy back only what a test
declares with ``T.in_place``, see test_in_place.py): the rule holds for the declared objects too.
"""

from __future__ import annotations

import builtins

import pytest
from nbtools import SPOIL, graded_functions, run_test_cell

MUTANT = """
{source}

{spoil}

_solution_{name} = {name}


def _same(a, b, depth=0):
    import numpy as _np
    if isinstance(a, _np.ndarray) or isinstance(b, _np.ndarray):
        a, b = _np.asarray(a), _np.asarray(b)
        return a.shape == b.shape and bool(_np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if depth > 3:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(getattr(a, "params", None), dict):
        return _same(a.params, getattr(b, "params", None), depth + 1)
    try:
        return bool(a == b)
    except Exception:
        return True


def _spoiled_answer(args, kwargs):
    # zero the inputs and answer for them; note when that differs from the honest answer
    import copy
    honest = copy.deepcopy((args, kwargs))
    honest_out = _solution_{name}(*honest[0], **honest[1])
    if any([_spoil(a) for a in (*args, *kwargs.values())]):
        out = _solution_{name}(*args, **kwargs)
        if not _same((honest_out, honest), (out, (args, kwargs))):
            __import__("builtins")._cnnlab_corrupted = True
        return out
    return _solution_{name}(*args, **kwargs)


_calls_{name} = [0]


def {name}(*args, **kwargs):
    _calls_{name}[0] += 1
    if _calls_{name}[0] == 1 and {honest_first}:  # first case right, objects spoiled after it
        out = _solution_{name}(*args, **kwargs)
        _spoil_all(args, kwargs)
        return out
    if {corrupt}:
        return _spoiled_answer(args, kwargs)
    return _solution_{name}(*args, **kwargs)
"""


@pytest.mark.parametrize("honest_first", [False, True], ids=["every call", "after the first"])
@pytest.mark.parametrize(
    "assignment, name, source", [pytest.param(*f, id=f"{f[0]}-{f[1]}") for f in graded_functions()]
)
def test_corrupting_the_inputs_gains_nothing(assignment, name, source, honest_first):
    """Zeroing from the first call, or answering the first case right and spoiling the shared
    objects (a model, a dict of arrays) for the cases after it, fails the test cell."""
    builtins._cnnlab_corrupted = False
    control = MUTANT.format(
        spoil=SPOIL, source=source, name=name, corrupt=False, honest_first=False
    )
    assert run_test_cell(assignment, f"test_{name}", {name: control}, graded=False) is None
    mutant = MUTANT.format(
        spoil=SPOIL, source=source, name=name, corrupt=True, honest_first=honest_first
    )
    exc = run_test_cell(assignment, f"test_{name}", {name: mutant}, graded=False)
    if not builtins._cnnlab_corrupted:
        pytest.skip(f"no call of {name} here gets an input whose zeroing changes the answer")
    assert exc is not None, (
        f"test_{name} passed a {name} that zeroes its inputs and answers for the zeroed ones: "
        "some expected value is computed from the learner's arrays after the call"
    )
