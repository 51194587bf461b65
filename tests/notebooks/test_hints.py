"""The text of an exercise gives the task, the maths and the shapes, never the answer's code.

For every graded answer of every notebook, the learner sees the markdown since the previous test
cell and the answer cell's stub (signature, docstring). Hints sit in collapsed
``<details><summary>Hint N</summary>...</details>`` blocks, from a nudge to the key idea. Checked
here, with every line of the solution's body of meaningful length (whitespace removed, comments
dropped, at least ``MEANINGFUL`` characters):

- no such line appears in the visible text outside the collapsed blocks;
- inside them, at most one does (the last hint may show one key expression, never the answer
  line by line);
- no hint is left outside a collapsed block.
"""

from __future__ import annotations

import re

import pytest

from autograde import cells as fmt
from autograde.build.release import solution_sources, to_notebook

MEANINGFUL = 16  # a single API call such as model.eval() is a convention, not the answer
DETAILS = re.compile(r"<details>.*?</details>", re.S | re.I)
LOOSE_HINT = re.compile(r"^\W*hints?\b\W", re.I | re.M)
SUMMARY = re.compile(r"<details>\s*<summary>\s*(Hint|Answer|Why)[^<]*</summary>", re.I)


def squash(text: str) -> str:
    """``text`` without whitespace and markdown backticks, for a layout-blind comparison."""
    return re.sub(r"[\s`]", "", text)


def solution_lines(source: str) -> list[str]:
    """The meaningful lines of an answer cell's solution region, squashed."""
    lines = []
    for region in fmt.SOLUTION.findall(source):
        for line in region.splitlines()[1:-1]:
            code = line.split("#", 1)[0] if not line.strip().startswith(("'", '"')) else line
            code = squash(code)
            if len(code) >= MEANINGFUL:
                lines.append(code)
    return lines


def exercises(assignment: str):
    """(grade_id, visible text, solution lines) of every answer cell, in notebook order."""
    nb = to_notebook(solution_sources()[assignment])
    text: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text.append(cell.source)
            continue
        kind = fmt.kind(cell)
        if kind == "answer":
            stub = fmt.SOLUTION.sub("", cell.source)
            yield fmt.grade_id(cell), "\n".join([*text, stub]), solution_lines(cell.source)
        if kind in ("answer", "test"):
            text = []


CASES = [(a, *ex) for a in sorted(solution_sources()) for ex in exercises(a)]


@pytest.mark.parametrize(
    "assignment, name, visible, lines", CASES, ids=[f"{c[0][:2]}-{c[1]}" for c in CASES]
)
def test_exercise_text_does_not_give_the_answer(assignment, name, visible, lines):
    outside = DETAILS.sub("", visible)
    shown = [line for line in lines if line in squash(outside)]
    assert not shown, f"{name}: the visible text spells out solution lines {shown}"
    inside = squash(" ".join(DETAILS.findall(visible)))
    revealed = [line for line in lines if line in inside]
    assert len(revealed) <= 1, f"{name}: the hints spell out {len(revealed)} lines {revealed}"
    loose = LOOSE_HINT.findall(outside)
    assert not loose, f"{name}: a hint outside a collapsed <details> block: {loose}"
    for block in DETAILS.findall(visible):
        assert SUMMARY.match(block), f"{name}: a <details> block without a <summary>: {block[:80]}"
