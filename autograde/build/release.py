"""Build the student release from ``solutions/``: the one source of truth.

``solutions/NN-topic/topic.py`` (jupytext percent format with nbgrader metadata in the cell
headers) becomes ``build/source/NN-topic/topic.ipynb`` with deterministic cell ids, then
``nbgrader generate_assignment`` turns that into ``notebooks/NN-topic/topic.ipynb``: solutions
replaced by stubs, hidden tests removed, outputs cleared, checksums computed.

Run ``python -m autograde.build.release [OUT_DIR]`` (``make release`` does). Running it twice gives
byte-identical notebooks.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from autograde import cells
from autograde.config import ROOT

SOLUTIONS = ROOT / "solutions"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def solution_sources(solutions_dir: Path = SOLUTIONS) -> dict[str, Path]:
    """Map each assignment id present in ``solutions/`` to its percent-format source file."""
    found = {}
    for folder in sorted(p for p in solutions_dir.iterdir() if p.is_dir()):
        sources = sorted(folder.glob("*.py"))
        if len(sources) != 1:
            raise ValueError(f"{folder} must hold exactly one notebook source, found {sources}")
        found[folder.name] = sources[0]
    return found


def _cell_id(cell, index: int, used: set[str]) -> str:
    """A stable id: the nbgrader grade_id, else a hash of the cell's type and source."""
    grade_id = cells.grade_id(cell)
    if grade_id:
        base = grade_id
    else:
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
        base = f"{cell.cell_type[:2]}-{digest[:10]}"
    cell_id, n = base, 1
    while cell_id in used:
        n += 1
        cell_id = f"{base}-{n}"
    used.add(cell_id)
    return cell_id


def to_notebook(source: Path) -> nbformat.NotebookNode:
    """Read a percent-format source into a notebook with deterministic ids and metadata."""
    nb = jupytext.read(source, fmt="py:percent")
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell.id = _cell_id(cell, index, used)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("lines_to_next_cell", None)
    nb.metadata = nbformat.NotebookNode(
        kernelspec=KERNELSPEC,
        language_info={"name": "python"},
    )
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def build_source(out_dir: Path, solutions_dir: Path = SOLUTIONS) -> list[Path]:
    """Write ``out_dir/<assignment>/<topic>.ipynb`` for every solution source."""
    written = []
    for assignment, source in solution_sources(solutions_dir).items():
        target = out_dir / assignment / f"{source.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(to_notebook(source), target)
        written.append(target)
    return written


def release(
    out_dir: Path, solutions_dir: Path = SOLUTIONS, only: tuple[str, ...] = ()
) -> list[Path]:
    """Generate the student notebooks into ``out_dir`` (replacing those folders there).

    ``only`` limits the release to the assignment ids it names.
    """
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        build_source(course / "source", solutions_dir)
        for assignment in solution_sources(solutions_dir):
            if only and assignment not in only:
                shutil.rmtree(course / "source" / assignment)
                continue
            cmd = [
                sys.executable,
                "-m",
                "nbgrader",
                "generate_assignment",
                assignment,
                "--no-db",
                "--force",
                "--log-level=WARN",
                f"--CourseDirectory.root={course}",
                "--CourseDirectory.source_directory=source",
                "--CourseDirectory.release_directory=release",
            ]
            done = subprocess.run(cmd, cwd=course, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"nbgrader failed on {assignment}:\n{done.stderr}")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for folder in sorted((course / "release").iterdir()):
            target = out_dir / folder.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target)
            written.extend(sorted(target.glob("*.ipynb")))
        return written


def main(argv: list[str] | None = None) -> int:
    """``python -m autograde.build.release [--out DIR] [ASSIGNMENT ...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out_dir = ROOT / "notebooks"
    if "--out" in argv:
        at = argv.index("--out")
        out_dir = Path(argv[at + 1])
        del argv[at : at + 2]
    build_source(ROOT / "build" / "source")
    for path in release(out_dir, only=tuple(argv)):
        print(f"released {path.relative_to(out_dir.parent) if out_dir.is_absolute() else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
