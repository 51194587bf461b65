"""Run the real notebooks: solutions pass every graded cell within budget, stubs fail every one.

Budgets are in seconds for the whole notebook, kernel start included, on a 2-core machine. Issue
19 asks each notebook to run in under 30 s on a quiet machine: ``benchmarks/notebook_time.py``
measures it as this test does (2026-12-02, AMD EPYC, three quiet rounds: 01 16-17, 02 16-19,
03 23-24, 04 24-26, 05 16-19, 06 18-23 s; the same code varies by up to 30 % between runs on this
VM). The budgets leave room for ``make test``, which runs the grader's tests on the other core
meanwhile.
"""

from __future__ import annotations

import pytest

from autograde.build.execute import run_notebook
from autograde.build.release import build_source, solution_sources
from autograde.config import ROOT

BUDGET = {
    "01-convolution": 30,
    "02-layers": 40,
    "03-training": 60,
    "04-hyperparameters": 60,
    "05-visualization": 60,
    "06-beyond-classification": 60,
}
TEST_CELL_BUDGET = {"01-convolution": 5, "02-layers": 5}
ASSIGNMENTS = sorted(solution_sources())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("source")
    return {p.parent.name: p for p in build_source(out)}


@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_passes_every_graded_cell_within_budget(assignment, built, monkeypatch):
    monkeypatch.setenv("CNNLAB_CHECK_CLAIMS", "1")  # every number the prose quotes is checked
    result = run_notebook(built[assignment], timeout=BUDGET[assignment])
    failed = [f"{c.grade_id}: {c.message}" for c in result.cells if not c.passed]
    assert result.cells, "no graded cells found"
    assert not failed, "graded cells failed:\n" + "\n".join(failed)
    assert not result.demo_errors, "demonstration cells failed:\n" + "\n".join(result.demo_errors)
    assert result.seconds < BUDGET[assignment], (
        f"{assignment} took {result.seconds:.1f} s, budget {BUDGET[assignment]} s"
    )
    limit = TEST_CELL_BUDGET.get(assignment)
    if limit:
        slow = {k: round(v, 2) for k, v in result.cell_seconds.items() if k.startswith("test_")}
        slow = {k: v for k, v in slow.items() if v > limit}
        assert not slow, f"test cells over {limit} s: {slow}"


@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_fails_every_graded_cell_on_the_stubs(assignment):
    stem = solution_sources()[assignment].stem
    student = ROOT / "notebooks" / assignment / f"{stem}.ipynb"
    result = run_notebook(student, timeout=120, grading=True)
    passed = [c.grade_id for c in result.cells if c.passed]
    assert result.cells, "no graded cells found"
    assert not passed, f"graded cells pass on the unanswered stubs: {passed}"
