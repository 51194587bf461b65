"""Tracebacks of learner code, labelled with the cells a learner can find.

IPython names a cell's code ``<ipython-input-N-...>``; the judge tells the sandbox a label for
every cell it runs (the section heading and first line, see
:func:`autograde.judge.plan.cell_labels`), and tracebacks show that label instead. Only frames of
the learner's own code are kept.
"""

from __future__ import annotations

import re
import traceback

CELL_LABELS: dict[int, str] = {}  # IPython execution count -> cell label
_INPUT = re.compile(r"<ipython-input-(\d+)-[0-9a-f]+>")


def label_cells(text: str) -> str:
    """Replace IPython's cell file names in a traceback by the cells' labels."""
    return _INPUT.sub(lambda m: f"<{CELL_LABELS.get(int(m.group(1)), 'cell')}>", text)


def is_student_file(filename: str) -> bool:
    """True for code the learner wrote (notebook cells), not library code."""
    return filename.startswith("<") or "ipython-input" in filename or "/ipykernel_" in filename


def student_traceback(exc: BaseException) -> str:
    """The last frames of the learner's code in ``exc``'s traceback, with cell labels."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_student_file(f.filename)]
    return label_cells("".join(traceback.format_list(frames[-6:])))[:4000]
