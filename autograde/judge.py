"""The trusted side: grade one submitted notebook against its source notebook.

For each step of :func:`autograde.notebook.plan`:

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

import builtins
import contextlib
import dis
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import nbformat

from autograde import wire
from autograde.cells import test_points
from autograde.config import LIMITS
from autograde.notebook import Plan, Step, Unreadable, plan, read_notebook
from autograde.sandbox.process import Sandbox
from autograde.sandbox.tamper import in_own_words

DEFAULTS = LIMITS  # the one set of defaults lives in autograde.config
MESSAGE_CAP = 2000


class CellTimeout(BaseException):
    """Raised by the alarm when a test cell runs too long in the judge."""


# --------------------------------------------------------------------------------------------
# Test cells
# --------------------------------------------------------------------------------------------


def referenced_names(code) -> set[str]:
    """Global names a test cell reads (nested code included) minus those it binds itself."""
    loads, stores = set(), set()

    def walk(co, top):
        for ins in dis.get_instructions(co):
            if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"):
                loads.add(ins.argval)
            elif top and ins.opname in ("STORE_NAME", "STORE_GLOBAL", "IMPORT_NAME"):
                stores.add(ins.argval)
            elif ins.opname == "STORE_GLOBAL":
                stores.add(ins.argval)
        for const in co.co_consts:
            if hasattr(const, "co_code"):
                walk(const, False)

    walk(code, True)
    return {n for n in loads - stores if isinstance(n, str) and not hasattr(builtins, n)}


@contextlib.contextmanager
def _alarm(seconds: float):
    usable = threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def fire(signum, frame):
        raise CellTimeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _forbid_hooks(peer: wire.Peer) -> None:
    import cnnlab.calls as calls

    stack: list = []

    def before():
        contexts = calls.active_forbid_contexts()
        stack.append(contexts)
        extras: dict = {"forbid": [list(c.targets) for c in contexts]} if contexts else {}
        helpers = calls.active_reference_helpers()
        if helpers:
            extras["helpers"] = helpers  # encoded by the peer: callables run here, in the judge
        return extras

    def after(reply):
        contexts = stack.pop() if stack else []
        hits = reply.get("forbid_hits")
        if isinstance(hits, list):
            for ctx, names in zip(contexts, hits):
                for name in names if isinstance(names, list) else []:
                    ctx.record(str(name)[:200])
        text = reply.get("stdout")
        if isinstance(text, str) and text:
            sys.stdout.write(text[:20000])

    peer.before_call, peer.after_call = before, after


def format_failure(exc: BaseException) -> str:
    """One message for the learner: never the test cell's source or the judge's traceback."""
    if isinstance(exc, AssertionError):
        text = str(exc) or "a check failed"
    else:
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, wire.StudentError):
            text = f"your code raised {exc}"
        tb = getattr(exc, "remote_traceback", "")
        if tb:
            text = f"your code raised {type(exc).__name__}: {exc}\n{tb.rstrip()}"
    return text[:MESSAGE_CAP]


def _call_timeout(timeout: float, seconds: float) -> str:
    return (
        f"a call of your code ran past its limit of {timeout:g} s (infinite loop?); the test "
        f"was stopped after {seconds:.0f} s"
    )


def run_test(sandbox: Sandbox, step: Step, timeout: float) -> dict:
    """Run one test cell here against proxies of the sandbox's names."""
    import cnnlab.calls as calls

    result = {"grade_id": step.grade_id, "max_points": step.points, "points": 0.0}
    t0 = time.monotonic()
    peer = sandbox.peer
    buf = io.StringIO()
    problem = None
    try:
        code = compile(step.source, f"<test {step.grade_id}>", "exec")
    except SyntaxError as exc:
        result.update(passed=False, message=f"the test cell does not compile ({exc.msg})")
        return result
    peer.call_timeout = timeout
    cell_limit = max(3 * timeout, timeout + 30)
    try:
        with (
            contextlib.redirect_stdout(buf),
            contextlib.redirect_stderr(buf),
            warnings.catch_warnings(),
            _alarm(cell_limit),
        ):
            warnings.simplefilter("ignore")
            bindings = peer.request("lookup", names=sorted(referenced_names(code)))
            ns = {"__name__": "__main__", "__builtins__": builtins}
            ns.update(bindings)
            exec(code, ns)
        passed, message = True, ""
    except wire.Timeout:
        passed, problem = False, "t"
        message = _call_timeout(timeout, time.monotonic() - t0)
    except CellTimeout:
        passed, problem = False, "t"
        message = (
            f"this test ran {time.monotonic() - t0:.0f} s, past its limit of {cell_limit:g} s for "
            f"the whole test cell (each call of your code may take {timeout:g} s)"
        )
    except wire.ProtocolError as exc:
        passed, problem = False, "p"
        message = (
            f"your code's process sent the grader a message it refused ({exc}); it was stopped"
        )
    except wire.PeerGone:
        passed, problem = False, "d"
    except KeyboardInterrupt:
        raise
    except MemoryError:
        passed, problem = False, "m"
        message = (
            "the grader ran out of memory checking this test (the judge's limit is "
            f"{LIMITS['judge_memory'] / (1 << 30):g} GiB): what your code returned is too large"
        )
    except BaseException as exc:
        passed, message = False, format_failure(exc)
        if os.environ.get("CNNLAB_GRADE_DEBUG"):
            import traceback

            traceback.print_exc(file=sys.__stderr__)
    finally:
        calls.reset()
        sys.setprofile(None)
        peer.deadline = peer.call_timeout = None
    if peer.broken and problem is None:  # the channel broke inside a check that caught it
        passed, problem = False, "t" if peer.broken == "timeout" else "d"
        if problem == "t":
            message = _call_timeout(timeout, time.monotonic() - t0)
    if problem == "d":
        message = f"the kernel died during this test ({sandbox.exit_status()})"
    result.update(
        passed=passed,
        points=step.points if passed else 0.0,
        message=message,
        output=buf.getvalue()[-5000:],
        seconds=round(time.monotonic() - t0, 3),
        problem=problem,
    )
    return result


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
            _forbid_hooks(self.sandbox.peer)
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
        Overrides of :data:`DEFAULTS` (timeout, memory, fsize, notebook_timeout, landlock).
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
    opts = dict(DEFAULTS, **(options or {}))
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
