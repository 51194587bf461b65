"""The real course notebooks through cnnlab-grade: solutions get every point, the release none.

Slow (every notebook runs twice in a sandbox, a few minutes on 2 cores): marked ``slow`` and run
only with ``CNNLAB_GRADE_SLOW=1``.
"""

from __future__ import annotations

import os

import nbformat
import pytest

from autograde.build.release import solution_sources
from autograde.config import ROOT
from autograde.course import grade
from autograde.course.demo import filled

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CNNLAB_GRADE_SLOW"), reason="set CNNLAB_GRADE_SLOW=1 to run"
    ),
]


def test_solutions_score_full_marks_and_the_release_zero(tmp_path):
    course = tmp_path / "course"
    sources = grade.find_sources(course)
    assert set(sources) == set(solution_sources())
    for assignment, path in sources.items():
        src = nbformat.read(path, 4)
        released = ROOT / "notebooks" / assignment / path.name
        for student, nb in (("solutions", src), ("blank", None), ("filled", None)):
            if nb is None and not released.exists():
                continue
            if student == "blank":
                nb = nbformat.read(released, 4)
            elif student == "filled":
                nb = filled(nbformat.read(released, 4), src)
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / path.name)
    rows = grade.run(course, workers=2, options={"timeout": 120.0}, progress=False)
    for row in rows:
        if row["status"] == "missing":
            continue
        failed = [(t["grade_id"], t["message"][:200]) for t in row["tests"] if not t["passed"]]
        if row["student"] == "blank":
            assert row["score"] == 0, (row["assignment"], row["reason"])
        else:
            assert row["score"] == row["max_score"], (row["assignment"], failed, row["reason"])
            assert row["status"] == "ok" and row["flags"] == [], row
    # the class report of this real class agrees with its grades.csv
    from autograde.course import report

    by_assignment = report.load(course)
    for assignment, assignment_rows in by_assignment.items():
        summary = report.summarise(assignment_rows)
        graded = [r for r in rows if r["assignment"] == assignment and r["status"] != "missing"]
        assert sorted(summary["scores"]) == sorted(r["score"] for r in graded), assignment
