"""The judge's handle on one sandbox process: start it, talk to it, kill it.

The child (:mod:`.child`) starts with a scrubbed environment in the submission's temporary
folder, in a session of its own (so that killing the group ends whatever it started), and
applies :mod:`.limits` to itself before it runs any learner code.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograde import wire


def _mpl_cache() -> list[Path]:
    try:
        import matplotlib

        folder = Path(matplotlib.get_cachedir())
        if not list(folder.glob("fontlist-*.json")):
            import matplotlib.font_manager  # noqa: F401 - builds the font cache once
        return list(folder.glob("fontlist-*.json"))
    except Exception:
        return []


def sandbox_env(workdir: Path) -> dict:
    """The scrubbed environment of a sandbox."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".config" / "matplotlib"),
        "IPYTHONDIR": str(workdir / ".config" / "ipython"),
        "NBGRADER_EXECUTION": "autograde",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if os.environ.get("CNNLAB_DATA"):
        env["CNNLAB_DATA"] = os.environ["CNNLAB_DATA"]
    return env


class Sandbox:
    """A sandbox process and the RPC peer talking to it."""

    def __init__(self, workdir: Path, options: dict):
        self.workdir = workdir
        self.options = options
        self.proc: subprocess.Popen | None = None
        self.peer: wire.Peer | None = None
        self.isolation: dict = {}
        self.restarts = 0
        self.seal_key = b""

    def start(self) -> None:
        mpl = self.workdir / ".config" / "matplotlib"
        mpl.mkdir(parents=True, exist_ok=True)
        for path in _mpl_cache():
            if not (mpl / path.name).exists():
                shutil.copy(path, mpl / path.name)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        config = {
            "memory": int(self.options["memory"]),
            "fsize": int(self.options["fsize"]),
            "landlock": bool(self.options["landlock"]),
        }
        log = open(self.workdir / ".sandbox-output.txt", "ab")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-P", "-m", "autograde.sandbox.child"]
                + [str(to_child_r), str(from_child_w), json.dumps(config)],
                pass_fds=(to_child_r, from_child_w),
                cwd=self.workdir,
                env=sandbox_env(self.workdir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
            os.close(to_child_r)
            os.close(from_child_w)
        self.seal_key = secrets.token_bytes(32)  # the call watch's key: see .guard
        wire.send_message(to_child_w, {"key": self.seal_key.hex()}, [])
        os.set_blocking(to_child_w, False)
        self.peer = wire.Peer(from_child_r, to_child_w, trusted=True)
        try:
            header, _ = wire.recv_message(from_child_r, time.monotonic() + 120)
        except wire.PeerGone:
            log_text = (self.workdir / ".sandbox-output.txt").read_text(errors="replace")
            last = log_text.strip().splitlines()[-1:] or ["no output"]
            raise wire.PeerGone(f"{self.exit_status()}: {last[0][:200]}") from None
        if not header.get("ready"):
            raise wire.ProtocolError("sandbox did not start")
        self.isolation = header.get("isolation", {})

    def kill(self) -> str:
        """Kill the sandbox (and anything it started); return how it ended."""
        how = ""
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait()
                how = "killed"
            else:
                how = describe_exit(self.proc.returncode)
        if self.peer is not None:
            for fd in (self.peer.rfd, self.peer.wfd):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.proc, self.peer = None, None
        return how

    def exit_status(self) -> str:
        """How the process ended (waits briefly for it)."""
        if self.proc is None:
            return "gone"
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it closed its connection to the grader"
        return describe_exit(code)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = " (segmentation fault)" if name == "SIGSEGV" else ""
        return f"killed by {name}{extra}"
    return f"exit code {code}"
