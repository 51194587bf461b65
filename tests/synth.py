# ruff: noqa: E501 - the notebook source keeps nbgrader headers on one line
"""A tiny synthetic assignment and helpers to build submissions and courses for the grader tests."""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path

import nbformat

from autograde import cells
from autograde.build.release import to_notebook
from autograde.cells import HIDDEN

ASSIGNMENT = "91-synth"
MAX_SCORE = 10.0
SYNTH_PY = r'''
# %% [markdown]
# # Synthetic assignment

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

# %% nbgrader={"grade": false, "grade_id": "square", "locked": false, "schema_version": 3, "solution": true, "task": false}
def square(x):
    """Square every element."""
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=float) ** 2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_square", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

T.assert_allclose(square(np.array([1.0, 2.0])), np.array([1.0, 4.0]), name="square([1, 2])")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(0)
x = rng.standard_normal((3, 4))
T.assert_allclose(square(x), x * x, name="square(random)")  # SECRET_HIDDEN_MARKER
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "correlate1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def correlate1d(x, k):
    """Valid 1-D cross-correlation with loops."""
    ### BEGIN SOLUTION
    n = len(x) - len(k) + 1
    return np.array([float(np.dot(x[i : i + len(k)], k)) for i in range(n)])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_correlate1d", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

with T.forbid_calls("numpy.convolve", "numpy.correlate", "scipy.signal", "__main__.square",
                    exercise="correlate1d"):  # fmt: skip
    out = correlate1d(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, -1.0]))
T.assert_allclose(out, [-1.0, -1.0, -1.0], name="correlate1d")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(1)
x, k = rng.standard_normal(9), rng.standard_normal(3)
with T.forbid_calls("numpy.convolve", "numpy.correlate", "scipy.signal", "__main__.square",
                    exercise="correlate1d"):  # fmt: skip
    out = correlate1d(x, k)
T.assert_allclose(out, np.correlate(x, k, mode="valid"), name="correlate1d(random)")
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "sgd_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_step(params, grads, lr):
    """Update every array of params in place: p -= lr * g."""
    ### BEGIN SOLUTION
    for name, p in params.items():
        p -= lr * grads[name]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "run_steps", "locked": false, "schema_version": 3, "solution": true, "task": false}
def run_steps(params, grad_fn, lr, n, rng):
    """Take n SGD steps with gradients from grad_fn(params); return losses; shuffle with rng."""
    ### BEGIN SOLUTION
    losses = []
    for _ in range(n):
        loss, grads = grad_fn(params)
        sgd_step(params, grads, lr)
        losses.append(loss)
    rng.permutation(3)
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import cnnlab.testing as T

params = {"w": np.array([1.0, 2.0])}
with T.in_place(params):
    sgd_step(params, {"w": np.array([1.0, 1.0])}, 0.5)
T.assert_allclose(params["w"], [0.5, 1.5], name="w after one step")
### BEGIN HIDDEN TESTS
params = {"w": np.array([3.0])}
rng = np.random.default_rng(5)
with T.in_place(params, rng):
    losses = run_steps(params, lambda p: (float(p["w"][0] ** 2), {"w": 2 * p["w"]}), 0.25, 3, rng)
T.assert_allclose(losses, [9.0, 2.25, 0.5625], name="losses")
T.assert_allclose(params["w"], [0.375], name="w after 3 steps")
ref = np.random.default_rng(5)
ref.permutation(3)
T.assert_equal(int(rng.integers(1000)), int(ref.integers(1000)), name="rng state")
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "Counter", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Counter:
    """Count calls of step(); stop after patience steps without improvement."""

    def __init__(self, patience):
        ### BEGIN SOLUTION
        self.patience = patience
        self.best = float("inf")
        self.bad = 0
        ### END SOLUTION

    def step(self, loss):
        ### BEGIN SOLUTION
        if loss < self.best:
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        return self.bad >= self.patience
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_Counter", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import cnnlab.testing as T

c = Counter(patience=2)
stops = [c.step(v) for v in [3.0, 2.0, 2.5, 2.6]]
T.assert_equal(stops, [False, False, False, True], name="stops")
T.assert_allclose([c.best], [2.0], name="best")

# %%
print("a demonstration cell")
demo = square(np.arange(3))

# %% nbgrader={"grade": false, "grade_id": "q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
q1 = 3
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import cnnlab.testing as T

T.assert_equal(q1, 3, name="q1")
'''


@cache
def _source_text_path() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="synth-src-"))
    path = folder / "synth.py"
    path.write_text(SYNTH_PY)
    return path


@cache
def _source_master() -> nbformat.NotebookNode:
    return to_notebook(_source_text_path())


def source_nb() -> nbformat.NotebookNode:
    """The instructor notebook (solutions and hidden tests); a fresh copy each call."""
    return copy.deepcopy(_source_master())


def release_nb(src=None) -> nbformat.NotebookNode:
    """What learners get: solutions replaced by stubs, hidden tests removed."""
    nb = copy.deepcopy(src or source_nb())
    for cell in nb.cells:
        text = HIDDEN.sub("", cell.source)
        cell.source = re.sub(
            r"( *)### BEGIN SOLUTION.*?### END SOLUTION",
            r"\\1# YOUR CODE HERE\n\\1raise NotImplementedError()",
            text,
            flags=re.S,
        )
    return nb


def find(nb, grade_id: str) -> int:
    """Index of the cell with this grade_id."""
    for i, cell in enumerate(nb.cells):
        if cells.grade_id(cell) == grade_id:
            return i
    raise KeyError(grade_id)


def perfect() -> nbformat.NotebookNode:
    """A submission: the release with every answer cell filled in with the solution."""
    src, nb = source_nb(), release_nb()
    for i, cell in enumerate(nb.cells):
        if cells.kind(cell) == "answer":
            nb.cells[i].source = src.cells[i].source
    return nb


def submission(answers: dict | None = None, extra: list | None = None, base=None):
    """A submission: ``answers`` replace answer cells, ``extra`` = [(after_grade_id, code)]."""
    nb = copy.deepcopy(base or perfect())
    for gid, code in (answers or {}).items():
        nb.cells[find(nb, gid)].source = code
    for after, code in reversed(extra or []):
        nb.cells.insert(find(nb, after) + 1, nbformat.v4.new_code_cell(code))
    return nb


def dumps(nb) -> bytes:
    return nbformat.writes(nb).encode()


def make_course(root: Path, students: dict) -> Path:
    """Write DIR/source and DIR/submitted/<student>/<assignment>/synth.ipynb."""
    folder = root / "source" / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_nb(), folder / "synth.ipynb")
    for name, nb in students.items():
        target = root / "submitted" / name / ASSIGNMENT
        target.mkdir(parents=True, exist_ok=True)
        data = nb if isinstance(nb, bytes) else dumps(nb)
        (target / "synth.ipynb").write_bytes(data)
    return root


WRONG_SQUARE = "def square(x):\n    return np.asarray(x, dtype=float)\n"
