"""The site's notebooks, executed: two kernels at a time, longest first, cached by content.

Used by :mod:`autograde.build.site` (``make site``): :func:`execute_all` runs the instructor
notebooks that are not in the cache yet, one BLAS thread per kernel, and hands each one on as it
finishes, so the site's own work overlaps the executions.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import resource
from collections.abc import Callable
from pathlib import Path

import nbformat

from autograde.build.release import to_notebook
from autograde.config import ROOT


def cache_key(source: Path) -> str:
    """A hash of a notebook's source and of every file of the ``cnnlab`` package it imports."""
    digest = hashlib.sha256(source.read_bytes())
    package = ROOT / "src" / "cnnlab"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (a kernel, once shut)."""
    me, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _execute(source: str, target: str) -> tuple[float, float, list[str]]:
    """Worker: build the instructor notebook of ``source``, execute it, write it to ``target``.

    Returns the seconds it took, the CPU seconds it took (its kernel's included) and its errors
    (failed test cells and demo cells).
    """
    from autograde.build.execute import run_notebook

    # The pool runs one kernel per core: a kernel's BLAS threads would only contend with the
    # other kernel (measured: notebook 01 took 16-22 % more CPU time with OpenBLAS's 2 threads).
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    cpu = _cpu_seconds()
    target_path = Path(target)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    work = target_path.with_name(f".{target_path.stem}-{os.getpid()}.ipynb")
    nbformat.write(to_notebook(Path(source)), work)
    try:
        result = run_notebook(work, timeout=300)
    finally:
        work.unlink(missing_ok=True)
    errors = [f"{c.grade_id}: {c.message}" for c in result.cells if not c.passed]
    errors += result.demo_errors
    nbformat.write(result.notebook, work)
    os.replace(work, target_path)  # atomic: a cache entry is complete or absent
    return result.seconds, _cpu_seconds() - cpu, errors


Executed = tuple[nbformat.NotebookNode, float, float, bool, list[str]]


def execute_all(
    sources: dict[str, Path],
    cache: Path,
    *,
    jobs: int = 2,
    use_cache: bool = True,
    ready: Callable[[str, nbformat.NotebookNode], object] | None = None,
    idle: Callable[[], object] | None = None,
) -> dict[str, Executed]:
    """Executed instructor notebooks: assignment -> (notebook, seconds, CPU seconds, from cache,
    errors).

    Notebooks missing from ``cache`` run ``jobs`` at a time, longest first: by the times of the
    last build, or, with none, last notebook first (the later notebooks train networks). A
    notebook that ran with errors is not kept in the cache. ``ready(assignment, notebook)`` is
    called as each notebook becomes available (cached ones first), and ``idle()`` once every
    execution has started: the parent's own work overlaps the executions.
    """
    cache.mkdir(parents=True, exist_ok=True)
    times_file = cache / "times.json"
    try:
        times = json.loads(times_file.read_text())
    except (OSError, ValueError):
        times = {}
    done: dict[str, Executed] = {}
    todo = {}
    for assignment, source in sources.items():
        target = cache / f"{assignment}-{cache_key(source)}.ipynb"
        if use_cache and target.exists():
            done[assignment] = (nbformat.read(target, as_version=4), 0.0, 0.0, True, [])
            if ready:
                ready(assignment, done[assignment][0])
        else:
            todo[assignment] = (source, target)
    rank = {a: i for i, a in enumerate(sources)}
    order = sorted(todo, key=lambda a: (-times.get(a, 0.0), -rank[a]))
    if order:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            max(1, min(jobs, len(order))), mp_context=context
        ) as pool:
            futures = {pool.submit(_execute, str(todo[a][0]), str(todo[a][1])): a for a in order}
            if idle:
                idle()
            for future in concurrent.futures.as_completed(futures):
                assignment = futures[future]
                seconds, cpu, errors = future.result()
                target = todo[assignment][1]
                nb = nbformat.read(target, as_version=4)
                done[assignment] = (nb, seconds, cpu, False, errors)
                times[assignment] = round(seconds, 1)
                for old in cache.glob(f"{assignment}-*.ipynb"):
                    if old != target:
                        old.unlink(missing_ok=True)
                if errors:
                    target.unlink(missing_ok=True)
                if ready:
                    ready(assignment, nb)
        times_file.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    return {a: done[a] for a in sources}
