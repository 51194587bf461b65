"""Grading speed: ``cnnlab-grade grade --workers 2`` against sequential ``nbgrader autograde``.

Generates a class (default 10 students x every assignment in solutions/): each student solves a
different share of the answer cells (all, every 2nd, every 3rd, none). Then grades it twice from
scratch, in separate course folders:

1. ``cnnlab-grade grade --workers 2`` (sandboxed, test cells judged outside the learner's
   process);
2. ``nbgrader autograde ASSIGNMENT`` for each assignment, one after the other (its default).

Prints both wall-clock times and their ratio (goal: at least 1.8x faster) and how many points
each grader gave in total (they should agree).

    .venv/bin/python benchmarks/bench_grading.py [--students 10] [--assignments 01-convolution ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.build.release import build_source, release  # noqa: E402
from autograde.course.demo import filled  # noqa: E402


def make_class(course: Path, students: int, assignments: list[str]) -> None:
    """source/ and submitted/ for ``students`` learners."""
    build_source(course / "source")
    for folder in list((course / "source").iterdir()):
        if folder.name not in assignments:
            shutil.rmtree(folder)
    rel = course / "release"
    release(rel, only=tuple(assignments))
    for a in assignments:
        src = nbformat.read(next((course / "source" / a).glob("*.ipynb")), 4)
        rnb_path = next((rel / a).glob("*.ipynb"))
        rnb = nbformat.read(rnb_path, 4)
        for s in range(students):
            share = (1, 2, 3, 0)[s % 4]
            nb = filled(rnb, src, every=share) if share else rnb
            target = course / "submitted" / f"student{s:02d}" / a / rnb_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)


def run_cnnlab(course: Path, workers: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "autograde.course.cli", "grade", "--course-dir", str(course)]
        + ["--workers", str(workers), "--no-progress", "--timeout", "120"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    with open(course / "grades.csv", newline="") as f:
        total = sum(float(r["score"]) for r in csv.DictReader(f))
    return seconds, total


def run_nbgrader(course: Path, assignments: list[str]) -> tuple[float, float]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    base = [sys.executable, "-m", "nbgrader"]
    for a in assignments:  # populate the gradebook (not timed)
        subprocess.run(
            base + ["generate_assignment", a, "--force", "--log-level=ERROR"],
            check=True,
            cwd=course,
            env=env,
            capture_output=True,
        )
    t0 = time.perf_counter()
    for a in assignments:
        subprocess.run(
            base + ["autograde", a, "--force", "--log-level=ERROR"],
            check=True,
            cwd=course,
            env=env,
            capture_output=True,
        )
    seconds = time.perf_counter() - t0
    from nbgrader.api import Gradebook

    old = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    import warnings

    warnings.simplefilter("ignore")
    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            total = sum(gb.find_submission(a, s.id).score for a in assignments for s in gb.students)
    finally:
        os.environ["PATH"] = old
    return seconds, total


def main() -> int:
    from autograde.build.release import solution_sources

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    assignments = args.assignments or list(solution_sources())
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "cnnlab", Path(tmp) / "nbgrader"
        make_class(ours, args.students, assignments)
        shutil.copytree(ours, theirs)
        n = args.students * len(assignments)
        print(f"class: {args.students} students x {len(assignments)} notebooks = {n}", flush=True)
        t_ours, p_ours = run_cnnlab(ours, args.workers)
        print(f"cnnlab-grade --workers {args.workers}: {t_ours:8.1f} s  ({p_ours:g} points)")
        t_nb, p_nb = run_nbgrader(theirs, assignments)
        print(f"nbgrader autograde (sequential): {t_nb:8.1f} s  ({p_nb:g} points)")
        print(f"ratio: {t_nb / t_ours:.2f}x (goal >= 1.8x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
