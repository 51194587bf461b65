"""The grader writes back only what a test declares, and no check goes lenient for it.

The grader runs the learner's function in another process and copies back the post-call state
of an argument only when the test cell named it in a ``T.in_place(...)`` block (an optimiser
step updates ``params``; a function that must leave ``x`` alone is checked on ``x``). Test cells
here run with that rule (``nbtools.GRADED``). Two things must hold for every graded function:

- the solution passes its test cell under the rule (``test_every_notebook`` runs that);
- a function that answers right and then scribbles over its inputs (zeroed arrays, a generator
  that moved on, a model zeroed and switched to the other mode) fails under the rule wherever a
  check *of one of its arguments* (an array it was given, an entry of a dict or list it was
  given, a parameter of a model it was given; not one it returned) catches it when the test
  and the function share their objects, as in a notebook, and with the same message. Such a
  check that the test forgot to declare would pass it, or leave it to a later check that names
  another mistake.

A test that fails the scribbler only because it reuses a spoiled input for a later case is not
such a check: the grader's copies protect it, as they should. Checks written with
``T.assert_true`` (a model's mode, a generator's state) are not recognised here; their cells
declare their objects by hand.
"""

from __future__ import annotations

import pytest
from nbtools import SPOIL, graded_functions, run_test_cell

MUTANT = """
{source}

{spoil}

def _reachable(value, found, depth=0):
    import numpy as _np
    if isinstance(value, _np.ndarray):
        found.append(value)
    elif depth <= 2 and isinstance(value, dict):
        [_reachable(v, found, depth + 1) for v in value.values()]
    elif depth <= 2 and isinstance(value, (list, tuple)):
        [_reachable(v, found, depth + 1) for v in value]
    elif depth <= 2 and isinstance(getattr(value, "params", None), dict):
        [_reachable(v, found, depth + 1) for v in value.params.values()]


_right_{name} = {name}


def {name}(*args, **kwargs):  # no loop in its own body (T.assert_no_loops reads it)
    out = _right_{name}(*args, **kwargs)
    _reachable((*args, *kwargs.values()), __import__("builtins")._cnnlab_arguments, -1)
    _reachable(out, __import__("builtins")._cnnlab_returned)
    if _spoil_all(args, kwargs, moves=True):
        __import__("builtins")._cnnlab_scribbled = True
    return out
"""

CHECKS = ("assert_allclose", "assert_equal", "assert_shape", "assert_finite", "assert_rel_error")


@pytest.fixture()
def argument_checks(monkeypatch):
    """Note when a failing check's value is one of the arrays the function was given."""
    import builtins

    import cnnlab.testing as T

    builtins._cnnlab_arguments, builtins._cnnlab_returned = [], []
    builtins._cnnlab_argument_failed = False

    def noting(check):
        def run(actual, *args, **kwargs):
            try:
                return check(actual, *args, **kwargs)
            except AssertionError:
                returned = any(actual is a for a in builtins._cnnlab_returned)
                if not returned and any(actual is a for a in builtins._cnnlab_arguments):
                    builtins._cnnlab_argument_failed = True
                raise

        return run

    for name in CHECKS:
        monkeypatch.setattr(T, name, noting(getattr(T, name)))
    yield builtins
    del builtins._cnnlab_arguments, builtins._cnnlab_returned, builtins._cnnlab_argument_failed


@pytest.mark.parametrize(
    "assignment, name, source", [pytest.param(*f, id=f"{f[0]}-{f[1]}") for f in graded_functions()]
)
def test_a_check_of_the_arguments_is_declared(assignment, name, source, argument_checks):
    """A check of an argument that catches a scribbling function with shared objects catches it
    under the grader's rule too."""
    builtins = argument_checks
    builtins._cnnlab_scribbled = False
    mutant = {name: MUTANT.format(spoil=SPOIL, source=source, name=name)}
    shared = run_test_cell(assignment, f"test_{name}", mutant, graded=False)
    if not builtins._cnnlab_scribbled:
        pytest.skip(f"no call of {name} here gets an argument to scribble over")
    if shared is None or not builtins._cnnlab_argument_failed:
        return  # no check of an argument after the call: nothing to declare
    graded = run_test_cell(assignment, f"test_{name}", mutant)
    said = str(graded).splitlines()[0] if graded is not None else "nothing: it passes"
    assert said == str(shared).splitlines()[0], (
        f"test_{name} checks an argument of {name} after the call and catches a {name} that "
        f"scribbles over it ({str(shared)[:300]}), but as the grader runs it, it says {said!r}: "
        "name the argument in T.in_place(...) around the call"
    )
