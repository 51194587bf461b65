"""The sandbox process itself: it dies with its grader, and has no capabilities to give back.

These start a real sandbox (no notebook) and run probe cells in it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograde.config import LIMITS
from autograde.sandbox.limits import landlock_abi
from autograde.sandbox.process import Sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux sandbox features")


def _run(sandbox: Sandbox, code: str) -> str:
    reply = sandbox.peer.request("exec", code=textwrap.dedent(code), label="probe")
    assert "error" not in reply, reply
    return reply["output"]


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path, dict(LIMITS, memory=1 << 30))
    box.start()
    yield box
    box.kill()


CLEAR_DEATH_SIGNAL = """
import ctypes, threading, time
libc = ctypes.CDLL(None, use_errno=True)
res = libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0: "do not kill me with my parent"
print("prctl", res, ctypes.get_errno())
threading.Thread(target=time.sleep, args=(3600,)).start()  # a non-daemon thread keeps it alive
"""


def test_the_learner_cannot_clear_the_death_signal(sandbox):
    assert _run(sandbox, CLEAR_DEATH_SIGNAL).split() == ["prctl", "-1", "1"]  # EPERM


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def test_the_sandbox_dies_with_its_grader(tmp_path):
    script = f"""
import sys, textwrap, time
sys.path[:0] = {sys.path!r}
from autograde.config import LIMITS
from autograde.sandbox.process import Sandbox
from pathlib import Path
box = Sandbox(Path({str(tmp_path)!r}), dict(LIMITS, memory=1 << 30))
box.start()
box.peer.request("exec", code={CLEAR_DEATH_SIGNAL!r}, label="probe")
print(box.proc.pid, flush=True)
time.sleep(600)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "the sandbox outlived its grader"
    finally:
        parent.kill()


@pytest.mark.skipif(os.geteuid() != 0, reason="capabilities matter when the grader runs as root")
def test_no_capability_survives_in_the_sandbox_even_as_root(sandbox):
    out = _run(
        sandbox,
        """
        import resource
        lines = [line for line in open("/proc/self/status") if line.startswith("Cap")]
        caps = dict(line.split(":\\t") for line in lines)
        print(*(f"{k}={v.strip()}" for k, v in sorted(caps.items())))
        for res in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE):
            soft, hard = resource.getrlimit(res)
            try:
                resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                print("raised", res)
            except (ValueError, OSError):
                pass
        """,
    )
    zero = "0000000000000000"
    for name in ("CapAmb", "CapBnd", "CapEff", "CapInh", "CapPrm"):
        assert f"{name}={zero}" in out, out
    assert "raised" not in out, out
    assert sandbox.isolation["capabilities_dropped"] == "on"
    if landlock_abi():
        assert sandbox.isolation["landlock"].startswith("on")


def test_a_reply_too_large_for_the_judge_costs_that_test_only(tmp_path):
    """The judge runs under its own memory cap; hitting it fails the test at hand with a reason."""
    from synth import ASSIGNMENT, make_course, submission

    from autograde.course import grade

    huge = "def square(x):\n    return np.zeros(30_000_000)  # 240 MB to send back\n"
    course = make_course(tmp_path, {"big": submission({"square": huge})})
    options = {"judge_memory": 700 << 20, "memory": 3 << 30, "timeout": 30.0}
    (row,) = grade.run(course, [ASSIGNMENT], workers=1, options=options, progress=False)
    tests = {t["grade_id"]: t for t in row["tests"]}
    assert "ran out of memory" in tests["test_square"]["message"], tests["test_square"]
    assert tests["test_correlate1d"]["passed"] and tests["test_q1"]["passed"]
    assert row["status"] == "memory" and "grader's memory limit" in row["reason"]
