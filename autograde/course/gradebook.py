"""Write results into nbgrader's gradebook (SQLite by default, any SQLAlchemy URL).

Only the grading parent process calls this, one result at a time, each in its own commit, so
parallel workers can never corrupt the database or lose a grade. Writing the same result again
sets the same scores (regrading is idempotent).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings

from nbgrader.api import Gradebook

from autograde import cells

_DRIVERS = {"postgresql": ("psycopg", "postgres")}  # URL scheme -> (module, project extra)


def require_driver(db_url: str) -> None:
    """Fail with the install command when the database driver for ``db_url`` is missing."""
    scheme = db_url.split(":", 1)[0].split("+", 1)
    module = scheme[1] if len(scheme) > 1 else _DRIVERS.get(scheme[0], (None,))[0]
    if module and importlib.util.find_spec(module) is None:
        extra = _DRIVERS.get(scheme[0], (None, None))[1]
        how = f"pip install -e '.[{extra}]'" if extra else f"pip install {module}"
        raise SystemExit(
            f"--db {scheme[0]}:// needs the Python driver {module!r}, which is not installed: {how}"
        )


class Book:
    """A thin wrapper creating assignments, notebooks and cells on demand."""

    def __init__(self, db_url: str):
        require_driver(db_url)
        # nbgrader runs the `alembic` script by name: make the one next to this Python findable
        bindir = os.path.dirname(sys.executable)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        self.gb = Gradebook(db_url)
        self._known: set[tuple[str, str]] = set()

    def close(self) -> None:
        self.gb.close()

    def ensure_notebook(self, assignment: str, notebook: str, source_nb) -> None:
        """Create the assignment, notebook, grade cells and solution cells if missing."""
        if (assignment, notebook) in self._known:
            return
        gb = self.gb
        gb.update_or_create_assignment(assignment)
        gb.update_or_create_notebook(notebook, assignment)
        for cell in cells.code_cells(source_nb):
            gid = cells.grade_id(cell)
            if not gid:
                continue
            kind = cells.kind(cell)
            if kind == "test":
                gb.update_or_create_grade_cell(
                    gid, notebook, assignment, max_score=cells.points(cell), cell_type="code"
                )
            elif kind == "answer":
                gb.update_or_create_solution_cell(gid, notebook, assignment)
        gb.db.commit()
        self._known.add((assignment, notebook))

    def record(self, student: str, assignment: str, notebook: str, result: dict) -> None:
        """Store the automatic scores of one graded notebook."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy autoflush chatter inside nbgrader
            self._record(student, assignment, notebook, result)

    def _record(self, student, assignment, notebook, result):
        gb = self.gb
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
        scores = {t["grade_id"]: float(t["points"]) for t in result.get("tests", [])}
        nb = gb.find_submission_notebook(notebook, assignment, student)
        for grade in nb.grades:
            grade.auto_score = scores.get(grade.name, 0.0)
        gb.db.commit()

    def score(self, student: str, assignment: str) -> float:
        """Total score of a submission as the gradebook computes it."""
        return float(self.gb.find_submission(assignment, student).score)
