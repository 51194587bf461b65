"""Build the course website: ``make site`` (``python -m autograde.build.site``).

The site is a jupyter-book 1.x (Sphinx + myst-nb) build of the whole course, made offline:

1. every ``solutions/NN-topic/topic.py`` becomes its instructor notebook
   (:func:`autograde.build.release.to_notebook`) and is executed in a Jupyter kernel, two at a
   time, longest first (:func:`autograde.build.execute.run_notebook`); an executed notebook is
   cached in ``build/site/cache/`` under a hash of its source and of the ``cnnlab`` package
   (:mod:`autograde.build.site_notebooks`),
   so an unchanged notebook is not run again;
2. :func:`strip` removes what a learner must not see, as ``nbgrader generate_assignment`` does
   (``ClearSolutions``, ``ClearHiddenTests``, ``ClearMarkScheme``), then clears the outputs of
   answer and test cells: the pages show exactly the cells of the student release, plus the
   outputs and figures of the demonstration cells; each notebook is stripped as soon as it
   is executed, and Sphinx is imported while the last ones run;
3. ``site/`` (configuration, landing page, the "run locally" and "get graded" pages) is copied to
   ``build/site/src`` with the notebooks, the table of notebooks on the landing page is written
   from each notebook's introduction (title, time, points), and MathJax 2.7 is copied from the
   ``jupyter-server-mathjax`` package into the site's ``_static/mathjax``: no page loads
   anything from another host;
4. Sphinx reads and writes the pages in ``--jobs`` processes into ``build/site/html`` (open
   ``build/site/html/index.html``); jupyter-book executes nothing.

It prints the wall and CPU seconds of each executed notebook and of each phase.

``python -m autograde.build.site [--out DIR] [--cache DIR] [--jobs N] [--no-cache]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde import cells
from autograde.build.release import solution_sources
from autograde.build.site_notebooks import execute_all
from autograde.config import ROOT

SITE = ROOT / "site"
OUT = ROOT / "build" / "site"
CACHE = OUT / "cache"
MARKER = "<!-- NOTEBOOKS"
CODE_STUB = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}  # nbgrader_config.py


@dataclass
class Page:
    """One notebook of the site, with what its introduction says about it."""

    assignment: str
    docname: str  # "notebooks/01-convolution/convolution"
    title: str
    time: str  # "about 2.5 hours"
    points: str  # "20", "" when the intro box does not say
    seconds: float = 0.0  # execution time (0 when taken from the cache)
    cpu: float = 0.0  # CPU seconds of the execution, kernel included
    cached: bool = False
    errors: tuple[str, ...] = ()


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as released to learners, keeping the demonstration outputs.

    nbgrader's ``ClearSolutions`` (answers become ``raise NotImplementedError()``),
    ``ClearHiddenTests`` and ``ClearMarkScheme``; then the outputs of answer and test cells are
    cleared, since they come from the instructor's answers and hidden tests.
    """
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

    nb = copy.deepcopy(nb)
    resources: dict = {}
    nb, _ = ClearSolutions(code_stub=CODE_STUB).preprocess(nb, resources)
    nb, _ = ClearHiddenTests().preprocess(nb, resources)
    nb, _ = ClearMarkScheme().preprocess(nb, resources)
    for cell in nb.cells:
        if cell.cell_type == "code" and cells.kind(cell) in ("answer", "test"):
            cell.outputs = []
            cell.execution_count = None
    return nb


def intro(nb: nbformat.NotebookNode) -> tuple[str, str, str]:
    """(title, time, points) from a notebook's first markdown cell (its intro box)."""
    text = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    title = re.search(r"^#\s+(.+)$", text, re.M)
    spent = re.search(r"\*\*Time:\*\*\s*(.+?)\.(\s|$)", text, re.S)
    points = re.search(r"\*\*Exercises \((\d+(?:\.\d+)?) points?\):\*\*", text)
    return (
        title.group(1).strip() if title else "",
        " ".join(spent.group(1).split()) if spent else "",
        points.group(1) if points else "",
    )


def notebooks_table(pages: list[Page]) -> str:
    """The landing page's table of notebooks (MyST markdown)."""
    rows = ["| # | notebook | time | points |", "|---|---|---|---:|"]
    for page in pages:
        number, _, name = page.title.partition(" · ")
        if not name:
            number, name = page.assignment[:2], page.title
        link = f"[{name}]({page.docname}.ipynb)"
        rows.append(f"| {number} | {link} | {page.time} | {page.points} |")
    return "\n".join(rows)


def _write(path: Path, data: str | bytes) -> bool:
    """Write only when the content changes, so that Sphinx rebuilds only what changed."""
    raw = data.encode() if isinstance(data, str) else data
    if path.exists() and path.read_bytes() == raw:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return True


