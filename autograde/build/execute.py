"""Execute a notebook in a Jupyter kernel and read off its graded cells, as nbgrader would.

A graded cell passes when it raised no error and wrote nothing to stderr (nbgrader's own rule).
Used by ``make demo`` (``python -m autograde.build.execute``) and by the notebook tests.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograde import cells
from autograde.config import ROOT
from autograde.build.release import build_source


@dataclass
class CellResult:
    """The outcome of one graded test cell."""

    grade_id: str
    points: float
    passed: bool
    message: str = ""


@dataclass
class RunResult:
    """The outcome of one notebook run."""

    path: Path
    seconds: float
    cells: list[CellResult] = field(default_factory=list)
    cell_seconds: dict[str, float] = field(default_factory=dict)
    demo_errors: list[str] = field(default_factory=list)  # "<cell id>: <error>" of other cells
    notebook: nbformat.NotebookNode | None = None

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cells)

    @property
    def score(self) -> float:
        return sum(c.points for c in self.cells if c.passed)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells)


def _failure(outputs) -> str:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return "wrote to stderr: " + out.get("text", "")[:200]
    return ""


@contextlib.contextmanager
def _environ(**values: str | None):
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(path: Path, *, timeout: int = 120, grading: bool = False) -> RunResult:
    """Execute ``path`` top to bottom (errors do not stop it) and grade its test cells.

    Parameters
    ----------
    path : Path
        The notebook to run; it runs in its own folder.
    timeout : int
        Seconds allowed for any single cell.
    grading : bool
        Set ``NBGRADER_EXECUTION=autograde`` so that demonstration cells shrink their budget.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    cell_seconds: dict[str, float] = {}
    start = time.perf_counter()
    env = {
        "NBGRADER_EXECUTION": "autograde" if grading else None,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    with _environ(**env):
        with client.setup_kernel(stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells):
                t0 = time.perf_counter()
                client.execute_cell(cell, index)
                cell_seconds[cell.get("id", str(index))] = time.perf_counter() - t0
    seconds = time.perf_counter() - start
    result = RunResult(path=path, seconds=seconds, cell_seconds=cell_seconds, notebook=nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        message = _failure(cell.get("outputs", []))
        if cells.kind(cell) == "test":
            result.cells.append(
                CellResult(cells.grade_id(cell), cells.points(cell), not message, message)
            )
        elif message:
            result.demo_errors.append(f"{cell.get('id')}: {message}")
    return result


def save_figures(nb: nbformat.NotebookNode, folder: Path) -> list[Path]:
    """Write every PNG output of an executed notebook to ``folder`` (cell index and order)."""
    import base64

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, cell in enumerate(nb.cells):
        pngs = [
            o["data"]["image/png"]
            for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})
        ]
        for k, data in enumerate(pngs):
            path = folder / f"cell{index:03d}_{k}.png"
            path.write_bytes(base64.b64decode(data))
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Run every solution notebook and print graded cells passed and time per notebook.

    Arguments select notebooks by part of their path (``01``); ``--figures DIR`` also writes
    every figure to DIR/<notebook>/cellNNN_K.png to be looked at, and ``--claims`` checks the
    numbers the prose quotes (:func:`cnnlab.claim`).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    figures = None
    if "--figures" in argv:
        at = argv.index("--figures")
        figures = Path(argv[at + 1])
        del argv[at : at + 2]
    if "--claims" in argv:
        argv.remove("--claims")
        os.environ["CNNLAB_CHECK_CLAIMS"] = "1"
    build_dir = ROOT / "build" / "source"
    paths = build_source(build_dir)
    if argv:
        paths = [p for p in paths if any(a in str(p) for a in argv)]
    failed = 0
    print(f"{'notebook':<40} {'graded cells':>13} {'points':>9} {'time':>8}")
    for path in paths:
        res = run_notebook(path)
        failed += len(res.cells) - res.passed
        name = f"{path.parent.name}/{path.name}"
        cells = f"{res.passed}/{len(res.cells)}"
        points = f"{res.score:g}/{res.max_score:g}"
        print(f"{name:<40} {cells:>13} {points:>9} {res.seconds:>7.1f}s", flush=True)
        for cell in res.cells:
            if not cell.passed:
                print(f"    FAILED {cell.grade_id}: {cell.message.splitlines()[0][:120]}")
        for error in res.demo_errors:
            print(f"    ERROR in {error.splitlines()[0][:160]}")
        failed += len(res.demo_errors)
        if figures is not None:
            saved = save_figures(res.notebook, figures / path.parent.name)
            print(f"    {len(saved)} figures in {figures / path.parent.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
