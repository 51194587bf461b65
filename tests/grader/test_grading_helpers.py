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