def mathjax_dir() -> Path:
    """MathJax 2.7 as shipped by the ``jupyter-server-mathjax`` package."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def write_source(
    src: Path, notebooks: dict[str, nbformat.NotebookNode], sources
) -> tuple[list[Page], bool]:
    """Lay out the jupyter-book source folder ``src``.

    Returns its pages, and whether a file other than a page changed (configuration,
    navigation, style), after which every page must be written again.
    """
    src.mkdir(parents=True, exist_ok=True)
    changed = False
    for path in SITE.rglob("*"):
        if path.is_file():
            written = _write(src / path.relative_to(SITE), path.read_bytes())
            changed |= written and path.suffix != ".md"
    pages = []
    for assignment, nb in notebooks.items():
        docname = f"notebooks/{assignment}/{sources[assignment].stem}"
        _write(src / f"{docname}.ipynb", nbformat.writes(nb) + "\n")
        pages.append(Page(assignment, docname, *intro(nb)))
    keep = {f"{p.docname}.ipynb" for p in pages}
    for old in (src / "notebooks").rglob("*.ipynb"):
        if str(old.relative_to(src)) not in keep:
            old.unlink()
    toc = (SITE / "_toc.yml").read_text()
    toc += "  - caption: Notebooks\n    chapters:\n"
    toc += "".join(f"      - file: {p.docname}\n" for p in pages)
    changed |= _write(src / "_toc.yml", toc)
    index = (SITE / "index.md").read_text()
    lines = [
        notebooks_table(pages) if line.startswith(MARKER) else line for line in index.split("\n")
    ]
    _write(src / "index.md", "\n".join(lines))
    mathjax = src / "_assets" / "mathjax"  # served as _static/mathjax (see _config.yml)
    if not (mathjax / "MathJax.js").exists():
        shutil.copytree(mathjax_dir(), mathjax, dirs_exist_ok=True)
    return pages, changed


def _prepare_sphinx() -> None:
    """Import Sphinx and the extensions (seconds of CPU), and let Sphinx read in parallel.

    ``sphinx_external_toc`` always loads ``sphinx_multitoc_numbering``, which does not declare
    itself parallel-safe, so Sphinx would read the pages one at a time. It only replaces the
    section numbering, which Sphinx runs in the parent process after reading: it is safe.
    """
    import jupyter_book.sphinx  # noqa: F401
    import myst_nb  # noqa: F401
    import sphinx_book_theme  # noqa: F401
    import sphinx_multitoc_numbering

    setup = sphinx_multitoc_numbering.setup
    if not getattr(setup, "parallel_safe", False):

        def parallel_safe_setup(app):
            setup(app)
            return {"parallel_read_safe": True, "parallel_write_safe": True}

        parallel_safe_setup.parallel_safe = True
        sphinx_multitoc_numbering.setup = parallel_safe_setup


def build_html(src: Path, html: Path, doctrees: Path, *, jobs: int = 2) -> None:
    """Run Sphinx through jupyter-book on ``src`` into ``html``, ``jobs`` processes at once."""
    from jupyter_book.sphinx import build_sphinx

    _prepare_sphinx()
    failed = build_sphinx(
        src,
        html,
        noconfig=True,
        path_config=str(src / "_config.yml"),
        confoverrides={"latex_individualpages": False},  # jupyter-book's CLI always sets it
        doctreedir=doctrees,
        quiet=True,
        jobs=jobs,
    )
    if failed:
        raise RuntimeError(f"Sphinx failed: {failed}")


def _clock() -> tuple[float, float]:
    times = os.times()
    cpu = times.user + times.system + times.children_user + times.children_system
    return time.perf_counter(), cpu


def build(
    out: Path = OUT,
    *,
    cache: Path = CACHE,
    jobs: int = 2,
    use_cache: bool = True,
    phases: dict[str, tuple[float, float]] | None = None,
) -> list[Page]:
    """Build the whole site into ``out/html``; returns its notebook pages.

    ``phases`` receives (wall, CPU) seconds of each phase: the notebooks' execution (CPU of the
    kernels and workers), the rest of the CPU meanwhile (starting the workers, stripping the
    notebooks as they come, importing Sphinx), writing the source folder, and Sphinx.
    """
    phases = {} if phases is None else phases
    sources = solution_sources()
    notebooks: dict[str, nbformat.NotebookNode] = {}
    start, cpu = _clock()
    executed = execute_all(
        sources,
        cache,
        jobs=jobs,
        use_cache=use_cache,
        ready=lambda assignment, nb: notebooks.__setitem__(assignment, strip(nb)),
        idle=_prepare_sphinx,
    )
    now, cpu_now = _clock()
    phases["notebooks"] = (now - start, sum(e[2] for e in executed.values()))
    phases["meanwhile: strip, imports"] = (now - start, cpu_now - cpu - phases["notebooks"][1])
    start, cpu = _clock()
    notebooks = {a: notebooks[a] for a in sources}
    pages, changed = write_source(out / "src", notebooks, sources)
    if changed:  # Sphinx does not always notice a changed configuration: start afresh
        shutil.rmtree(out / "doctrees", ignore_errors=True)
        shutil.rmtree(out / "html", ignore_errors=True)
    for page in pages:
        _, page.seconds, page.cpu, page.cached, errors = executed[page.assignment]
        page.errors = tuple(errors)
    now, cpu_now = _clock()
    phases["source folder"] = (now - start, cpu_now - cpu)
    start, cpu = now, cpu_now
    build_html(out / "src", out / "html", out / "doctrees", jobs=max(1, jobs))
    now, cpu_now = _clock()
    phases["sphinx"] = (now - start, cpu_now - cpu)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.build.site", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help="build folder (default build/site)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="executed notebooks' cache")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--no-cache", action="store_true", help="execute every notebook again")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    phases: dict[str, tuple[float, float]] = {}
    pages = build(
        args.out.resolve(),
        cache=args.cache.resolve(),
        jobs=args.jobs,
        use_cache=not args.no_cache,
        phases=phases,
    )
    errors = 0
    for page in pages:
        how = "cached" if page.cached else f"executed in {page.seconds:.0f} s, CPU {page.cpu:.0f} s"
        print(f"{page.docname:<58} {how}")
        for error in page.errors:
            print(f"    ERROR {error.splitlines()[0][:150]}")
        errors += len(page.errors)
    index = args.out.resolve() / "html" / "index.html"
    for phase, (wall, cpu) in phases.items():
        print(f"  {phase:<28} {wall:6.1f} s wall {cpu:6.1f} s CPU")
    print(f"site built in {time.perf_counter() - start:.0f} s: {index}")
    if errors:
        print(f"{errors} errors in the solution notebooks (shown on their pages)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
