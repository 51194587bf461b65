"""The trusted side: grade one submitted notebook against its source notebook.

For each step of :func:`autograde.judge.plan.plan`:

- code cells run in a :class:`Sandbox` (a separate, limited process; see
  :mod:`autograde.sandbox`) with a per-cell timeout;
- test cells run here, from the source notebook (hidden tests included), in a fresh namespace
  where the names the cell uses and the sandbox defines are bound to proxies (functions and
  classes call into the sandbox, data is copied). Checks, their reference computations and the
  comparison never run in the learner's process.

A timeout or a dead sandbox fails the cell at hand with a one-line reason; a fresh sandbox then
replays the code cells run so far (minus the culprits) and grading goes on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograde import wire
from autograde.cells import test_points
from autograde.config import LIMITS
from autograde.judge.checks import install_forbid_hooks, run_test
from autograde.judge.plan import Plan, Step, Unreadable, plan, read_notebook
from autograde.sandbox.process import Sandbox
from autograde.sandbox.tamper import in_own_words

# --------------------------------------------------------------------------------------------
# One notebook
# --------------------------------------------------------------------------------------------


class _Run:
    """State of grading one notebook: the sandbox, replay list, events."""

    def __init__(self, workdir: Path, options: dict):
        self.options = options
        self.sandbox = Sandbox(workdir, options)
        self.replay: list[Step] = []
        self.events: list[tuple[str, str]] = []  # (status, reason)
        self.cell_errors: list[str] = []
        self.flags: list[str] = []
        self.notes: list[str] = []
        self.restarts = 0
        self.cell_seconds: list[tuple[float, str]] = []

    def _collect_flags(self):
        peer = self.sandbox.peer
        if peer is not None and peer.flags:
            for raw in peer.flags:
                flag = in_own_words(raw)
                if flag not in self.flags:
                    self.flags.append(flag)
            peer.flags.clear()

    def ensure(self) -> bool:
        """Start (or restart and replay) the sandbox; False when that is no longer possible."""
        if self.sandbox.peer is not None:
            return True
        if self.restarts > self.options["max_restarts"]:
            return False
        self.restarts += 1
        try:
            self.sandbox.start()
            install_forbid_hooks(self.sandbox.peer, self.sandbox.seal_key)
        except (wire.PeerGone, wire.ProtocolError, wire.Timeout, OSError) as exc:
            self.sandbox.kill()
            self.events.append(("crashed", f"the sandbox could not start ({exc})"))
            return False
        for step in list(self.replay):
            outcome = self._exec(step, replaying=True)
            if outcome in ("timeout", "died"):
                self.replay.remove(step)
                return self.ensure()
        return True

    def _exec(self, step: Step, replaying: bool = False) -> str:
        peer = self.sandbox.peer
        t0 = time.monotonic()
        peer.deadline = t0 + self.options["timeout"]
        try:
            reply = peer.request("exec", code=step.source, label=step.label)
            self.cell_seconds.append((round(time.monotonic() - t0, 2), step.label))
        except wire.Timeout:
            self.sandbox.kill()
            self.events.append(
                ("timeout", f"timed out after {self.options['timeout']:g} s (infinite loop?) in "
                 f"{step.label}")
            )  # fmt: skip
            return "timeout"
        except (wire.PeerGone, wire.ProtocolError) as exc:
            how = self.sandbox.exit_status()
            if isinstance(exc, wire.ProtocolError):
                how = f"it broke the grading protocol: {exc}"
            self.sandbox.kill()
            self.events.append(("crashed", f"the kernel died ({how}) in {step.label}"))
            return "died"
        finally:
            if self.sandbox.peer is not None:
                self.sandbox.peer.deadline = None
        self._collect_flags()
        if replaying:
            return "ok"
        output = reply.get("output", "") if isinstance(reply, dict) else ""
        if "more characters of output dropped" in output[-200:]:
            self.notes.append(f"output of {step.label} truncated to 100 kB")
        err = reply.get("error") if isinstance(reply, dict) else None
        if isinstance(err, dict):
            kind, msg = str(err.get("type")), str(err.get("message", ""))[:300]
            self.cell_errors.append(f"{step.label}: {kind}: {msg}".splitlines()[0][:300])
            if kind == "MemoryError":
                limit = self.options["memory"] / (1 << 30)
                self.events.append(
                    ("memory", f"hit the memory limit ({limit:g} GiB) in {step.label}")
                )
            if kind == "SystemExit":
                self.notes.append(f"sys.exit() was called and stopped {step.label}")
        return "ok"

    def run(self, the_plan: Plan) -> list[dict]:
        from cnnlab import sources

        # T.assert_no_loops reads the learner's code as submitted: the cells that ran so far
        sources.set_provider(lambda: [step.source for step in self.replay])
        try:
            return self._run(the_plan)
        finally:
            sources.set_provider(None)

    def _run(self, the_plan: Plan) -> list[dict]:
        tests = []
        deadline = time.monotonic() + self.options["notebook_timeout"]
        for step in the_plan.steps:
            if time.monotonic() > deadline:
                if step.kind == "test":
                    tests.append(_not_run(step, "not run: the notebook's time budget ran out"))
                continue
            if not self.ensure():
                if step.kind == "test":
                    tests.append(_not_run(step, "not run: the kernel kept dying"))
                continue
            if step.kind == "code":
                outcome = self._exec(step)
                if outcome == "ok":
                    self.replay.append(step)
                continue
            res = run_test(self.sandbox, step, self.options["timeout"])
            self._collect_flags()
            problem = res.pop("problem", None)
            if problem == "t":
                self.sandbox.kill()
                self.events.append(("timeout", f"{step.grade_id} timed out"))
            elif problem == "d":
                self.sandbox.kill()
                self.events.append(("crashed", f"the kernel died in {step.grade_id}"))
            elif problem == "p":
                self.sandbox.kill()
                self.events.append(
                    ("crashed", f"the kernel broke the grading protocol in {step.grade_id}")
                )
            elif problem == "m":
                self.sandbox.kill()  # what it returned may be half-decoded: start afresh
                self.events.append(("memory", f"{step.grade_id} hit the grader's memory limit"))
            tests.append(res)
        return tests

    def close(self):
        self.sandbox.kill()


def _not_run(step: Step, message: str) -> dict:
    return {
        "grade_id": step.grade_id,
        "max_points": step.points,
        "points": 0.0,
        "passed": False,
        "message": message,
        "output": "",
        "seconds": 0.0,
    }


_STATUS_ORDER = ("unreadable", "wrong-notebook", "timeout", "crashed", "memory", "ok")


def grade_notebook(
    source: Path | nbformat.NotebookNode,
    submission: Path | bytes,
    options: dict | None = None,
    extra_files: Path | None = None,
) -> dict:
    """Grade one submission; return a JSON-serialisable result.

    Parameters
    ----------
    source : Path or NotebookNode
        The instructor's notebook (solutions and hidden tests).
    submission : Path or bytes
        The learner's notebook file (or its bytes).
    options : dict, optional
        Overrides of :data:`autograde.config.LIMITS` (timeout, memory, fsize,
        notebook_timeout, landlock).
    extra_files : Path, optional
        A folder whose non-notebook files are copied into the working directory (the release
        folder: data files the notebook reads).

    Returns
    -------
    dict
        ``status`` (ok, unreadable, wrong-notebook, timeout, crashed, memory), ``reason`` (one
        line, empty when all went well), ``score``, ``max_score``, ``tests`` (grade_id, points,
        max_points, passed, message), ``notes``, ``flags``, ``cell_errors``, ``isolation``,
        ``seconds``.
    """
    opts = dict(LIMITS, **(options or {}))
    t0 = time.monotonic()
    src_nb = source if isinstance(source, nbformat.NotebookNode) else nbformat.read(source, 4)
    points = test_points(src_nb)
    result = {
        "status": "ok",
        "reason": "",
        "score": 0.0,
        "max_score": float(sum(points.values())),
        "tests": [],
        "notes": [],
        "flags": [],
        "cell_errors": [],
        "isolation": {},
    }
    data = submission if isinstance(submission, bytes) else Path(submission).read_bytes()
    try:
        sub_nb = read_notebook(data)
    except Unreadable as exc:
        result.update(status="unreadable", reason=str(exc))
        result["tests"] = [_not_run(Step("test", g, "", g, p), str(exc)) for g, p in points.items()]
        result["seconds"] = round(time.monotonic() - t0, 2)
        return result
    the_plan = plan(src_nb, sub_nb)
    result["notes"] = list(the_plan.notes)
    workdir = Path(tempfile.mkdtemp(prefix="cnnlab-grade-"))
    os.chmod(workdir, 0o700)
    if extra_files is not None and Path(extra_files).is_dir():
        for path in Path(extra_files).iterdir():
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                shutil.copy(path, workdir / path.name)
    run = _Run(workdir, opts)
    judge_dir = Path(tempfile.mkdtemp(prefix="cnnlab-judge-"))
    here = os.getcwd()
    os.chdir(judge_dir)  # files a test cell writes land in a scratch folder
    try:
        tests = run.run(the_plan)
    finally:
        os.chdir(here)
        run.close()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(judge_dir, ignore_errors=True)
    by_id = {t["grade_id"]: t for t in tests}
    ordered = []
    for gid, pts in points.items():
        test = by_id.get(gid) or _not_run(Step("test", gid, "", gid, pts), "not run")
        ordered.append(test)
    result["tests"] = ordered
    result["score"] = float(sum(t["points"] for t in ordered))
    result["notes"] += run.notes
    result["flags"] = run.flags
    result["cell_errors"] = run.cell_errors
    result["isolation"] = run.sandbox.isolation
    result["slowest_cells"] = sorted(run.cell_seconds, reverse=True)[:3]
    events = list(run.events)
    if the_plan.matched_ids == 0 and the_plan.foreign_ids > 0:
        events.insert(0, ("wrong-notebook", "this notebook belongs to another assignment"))
    if events:
        events.sort(key=lambda e: _STATUS_ORDER.index(e[0]))
        result["status"], result["reason"] = events[0]
        if len(events) > 1:
            result["reason"] += f" (+{len(events) - 1} more)"
    elif the_plan.notes or run.notes:
        result["reason"] = (the_plan.notes + run.notes)[0]
    result["seconds"] = round(time.monotonic() - t0, 2)
    return result
