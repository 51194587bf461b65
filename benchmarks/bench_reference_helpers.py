"""How long 03's ``test_train_convnet`` takes through the sandboxed grader, helpers wrong or right.

``train_convnet`` calls ``adam_step`` and ``train_epoch`` at every mini-batch. Its test grades it
on its own by replacing those helpers with references (``T.reference_helpers``); a reference that
is a cnnlab function runs in the learner's process, so a wrong helper costs no round trips to the
judge. This grades the solution of 03 twice (as it is, and with ``adam_step`` and ``train_epoch``
wrong) and prints the time of ``test_train_convnet`` and its points, with the CPU and the load.

    .venv/bin/python benchmarks/bench_reference_helpers.py
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde import cells  # noqa: E402
from autograde.build.release import build_source  # noqa: E402
from autograde.judge import grade_notebook  # noqa: E402

WRONG = {
    "adam_step": "def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
    "    for k in params:\n        params[k] -= lr * grads[k]  # plain SGD, no state\n",
    "train_epoch": "def train_epoch(model, X, y, step_fn, batch_size, rng):\n"
    "    return 0.0  # trains nothing\n",
}


def main() -> int:
    source = {p.parent.name: p for p in build_source(Path(tempfile.mkdtemp()))}["03-training"]
    nb = nbformat.read(source, 4)
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in open("/proc/cpuinfo")
            if ln.startswith("model name")
        ),
        "unknown CPU",
    )
    print(f"{cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for label, answers in (("solution", {}), ("adam_step and train_epoch wrong", WRONG)):
        sub = copy.deepcopy(nb)
        for cell in sub.cells:
            if cells.grade_id(cell) in answers:
                cell.source = answers[cells.grade_id(cell)]
        result = grade_notebook(nb, nbformat.writes(sub).encode(), {"timeout": 60.0})
        test = next(t for t in result["tests"] if t["grade_id"] == "test_train_convnet")
        print(f"{label:34s} test_train_convnet {test['points']:g}/{test['max_points']:g} "
              f"in {test['seconds']:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
