"""The untrusted side: runs a learner's cells and serves their functions over RPC.

Started by the judge as ``python -s -P -m autograde.sandbox.child RFD WFD CONFIG_JSON`` in the
submission's temporary working directory with a scrubbed environment. It imports NumPy, cnnlab
and IPython, applies :mod:`.limits`, snapshots the identities of the functions a test
could rely on, then serves:

- ``exec``: run one cell through an IPython ``InteractiveShell`` (so magics and
  ``get_ipython()`` work) with stdout/stderr captured per cell (capped), ``SystemExit`` and every
  other exception caught; report the error and any tampering found since the last message;
- ``lookup``: the values of the names a test cell uses (functions and classes as proxies, data
  copied);
- ``call`` and the handle operations of :mod:`autograde.wire`, run inside the ``forbid_calls``
  contexts the judge has open.

Nothing here decides a score: the judge only reads plain data from this process.
"""

from __future__ import annotations

import _thread
import io
import json
import os
import sys
import threading
import types

from autograde.sandbox import references
from cnnlab.calls import CallMatcher, call_matcher, describe_hit  # bound before learner code

# cnnlab's own code objects and functions, taken when the process starts (before learner code)
GENUINE, LIBRARY = references.snapshot()
ENTRIES = references.entries()

NEW_THREAD = "a new thread (code in other threads is not watched)"

CAP = 100_000


