# ruff: noqa: E501 - the notebook source keeps nbgrader headers on one line
"""Each exercise is graded on its own: a bug in a helper exercise costs that exercise only.

A test cell opens ``T.reference_helpers(name=reference)``; the grader then rebinds ``name`` in
the learner's process for the calls made inside the block, the reference running in the judge.
A helper that calls a forbidden library is named in the message of the exercise that used it.
"""

from __future__ import annotations

import copy
import tempfile
from functools import cache
from pathlib import Path

import nbformat
import pytest

from autograde import cells
from autograde.build.release import to_notebook
from autograde.judge import grade_notebook

SOURCE = r'''
# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

# %% nbgrader={"grade": false, "grade_id": "pair_sums", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pair_sums(x):
    """Sums of neighbouring elements."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    return x[1:] + x[:-1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pair_sums", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

with T.forbid_calls("numpy.convolve", exercise="pair_sums"):
    out = pair_sums(np.array([1.0, 2.0, 4.0]))
T.assert_allclose(out, [3.0, 6.0], name="pair_sums")

# %% nbgrader={"grade": false, "grade_id": "smooth", "locked": false, "schema_version": 3, "solution": true, "task": false}
def smooth(x):
    """Means of neighbouring elements, through pair_sums."""
    ### BEGIN SOLUTION
    return pair_sums(x) / 2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_smooth", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

ref = lambda x: np.convolve(np.asarray(x, dtype=float), [1.0, 1.0], mode="valid")
with T.forbid_calls("numpy.convolve", exercise="smooth"), T.reference_helpers(pair_sums=ref):
    out = smooth(np.array([1.0, 2.0, 4.0]))
T.assert_allclose(out, [1.5, 3.0], name="smooth")

# %% nbgrader={"grade": false, "grade_id": "total", "locked": false, "schema_version": 3, "solution": true, "task": false}
def total(x):
    """Sum of pair_sums (graded without a reference helper)."""
    ### BEGIN SOLUTION
    return float(np.sum(pair_sums(x)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_total", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

with T.forbid_calls("numpy.convolve", exercise="total"):
    out = total(np.array([1.0, 2.0, 4.0]))
T.assert_allclose(out, 9.0, name="total")
'''

WRONG = "def pair_sums(x):\n    return np.asarray(x, dtype=float)[1:]\n"
LIBRARY = "def pair_sums(x):\n    return np.convolve(x, [1.0, 1.0], mode='valid')\n"


@cache
def _source() -> nbformat.NotebookNode:
    path = Path(tempfile.mkdtemp(prefix="helpers-src-")) / "helpers.py"
    path.write_text(SOURCE)
    return to_notebook(path)


def _submission(pair_sums: str) -> bytes:
    nb = copy.deepcopy(_source())
    for cell in nb.cells:
        if cells.grade_id(cell) == "pair_sums":
            cell.source = pair_sums
    return nbformat.writes(nb).encode()


def _grade(pair_sums: str) -> dict[str, dict]:
    result = grade_notebook(_source(), _submission(pair_sums), {"timeout": 20.0})
    assert result["status"] == "ok", result
    return {t["grade_id"]: t for t in result["tests"]}


@pytest.mark.parametrize("answer", [WRONG, LIBRARY], ids=["wrong", "library"])
def test_a_helper_bug_costs_the_helper_only(answer):
    tests = _grade(answer)
    assert tests["test_pair_sums"]["points"] == 0
    assert tests["test_smooth"]["points"] == 2, tests["test_smooth"]["message"]


def test_a_forbidden_call_names_the_helper_that_made_it():
    tests = _grade(LIBRARY)
    assert "pair_sums must be your own implementation" in tests["test_pair_sums"]["message"]
    message = tests["test_total"]["message"]
    assert tests["test_total"]["points"] == 0
    assert "called numpy.convolve via your pair_sums" in message, message


# --------------------------------------------------------------------------------------------
# A cnnlab function as the reference runs in the learner's process; its own calls are excused
# --------------------------------------------------------------------------------------------

LIBRARY_SOURCE = r'''
# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

# %% nbgrader={"grade": false, "grade_id": "sgd_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_step(params, grads, lr):
    """params[k] -= lr * grads[k], in place."""
    ### BEGIN SOLUTION
    for k, p in params.items():
        p -= lr * grads[k]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "descend", "locked": false, "schema_version": 3, "solution": true, "task": false}
def descend(params, grads_list, lr):
    """One sgd_step per gradient dict of grads_list."""
    ### BEGIN SOLUTION
    for grads in grads_list:
        sgd_step(params, grads, lr)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_descend", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab as cl
import cnnlab.testing as T

params = {"w": np.ones(3)}
grads_list = [{"w": np.full(3, 0.5)} for _ in range(400)]
with T.forbid_calls("cnnlab.optim", exercise="descend"), \
     T.reference_helpers(sgd_step=cl.optim.sgd_step), T.in_place(params):  # fmt: skip
    descend(params, grads_list, 0.01)
T.assert_allclose(params["w"], np.full(3, -1.0), name="descend")
'''

CHEATS = {
    "library": "def descend(params, grads_list, lr):\n"
    "    import cnnlab as cl\n"
    "    opt = cl.optim.SGD(params, lr)\n"
    "    for grads in grads_list:\n"
    "        opt.step(grads)\n",
    # the reference calls the learner's object, which calls the library: that call counts
    "through the reference": "class Grads(dict):\n"
    "    def __getitem__(self, k):\n"
    "        import cnnlab as cl\n"
    "        cl.optim.SGD({'x': np.zeros(1)}, 1.0)\n"
    "        return dict.__getitem__(self, k)\n\n"
    "def descend(params, grads_list, lr):\n"
    "    for grads in grads_list:\n"
    "        sgd_step(params, Grads(grads), lr)\n",
}


@cache
def _library_source() -> nbformat.NotebookNode:
    path = Path(tempfile.mkdtemp(prefix="library-src-")) / "library.py"
    path.write_text(LIBRARY_SOURCE)
    return to_notebook(path)


def _grade_library(**answers: str) -> dict:
    nb = copy.deepcopy(_library_source())
    for cell in nb.cells:
        if cells.grade_id(cell) in answers:
            cell.source = answers[cells.grade_id(cell)]
    result = grade_notebook(_library_source(), nbformat.writes(nb).encode(), {"timeout": 20.0})
    assert result["status"] == "ok", result
    return next(t for t in result["tests"] if t["grade_id"] == "test_descend")


@pytest.mark.parametrize("sgd_step", [None, WRONG.replace("pair_sums(x)", "sgd_step(*a)")])
def test_a_library_reference_is_not_a_forbidden_call(sgd_step):
    """cl.optim.sgd_step lives in the forbidden cnnlab.optim: its calls are the test's."""
    test = _grade_library(**({"sgd_step": sgd_step} if sgd_step else {}))
    assert test["points"] == 2, test["message"]


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_learner_code_still_counts_inside_a_library_reference(cheat):
    test = _grade_library(descend=CHEATS[cheat])
    assert test["points"] == 0
    assert "descend must be your own implementation" in test["message"], test["message"]
    assert "cnnlab.optim" in test["message"]
