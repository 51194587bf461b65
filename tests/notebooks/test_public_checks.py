"""The self-check catches what the exercises teach (see ``tests/realistic/``).

For every notebook: each realistic mistake fails its graded test cell (the hidden tests stay
strong), each *core* mistake fails the public part alone, and the public parts alone catch at
least 90 % of the catalogue.
"""

from __future__ import annotations

from functools import cache

import pytest
from nbtools import run_public_part, run_test_cell
from realistic import NOTEBOOKS, Mistake, catalogue

CASES = [(nb, m) for nb in NOTEBOOKS for m in catalogue(nb)]
MIN_PUBLIC_RATE = 0.9


@cache
def _public_failure(assignment: str, mistake: Mistake):
    return run_public_part(assignment, mistake.test_id, mistake.overrides())


@pytest.mark.parametrize(
    "assignment, mistake", CASES, ids=[f"{nb[:2]}-{m.label}" for nb, m in CASES]
)
def test_graded_cell_catches_the_mistake(assignment, mistake):
    # Any exception fails the cell: a check's AssertionError, or the learner's own error (a
    # traceback through the learner's code is a fine message for a crash).
    exc = run_test_cell(assignment, mistake.test_id, mistake.overrides())
    assert exc is not None, f"{mistake.test_id} gave full points to {mistake.label!r}"
    if mistake.core:
        public = _public_failure(assignment, mistake)
        assert public is not None, (
            f"the self-check of {mistake.test_id} passes the core mistake {mistake.label!r}"
        )


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_public_checks_catch_most_realistic_mistakes(assignment):
    mistakes = catalogue(assignment)
    if not mistakes:
        pytest.skip(f"no catalogue of realistic mistakes for {assignment} yet")
    missed = [m.label for m in mistakes if _public_failure(assignment, m) is None]
    rate = 1 - len(missed) / len(mistakes)
    assert rate >= MIN_PUBLIC_RATE, (
        f"{assignment}: the public tests catch {rate:.0%} of {len(mistakes)} realistic mistakes;"
        f" missed: {missed}"
    )
