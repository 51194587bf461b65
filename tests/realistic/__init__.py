"""Realistic mistakes, one catalogue per notebook, to measure what the self-check catches.

Each ``nbNN.py`` module (and any ``nbNN_<part>.py`` beside it) lists ``MISTAKES``: wrong answers
a learner really writes (not the ones a test message names on purpose), each replacing one or more
answer cells. ``core=True`` marks
the mistake an exercise exists to teach (the case its prose warns about): the public part of the
test cell alone must catch it, so that a learner who passes the self-check has learnt the point.
``tests/notebooks/test_public_checks.py`` checks every core mistake, that the graded cell catches
every mistake, and that the public parts catch at least 90 % of each catalogue.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

NOTEBOOKS = {
    "01-convolution": "nb01",
    "02-layers": "nb02",
    "03-training": "nb03",
    "04-hyperparameters": "nb04",
    "05-visualization": "nb05",
    "06-beyond-classification": "nb06",
}


@dataclass(frozen=True)
class Mistake:
    """One wrong answer: ``answers`` maps answer cell grade_ids to their buggy source."""

    test_id: str
    label: str
    answers: dict = field(hash=False)
    core: bool = False

    def overrides(self) -> dict[str, str]:
        return dict(self.answers)  # nbtools dedents answer sources itself


def variant(source: str, *edits: tuple[str, str]) -> str:
    """``source`` (a neighbour's whole answer) with textual edits: one mistake, without a copy.

    Each edit is ``(old, new)``; ``old`` must occur exactly once, as in ``nbtools.mutant`` (which
    edits the solution's answer instead).
    """
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{old!r} occurs {count} times in the answer it edits")
        source = source.replace(old, new)
    return source


def catalogue(assignment: str) -> list[Mistake]:
    """The realistic mistakes of one notebook: ``nbNN`` and its ``nbNN_<part>`` modules."""
    stem = NOTEBOOKS[assignment]
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.split("_")[0] == stem)
    mistakes: list[Mistake] = []
    for name in names:
        mistakes.extend(importlib.import_module(f"realistic.{name}").MISTAKES)
    return mistakes
