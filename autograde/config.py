"""One place for the grader's paths and defaults.

``ROOT`` is the repository; ``LIMITS`` are the per-submission limits of a grading run (the
command line's ``--timeout`` and ``--memory`` override them); ``default_workers`` is the number
of submissions graded at once when no ``--workers`` is given.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LIMITS = {
    "timeout": 60.0,  # seconds per cell and per call of the learner's code
    "memory": 4 << 30,  # bytes of address space for the sandbox
    "fsize": 64 << 20,  # bytes any file written by the sandbox may reach
    "notebook_timeout": 900.0,  # seconds for the whole notebook
    "landlock": True,  # restrict file access (Linux 5.13+)
    "max_restarts": 6,  # fresh sandboxes after a timeout or a crash, per notebook
    "judge_memory": 3 << 30,  # bytes of address space for a grading worker (the judge itself)
}


def default_workers() -> int:
    """Submissions graded in parallel by default: one per core."""
    return os.cpu_count() or 1
