"""How long each solution notebook takes in a Jupyter kernel, with the machine's speed beside it.

Issue 19 asks every notebook to run in under 30 s on the 2-core development machine. One run
says little there: the virtual machine's speed drifts by 20-30 % from minute to minute, so this
script runs each notebook ``--repeat`` times, round-robin (all notebooks once, then again), as
``tests/notebooks/test_notebooks.py`` runs them (``autograde.build.execute.run_notebook``: kernel
start included, the prose's numbers checked with ``CNNLAB_CHECK_CLAIMS=1``), and prints for each
run the wall time the test measures and the kernel's CPU time.

Right before every notebook run it times a **probe**, a fixed piece of the notebooks' own kind of
work in this process (two epochs of the course convnet on the digits with ``cnnlab``, then one
two-panel matplotlib figure saved as PNG), and prints its CPU time: when the probe is slow, the
machine is slow, and the notebook's figure of that round should be read against it.

    .venv/bin/python benchmarks/notebook_time.py [03 04 ...] [--repeat 3] [--cells 8] [--learner]

``--learner`` runs what a learner runs instead: the released notebook with every answer cell
filled in from ``solutions/`` (no hidden tests; the public tests run as in the release).

``--cells K`` also prints the K slowest cells of each notebook's last run (wall seconds, the
cell's grade id or first line).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_check import cpu_model  # noqa: E402  (this folder, first on sys.path)

from autograde.build.execute import run_notebook  # noqa: E402
from autograde.build.release import build_source, release  # noqa: E402
from autograde.course.demo import filled  # noqa: E402

# the last cell appended to each notebook copy: the kernel's own CPU seconds (user + system)
CPU_CELL = "import os as _os\nprint('KERNEL-CPU', sum(_os.times()[:2]))"


def probe() -> float:
    """CPU seconds of a fixed slice of notebook work: a short training and one saved figure."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from threadpoolctl import threadpool_limits

    import cnnlab as cl

    with threadpool_limits(1):
        X, y, Xt, yt = cl.data.load_digits()
        t0 = time.process_time()
        model = cl.models.course_convnet((1, 8, 8), 10, conv_channels=(8, 16), hidden=(32,), seed=0)
        opt = cl.optim.Adam(model.params, lr=3e-3)
        h = cl.train.fit(model, opt, X, y, epochs=2, batch_size=32, val=(Xt, yt), progress=False)
        fig, axes = plt.subplots(1, 2, figsize=(9, 3))
        axes[0].plot(h["train_loss"], "-o", label="train")
        axes[1].semilogy(np.geomspace(1e-3, 1, 50), label="a log axis")
        for ax in axes:
            ax.set(xlabel="epoch", title="probe")
            ax.legend()
        fig.tight_layout()
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close(fig)
        return time.process_time() - t0


def slowest(result, k: int) -> list[str]:
    rows = []
    for cell in result.notebook.cells:
        seconds = result.cell_seconds.get(cell.get("id"))
        if cell.cell_type != "code" or seconds is None:
            continue
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        rows.append((seconds, name or first[:70]))
    return [f"    {s:5.2f} s  {name}" for s, name in sorted(rows, reverse=True)[:k]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("select", nargs="*", help="parts of notebook names (01, 04-hyper, ...)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each notebook")
    parser.add_argument("--cells", type=int, default=0, help="print the K slowest cells")
    parser.add_argument("--learner", action="store_true", help="the release, answers filled in")
    args = parser.parse_args()
    os.environ["CNNLAB_CHECK_CLAIMS"] = "1"
    work = Path(tempfile.mkdtemp(prefix="notebook-time-"))
    paths = build_source(work / "source")
    if args.select:
        paths = [p for p in paths if any(s in p.parent.name for s in args.select)]
    if args.learner:
        release(work / "release")
        learner = []
        for path in paths:
            released = next((work / "release" / path.parent.name).glob("*.ipynb"))
            nb = filled(nbformat.read(released, 4), nbformat.read(path, 4))
            target = work / "learner" / path.parent.name / released.name
            target.parent.mkdir(parents=True)
            nbformat.write(nb, target)
            learner.append(target)
        paths = learner
    for path in paths:
        nb = nbformat.read(path, 4)
        nb.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
        nbformat.write(nb, path)
    what = "released notebooks, answers filled in" if args.learner else "solution notebooks"
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {what}")
    print(f"{'round':>5s} {'notebook':28s} {'wall':>7s} {'kernel CPU':>11s} {'probe CPU':>10s}")
    runs: dict[str, list[tuple[float, float, float]]] = {p.parent.name: [] for p in paths}
    last = {}
    for round_ in range(1, args.repeat + 1):
        for path in paths:
            p = probe()
            result = run_notebook(path, timeout=300)
            out = "".join(o.get("text", "") for o in result.notebook.cells[-1].get("outputs", []))
            found = re.search(r"KERNEL-CPU ([0-9.]+)", out)
            cpu = float(found.group(1)) if found else float("nan")
            failed = [c.grade_id for c in result.cells if not c.passed] + result.demo_errors
            name = path.parent.name
            runs[name].append((result.seconds, cpu, p))
            last[name] = result
            note = f"  FAILED: {failed}" if failed else ""
            print(
                f"{round_:5d} {name:28s} {result.seconds:6.1f}s {cpu:10.1f}s {p:9.2f}s{note}",
                flush=True,
            )
    print(f"\n{'notebook':28s} {'wall median':>11s} {'wall max':>9s} {'CPU median':>11s}")
    for name, rows in runs.items():
        walls, cpus = [r[0] for r in rows], [r[1] for r in rows]
        print(
            f"{name:28s} {statistics.median(walls):10.1f}s {max(walls):8.1f}s "
            f"{statistics.median(cpus):10.1f}s"
        )
        if args.cells:
            print("\n".join(slowest(last[name], args.cells)))
    probes = [r[2] for rows in runs.values() for r in rows]
    low, high, mid = min(probes), max(probes), statistics.median(probes)
    print(f"probe CPU: {low:.2f}-{high:.2f} s (median {mid:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
