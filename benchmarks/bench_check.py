"""A learner's self-check against a plain run of the same notebook, per notebook.

For each assignment, a learner who answered everything (the release with the solutions filled
in) is timed twice in this process, one after the other:

1. plain execution: the notebook run top to bottom in a Jupyter kernel, as the learner runs it
   (``autograde.build.execute.run_notebook``, demonstrations at full size);
2. ``cnnlab-grade check NOTEBOOK`` (``autograde.course.check.check``): the sandbox runs the
   learner's cells (demonstrations shrink, as when grading), the judge runs the public tests.

Prints both wall-clock times and their ratio (goal of issue 15: check at most 1.5x the plain
run), with the CPU model and the load average, which the figures depend on.

    .venv/bin/python benchmarks/bench_check.py [--assignments 01-convolution ...] [--repeat 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.build.execute import run_notebook  # noqa: E402
from autograde.build.release import build_source, release, solution_sources  # noqa: E402
from autograde.course.check import check  # noqa: E402
from autograde.course.demo import filled  # noqa: E402


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, best kept")
    args = parser.parse_args()
    assignments = args.assignments or sorted(solution_sources())
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    sources = {p.parent.name: p for p in build_source(work / "source")}
    release(work / "release")
    print(f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'notebook':28s} {'plain run':>10s} {'check':>8s} {'ratio':>6s}")
    for assignment in assignments:
        src = nbformat.read(sources[assignment], 4)
        rel_path = next((work / "release" / assignment).glob("*.ipynb"))
        learner = work / "learner" / assignment / rel_path.name
        learner.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(filled(nbformat.read(rel_path, 4), src), learner)
        plain, checked = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            run_notebook(learner)
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                check(learner, release_dir=work / "release")
            checked.append(time.perf_counter() - t0)
        p, c = min(plain), min(checked)
        print(f"{assignment:28s} {p:9.1f}s {c:7.1f}s {c / p:5.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
