"""Inside a Jupyter kernel, keep the graded test cells off stderr.

nbgrader scores a test cell with any stderr output as failed, even when its checks pass; a
warning from NumPy is enough. Importing :mod:`cnnlab.testing` (every test cell does) installs
IPython hooks that send stderr to stdout while a cell that imports it runs.
"""

from __future__ import annotations

import sys


class _StderrToStdout:
    """A stand-in for ``sys.stderr`` that writes to the current ``sys.stdout``."""

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(sys.stdout, name)


_saved_stderr = None


def _start_quiet(*_args):
    global _saved_stderr
    if _saved_stderr is None:
        _saved_stderr = sys.stderr
        sys.stderr = _StderrToStdout()


def _stop_quiet(*_args):
    global _saved_stderr
    if _saved_stderr is not None:
        sys.stderr = _saved_stderr
        _saved_stderr = None


def _pre_run_cell(info=None):
    source = getattr(info, "raw_cell", "") or ""
    if "cnnlab.testing" in source:
        _start_quiet()


def install_ipython_hooks() -> None:
    """In a Jupyter kernel, send stderr to stdout while a test cell (one that imports us) runs."""
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return
    get_ipython = getattr(ipython_mod, "get_ipython", None)
    shell = get_ipython() if get_ipython else None
    if shell is None or getattr(shell, "_cnnlab_testing_hooks", False):
        return
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _stop_quiet)
    shell._cnnlab_testing_hooks = True
    _start_quiet()  # we are being imported by the test cell that is running now
