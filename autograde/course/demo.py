"""``cnnlab-grade demo``: build a demo class from solutions/ and the release, grade it, print it.

Learners of the demo class:

- ``perfect``: every answer cell filled with the solution, all assignments;
- ``blank``: the release as handed out, all assignments;
- ``partial``: every other answer cell solved, all assignments;
- broken submissions of one assignment (cheap to run): an infinite loop, a kernel that exits,
  a memory bomb, a fork bomb, warnings on stderr, stripped metadata, invalid JSON, and a
  monkeypatch of ``numpy.testing`` / ``cnnlab.testing`` (flagged, scored as its honest code);
- late work on that assignment, with correct answers: ``late``, submitted 30 hours after the
  due date (2 started days: 20 % off under the demo's rule), and ``extended``, submitted at the
  same time with a 2-day extension (on time, no penalty).

The class has a ``course.toml`` (:data:`POLICY`): every assignment is due at :data:`DUE`, 10 %
per started day late, at most 50 %, zero after 7 days. Every submission carries a submission
time as ``collect`` records one from an LMS archive: a day before the due date, except the two
late ones. The demo grades with a 30 s cell timeout so that the infinite loop costs little.
"""

from __future__ import annotations

import copy
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import nbformat

from autograde import cells
from autograde.build.release import release
from autograde.config import ROOT
from autograde.course import grade
from autograde.course.feedback import summary_table
from autograde.course.policy import CONFIG, record_time

BROKEN = {
    "loop": "while True:\n    pass\n",
    "exits": "import os\nos._exit(1)\n",
    "memory": "hog = bytearray(16 << 30)\n",
    "forks": "import os\nfor _ in range(1000):\n    os.fork()\n",
    "stderr": "import sys, warnings\nwarnings.warn('a warning')\nprint('noise', file=sys.stderr)\n",
    "tamper": "import numpy as np\nimport cnnlab.testing as T\n"
    "np.testing.assert_allclose = lambda *a, **k: None\nT.assert_allclose = lambda *a, **k: None\n",
}
DUE = datetime(2026, 10, 9, 23, 59)  # every assignment's due date (UTC)
LATE = {"late": timedelta(hours=30), "extended": timedelta(hours=30)}  # after the due date
POLICY = """# the demo class's late policy (docs/grading.md, "Due dates and late submissions")
timezone = "UTC"

[late]
rule = "per-day"
per_day = 0.10
cap = 0.50
cutoff = "7d"
grace = "15m"

[extensions]
extended = {{ "{cheap}" = "2d" }}
{due}"""


def filled(release_nb, source_nb, every: int = 1):
    """The release with answer cells taken from the source (every ``every``-th one)."""
    solutions = {cells.grade_id(c): c.source for c in source_nb.cells if cells.grade_id(c)}
    nb = copy.deepcopy(release_nb)
    n = 0
    for cell in nb.cells:
        if cells.kind(cell) == "answer" and cells.grade_id(cell) in solutions:
            if n % every == 0:
                cell.source = solutions[cells.grade_id(cell)]
            n += 1
    return nb


def _with_cell(nb, code: str):
    nb = copy.deepcopy(nb)
    at = next(i for i, c in enumerate(nb.cells) if cells.kind(c) == "answer")
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(code))
    for i, cell in enumerate(nb.cells):
        cell.id = f"demo-{i}"
    return nb


def build(course: Path) -> list[str]:
    """Write the demo class into ``course``; return the assignments it covers."""
    if course.exists():
        shutil.rmtree(course)
    sources = grade.find_sources(course)
    release_dir = ROOT / "notebooks"
    if not all((release_dir / a).is_dir() for a in sources):
        release_dir = course / "release"
        release(release_dir)
    releases = {a: next((release_dir / a).glob("*.ipynb")) for a in sources}
    src_nbs = {a: nbformat.read(p, 4) for a, p in sources.items()}
    rel_nbs = {a: nbformat.read(p, 4) for a, p in releases.items()}

    def put(student, assignment, data):
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        if not isinstance(data, bytes):
            data = nbformat.writes(data).encode()
        (folder / sources[assignment].name).write_bytes(data)
        when = DUE + LATE.get(student, timedelta(days=-1))
        record_time(folder, when, "archive", f"{student}_{sources[assignment].name}")

    for a in sources:
        put("perfect", a, filled(rel_nbs[a], src_nbs[a]))
        put("blank", a, rel_nbs[a])
        put("partial", a, filled(rel_nbs[a], src_nbs[a], every=2))
    cheap = "02-layers" if "02-layers" in sources else sorted(sources)[0]
    good = filled(rel_nbs[cheap], src_nbs[cheap])
    for name, code in BROKEN.items():
        put(name, cheap, _with_cell(good, code))
    stripped = copy.deepcopy(good)
    for cell in stripped.cells:
        cell.metadata.pop("nbgrader", None)
    put("stripped", cheap, stripped)
    put("badjson", cheap, b'{"cells": [')
    for student in LATE:
        put(student, cheap, good)
    due = "".join(f"\n[assignments.{a}]\ndue = {DUE.isoformat()}\n" for a in sources)
    (course / CONFIG).write_text(POLICY.format(cheap=cheap, due=due), encoding="utf-8")
    return list(sources)


def demo(folder: Path | None = None, workers: int | None = None) -> int:
    """Build and grade the demo class; print the table."""
    course = Path(folder or ROOT / "demo-class").resolve()
    t0 = time.perf_counter()
    assignments = build(course)
    print(f"demo class in {course}: {len(assignments)} assignments")
    rows = grade.run(course, workers=workers, options={"timeout": 30.0})
    rows = [r for r in rows if r["status"] != "missing"]
    print(summary_table(rows))
    print(f"\ngraded {len(rows)} notebooks in {time.perf_counter() - t0:.0f} s; see")
    print(f"{course / 'grades.csv'} and {course / 'feedback'}")
    from autograde.course.export import canvas_csv
    from autograde.course.report import write_report

    print(f"class report: {write_report(course)}")
    canvas = course / "canvas-grades.csv"
    canvas_csv(course, canvas, None, {})
    print(f"Canvas gradebook import: {canvas}")
    return 0
