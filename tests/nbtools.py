"""Run pieces of a solution notebook in-process, fast, for tests of the hidden tests.

``run_test_cell("01-convolution", "test_zero_pad", overrides={"zero_pad": BUGGY_SOURCE})``
executes the notebook's locked setup cells and all answer cells (with the overrides replacing
whole answer cells), then the test cell, in a fresh namespace, and returns the exception the test
cell raised (None when it passed). Demonstration cells are skipped, which is why answer cells may
depend only on locked setup cells and on other answer cells.
"""

from __future__ import annotations

import contextlib
import io
import textwrap
from functools import cache

from autograde.release import solution_sources, to_notebook


@cache
def cells(assignment: str) -> tuple[tuple[str, dict, str], ...]:
    """(cell id, nbgrader metadata, source) of every code cell of a solution notebook."""
    nb = to_notebook(solution_sources()[assignment])
    return tuple(
        (c.id, dict(c.metadata.get("nbgrader", {})), c.source)
        for c in nb.cells
        if c.cell_type == "code"
    )


def namespace(assignment: str, overrides: dict[str, str] | None = None) -> dict:
    """Execute setup and answer cells (answer cells replaced by ``overrides``) into a dict."""
    overrides = {k: textwrap.dedent(v) for k, v in (overrides or {}).items()}
    unknown = set(overrides) - {m.get("grade_id") for _, m, _ in cells(assignment)}
    if unknown:
        raise KeyError(f"no answer cells named {sorted(unknown)} in {assignment}")
    ns: dict = {"__name__": "__main__"}
    for _, meta, source in cells(assignment):
        is_setup = meta.get("locked") and not meta.get("grade")
        if meta.get("solution"):
            source = overrides.get(meta["grade_id"], source)
        elif not is_setup:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<{meta.get('grade_id')}>", "exec"), ns)
    return ns


def run_test_cell(assignment: str, test_id: str, overrides: dict[str, str] | None = None):
    """Run test cell ``test_id`` against the answers; return its exception or None."""
    ns = namespace(assignment, overrides)
    source = next(src for _, meta, src in cells(assignment) if meta.get("grade_id") == test_id)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<{test_id}>", "exec"), ns)
    except Exception as exc:  # the test cell's failure is the result
        return exc
    return None