class CappedWriter(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = CAP):
        self.cap = cap
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text):
        text = str(text)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def writable(self):
        return True

    def isatty(self):
        return False

    def getvalue(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n... [{self.dropped} more characters of output dropped]"
        return text


class Watch:
    """Records calls into forbidden functions or modules (the sandbox side of forbid_calls).

    The targets are matched by :class:`cnnlab.calls.CallMatcher`, the same matcher as
    ``forbid_calls`` uses when a notebook runs without the autograder. One profile hook serves
    the nested watches of a call (``chain``), so switching it off is seen by all of them.
    """

    def __init__(self, targets: list[str]):
        self.matcher = call_matcher(tuple(targets))
        self.outer: list = []
        self.hits: list[str] = []

    def record(self, name: str) -> None:
        if name not in self.hits:
            self.hits.append(name)

    def chain(self, outer: list) -> object:
        self.outer = outer
        return self.hook

    def hook(
        self, frame, event, arg, _match=CallMatcher.match, _describe=describe_hit,
        _thread_start=threading.Thread.start.__code__, _start_new=_thread.start_new_thread,
        _excused=references.excused, _genuine=GENUINE, _entries=ENTRIES,
    ):  # fmt: skip
        # The functions it relies on are bound as defaults when this module loads: patching
        # CallMatcher.match or the module's names later does not reach them, and changing a
        # function's defaults is refused by the sandbox's audit hook (see .guard).
        if (
            event == "c_call"
            and arg is _start_new
            or (event == "call" and frame.f_code is _thread_start)
        ):
            for watch in [*self.outer, self]:
                watch.record(NEW_THREAD)
            return
        if event != "call":
            return
        for watch in [*self.outer, self]:
            name = _match(watch.matcher, frame)
            if name is not None and not _excused(frame, _genuine, _entries):
                watch.record(_describe(name, frame))


def main(argv: list[str]) -> int:
    rfd, wfd, config = int(argv[0]), int(argv[1]), json.loads(argv[2])
    from autograde.sandbox import limits

    limits.die_with_parent()
    import warnings

    import numpy  # noqa: F401 - imported before the limits apply, as the learner's setup cell does
    import numpy.testing  # noqa: F401 - loaded lazily by numpy: watched only if loaded now
    from IPython.core.interactiveshell import InteractiveShell

    import cnnlab
    import cnnlab.layers  # noqa: F401
    import cnnlab.nn  # noqa: F401
    import cnnlab.testing  # noqa: F401 - snapshotted by Tamper before learner code
    from autograde.sandbox.labels import CELL_LABELS, student_traceback
    from autograde.sandbox.tamper import Tamper, eq_probe
    from autograde.wire import Peer, ProtocolError

    report = limits.apply(
        os.getcwd(),
        memory=int(config["memory"]),
        fsize=int(config["fsize"]),
        landlock=bool(config.get("landlock", True)),
    )
    get_profile, set_profile = sys.getprofile, sys.setprofile
    from autograde.sandbox import guard
    from cnnlab import calls

    active_count, own_setprofile = threading.active_count, [0]
    events_since = guard.install(
        (Watch, Watch.hook, Watch.record, Watch.chain, Watch.__init__, calls.CallMatcher,
         references.excused, references.entry, references.bind,
         calls.CallMatcher.match, calls.CallMatcher._match_code, call_matcher, describe_hit,
         Tamper, Tamper.check, Tamper._take)
    )  # fmt: skip
    real_stdout, real_stderr = sys.stdout, sys.stderr
    shell = InteractiveShell.instance(colors="NoColor")
    shell.user_ns["__name__"] = "__main__"
    tamper = Tamper(shell)
    peer = Peer(rfd, wfd, trusted=False)
    peer.codec.inspect = eq_probe(peer.flags)
    peer.describe_traceback = student_traceback

    def captured(fn):
        out = CappedWriter()
        sys.stdout = sys.stderr = out
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                return fn(), out
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr

    def close_figures():
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:
                pass

    def do_exec(header, blobs):
        code = str(header.get("code", ""))
        shell.execution_count = count = shell.execution_count + 1
        CELL_LABELS[count] = str(header.get("label", "cell"))[:160]
        result, out = captured(lambda: shell.run_cell(code, store_history=False))
        close_figures()
        err = result.error_before_exec or result.error_in_exec
        peer.flags.extend(tamper.check(shell))
        reply = {"output": out.getvalue()}
        if err is not None:
            reply["error"] = {
                "type": type(err).__name__,
                "message": _safe_str(err)[:2000],
                "traceback": student_traceback(err),
            }
        return reply

    def do_lookup(header, blobs):
        found = {}
        for name in header.get("names", []):
            if not isinstance(name, str) or name not in shell.user_ns:
                continue
            value = shell.user_ns[name]
            if isinstance(value, types.ModuleType):
                continue
            found[name] = value
        return found

    baseline_threads = active_count()  # the shell's own threads, started before any learner code
    pending: dict = {}  # what the reply to the current call carries besides its value

    def reply_extras() -> dict:
        extras = dict(pending)
        pending.clear()
        return extras

    def call_wrapper(run, header):
        specs = [t for t in header.get("forbid") or [] if isinstance(t, list)]
        watches = [Watch([str(x) for x in targets]) for targets in specs]
        helpers = dict(header.get("helpers") or {})
        for name, path in (header.get("library_helpers") or {}).items():
            if path not in LIBRARY:
                raise ProtocolError(f"no library helper {path!r}")
            helpers[name] = references.bind(LIBRARY[path])
        missing = object()
        shadowed = {name: shell.user_ns.get(name, missing) for name in helpers}
        shell.user_ns.update(helpers)
        previous = get_profile()
        if watches:
            own_setprofile[0] += 1
            set_profile(watches[-1].chain(watches[:-1]))
            if get_profile() != watches[-1].hook:
                for w in watches:
                    w.record(guard.NOTED["sys.setprofile"])
        start, _ = events_since(0)
        own_start = own_setprofile[0]
        others = active_count() - baseline_threads
        try:
            value, out = captured(run)  # the call and the encoding of its reply
        finally:
            _, noted = events_since(start)
            if watches:
                # nested calls of ours (a callback that calls the learner again) set the
                # profile too: only the others count
                for _ in range(own_setprofile[0] - own_start):
                    if guard.NOTED["sys.setprofile"] in noted:
                        noted.remove(guard.NOTED["sys.setprofile"])
                if others > 0:
                    noted.append("threads of earlier cells still running (they are not watched)")
                if get_profile() != watches[-1].hook:
                    noted.append(guard.NOTED["sys.setprofile"])
                for w in watches:
                    for what in noted:
                        w.record(what)
            own_setprofile[0] += 1
            set_profile(previous)
            for name, own in shadowed.items():
                if own is missing:
                    shell.user_ns.pop(name, None)
                else:
                    shell.user_ns[name] = own
            pending["forbid_hits"] = [w.hits for w in watches]
            peer.flags.extend(tamper.check(shell))
        text = out.getvalue()
        if text:
            pending["stdout"] = text
        return value

    peer.handlers.update({"exec": do_exec, "lookup": do_lookup})
    peer.call_wrapper = call_wrapper
    peer.reply_extras = reply_extras
    from autograde.wire import send_message

    send_message(wfd, {"ready": True, "isolation": report, "pid": os.getpid()}, [])
    try:
        peer.serve()
    except BaseException:
        return 3
    return 0


def _safe_str(exc) -> str:
    try:
        return str(exc)
    except Exception:
        return "<message could not be shown>"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
