# ruff: noqa: E501
"""T.assert_no_loops under the grader: the judge reads the submission's cells, not the sandbox."""

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

# %% nbgrader={"grade": false, "grade_id": "row_sums", "locked": false, "schema_version": 3, "solution": true, "task": false}
def row_sums(x):
    """Sum of every row, without loops."""
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=float).sum(axis=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_row_sums", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

T.assert_allclose(row_sums(np.array([[1.0, 2.0], [3.0, 4.0]])), [3.0, 7.0], name="row_sums")
T.assert_no_loops("row_sums", rule="row_sums must not loop")
'''

LOOP = "def row_sums(x):\n    return np.array([sum(r) for r in x], dtype=float)\n"
# The sandbox is the learner's process: what it says about its own code is not trusted. Here
# the learner's process rewrites the check's module; the judge reads the submission anyway.
PATCHED = LOOP + (
    "import cnnlab.sources as s\n"
    "s.data_loops = lambda node: []\n"
    "s.set_provider(lambda: ['def row_sums(x):\\n    return x.sum(axis=1)\\n'])\n"
)


@cache
def _source() -> nbformat.NotebookNode:
    path = Path(tempfile.mkdtemp(prefix="loops-src-")) / "loops.py"
    path.write_text(SOURCE)
    return to_notebook(path)


def _grade(answer: str | None) -> dict:
    nb = copy.deepcopy(_source())
    if answer is not None:
        for cell in nb.cells:
            if cells.grade_id(cell) == "row_sums":
                cell.source = answer
    result = grade_notebook(_source(), nbformat.writes(nb).encode(), {"timeout": 20.0})
    assert result["status"] == "ok", result
    return result["tests"][0]


def test_a_loop_free_answer_passes():
    test = _grade(None)
    assert test["points"] == 1, test["message"]


@pytest.mark.parametrize("answer", [LOOP, PATCHED], ids=["loop", "loop-and-patched-check"])
def test_a_loop_fails_under_the_grader(answer):
    test = _grade(answer)
    assert test["points"] == 0
    assert "row_sums must not loop, but your function loops over the data" in test["message"]
