"""The nbgrader cell format, known in one place.

A code cell's ``metadata.nbgrader`` says what it is (nbgrader's own flags): an *answer* cell
(``solution``: the learner writes it), a *test* cell (``grade`` without ``solution``: its
``points`` are earned when it runs without error), a *locked* cell (``locked`` only: provided
code such as the setup imports), or a *plain* cell (no metadata: demonstrations). Solution
regions sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, hidden tests between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.

Submissions are hostile input: every reader here tolerates missing or malformed metadata
(a list where a dict should be, a number as a grade_id), which nbgrader's own helpers in
``nbgrader.utils`` do not, so they are used for the instructor's files only (by nbgrader).
"""

from __future__ import annotations

import re

HIDDEN = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S
)
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.M | re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def meta(cell) -> dict:
    """The cell's nbgrader metadata, ``{}`` when missing or malformed."""
    metadata = cell.get("metadata", {})
    found = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return found if isinstance(found, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id`` as a string, or None."""
    gid = meta(cell).get("grade_id")
    return str(gid) if gid else None


def kind(cell) -> str:
    """ "test", "answer", "locked" or "plain" for a code cell."""
    m = meta(cell)
    if m.get("grade") and not m.get("solution"):
        return "test"
    if m.get("solution"):
        return "answer"
    if m.get("locked"):
        return "locked"
    return "plain"


def points(cell) -> float:
    """Points of a test cell (0 for any other cell)."""
    try:
        return float(meta(cell).get("points", 0) or 0) if kind(cell) == "test" else 0.0
    except (TypeError, ValueError):
        return 0.0


def code_cells(nb) -> list:
    """The notebook's code cells, in order."""
    return [c for c in nb.cells if c.get("cell_type") == "code"]


def grade_ids(nb) -> set[str]:
    """Every grade_id of the notebook (what identifies its assignment)."""
    return {gid for gid in map(grade_id, nb.cells) if gid}


def test_points(nb) -> dict[str, float]:
    """grade_id -> points of every test cell, in notebook order."""
    return {grade_id(c): points(c) for c in code_cells(nb) if kind(c) == "test" and grade_id(c)}


def public_text(source: str) -> str:
    """A test cell's source as the learner sees it (hidden tests removed)."""
    return HIDDEN.sub("", source)
